"""Entry layout and canonical bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from promote_action.ledger.entry import entry_canonical_bytes, entry_path, seq_from_path
from promote_action.spec import canonical_bytes

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(), c, max_size=4),
    max_leaves=20)


@settings(max_examples=300)
@given(st.dictionaries(st.text(), JSON))
def test_fast_canonical_bytes_equal_rfc8785(entry):
    assert entry_canonical_bytes(entry) == canonical_bytes(entry)


def test_floats_take_the_generic_path():
    value = {"a": 1.5, "b": 1e21}
    assert entry_canonical_bytes(value) == canonical_bytes(value)


def test_entry_paths_are_sharded_and_round_trip():
    assert entry_path(1) == "entries/000000/000000001.json"
    assert entry_path(12345) == "entries/000012/000012345.json"
    for seq in (1, 999, 1000, 10**6):
        assert seq_from_path(entry_path(seq)) == seq
    assert seq_from_path("entries/000000/00000001.json") is None
