"""Entry layout and canonical bytes."""

from __future__ import annotations

import pytest
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
    assert entry_path(1) == "entries/000/00/00/000000001.json"
    assert entry_path(12345) == "entries/000/01/23/000012345.json"
    assert entry_path(123456789) == "entries/123/45/67/123456789.json"
    assert entry_path(1, "v2") == "entries/000000/000000001.json"
    assert entry_path(12345, "v1") == "entries/000012/000012345.json"
    for seq in (1, 99, 100, 999, 1000, 10**6, 10**9 - 1):
        for layout in ("v1", "v2", "v3"):
            assert seq_from_path(entry_path(seq, layout)) == seq
    for bad in ("entries/000000/00000001.json", "entries/000/00/01/000000001.json",
                "entries/000/00/000000001.json", "entries/000001/000000001.json",
                "entries/000/00/00/000000000.json", "datasets/000/00/00/000000001.json"):
        assert seq_from_path(bad) is None, bad
    with pytest.raises(ValueError):
        entry_path(10**9)


def test_version_folders_fan_out_by_the_version_ids_hash_suffix():
    from promote_action.ledger.entry import (
        find_version_dir,
        is_bucket,
        locate_version,
        version_bucket,
        version_dir,
    )

    v = "2026-02.ab12cd34ef56"
    assert version_bucket(v) == "a/b" and is_bucket("a") and not is_bucket("ab")
    assert not is_bucket(v) and not is_bucket("A")
    assert version_dir("roads", v) == f"datasets/roads/a/b/{v}"
    assert version_dir("roads", v, "v2") == f"datasets/roads/{v}"
    assert version_bucket("2026-02") is None and version_bucket("x.AB12CD34EF56") is None
    with pytest.raises(ValueError):
        version_dir("roads", "2026-02")
    # a version keeps the folder its first event created
    assert locate_version(lambda p: False, "roads", v) == f"datasets/roads/a/b/{v}"
    legacy = f"datasets/roads/{v}"
    assert locate_version(lambda p: p == f"{legacy}/events.json", "roads", v) == legacy
    assert locate_version(lambda p: False, "roads", v, "v2") == legacy
    assert find_version_dir(lambda p: False, "roads", v) is None
    assert find_version_dir(lambda p: p.startswith("datasets/roads/a/b/"), "roads", v) == \
        f"datasets/roads/a/b/{v}"


def test_allow_list_names_a_v3_folder_as_the_version_folder():
    """The policy's allow-list names `datasets/{slug}/{version}/`; a v3 folder two levels
    down is judged as that folder, and a version's other candidate folder is refused."""
    from promote_action.ledger.entry_checks import DestinationChecker
    from promote_action.ledger.policy_paths import allowed_for

    patterns = ["entries/", "datasets/{slug}/README.md", "datasets/{slug}/{version}/",
                "published/{slug}.json"]
    v = "2026-02.ab12cd34ef56"
    fanned, legacy = f"datasets/roads/a/b/{v}", f"datasets/roads/{v}"
    for folder, ok, refused in ((fanned, fanned, legacy), (legacy, legacy, fanned)):
        check = DestinationChecker(patterns, "roads", v, folder)
        for path in (f"{ok}/manifest.json", "datasets/roads/README.md",
                     "published/roads.json"):
            assert check(path) and allowed_for(path, patterns, "roads", v, folder), path
        assert check.folder_allowed(f"{ok}/policy")
        for path in (f"{refused}/manifest.json", f"datasets/roads/cd/{v}/manifest.json",
                     "datasets/roads/ab/2026-02.cd12cd34ef56/x.json", f"{ok}/../x"):
            assert not check(path) and not allowed_for(path, patterns, "roads", v, folder)
        assert not check.folder_allowed(f"{refused}/policy")


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
    from promote_action.ledger.query import dataset_versions

    versions = {v: json.loads(view.read(f"{folder}/events.json"))
                for v, folder in dataset_versions(view, "alpha_data").items()}
    assert set(view.list_dir("datasets/alpha_data")) == {"0", "README.md"}
    pointer = view.read_json(pointer_path("alpha_data"))
    full = render_dataset_readme("alpha_data", versions, pointer)
    assert view.read("datasets/alpha_data/README.md") == full
    assert full.count(b"\n| `") == 6


def test_a_version_id_that_reads_as_a_hash_folder_is_refused():
    """A version named like a v3 hash folder (`a`) would make its folder read as one, and
    its files as nobody's: verify refuses such an entry in any layout."""
    from promote_action.ledger.entry_checks import Bad, check_entry_fields

    entry = {"kfm_ledger_entry_version": "v2", "seq": 1, "prev": "sha256:x",
             "type": "denied", "signer": "SHA256:k", "files": {},
             "dataset_slug": "roads", "dataset_version_id": "a"}
    with pytest.raises(Bad, match="hash folder"):
        check_entry_fields(entry, 1, "SHA256:k")
    check_entry_fields({**entry, "dataset_version_id": "2026-02.ab12cd34ef56"}, 1,
                       "SHA256:k")
