"""Landing a ledger commit: a compare-and-swap on the branch, the tag in the same step.

Two targets share one contract, `land(old, new, tags) -> bool` (False = lost the race):
- `LocalTarget` (no remote): `git update-ref --stdin` runs every update in ONE locked
  transaction, and `update <ref> <new> <old>` fails unless the ref still holds `old`, so
  any number of processes sharing a repository serialize correctly.
- `RemoteTarget`: `git push --atomic` of the branch (never `+`/force, so only a
  fast-forward of the tip we built on can land) together with the signed tag; the server
  either takes both refs or neither. We shell out to git rather than push with libgit2
  because libgit2 has no atomic push and would not use the credentials that
  actions/checkout leaves in git's config. Rejections are read from `--porcelain`, and the
  remote ref is re-read afterwards: success is what the remote says, not what we hoped.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from promote_action.errors import LedgerError

ZERO = "0" * 40
_CONTENTION_MARKERS = ("fetch first", "non-fast-forward", "stale info", "cannot lock ref",
                       "failed to update ref", "incorrect old value", "reference already exists",
                       "atomic push failed", "already exists")


class PushRejectedError(LedgerError):
    """The remote refused the ledger update for a reason other than a race (a hook, a
    protection rule): the promotion did not land, which is a refusal, not bad input."""

    exit_code = 1


def git(repo_dir: Path, *args: str, stdin: str | None = None, check: bool = True
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    env.pop("GIT_DIR", None)
    proc = subprocess.run(["git", "-C", str(repo_dir), *args], input=stdin, text=True,
                          capture_output=True, env=env, check=False, timeout=300)
    if check and proc.returncode != 0:
        msg = " ".join((proc.stderr or proc.stdout).split())[:400]
        raise LedgerError(f"git {args[0]} failed: {msg}", file=str(repo_dir))
    return proc


@dataclass(frozen=True)
class TagUpdate:
    name: str  # refs/tags/...
    oid: str


class LocalTarget:
    """The ledger branch lives in `repo_dir` itself."""

    def __init__(self, repo_dir: Path, ref: str):
        self.repo_dir = repo_dir
        self.ref = ref

    def describe(self) -> str:
        return f"{self.ref} in {self.repo_dir}"

    def fetch(self) -> str | None:
        proc = git(self.repo_dir, "rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}",
                   check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def land(self, old: str | None, new: str, tags: list[TagUpdate]) -> bool:
        lines = [f"update {self.ref} {new} {old or ZERO}"]
        lines += [f"create {t.name} {t.oid}" for t in tags]
        proc = git(self.repo_dir, "update-ref", "--stdin", stdin="\n".join(lines) + "\n",
                   check=False)
        if proc.returncode == 0:
            return True
        err = proc.stderr.lower()
        if any(m in err for m in _CONTENTION_MARKERS):
            return False
        raise LedgerError(f"cannot update {self.ref}: {' '.join(proc.stderr.split())[:300]}",
                          file=str(self.repo_dir))


class RemoteTarget:
    """The ledger branch lives on `remote`; `repo_dir` is a local clone used as scratch."""

    def __init__(self, repo_dir: Path, remote: str, ref: str):
        self.repo_dir = repo_dir
        self.remote = remote
        self.ref = ref
        self.tracking = f"refs/kfm-promote/{remote}/{ref.removeprefix('refs/')}"

    def describe(self) -> str:
        return f"{self.ref} on remote {self.remote}"

    def remote_tip(self) -> str | None:
        proc = git(self.repo_dir, "ls-remote", "--refs", self.remote, self.ref)
        for line in proc.stdout.splitlines():
            oid, _, name = line.partition("\t")
            if name == self.ref:
                return oid
        return None

    def fetch(self) -> str | None:
        """Fetch the remote tip's objects and return its id.

        No local ref is written: two promoters sharing a clone (a re-run beside a killed
        run, or a runner's workspace reused) would otherwise race on the ref lock and one
        would fail instead of retrying. The tip comes from `ls-remote`; the fetch brings
        that commit or a newer one, which contains it.
        """
        for _ in range(3):
            tip = self.remote_tip()
            if tip is None:
                return None
            git(self.repo_dir, "fetch", "--no-tags", "--no-write-fetch-head", "--quiet",
                self.remote, self.ref)
            have = git(self.repo_dir, "cat-file", "-e", f"{tip}^{{commit}}", check=False)
            if have.returncode == 0:
                return tip
        raise LedgerError(f"cannot fetch {self.ref} from {self.remote}: the tip kept moving",
                          file=str(self.repo_dir))

    def land(self, old: str | None, new: str, tags: list[TagUpdate]) -> bool:
        specs = [f"{new}:{self.ref}"] + [f"{t.oid}:{t.name}" for t in tags]
        proc = git(self.repo_dir, "push", "--atomic", "--porcelain", "--no-verify",
                   self.remote, *specs, check=False)
        out = proc.stdout + "\n" + proc.stderr
        rejected = [ln for ln in proc.stdout.splitlines() if ln.startswith("!")]
        if proc.returncode != 0 or rejected:
            # The hook's own explanation comes as "remote: ..." lines on stderr: show it
            # first, it is what the operator needs to act on.
            said = [ln.removeprefix("remote:").strip() for ln in proc.stderr.splitlines()
                    if ln.startswith("remote:") and ln.removeprefix("remote:").strip()]
            text = " ".join((" | ".join(said + rejected) or proc.stderr).split())[:400]
            lowered = out.lower()
            raced = any(m in lowered for m in _CONTENTION_MARKERS)
            if "hook declined" in lowered or ("remote rejected" in lowered and not raced):
                raise PushRejectedError(f"remote {self.remote} rejected the ledger push: "
                                        f"{text}")
            if raced:
                return False
            raise PushRejectedError(f"push to {self.remote} failed: {text}")
        # Trust the remote, not the exit code: the branch must now contain our commit.
        tip = self.remote_tip()
        if tip != new:
            if tip is None:
                raise PushRejectedError(f"push to {self.remote} reported success but "
                                        f"{self.ref} is missing there")
            tip = self.fetch()
            base = git(self.repo_dir, "merge-base", "--is-ancestor", new, tip or new,
                       check=False)
            if base.returncode != 0:
                raise PushRejectedError(f"push to {self.remote} reported success but "
                                        f"{self.ref} does not contain {new}")
        git(self.repo_dir, "update-ref", self.tracking, tip or new, check=False)
        return True
