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


def test_incremental_readme_equals_full_render(tmp_path):
    """Appends rebuild the dataset README from its previous rows (O(1) in versions); the
    result must be byte-identical to rendering every version's events from scratch."""
    import json

    from ledgerlib import (
        git_repo,
        make_key,
        new_ledger,
        synthetic_promotion,
        synthetic_quarantine,
        version_id,
    )

    from promote_action.ledger.entry import pointer_path
    from promote_action.ledger.readme import render_dataset_readme
    from promote_action.ledger.store import LedgerView, open_repo
    from promote_action.ledger.writer import append_event

    _, _, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    lt = new_ledger(repo_dir, key)
    for i in range(4):
        append_event(lt, synthetic_promotion(key, "alpha_data", version_id(i)), key)
    append_event(lt, synthetic_quarantine("alpha_data", version_id(3)), key)
    append_event(lt, synthetic_quarantine("alpha_data", version_id(3), release=True), key)
    repo = open_repo(repo_dir)
    view = LedgerView(repo, repo.references["refs/heads/kfm-ledger"].target)
    versions = {v: json.loads(view.read(f"datasets/alpha_data/{v}/events.json"))
                for v in view.list_dir("datasets/alpha_data") if v != "README.md"}
    pointer = view.read_json(pointer_path("alpha_data"))
    full = render_dataset_readme("alpha_data", versions, pointer)
    assert view.read("datasets/alpha_data/README.md") == full
    assert full.count(b"\n| `") == 6
