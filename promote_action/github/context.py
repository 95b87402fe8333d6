"""The run's GitHub context: `GITHUB_*` variables and the event payload, read on demand.

Read lazily (at `from_environ()` time, never at import) so tests and local runs can set
the environment per call. Titles, branch names and bodies from the payload are untrusted
data: they are only ever rendered (escaped) or passed as argv, never through a shell.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promote_action.errors import InputError

_MAX_EVENT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class PullRequestEvent:
    number: int
    title: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    is_fork: bool
    author: str
    html_url: str


@dataclass(frozen=True)
class PushEvent:
    ref: str
    before: str
    after: str
    forced: bool


@dataclass
class GitHubEnv:
    event_name: str
    event: dict[str, Any]
    repository: str
    api_url: str
    server_url: str
    token: str | None
    sha: str
    workspace: Path
    output_file: Path | None
    summary_file: Path | None
    run_url: str
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, env: Mapping[str, str] | None = None) -> GitHubEnv:
        env = os.environ if env is None else env
        event_name = env.get("GITHUB_EVENT_NAME", "")
        event_path = env.get("GITHUB_EVENT_PATH")
        event = load_event(Path(event_path)) if event_path else {}
        repo = env.get("GITHUB_REPOSITORY") or str(
            (event.get("repository") or {}).get("full_name") or "")
        if not repo or repo.count("/") != 1:
            raise InputError("GITHUB_REPOSITORY is not set to owner/name", field="env")
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        run_id = env.get("GITHUB_RUN_ID", "")
        return cls(
            event_name=event_name, event=event, repository=repo,
            api_url=env.get("GITHUB_API_URL", "https://api.github.com"),
            server_url=server,
            token=env.get("KFM_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or None,
            sha=env.get("GITHUB_SHA", ""),
            workspace=Path(env.get("GITHUB_WORKSPACE") or Path.cwd()),
            output_file=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
            summary_file=(Path(env["GITHUB_STEP_SUMMARY"])
                          if env.get("GITHUB_STEP_SUMMARY") else None),
            run_url=f"{server}/{repo}/actions/runs/{run_id}" if run_id else "",
        )

    def pull_request(self) -> PullRequestEvent:
        pr = self.event.get("pull_request")
        if self.event_name not in ("pull_request", "pull_request_target") or not isinstance(
                pr, dict):
            raise InputError(f"event {self.event_name or '(none)'!r} is not a pull request "
                             "(mode check runs on pull_request)", field="GITHUB_EVENT_NAME")
        try:
            head, base = pr["head"], pr["base"]
            head_repo = (head.get("repo") or {}).get("full_name")
            return PullRequestEvent(
                number=int(pr["number"]), title=str(pr.get("title") or ""),
                head_ref=str(head["ref"]), head_sha=_sha(head["sha"], "head.sha"),
                base_ref=str(base["ref"]), base_sha=_sha(base["sha"], "base.sha"),
                # A deleted fork has head.repo null: treat it as a fork (read-only token).
                is_fork=head_repo != (base.get("repo") or {}).get("full_name"),
                author=str((pr.get("user") or {}).get("login") or ""),
                html_url=str(pr.get("html_url") or ""),
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise InputError(f"pull_request event lacks {e}", file="GITHUB_EVENT_PATH",
                             field="/pull_request") from e

    def push(self) -> PushEvent:
        if self.event_name != "push":
            raise InputError(f"event {self.event_name or '(none)'!r} is not a push "
                             "(mode promote runs on push to the default branch)",
                             field="GITHUB_EVENT_NAME")
        e = self.event
        after = e.get("after") or self.sha
        return PushEvent(ref=str(e.get("ref") or ""), before=_sha(e.get("before") or "0" * 40,
                                                                 "before"),
                         after=_sha(after, "after"), forced=bool(e.get("forced")))

    @property
    def default_branch(self) -> str:
        return str((self.event.get("repository") or {}).get("default_branch") or "main")


def _sha(value: Any, name: str) -> str:
    s = str(value)
    if len(s) != 40 or any(c not in "0123456789abcdef" for c in s):
        raise InputError(f"{name} is not a 40-hex commit id", file="GITHUB_EVENT_PATH",
                         field=name)
    return s


def load_event(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read event payload: {e.strerror}", file=str(path)) from e
    if len(raw) > _MAX_EVENT_BYTES:
        raise InputError("event payload is too large", file=str(path))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"event payload is not JSON: {e}", file=str(path)) from e
    if not isinstance(data, dict):
        raise InputError("event payload is not a JSON object", file=str(path))
    return data
