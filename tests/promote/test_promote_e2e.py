"""`kfm-promote promote` end to end on the reference dataset, against real git repos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ledger"))
from ledgerlib import REPO_ROOT, clone, git_repo, make_key, verify

POLICY = REPO_ROOT / "fixtures" / "policy"
SLUG = "kansas_river_gauges"


def version_of(ds: Path) -> str:
    from promote_action.spec import load_spec

    return load_spec(ds).identity.dataset_version_id


@pytest.fixture
def env(tmp_path: Path, pass_dataset: Path) -> dict:
    key_file, allowed, _ = make_key(tmp_path / "keys")
    repo = git_repo(tmp_path / "repo")
    return {"key": key_file, "allowed": allowed, "repo": repo, "ds": pass_dataset,
            "version": version_of(pass_dataset), "tmp": tmp_path}


def args(env: dict, *extra: str, approver: bool = True) -> list[str]:
    out = ["promote", "--dataset-slug", SLUG, "--dataset-version-id", env["version"],
           "--spec", str(env["ds"]), "--repo", str(env["repo"]),
           "--released-at", "2026-02-20T13:00:00Z", "--policy", str(POLICY),
           "--source-repo", "kfm/data", "--pr", "7", "--allowed-signers", str(env["allowed"])]
    if approver:
        out += ["--approver", "principal:github:kfm-steward", "--approver-role", "steward",
                "--approved-at", "2026-02-20T12:59:00Z"]
    return out + list(extra)


def object_count(repo: Path) -> int:
    return sum(1 for p in (repo / ".git" / "objects").rglob("*") if p.is_file())


def ledger_file(repo: Path, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "show", f"kfm-ledger:{path}"],
                          capture_output=True, check=True).stdout


def test_promote_records_valid_signed_entry_and_rerun_is_noop(env, run_cli):
    r = run_cli(*args(env, "--signing-key", env["key"], "--format", "json"))
    assert r.code == 0, r.out + r.err
    out = json.loads(r.out)
    assert out["status"] == "recorded" and out["entry"]["type"] == "promotion"
    vdir = f"datasets/{SLUG}/{env['version'][-12]}/{env['version'][-11]}/{env['version']}"
    from promote_action.schemas import schema_errors

    for name, schema in [("manifest.json", "promotion_manifest.schema.json"),
                         ("receipt.json", "run_receipt.schema.json"),
                         ("report.json", "validation_report.schema.json"),
                         ("decision.json", "decision_record.schema.json")]:
        assert schema_errors(schema, json.loads(ledger_file(env["repo"], f"{vdir}/{name}"))) == []
    entry = json.loads(ledger_file(env["repo"], "entries/000/00/00/000000001.json"))
    assert schema_errors("ledger_entry.schema.json", entry) == []
    pointer = json.loads(ledger_file(env["repo"], f"published/{SLUG}.json"))
    assert schema_errors("published_pointer.schema.json", pointer) == []
    assert pointer["dataset_version_id"] == env["version"] and pointer["ledger_seq"] == 1
    assert env["version"] in ledger_file(env["repo"], f"datasets/{SLUG}/README.md").decode()
    # plain git accepts the commit and the tag
    for what, ref in [("verify-commit", "kfm-ledger"),
                      ("verify-tag", f"kfm/{SLUG}/{env['version']}")]:
        p = subprocess.run(["git", "-C", str(env["repo"]), "-c", "gpg.format=ssh", "-c",
                            f"gpg.ssh.allowedSignersFile={env['allowed']}", what, ref],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    assert verify(env["repo"], env["allowed"]).ok
    before = object_count(env["repo"])
    r2 = run_cli(*args(env, "--signing-key", env["key"]))
    assert r2.code == 0 and "already recorded" in r2.out
    assert object_count(env["repo"]) == before


def test_same_inputs_give_byte_identical_outputs(env, run_cli, tmp_path):
    other = dict(env, repo=clone(env["repo"], tmp_path / "repo2"))  # same HEAD commit
    run_cli(*args(env, "--signing-key", env["key"]))
    run_cli(*args(other, "--signing-key", env["key"]))
    vdir = f"datasets/{SLUG}/{env['version'][-12]}/{env['version'][-11]}/{env['version']}"
    for name in ("manifest.json", "manifest.dsse.json", "receipt.json",
                 "report.json", "decision.json"):
        assert ledger_file(env["repo"], f"{vdir}/{name}") == ledger_file(
            other["repo"], f"{vdir}/{name}"), name


def test_dry_run_mutates_nothing(env, run_cli):
    before = object_count(env["repo"])
    refs = subprocess.run(["git", "-C", str(env["repo"]), "for-each-ref"],
                          capture_output=True, text=True).stdout
    r = run_cli(*args(env, "--signing-key", env["key"], "--dry-run"))
    assert r.code == 0, r.err
    assert "would write" in r.out and "manifest.json sha256:" in r.out and "entry:" in r.out
    assert object_count(env["repo"]) == before
    assert subprocess.run(["git", "-C", str(env["repo"]), "for-each-ref"],
                          capture_output=True, text=True).stdout == refs


def test_staged_patch_is_a_bundle_and_repo_untouched(env, run_cli):
    before = object_count(env["repo"])
    bundle = env["tmp"] / "ledger.bundle"
    r = run_cli(*args(env, "--signing-key", env["key"], "--staged-patch", bundle))
    assert r.code == 0, r.err
    assert object_count(env["repo"]) == before
    target = git_repo(env["tmp"] / "elsewhere")
    subprocess.run(["git", "-C", str(target), "fetch", "-q", str(bundle),
                    "refs/heads/kfm-ledger:refs/heads/kfm-ledger"], check=True)
    assert verify(target, env["allowed"]).ok


def test_missing_key_exits_2_and_writes_nothing(env, run_cli, monkeypatch):
    monkeypatch.delenv("KFM_SIGNING_KEY", raising=False)
    before = object_count(env["repo"])
    r = run_cli(*args(env))
    assert r.code == 2 and "signing key" in r.err
    assert object_count(env["repo"]) == before


def test_without_approval_is_denied_and_recorded(env, run_cli):
    r = run_cli(*args(env, "--signing-key", env["key"], "--format", "json", approver=False))
    assert r.code == 1, r.out + r.err
    out = json.loads(r.out)
    assert out["status"] == "denied" and out["entry"]["type"] == "denied"
    assert out["entry"]["reasons"]
    repo = pygit2.Repository(str(env["repo"]))
    assert "refs/tags/kfm/" + SLUG + "/" + env["version"] not in list(repo.references)
    with pytest.raises(subprocess.CalledProcessError):
        ledger_file(env["repo"], f"published/{SLUG}.json")
    assert verify(env["repo"], env["allowed"]).ok
    again = run_cli(*args(env, "--signing-key", env["key"], approver=False))
    assert again.code == 1 and "already recorded" in again.out
    # the denial's evidence is stored too, and replays to the same record
    v = env["version"]
    base = f"datasets/{SLUG}/{v[-12]}/{v[-11]}/{v}/denied/000000001"
    assert json.loads(ledger_file(env["repo"], f"{base}/capsule.json"))["approvals"] == []
    r = run_cli("ledger", "replay", "--repo", env["repo"], SLUG, env["version"])
    assert r.code == 0 and f"reproduced {base}/decision.json" in r.out, r.out + r.err


def test_promotion_stores_capsule_and_bundle_and_replays(env, run_cli, require_opa):
    assert run_cli(*args(env, "--signing-key", env["key"])).code == 0
    vdir = f"datasets/{SLUG}/{env['version'][-12]}/{env['version'][-11]}/{env['version']}"
    decision = json.loads(ledger_file(env["repo"], f"{vdir}/decision.json"))
    shared = decision["policy_bundle_digest"].removeprefix("sha256:")  # stored once (v2)
    index = json.loads(ledger_file(env["repo"], f"policy/{shared}/index.json"))
    assert index["files"] == decision["policy_files"]
    assert index["policy_bundle_digest"] == decision["policy_bundle_digest"]
    assert "policy1:stewards.json" in index["files"]  # the --policy dir is stored too
    r = run_cli("verify", "--repo", env["repo"], "--allowed-signers", env["allowed"],
                "--replay")
    assert r.code == 0, r.out + r.err
    assert "1 decisions replayed byte for byte on embedded and opa" in r.out


def test_broken_hash_linkage_is_denied(env, run_cli):
    (env["ds"] / "processed" / "gauges.csv").write_bytes(b"site_no\n1\n")
    r = run_cli(*args(env, "--signing-key", env["key"], "--format", "json"))
    assert r.code == 1
    assert json.loads(r.out)["status"] == "denied"


def test_same_version_different_manifest_is_refused(env, run_cli):
    assert run_cli(*args(env, "--signing-key", env["key"])).code == 0
    r = run_cli(*[a if a != "2026-02-20T13:00:00Z" else "2026-02-21T13:00:00Z"
                  for a in args(env, "--signing-key", env["key"])])
    assert r.code == 1 and "immutable" in r.out


def test_pre_receive_hook_rejection_is_a_clear_failure(env, run_subprocess):
    origin = git_repo(env["tmp"] / "origin.git", bare=True)
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'ledger is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    local = clone(origin, env["tmp"] / "clone")
    subprocess.run(["git", "-C", str(local), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    r = run_subprocess(*args(dict(env, repo=local), "--signing-key", env["key"],
                             "--remote", "origin"))
    assert r.code in (1, 3) and "rejected" in r.err, r.out + r.err
    assert "Traceback" not in r.err
    assert subprocess.run(["git", "-C", str(origin), "for-each-ref"], capture_output=True,
                          text=True).stdout == ""
