"""The writers enforce the trust root BEFORE writing: `promote`, `ledger init` and
`quarantine` refuse (exit 2, one line naming the trust file, nothing written or pushed) to
sign with a key that the default branch's `ledger/allowed_signers` does not admit for
namespace `git` at the time the commit will carry, or that `ledger/revoked_signers` lists.

Each case runs against a bare "origin" whose `main` holds the trust root, from a clone,
exactly as the promote job does; the origin's refs and objects must be unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from ledgerlib import clone, git_repo, make_key, sh

AT = "2026-02-20T13:00:00Z"  # the commit time every write below carries
ALLOWED = "ledger/allowed_signers"
REVOKED = "ledger/revoked_signers"


def snapshot(repo: Path) -> tuple[str, str]:
    """(every ref, digest of every object file): equal before and after = nothing written."""
    refs = sh("git", "for-each-ref", "--format=%(refname) %(objectname)", cwd=repo)
    h = hashlib.sha256()
    for p in sorted((repo / "objects").rglob("*")):
        if p.is_file():
            h.update(p.relative_to(repo).as_posix().encode() + b"\0" + p.read_bytes())
    return refs, h.hexdigest()


def publish_main(clone_dir: Path, files: dict[str, str]) -> None:
    """Commit the trust files on `main` and push them, as a reviewed PR merge would."""
    for rel, text in files.items():
        (clone_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone_dir / rel).write_text(text)
    sh("git", "add", "-A", cwd=clone_dir)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "trust root",
       cwd=clone_dir)
    sh("git", "push", "-q", "origin", "HEAD:refs/heads/main", cwd=clone_dir)


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Any]:
    """A bare origin (default branch `main`), a clone, the bot key A (always trusted, it
    creates the ledger) and key B whose trust line each case varies."""
    a_file, _, a = make_key(tmp_path / "keys", name="bot_a", principal="bot-a@example")
    b_file, _, b = make_key(tmp_path / "keys", name="bot_b", principal="bot-b@example")
    origin = git_repo(tmp_path / "origin.git", bare=True)
    sh("git", "symbolic-ref", "HEAD", "refs/heads/main", cwd=origin)
    work = git_repo(tmp_path / "seed")
    sh("git", "push", "-q", str(origin), "HEAD:refs/heads/main", cwd=work)
    work = clone(origin, tmp_path / "work")
    return {"origin": origin, "work": work, "a": a, "b": b, "a_file": a_file,
            "b_file": b_file, "tmp": tmp_path}


def trust_files(site: dict[str, Any], b_line: str | None, revoke_b: bool = False
                ) -> dict[str, str]:
    files = {ALLOWED: f'bot-a@example namespaces="git" {site["a"].public_openssh}\n'
                      + (b_line.format(key=site["b"].public_openssh) + "\n" if b_line else "")}
    if revoke_b:
        files[REVOKED] = site["b"].public_openssh + "\n"
    return files


# (case id, key B's allowed_signers line, revoke B?, what the error must say)
CASES = [
    ("unlisted", None, False, "is not in refs/heads/main:ledger/allowed_signers"),
    ("rotated_out", 'bot-b@example namespaces="git",valid-before="20260220125959Z" {key}',
     False, "key expired at 2026-02-20T13:00:00Z"),
    ("not_yet_valid", 'bot-b@example namespaces="git",valid-after="20260220130001Z" {key}',
     False, "key not yet valid at 2026-02-20T13:00:00Z"),
    ("wrong_namespace", 'bot-b@example namespaces="file" {key}', False,
     "namespace 'git' is not allowed"),
    ("revoked", 'bot-b@example namespaces="git" {key}', True,
     "is revoked (refs/heads/main:ledger/revoked_signers: line 1)"),
    ("malformed", 'bot-b@example namespaces="git" valid-after="20260101" {key}', False,
     "refs/heads/main:ledger/allowed_signers: line 2"),
]


def writer_argv(command: str, site: dict[str, Any], ds: Path, version: str) -> list[Any]:
    common = ["--repo", site["work"], "--remote", "origin", "--signing-key", site["b_file"]]
    if command == "init":
        return ["ledger", "init", *common, "--at", AT]
    if command == "quarantine":
        return ["quarantine", *common, "--dataset-slug", ds.name, "--dataset-version-id",
                version, "--reason-code", "license_unclear", "--remediation", "re-check",
                "--actor", "principal:github:kfm-steward", "--at", AT]
    return ["promote", *common, "--dataset-slug", ds.name, "--dataset-version-id", version,
            "--spec", ds, "--released-at", AT, "--approver", "principal:github:kfm-steward",
            "--approver-role", "steward", "--engine", "embedded"]


def version_of(ds: Path) -> str:
    from promote_action.spec import load_spec

    return load_spec(ds).identity.dataset_version_id


@pytest.mark.parametrize("command", ["init", "promote", "quarantine"])
@pytest.mark.parametrize(("case", "b_line", "revoke_b", "why"), CASES,
                         ids=[c[0] for c in CASES])
def test_untrusted_key_is_refused_and_nothing_is_written(site, run_cli, pass_dataset, command,
                                                         case, b_line, revoke_b, why):
    publish_main(site["work"], trust_files(site, b_line, revoke_b))
    if command != "init":  # an existing ledger, created by the trusted key A
        r = run_cli("ledger", "init", "--repo", site["work"], "--remote", "origin",
                    "--signing-key", site["a_file"], "--at", AT)
        assert r.code == (2 if case == "malformed" else 0), r.err
    before, local_before = snapshot(site["origin"]), snapshot(site["work"] / ".git")
    r = run_cli(*writer_argv(command, site, pass_dataset, version_of(pass_dataset)))
    assert r.code == 2, r.out + r.err
    assert r.out == "" and len(r.err.strip().splitlines()) == 1, r.err
    assert why in r.err and "Traceback" not in r.err
    assert "refs/heads/main:ledger/" in r.err  # names the trust file it judged by
    assert snapshot(site["origin"]) == before, "the origin changed"
    assert snapshot(site["work"] / ".git") == local_before, "the clone changed"


def test_trusted_key_within_its_window_is_accepted_inclusively(site, run_cli, pass_dataset):
    """valid-before equal to the commit time is still trusted (OpenSSH: inclusive); the
    window lies months before today, so the verdict comes from the commit time, not the
    clock."""
    publish_main(site["work"], trust_files(
        site, 'bot-b@example namespaces="git",valid-before="20260220130000Z" {key}'))
    argv = writer_argv("quarantine", site, pass_dataset, version_of(pass_dataset))
    assert run_cli(*argv).code == 0
    r = run_cli("verify", "--repo", site["work"], "--remote", "origin")
    assert r.code == 0, r.out + r.err


def test_init_judges_the_time_of_head_when_no_at_is_given(site, run_cli):
    """Without --at the root commit carries HEAD's commit time; that is what is judged."""
    publish_main(site["work"], trust_files(
        site, 'bot-b@example namespaces="git",valid-after="20990101000000Z" {key}'))
    before = snapshot(site["origin"])
    r = run_cli("ledger", "init", "--repo", site["work"], "--remote", "origin",
                "--signing-key", site["b_file"])
    assert r.code == 2 and "not yet valid" in r.err, r.err
    assert snapshot(site["origin"]) == before


def test_no_trust_root_at_all_is_refused(site, run_cli, pass_dataset):
    """Fail closed: a default branch without ledger/allowed_signers trusts nobody."""
    before = snapshot(site["origin"])
    r = run_cli(*writer_argv("init", site, pass_dataset, version_of(pass_dataset)))
    assert r.code == 2 and "has no trust root" in r.err and ALLOWED in r.err, r.err
    assert snapshot(site["origin"]) == before


def test_dry_run_and_staged_patch_with_an_untrusted_key_are_refused(site, run_cli,
                                                                    pass_dataset):
    publish_main(site["work"], trust_files(site, None))
    argv = writer_argv("promote", site, pass_dataset, version_of(pass_dataset))
    patch = site["tmp"] / "ledger.bundle"
    for extra in (["--dry-run"], ["--staged-patch", patch]):
        r = run_cli(*argv, *extra)
        assert r.code == 2 and "is not in" in r.err, r.out + r.err
    assert not patch.exists()


def test_override_flags_are_the_verify_flags(site, run_cli, pass_dataset):
    """--allowed-signers / --revoked-signers / --trust-branch override the default branch,
    as they do for verify."""
    publish_main(site["work"], trust_files(site, None))  # main does not trust B
    own = site["tmp"] / "own_allowed_signers"
    own.write_text(f'bot-b@example namespaces="git" {site["b"].public_openssh}\n')
    argv = writer_argv("init", site, pass_dataset, version_of(pass_dataset))
    revoked = site["tmp"] / "own_revoked"
    revoked.write_text(site["b"].public_openssh + "\n")
    r = run_cli(*argv, "--allowed-signers", own, "--revoked-signers", revoked)
    assert r.code == 2 and f"is revoked ({revoked}: line 1)" in r.err, r.err
    r = run_cli(*argv, "--trust-branch", "no-such-branch")
    assert r.code == 2 and "no default branch no-such-branch" in r.err, r.err
    assert run_cli(*argv, "--allowed-signers", own).code == 0


@pytest.mark.parametrize(("case", "b_line", "revoke_b", "why"), CASES,
                         ids=[c[0] for c in CASES])
def test_verify_rejects_what_the_writers_refuse_for_the_same_reason(site, run_cli, case,
                                                                     b_line, revoke_b, why):
    """One definition of "trusted at T": a ledger written by B behind the writers' back
    (through a private trust file) fails `verify` against main's trust root with the very
    reason the writers give."""
    from ledgerlib import synthetic_quarantine, trusted_target

    from promote_action.ledger import init_ledger
    from promote_action.ledger.writer import append_event

    publish_main(site["work"], trust_files(site, b_line, revoke_b))
    lt = trusted_target(site["work"], site["b"])
    init_ledger(lt, site["b"], AT)
    append_event(lt, synthetic_quarantine("alpha_data", "2026-02.000000000001", AT), site["b"])
    r = run_cli("verify", "--repo", site["work"])
    assert r.code == (2 if case == "malformed" else 1), r.out + r.err
    assert why in r.out + r.err
