"""Tampering that signatures must catch: edited entries (re-signed by an unknown key,
unsigned, or keeping a now-invalid signature), a forged new entry, an unsigned append, a
revoked key. `kfm-promote verify` must name the first bad commit and why, and plain
`git verify-commit` (no kfm code) must reject the same commit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pygit2
from promote_harness import kfm_argv, run, verify_json
from tamper_lib import Ledger, entry_digest, entry_path, git_verify_commit, render


def assert_rejected(led: Ledger, seq: int, commit: str, *why: str, extra: tuple = ()
                    ) -> dict[str, Any]:
    code, out = verify_json(led.path, led.info["allowed"], *extra)
    assert code == 1, out
    f = out["failure"]
    assert (f["seq"], f["commit"]) == (seq, commit), f
    assert any(w in f["why"] for w in why), f
    return f  # type: ignore[no-any-return]


def forged_entry_2(led: Ledger) -> bytes:
    chain = led.chain()
    entry = led.entry(chain[2], 2)
    entry["approvals"][0]["principal"] = "github:mallory"
    return render(entry)


def test_untampered_ledger_verifies_and_plain_git_accepts_every_commit(led: Ledger):
    code, out = verify_json(led.path, led.info["allowed"])
    assert code == 0 and out["entries"] == 4 and out["counts"]["promotion"] == 4, out
    for rev in led.chain():
        p = git_verify_commit(led.path, led.info["allowed"], rev)
        assert p.returncode == 0, p.stderr


def test_edited_entry_resigned_with_attackers_unknown_key(led: Ledger):
    chain = led.chain()
    mallory = led.info["mallory"]
    bad = led.recommit(chain[2], chain[1], mallory, {entry_path(2): forged_entry_2(led)})
    led.set_tip(led.replay(bad, chain[3:], mallory))
    assert_rejected(led, 2, bad, "not trusted")
    p = git_verify_commit(led.path, led.info["allowed"], bad)
    assert p.returncode != 0 and "No principal matched" in p.stderr, p.stderr
    assert git_verify_commit(led.path, led.info["allowed"], chain[1]).returncode == 0


def test_edited_entry_unsigned(led: Ledger):
    chain = led.chain()
    bad = led.recommit(chain[2], chain[1], None, {entry_path(2): forged_entry_2(led)})
    led.set_tip(led.replay(bad, chain[3:], None))
    assert_rejected(led, 2, bad, "not signed")
    assert git_verify_commit(led.path, led.info["allowed"], bad).returncode != 0


def test_edited_last_entry_keeping_its_old_signature(led: Ledger):
    """Only repo write access: the attacker edits bytes and keeps the original gpgsig."""
    chain = led.chain()
    repo = pygit2.Repository(str(led.path))
    last = repo[chain[4]]
    entry = led.entry(chain[4], 4)
    entry["source"]["pr"] = 999
    tree = led.tree_with(chain[4], {entry_path(4): render(entry)})
    content = repo.create_commit_string(last.author, last.committer, last.message,
                                        pygit2.Oid(hex=tree), [last.parents[0].id])
    bad = str(repo.create_commit_with_signature(content, last.gpg_signature[0].decode()))
    led.set_tip(bad)
    assert_rejected(led, 4, bad, "bad commit signature")
    p = git_verify_commit(led.path, led.info["allowed"], bad)
    assert p.returncode != 0 and "Good" not in p.stderr, p.stderr


def appended_quarantine(led: Ledger, signer_fpr: str) -> tuple[str, str]:
    """A well-formed seq 5 entry (a quarantine event) on top of the tip: (tree, tip)."""
    chain = led.chain()
    tail = led.entry(chain[4], 4)
    forged = {**tail, "seq": 5, "prev": entry_digest(tail), "type": "quarantine",
              "files": {}, "manifest_digest": None, "signer": signer_fpr,
              "idempotency_key": "sha256:" + "ab" * 32,
              "quarantine": {"reason_code": "other", "remediation": "none", "owner": None,
                             "due": None, "actor": {"principal": "github:mallory",
                                                    "role": "steward"}}}
    return led.tree_with(chain[4], {entry_path(5): render(forged)}), chain[4]


def _fpr(pub: Path) -> str:
    import subprocess

    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], check=True, capture_output=True,
                         text=True).stdout
    return out.split()[1]


def test_forged_new_entry_signed_with_unknown_key(led: Ledger):
    mallory = led.info["mallory"]
    tree, tip = appended_quarantine(led, _fpr(Path(f"{mallory}.pub")))
    bad = led.commit(tree, [tip], "kfm-ledger: #5 quarantine", key=mallory, like=tip)
    led.set_tip(bad)
    assert_rejected(led, 5, bad, "not trusted")
    p = git_verify_commit(led.path, led.info["allowed"], bad)
    assert p.returncode != 0 and "No principal matched" in p.stderr, p.stderr


def test_unsigned_commit_appended(led: Ledger):
    tree, tip = appended_quarantine(led, _fpr(Path(f"{led.info['k2']}.pub")))
    bad = led.commit(tree, [tip], "kfm-ledger: #5 quarantine", key=None, like=tip)
    led.set_tip(bad)
    f = assert_rejected(led, 5, bad, "not signed")
    assert bad in json.dumps(f)
    assert git_verify_commit(led.path, led.info["allowed"], bad).returncode != 0


def test_revoked_key_fails_at_the_first_entry_it_signed(led: Ledger, tmp_path: Path):
    revoked = tmp_path / "revoked_signers"
    revoked.write_text("# k2 leaked\n" + led.info["k2_pub"])
    chain = led.chain()
    f = assert_rejected(led, 3, chain[3], "revoked", extra=("--revoked", revoked))
    assert "line 2" in f["why"], f
    allowed = led.info["allowed"]
    assert git_verify_commit(led.path, allowed, chain[2], revoked).returncode == 0
    p = git_verify_commit(led.path, allowed, chain[3], revoked)
    assert p.returncode != 0, p.stderr


def test_revoked_key_from_the_default_branch_trust_root(led: Ledger, tmp_path: Path):
    """An auditor's clone: ledger/allowed_signers + ledger/revoked_signers on main are the
    trust root by default (no flags), the ledger is read as fetched from origin."""
    from promote_harness import clone, git

    work = clone(led.path, tmp_path / "audit")
    (work / "ledger").mkdir()
    (work / "ledger" / "allowed_signers").write_text(led.info["allowed"].read_text())
    (work / "ledger" / "revoked_signers").write_text(led.info["k1_pub"])
    git("-C", str(work), "add", "ledger")
    git("-C", str(work), "-c", "user.name=a", "-c", "user.email=a@a", "commit", "-qm", "trust")
    git("-C", str(work), "fetch", "-q", "origin", "kfm-ledger")
    p = run(kfm_argv("verify", "--repo", work, "--remote", "origin"))
    assert p.returncode == 1, p.stdout + p.stderr
    root = led.chain()[0]
    assert f"commit {root}" in p.stdout and "revoked" in p.stdout, p.stdout
    assert len(p.stdout.strip().splitlines()) == 1 and "Traceback" not in p.stderr
