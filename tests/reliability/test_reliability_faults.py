"""Faults at the edges of a promotion: a remote whose pre-receive hook rejects (sometimes,
always), a remote that keeps winning the race, an unreachable remote, a full disk. Each
must fail clearly (one line, non-zero, no traceback), leave no partial entry anywhere,
and leave a ledger that still verifies with an unbroken chain."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from promote_harness import REF, assert_chain_whole, git, run, verify_json
from reliability_lib import Site, dataset, one_line_error

FLAKY = """n=$(cat "$GIT_DIR/push-count" 2>/dev/null || echo 0); n=$((n + 1))
echo $n > "$GIT_DIR/push-count"
if [ $((n % 2)) -eq 1 ]; then echo "transient policy-server outage (push $n)" >&2; exit 1; fi
"""


def promote(site: Site, i: int, label: str, slug: str = "faulty_gauges",
            *extra: str) -> tuple[subprocess.CompletedProcess[str], str]:
    ds, version = dataset(site.root / "data", slug, label)
    return run(site.argv(i, ds, version, *extra)), version


def assert_origin_valid(site: Site, entries: int) -> None:
    code, out = verify_json(site.origin, site.allowed)
    assert code == 0 and out["entries"] == entries, out
    assert len(assert_chain_whole(site.origin)) == entries


def test_intermittently_rejecting_hook_fails_cleanly_and_reruns_land(tmp_path: Path):
    """The protocol makes a hook rejection a failure (exit 1, never success, no in-process
    retry); the operator's re-run is the retry, and it lands exactly once."""
    site = Site.create(tmp_path)
    site.hook("pre-receive", FLAKY)
    for k, label in enumerate(["2026-01", "2026-02", "2026-03"]):
        before = site.refs()
        p, version = promote(site, 0, label)
        assert p.returncode == 1, p.stdout + p.stderr
        assert "rejected" in one_line_error(p.stderr)
        assert site.refs() == before  # nothing landed: no branch move, no tag
        p, _ = promote(site, 0, label)  # the retry
        assert p.returncode == 0 and "promoted and recorded" in p.stdout, p.stdout + p.stderr
        assert_origin_valid(site, k + 1)
        tags = git("-C", str(site.origin), "tag", "-l", "kfm/*").stdout.split()
        assert f"kfm/faulty_gauges/{version}" in tags and len(tags) == k + 1


def test_always_rejecting_hook_fails_every_time_and_writes_nothing(tmp_path: Path):
    site = Site.create(tmp_path)
    p, _ = promote(site, 0, "2026-01")
    assert p.returncode == 0, p.stderr
    site.hook("pre-receive", 'echo "ledger is frozen" >&2; exit 1\n')
    before, local_before = site.refs(), site.refs(site.clone_for(0))
    for _ in range(2):
        p, _ = promote(site, 0, "2026-02")
        assert p.returncode == 1, p.stdout + p.stderr
        line = one_line_error(p.stderr)
        assert "rejected" in line and "pre-receive hook declined" in line, line
        assert "promoted" not in p.stdout
    assert site.refs() == before
    local = site.refs(site.clone_for(0))
    assert [ln for ln in local.splitlines() if "kfm-ledger" in ln and "heads" in ln] == [
        ln for ln in local_before.splitlines() if "kfm-ledger" in ln and "heads" in ln]
    assert_origin_valid(site, 1)


def test_hook_rejection_message_reaches_the_operator(tmp_path: Path):
    site = Site.create(tmp_path)
    site.hook("pre-receive", 'echo "ledger is frozen until the audit ends" >&2; exit 1\n')
    p, _ = promote(site, 0, "2026-01")
    assert p.returncode == 1
    assert "ledger is frozen until the audit ends" in one_line_error(p.stderr)


RIVAL = """n=$(cat "$GIT_DIR/push-count" 2>/dev/null || echo 0); n=$((n + 1))
echo $n > "$GIT_DIR/push-count"
rival=$(git rev-parse --verify -q "refs/rival/$n") || exit 0
env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES \\
    git update-ref refs/heads/kfm-ledger "$rival"
"""


def test_losing_every_race_exits_3_with_nothing_half_written(tmp_path: Path):
    """A rival promoter lands a valid entry just before each of our pushes (a hook moves
    the branch to the rival's next commit): after --max-attempts lost compare-and-swaps
    the run exits 3; the origin holds only the rival's entries; a re-run lands."""
    site = Site.create(tmp_path)
    p, _ = promote(site, 0, "2026-01")
    assert p.returncode == 0, p.stderr
    rival = site.clone_for(1)  # builds 3 entries on its local branch, then stages them
    git("-C", str(rival), "fetch", "-q", "origin", f"+{REF}:{REF}")
    for label in ("2026-02", "2026-03", "2026-04"):
        ds, version = dataset(site.root / "data", "rival_gauges", label)
        r = run([a for a in site.argv(1, ds, version) if a not in ("--remote", "origin")])
        assert r.returncode == 0, r.stderr
    chain = git("-C", str(rival), "rev-list", "--reverse", f"origin/kfm-ledger..{REF}").stdout
    for n, rev in enumerate(chain.split(), start=1):
        git("-C", str(rival), "push", "-q", "origin", f"{rev}:refs/rival/{n}")
    git("-C", str(rival), "push", "-q", "origin", "refs/tags/kfm/rival_gauges/*")
    site.hook("pre-receive", RIVAL)
    before_tags = git("-C", str(site.origin), "tag", "-l", "kfm/faulty*").stdout
    p, version = promote(site, 0, "2026-05", "faulty_gauges", "--max-attempts", "3")
    assert p.returncode == 3, p.stdout + p.stderr
    assert "contention" in one_line_error(p.stderr)
    assert git("-C", str(site.origin), "tag", "-l", "kfm/faulty*").stdout == before_tags
    es = assert_chain_whole(site.origin)
    assert [e["dataset_slug"] for e in es] == ["faulty_gauges"] + ["rival_gauges"] * 3
    assert_origin_valid(site, 4)
    p, _ = promote(site, 0, "2026-05")  # the rival is done: the re-run lands as seq 5
    assert p.returncode == 0 and "promoted and recorded" in p.stdout, p.stderr
    assert_origin_valid(site, 5)


@pytest.mark.parametrize("url", ["{root}/no/such/origin.git", "file:///nonexistent/kfm.git"])
def test_unreachable_remote_clear_error_and_local_ledger_untouched(tmp_path: Path, url: str):
    site = Site.create(tmp_path)
    work = site.clone_for(0)
    git("-C", str(work), "remote", "set-url", "origin", url.format(root=tmp_path))
    before = site.refs(work)
    objects = sorted(p for p in (work / ".git" / "objects").rglob("*") if p.is_file())
    p, _ = promote(site, 0, "2026-01")
    assert p.returncode != 0 and "promoted" not in p.stdout, p.stdout + p.stderr
    line = one_line_error(p.stderr)
    assert "origin" in line or "no/such" in line or "nonexistent" in line, line
    assert site.refs(work) == before
    assert sorted(p for p in (work / ".git" / "objects").rglob("*") if p.is_file()) == objects
    assert git("-C", str(site.origin), "for-each-ref", "refs/heads/kfm-ledger").stdout == ""
