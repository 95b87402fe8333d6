"""Stored decision evidence: replay on both engines, policy rollback, signed tags, and the
trust root read from the default branch (real repos, real keys, real OPA)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pygit2
import pytest
from ledgerlib import (
    REPO_ROOT,
    git_repo,
    make_key,
    new_ledger,
    reference_evidence,
    sh,
    synthetic_promotion,
    verify,
    version_id,
)

from promote_action.ledger.entry import render_json
from promote_action.ledger.policy_store import bundle_digest, record_bundle_paths
from promote_action.ledger.replay import Replayer, tree_reader
from promote_action.ledger.writer import append_event

REF = "refs/heads/kfm-ledger"
VDIR = f"datasets/alpha_data/0/0/{version_id(0)}"


@pytest.fixture
def led(tmp_path: Path) -> dict[str, Any]:
    _, allowed, key = make_key(tmp_path / "keys")
    repo_dir = git_repo(tmp_path / "repo")
    lt = new_ledger(repo_dir, key)
    append_event(lt, synthetic_promotion(key, "alpha_data", version_id(0)), key)
    return {"dir": repo_dir, "lt": lt, "key": key, "allowed": allowed, "tmp": tmp_path}


def tip_reader(repo_dir: Path) -> Any:
    repo = pygit2.Repository(str(repo_dir))
    return tree_reader(repo, repo[repo.references[REF].target].tree)


def test_replay_reproduces_stored_record_on_both_engines(led, require_opa):
    replayer = Replayer.available()
    assert replayer.engine_names == ["embedded", "opa"]
    out = replayer.replay_record(tip_reader(led["dir"]), VDIR)
    assert out["mismatch"] is None, out
    want = json.loads(tip_reader(led["dir"])(f"{VDIR}/decision.json"))["decision_id"]
    assert out["engines"] == {"embedded": want, "opa": want}
    res = verify(led["dir"], led["allowed"], replay=replayer)
    assert res.ok and res.replayed == 1, res.failure


def test_tampered_stored_bundle_is_a_replay_mismatch(led, require_opa):
    read = tip_reader(led["dir"])
    where = record_bundle_paths(read, VDIR)  # v2: the shared policy/<digest hex>/
    assert where.index.startswith("policy/") and where.index.endswith("/index.json")
    index = json.loads(read(where.index))
    target = "builtin:approvals.rego"
    files = {where.file(d): read(where.file(d)) for d in index["files"]}
    # a stored policy that no longer requires approvals, index re-sealed to match it
    path = where.file(target)
    files[path] = files[path].replace(b"deny contains", b"_ignored contains")
    assert files[path] != read(path)
    import hashlib

    index["files"][target] = "sha256:" + hashlib.sha256(files[path]).hexdigest()
    index["policy_bundle_digest"] = bundle_digest(index["files"])
    files[where.index] = render_json(index)

    def forged(p: str) -> bytes:
        return files[p] if p in files else read(p)

    for engine in Replayer.available().engines:
        out = Replayer([engine]).replay_record(forged, VDIR)
        assert out["mismatch"] and "policy_bundle_digest" in out["mismatch"], out


def test_forged_capsule_passes_structure_but_fails_replay(led):
    ev = reference_evidence()
    capsule = json.loads(ev["files"]["capsule.json"])
    capsule["approvals"] = []  # claims the decision was made without any approval
    forged = {**ev, "files": {**ev["files"], "capsule.json": render_json(capsule)}}
    append_event(led["lt"], synthetic_promotion(led["key"], "alpha_data", version_id(1),
                                                evidence=forged), led["key"])
    assert verify(led["dir"], led["allowed"]).ok  # consistent, validly signed forgery
    res = verify(led["dir"], led["allowed"], replay=Replayer.available())
    assert not res.ok and res.failure["seq"] == 2, res.failure
    assert "does not reproduce" in res.failure["why"] and "input_digest" in res.failure["why"]


def test_replay_cli_reports_both_engines(led, run_cli, require_opa):
    r = run_cli("ledger", "replay", "--repo", led["dir"], "alpha_data", version_id(0))
    assert r.code == 0, r.out + r.err
    assert "byte for byte on embedded, opa" in r.out
    r = run_cli("verify", "--repo", led["dir"], "--allowed-signers", led["allowed"],
                "--replay")
    assert r.code == 0 and "1 decisions replayed byte for byte on embedded and opa" in r.out


def other_bundle(tmp: Path) -> dict[str, Any]:
    extra = tmp / "extra_policy"
    extra.mkdir(exist_ok=True)
    (extra / "revision.json").write_text('{"kfm_policy_revision": 2}\n')
    return reference_evidence((REPO_ROOT / "fixtures" / "policy", extra))


def test_policy_bundle_rollback_is_detected(led):
    a, b = reference_evidence(), other_bundle(led["tmp"])
    assert a["policy_bundle_digest"] != b["policy_bundle_digest"]
    key = led["key"]
    append_event(led["lt"], synthetic_promotion(key, "alpha_data", version_id(1)), key)
    append_event(led["lt"], synthetic_promotion(key, "beta_data", version_id(2), evidence=b),
                 key)
    append_event(led["lt"], synthetic_promotion(key, "beta_data", version_id(3), evidence=b),
                 key)
    assert verify(led["dir"], led["allowed"]).ok  # A, A, B, B: policy moved forward
    append_event(led["lt"], synthetic_promotion(key, "gamma_data", version_id(4)), key)
    res = verify(led["dir"], led["allowed"])
    assert not res.ok and res.failure["seq"] == 5, res.failure
    assert "policy bundle rolled back" in res.failure["why"]


def test_decision_record_must_match_entry_bundle_digest(led):
    ev = reference_evidence()
    record = json.loads(ev["files"]["decision.json"])
    record["policy_bundle_digest"] = "sha256:" + "0" * 64
    forged = {**ev, "files": {**ev["files"], "decision.json": render_json(record)}}
    append_event(led["lt"], synthetic_promotion(led["key"], "alpha_data", version_id(1),
                                                evidence=forged), led["key"])
    res = verify(led["dir"], led["allowed"])
    assert not res.ok and "policy bundle digest differs" in res.failure["why"], res.failure


def test_missing_and_orphan_tags_are_detected(led):
    repo = pygit2.Repository(str(led["dir"]))
    append_event(led["lt"], synthetic_promotion(led["key"], "alpha_data", version_id(1)),
                 led["key"])
    name = f"refs/tags/kfm/alpha_data/{version_id(0)}"
    tag_oid = repo.references[name].target
    repo.references.delete(name)
    res = verify(led["dir"], led["allowed"])
    assert not res.ok and res.failure["seq"] == 1 and "missing" in res.failure["why"]
    assert verify(led["dir"], led["allowed"], check_tags=False).ok
    repo.references.create(name, tag_oid)
    repo.references.create("refs/tags/kfm/alpha_data/2026-02.ffffffffffff", tag_oid)
    res = verify(led["dir"], led["allowed"])
    assert not res.ok and "names no promotion" in res.failure["why"], res.failure


def test_require_tags_fails_on_a_tagless_clone(led, run_cli, tmp_path):
    audit = tmp_path / "audit"
    sh("git", "clone", "-q", "--no-tags", "--bare", "--branch", "kfm-ledger", str(led["dir"]),
       str(audit))
    base = ["verify", "--repo", audit, "--allowed-signers", led["allowed"]]
    r = run_cli(*base)
    assert r.code == 0 and "no kfm/ tags present" in r.out, r.out + r.err
    r = run_cli(*base, "--require-tags")
    assert r.code == 1 and "signed tag refs/tags/kfm/alpha_data" in r.out


def test_show_text_is_text(led, run_cli):
    r = run_cli("ledger", "show", "--repo", led["dir"], "alpha_data")
    assert r.code == 0 and r.out.startswith("dataset: alpha_data\npublished: ")
    r = run_cli("ledger", "show", "--repo", led["dir"], "alpha_data", version_id(0))
    assert r.code == 0 and "events:\n  #1 " in r.out and not r.out.lstrip().startswith("{")
