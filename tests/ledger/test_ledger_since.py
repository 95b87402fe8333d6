"""`verify --since CHECKPOINT`: the checkpoint must still be a prefix of the ledger (any
rewrite, drop, reorder or replacement before it, a checkpoint from another ledger or
ahead of the tip: exit 1, named), and the entries after it get every full-verify check.
Each forgery is checked with the verified state present (the incremental path) and
absent (the fallback full verify), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pygit2
import pytest
from ledgerlib import (
    git_repo,
    make_key,
    new_ledger,
    synthetic_promotion,
    synthetic_quarantine,
    trusted_target,
    version_id,
)
from test_ledger_tamper import chain, edit, recommit, replay, set_tip

from promote_action.ledger.entry import entry_digest, render_json
from promote_action.ledger.writer import append_event

REF = "refs/heads/kfm-ledger"


def cli(run_cli: Any, led: dict[str, Any], *extra: str) -> tuple[int, dict[str, Any]]:
    r = run_cli("verify", "--repo", led["dir"], "--allowed-signers", led["allowed"],
                "--state-dir", led["state"], "--format", "json", *extra)
    return r.code, (json.loads(r.out) if r.out.strip() else {"err": r.err})


def grow(led: dict[str, Any], first: int, n: int) -> None:
    lt = trusted_target(led["dir"], led["key"])
    for i in range(first, first + n):
        res = append_event(lt, synthetic_promotion(led["key"], "alpha_data", version_id(i),
                                                   at=f"2026-03-{i + 1:02d}T10:00:00Z"),
                           led["key"])
        assert res.status == "recorded"


@pytest.fixture
def led(tmp_path: Path, run_cli: Any) -> dict[str, Any]:
    """4 entries verified (checkpoint taken, state kept), then 2 more appended."""
    _, allowed, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    new_ledger(repo_dir, key)
    out = {"dir": repo_dir, "allowed": allowed, "key": key, "tmp": tmp_path,
           "state": tmp_path / "state", "repo": pygit2.Repository(str(repo_dir))}
    grow(out, 0, 3)
    append_event(trusted_target(repo_dir, key), synthetic_quarantine("alpha_data", version_id(2)),
                 key)
    code, res = cli(run_cli, out)
    assert code == 0 and res["mode"] == "full", res
    out["checkpoint"] = res["checkpoint"]
    grow(out, 10, 2)
    return out


def test_since_checks_only_new_entries(led, run_cli):
    assert led["checkpoint"].split(":")[0] == "4" and led["checkpoint"].count(":") == 3
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 0 and res["mode"] == "since" and res["checked"] == 2, res
    assert res["entries"] == 6 and res["counts"]["promotion"] == 5, res
    full_code, full = cli(run_cli, led)  # same verdict and checkpoint as a full verify
    assert full_code == 0 and full["checkpoint"] == res["checkpoint"], full
    code, again = cli(run_cli, led, "--since", res["checkpoint"])  # nothing new
    assert code == 0 and again["checked"] == 0 and again["checkpoint"] == res["checkpoint"]
    r = run_cli("verify", "--repo", led["dir"], "--allowed-signers", led["allowed"],
                "--state-dir", led["state"], "--since", led["checkpoint"])
    assert r.code == 0 and "incremental: 2 new entries checked" in r.out, r.out


def test_since_without_state_falls_back_to_full(led, run_cli):
    led["state"] = led["tmp"] / "elsewhere"
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 0 and res["mode"] == "full" and "no verified state" in res["note"], res


def test_damaged_state_is_not_used(led, run_cli):
    path = next(Path(led["state"]).glob("*.json"))
    path.write_bytes(path.read_bytes().replace(b'"prev"', b'"prev" ', 1))
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 0 and res["mode"] == "full" and "damaged" in res["note"], res


def test_state_round_trips_column_by_column():
    """The stored state is columnar; what it loads is exactly what was verified, and
    columns that disagree, a version listed twice or an older format are not used."""
    from promote_action.ledger.verify_state import Sequence

    seq = Sequence("sha256:" + "0" * 64)
    for i in range(5):
        seq.promoted[(f"ds_{i % 2}", version_id(i))] = (f"{i:040x}", f"sha256:{i:064x}",
                                                         f"{i + 7:040x}" if i % 3 else "")
        seq.manifests.add(f"sha256:{i:064x}")
    seq.policies, seq.counts["promotion"] = ["sha256:" + "a" * 64], 5
    back = Sequence.from_json(json.loads(json.dumps(seq.to_json())))
    assert (back.prev, back.promoted, back.manifests, back.policies, back.counts) == (
        seq.prev, seq.promoted, seq.manifests, seq.policies, seq.counts)
    empty = Sequence.from_json(Sequence("p").to_json())
    assert empty.promoted == {} and empty.manifests == set()
    data = seq.to_json()
    data["promoted"]["tags"] += "\nextra"
    with pytest.raises(ValueError):
        Sequence.from_json(data)
    data = seq.to_json()
    data["promoted"]["versions"] = "\n".join([version_id(0)] * 5)
    data["promoted"]["slugs"] = "\n".join(["ds_0"] * 5)
    with pytest.raises(ValueError):
        Sequence.from_json(data)


def test_state_of_another_format_is_not_used(led, run_cli):
    from promote_action.ledger.verify_state import _seal

    path = next(Path(led["state"]).glob("*.json"))
    body = json.loads(path.read_bytes().split(b"\n", 1)[1])
    body["kfm_verify_state_version"] = "v1"
    path.write_bytes(_seal(body))
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 0 and res["mode"] == "full" and "another format" in res["note"], res


def test_changed_trust_root_falls_back_to_full(led, run_cli):
    _, _, other = make_key(led["tmp"] / "k2", name="second")
    Path(led["allowed"]).write_text(Path(led["allowed"]).read_text()
                                    + f"second@example {other.public_openssh}\n")
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 0 and res["mode"] == "full" and "trust root" in res["note"], res


def test_old_form_checkpoint_refused_by_since_accepted_by_checkpoint(led, run_cli):
    old = led["checkpoint"].rsplit(":", 1)[0]
    code, res = cli(run_cli, led, "--since", old)
    assert code == 2 and "--since needs a checkpoint" in res["err"], res
    code, res = cli(run_cli, led, "--checkpoint", old)
    assert code == 0, res
    code, res = cli(run_cli, led, "--checkpoint", led["checkpoint"])
    assert code == 0, res
    code, res = cli(run_cli, led, "--since", "4:sha256:abc:def")
    assert code == 2 and "is not SEQ:sha256" in res["err"], res


def _forge_prefix(led: dict[str, Any], how: str) -> None:
    repo, key = led["repo"], led["key"]
    commits = chain(repo)
    if how == "rewrite":  # entry #2 edited, everything after re-signed with the real key
        target, path = commits[2], "entries/000/00/00/000000002.json"
        raw = repo[target.tree[path].id].data.replace(b'"at": "2026-03-02',
                                                      b'"at": "2026-01-02')
        tip = recommit(repo, key, target.parents[0].id, edit(repo, target, {path: raw}),
                       target.message)
        set_tip(repo, replay(repo, key, tip, commits[3:]))
    elif how == "drop":  # entry #2 left out, the rest replayed
        set_tip(repo, replay(repo, key, commits[1].id, commits[3:]))
    elif how == "reorder":
        set_tip(repo, replay(repo, key, commits[1].id, [commits[3], commits[2], *commits[4:]]))
    elif how == "replace_checkpoint_commit":  # same tree, validly signed, another time
        cp = commits[4]
        tip = recommit(repo, key, cp.parents[0].id, cp.tree_id, cp.message,
                       at="2026-03-20T10:00:00Z")
        set_tip(repo, replay(repo, key, tip, commits[5:]))
    elif how == "rolled_back":
        set_tip(repo, commits[3].id)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("with_state", [True, False])
@pytest.mark.parametrize(("how", "why"), [
    ("rewrite", "not on the ledger's history"),
    ("drop", "not on the ledger's history"),
    ("reorder", "not on the ledger's history"),
    ("replace_checkpoint_commit", "not on the ledger's history"),
    ("rolled_back", "behind the checkpoint"),
])
def test_prefix_forgeries_fail(led, run_cli, how, why, with_state):
    _forge_prefix(led, how)
    if not with_state:
        led["state"] = led["tmp"] / "no-state"
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 1 and why in res["failure"]["why"], res
    code, full = cli(run_cli, led, "--checkpoint", led["checkpoint"])  # full agrees
    assert code == 1, full


def test_checkpoint_from_another_ledger(led, run_cli, tmp_path):
    other = git_repo(tmp_path / "other")
    new_ledger(other, led["key"])
    append_event(trusted_target(other, led["key"]), synthetic_promotion(led["key"], "beta_data",
                                                          version_id(0)), led["key"])
    r = run_cli("verify", "--repo", other, "--allowed-signers", led["allowed"],
                "--state-dir", tmp_path / "s2", "--format", "json")
    foreign = json.loads(r.out)["checkpoint"]
    code, res = cli(run_cli, led, "--since", foreign)
    assert code == 1 and "not in this repository" in res["failure"]["why"], res
    # the same seq with this ledger's commit but the other ledger's digest
    mine = led["checkpoint"].split(":")
    mixed = f"1:{foreign.split(':', 1)[1].rsplit(':', 1)[0]}:{chain(led['repo'])[1].id}"
    code, res = cli(run_cli, led, "--since", mixed)
    assert code == 1 and "differs from the checkpoint's digest" in res["failure"]["why"], res
    # seq and commit that do not belong together
    wrong = f"3:{mine[1]}:{mine[2]}:{mine[3]}"
    code, res = cli(run_cli, led, "--since", wrong)
    assert code == 1 and "entry #3" in res["failure"]["why"], res


def test_checkpoint_ahead_of_tip(led, run_cli):
    code, res = cli(run_cli, led)
    ahead = res["checkpoint"]
    set_tip(led["repo"], chain(led["repo"])[4].id)  # the tip falls back to the old checkpoint
    code, res = cli(run_cli, led, "--since", ahead)
    assert code == 1 and "behind the checkpoint" in res["failure"]["why"], res


def test_new_entry_rewriting_promoted_version_caught_from_state(led, run_cli):
    """The state carries the promoted versions: a new entry that re-records a version
    promoted before the checkpoint fails as in a full verify."""
    repo, key = led["repo"], led["key"]
    last = chain(repo)[-1]
    path = f"datasets/alpha_data/0/0/{version_id(0)}/manifest.json"
    forged = repo[last.tree[path].id].data.replace(b"public", b"publik")
    entry = json.loads(repo[last.tree["entries/000/00/00/000000006.json"].id].data)
    new = {**entry, "seq": 7, "prev": entry_digest(entry), "type": "quarantine",
           "dataset_version_id": version_id(0),
           "files": {path: "sha256:" + __import__("hashlib").sha256(forged).hexdigest()}}
    tree = edit(repo, last, {path: forged, "entries/000/00/00/000000007.json": render_json(new)})
    set_tip(repo, recommit(repo, key, last.id, tree, "kfm-ledger: #7\n"))
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 1 and res["mode"] == "since" and "immutable" in res["failure"]["why"], res
    assert res["failure"]["seq"] == 7, res


def test_new_unsigned_entry_caught(led, run_cli):
    repo = led["repo"]
    last = chain(repo)[-1]
    set_tip(repo, recommit(repo, None, last.parents[0].id, last.tree_id, last.message))
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 1 and res["failure"]["seq"] == 6 and "not signed" in res["failure"]["why"]


def test_moved_prefix_tag_caught(led, run_cli):
    """A tag of a promotion before the checkpoint, moved after it was verified."""
    repo = led["repo"]
    name = f"refs/tags/kfm/alpha_data/{version_id(0)}"
    other = repo.references[f"refs/tags/kfm/alpha_data/{version_id(1)}"].target
    repo.references.create(name, other, force=True)
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 1 and "not at the promotion's commit" in res["failure"]["why"], res


def test_stray_tag_after_checkpoint_caught(led, run_cli):
    """A kfm/ tag that belongs to no promotion, added after the checkpoint: every tag
    being the one verified then is not enough, there must be no other."""
    repo = led["repo"]
    some = repo.references[f"refs/tags/kfm/alpha_data/{version_id(1)}"].target
    repo.references.create("refs/tags/kfm/alpha_data/never-promoted", some)
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 1 and res["mode"] == "since", res
    assert "names no promotion" in res["failure"]["why"], res


def test_deleted_prefix_tag_caught(led, run_cli):
    repo = led["repo"]
    repo.references.delete(f"refs/tags/kfm/alpha_data/{version_id(0)}")
    code, res = cli(run_cli, led, "--since", led["checkpoint"])
    assert code == 1 and res["mode"] == "since", res
    assert "is missing" in res["failure"]["why"], res


def test_since_a_v2_checkpoint_checks_the_v3_entries_after_it(tmp_path, run_cli):
    """A ledger verified while it held v2 entries, then upgraded: `--since` that
    checkpoint (a v2 entry's place) checks the v3 entries after it, including an event of
    a version whose folder a v2 entry created."""
    from ledgerlib import DirectWriter

    _, allowed, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    new_ledger(repo_dir, key)
    w = DirectWriter(repo_dir, key, layout_version="v2")
    for i in range(3):
        w.append(synthetic_promotion(key, "alpha_data", version_id(i)))
    w.finish()
    led = {"dir": repo_dir, "allowed": allowed, "key": key, "state": tmp_path / "state"}
    code, res = cli(run_cli, led)
    assert code == 0 and res["checkpoint"].startswith("3:"), res
    grow(led, 10, 2)
    append_event(trusted_target(repo_dir, key), synthetic_quarantine("alpha_data", version_id(1)),
                 key)
    code, since = cli(run_cli, led, "--since", res["checkpoint"])
    assert code == 0 and since["mode"] == "since" and since["checked"] == 3, since
    code, full = cli(run_cli, led)
    assert code == 0 and full["checkpoint"] == since["checkpoint"], full
