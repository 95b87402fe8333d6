"""A full disk where outputs go (`validate --report`, `promote --staged-patch`): a clear
failure, no partial or temporary file left behind, and the ledger untouched.

The disk is a real 64 KiB tmpfs filled up with a ballast file when we may mount (root);
otherwise RLIMIT_FSIZE on the child makes every write past 1 KiB fail (EFBIG), which
exercises the same error paths."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from promote_harness import kfm_argv, run
from reliability_lib import Site, dataset
from tests_support import PASS_DIR

PASS_DIR_DATASET = PASS_DIR / "kansas_river_gauges"


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Callable[[], None] | None]]:
    """(directory on a full filesystem, preexec_fn for the child or None)."""
    mnt = tmp_path / "outputs"
    mnt.mkdir()
    if os.geteuid() == 0 and shutil.which("mount") and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
            capture_output=True, check=False).returncode == 0:
        try:
            fd = os.open(mnt / "ballast", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while os.write(fd, b"\0" * 512):
                    pass
            except OSError:
                pass  # the disk is full now
            finally:
                os.close(fd)
            yield mnt, None
        finally:
            subprocess.run(["umount", str(mnt)], check=False)
        return

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    yield mnt, limit


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != "ballast")


def test_validate_report_on_full_disk_fails_without_partial_file(full_disk):
    out, preexec = full_disk
    p = run(kfm_argv("validate", "--spec", PASS_DIR_DATASET, "--report", out / "report.json",
                     "--engine", "embedded"), preexec_fn=preexec)
    assert p.returncode not in (0, 1), p.stdout + p.stderr  # not a pass, not a deny
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert listing(out) == []  # neither report.json nor a temp file
    assert p.stdout == ""  # no verdict printed for a run that failed to write its report


def test_validate_report_on_full_disk_names_the_file(full_disk):
    out, preexec = full_disk
    p = run(kfm_argv("validate", "--spec", PASS_DIR_DATASET, "--report", out / "report.json",
                     "--engine", "embedded"), preexec_fn=preexec)
    assert "report.json" in p.stderr and "internal error" not in p.stderr, p.stderr


def test_staged_patch_on_full_disk_fails_without_partial_bundle(full_disk, tmp_path: Path):
    out, preexec = full_disk
    site = Site.create(tmp_path / "site")
    ds, version = dataset(site.root / "data", "disk_gauges", "2026-01")
    work = site.clone_for(0)
    before = site.refs(work)
    p = run(site.argv(0, ds, version, "--staged-patch", str(out / "ledger.bundle")),
            preexec_fn=preexec)
    assert p.returncode != 0 and "staged patch written" not in p.stdout, p.stdout + p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in p.stderr, p.stderr
    assert listing(out) == []
    assert site.refs(work) == before and "kfm-ledger" not in site.refs()
