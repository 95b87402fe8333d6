"""Rewritten history that is self-consistent (every commit validly signed by an allowed
key, chain intact) and so passes a plain `verify`: only a checkpoint taken earlier can
prove the ledger shrank or forked. The attacker uses `git push --force` on the origin; the
auditor fetches into a clone and runs `verify --remote origin --checkpoint SEQ:DIGEST`."""

from __future__ import annotations

from pathlib import Path

from promote_harness import clone, git, load_fixture_builder, promote_argv, run, verify_json
from tamper_lib import Ledger


def auditor_verify(led: Ledger, tmp: Path, checkpoint: str | None) -> tuple[int, dict, str]:
    audit = clone(led.path, tmp / "audit")
    extra = ["--remote", "origin"] + (["--checkpoint", checkpoint] if checkpoint else [])
    code, out = verify_json(audit, led.info["allowed"], *extra)
    return code, out, str(audit)


def truncate(led: Ledger, tmp: Path, keep: int, drop_tags: bool) -> list[str]:
    """Force-push the branch back to seq `keep`; optionally delete the dropped versions'
    tags too (an attacker covering their tracks). Returns the chain before."""
    chain = led.chain()
    attacker = clone(led.path, tmp / "attacker")
    specs = [f"{chain[keep]}:refs/heads/kfm-ledger"]
    if drop_tags:
        specs += [f":{t}" for rev in chain[keep + 1:] for t in tags_at(led.path, rev)]
    git("-C", str(attacker), "push", "-q", "--force", "origin", *specs)
    assert led.chain() == chain[:keep + 1]
    return chain


def tags_at(repo: Path, rev: str) -> list[str]:
    out = git("-C", str(repo), "for-each-ref", "--format=%(refname)", "--points-at", rev,
              "refs/tags/kfm/").stdout.split()
    assert out, f"no kfm tag on {rev}"
    return out


def test_deleted_last_entry_with_its_tag_left_behind(led: Ledger, tmp_path: Path):
    truncate(led, tmp_path, 3, drop_tags=False)
    code, out, _ = auditor_verify(led, tmp_path / "a1", None)
    assert code == 1 and "names no promotion" in out["failure"]["why"], out


def test_deleted_last_entry_detected_only_by_checkpoint(led: Ledger, tmp_path: Path):
    chain = truncate(led, tmp_path, 3, drop_tags=True)
    assert led.chain() == chain[:4]
    code, out, _ = auditor_verify(led, tmp_path / "a1", None)
    assert code == 0 and out["entries"] == 3, out  # a shorter ledger is self-consistent
    cps = led.info["checkpoints"]
    code, out, _ = auditor_verify(led, tmp_path / "a2", cps[4])
    assert code == 1, out
    f = out["failure"]
    assert (f["seq"], f["commit"]) == (3, chain[3]) and "rolled back" in f["why"], f
    code, out, _ = auditor_verify(led, tmp_path / "a3", cps[3])  # older checkpoint: fine
    assert code == 0, out


def test_force_pushed_fork_from_seq_3_detected_by_checkpoint(led: Ledger, tmp_path: Path):
    """The attacker resets the branch to seq 2 and promotes something else with an allowed
    key through the real CLI: entries 3.. are valid-looking, and git accepts them."""
    chain = led.chain()
    attacker = clone(led.path, tmp_path / "attacker")
    git("-C", str(attacker), "update-ref", "refs/heads/kfm-ledger", chain[2])
    for label in ("2026-03", "2026-04"):
        ds = load_fixture_builder().base_dataset(slug="tamper_gamma", label=label)
        ds.write(tmp_path / label / "tamper_gamma")
        from promote_action.spec import load_spec

        version = load_spec(tmp_path / label / "tamper_gamma").identity.dataset_version_id
        p = run(promote_argv(tmp_path / label / "tamper_gamma", version, attacker,
                             led.info["k2"]))
        assert p.returncode == 0 and "recorded" in p.stdout, p.stdout + p.stderr
    gone = [f":{t}" for rev in chain[3:] for t in tags_at(led.path, rev)]
    git("-C", str(attacker), "push", "-q", "--force", "origin", "kfm-ledger",
        "refs/tags/kfm/tamper_gamma/*:refs/tags/kfm/tamper_gamma/*", *gone)
    forked = led.chain()
    assert forked[:3] == chain[:3] and forked[3] != chain[3] and len(forked) == 5
    code, out, _ = auditor_verify(led, tmp_path / "a1", None)
    assert code == 0 and out["entries"] == 4, out  # self-consistent: needs a checkpoint
    cps = led.info["checkpoints"]
    for seq in (3, 4):
        code, out, _ = auditor_verify(led, tmp_path / f"b{seq}", cps[seq])
        assert code == 1, out
        f = out["failure"]
        assert (f["seq"], f["commit"]) == (seq, forked[seq]), f
        assert "rewritten or forked" in f["why"], f
    code, out, _ = auditor_verify(led, tmp_path / "c2", cps[2])  # before the fork point
    assert code == 0, out


def test_text_report_names_entry_commit_and_reason(led: Ledger, tmp_path: Path):
    chain = truncate(led, tmp_path, 2, drop_tags=True)
    from promote_harness import kfm_argv

    audit = clone(led.path, tmp_path / "audit")
    p = run(kfm_argv("verify", "--repo", audit, "--remote", "origin", "--allowed-signers",
                     led.info["allowed"], "--checkpoint", led.info["checkpoints"][4]))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stdout.startswith(f"ledger INVALID at entry #2 (commit {chain[2]}): "), p.stdout
    assert "rolled back" in p.stdout
