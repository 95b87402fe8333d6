"""GitHub REST access through PyGithub, with bounded retry and backoff.

PyGithub's own retry sleeps for as long as the server asks (up to an hour on a secondary
rate limit) and it throttles every call by default; a CI job must rather fail with a clear
message in bounded time. So PyGithub runs with `retry=None` and no throttling, and every
call goes through `_call`, which retries transient failures (5xx, 429, 403 with an
exhausted rate limit) with exponential backoff, then raises `GitHubApiError`.
Tests shorten the backoff with `KFM_GITHUB_RETRY_BASE` (seconds) and
`KFM_GITHUB_RETRIES` (attempts).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from promote_action.errors import Error

T = TypeVar("T")

COMMENT_MARKER = "<!-- kfm-promote:check -->"
PROMOTE_MARKER = "<!-- kfm-promote:promote -->"
HELP_URL = "https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api"


class GitHubApiError(Error):
    """The GitHub API kept failing or refused us; the decision never depends on this."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Review:
    login: str
    state: str
    submitted_at: str  # RFC 3339, from GitHub
    review_id: int


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    merged: bool
    merge_commit_sha: str | None
    base_ref: str
    head_ref: str
    html_url: str
    author: str = ""


def _env_number(name: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def _transient(exc: Exception) -> tuple[bool, float | None]:
    """(retry?, server-suggested wait) for a PyGithub or transport exception."""
    from github import GithubException

    if isinstance(exc, GithubException):
        status = exc.status
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        wait = None
        if headers.get("retry-after", "").isdigit():
            wait = float(headers["retry-after"])
        if status == 429 or status >= 500:
            return True, wait
        if status == 403 and (headers.get("x-ratelimit-remaining") == "0"
                              or "rate limit" in str(exc.data).lower()):
            return True, wait
        return False, None
    # requests' ConnectionError / Timeout and friends: the server may come back.
    return type(exc).__module__.startswith(("requests", "urllib3")), None


class GitHubClient:
    """The few calls the action needs, each retried with backoff on transient errors."""

    def __init__(self, api_url: str, token: str | None, repo: str) -> None:
        from github import Auth, Github

        self.repo_name = repo
        auth = Auth.Token(token) if token else None
        self._gh = Github(auth=auth, base_url=api_url.rstrip("/"), retry=None, lazy=True,
                          timeout=int(_env_number("KFM_GITHUB_TIMEOUT", 20)),
                          seconds_between_requests=None, seconds_between_writes=None)
        self._repo = self._gh.get_repo(repo)
        self.attempts = max(1, int(_env_number("KFM_GITHUB_RETRIES", 5)))
        self.base_delay = _env_number("KFM_GITHUB_RETRY_BASE", 1.0)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from github import GithubException

        last: Exception | None = None
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as e:  # noqa: BLE001 - classified below, re-raised as ours
                retry, wait = _transient(e)
                last = e
                if not retry or attempt == self.attempts - 1:
                    break
                delay = self.base_delay * (2 ** attempt)
                time.sleep(min(wait if wait is not None else delay, 60.0, delay * 4 + 1))
        status = last.status if isinstance(last, GithubException) else None
        detail = _describe(last)
        raise GitHubApiError(f"GitHub API: {what} failed ({detail}); see {HELP_URL}",
                             status=status) from last

    # --- pull requests and reviews ------------------------------------------------
    def pulls_for_commit(self, sha: str) -> list[PullInfo]:
        def fetch() -> list[PullInfo]:
            return [_pull_info(p) for p in self._repo.get_commit(sha).get_pulls()]
        return self._call(f"list pull requests of commit {sha[:12]}", fetch)

    def reviews(self, number: int) -> list[Review]:
        def fetch() -> list[Review]:
            out = []
            for r in self._repo.get_pull(number).get_reviews():
                when = r.submitted_at
                out.append(Review(login=r.user.login if r.user else "",
                                  state=str(r.state or ""),
                                  submitted_at=when.strftime("%Y-%m-%dT%H:%M:%SZ") if when
                                  else "", review_id=int(r.id)))
            return out
        return self._call(f"list reviews of pull request #{number}", fetch)

    # --- comments -----------------------------------------------------------------
    def upsert_comment(self, number: int, body: str, marker: str = COMMENT_MARKER,
                       *, create: bool = True) -> str:
        """Edit our marked comment if it exists, else create it. Returns its html_url."""
        issue = self._repo.get_issue(number)
        found = self._call(f"list comments of #{number}",
                           lambda: [c for c in issue.get_comments() if _ours(c, marker)])
        if found:
            comment = found[0]
            self._call(f"edit comment {comment.id} on #{number}", lambda: comment.edit(body))
            return str(comment.html_url or "")
        if not create:
            return ""
        created = self._call(f"comment on #{number}", lambda: issue.create_comment(body))
        return str(created.html_url or "")


def _ours(comment: Any, marker: str) -> bool:
    """Our comment: starts with the marker and was written by a bot (so a person quoting
    the marker in their own comment never gets their comment overwritten or edited)."""
    user = comment.user
    is_bot = user is not None and (user.type == "Bot" or user.login.endswith("[bot]"))
    return is_bot and (comment.body or "").startswith(marker)


def _pull_info(p: Any) -> PullInfo:
    # The commit->pulls listing carries merged_at but not `merged`; reading `merged` would
    # make PyGithub fetch every PR again.
    return PullInfo(number=int(p.number), title=str(p.title or ""),
                    merged=p.merged_at is not None,
                    merge_commit_sha=p.merge_commit_sha, base_ref=str(p.base.ref),
                    head_ref=str(p.head.ref), html_url=str(p.html_url or ""),
                    author=str(p.user.login) if p.user else "")


def _describe(exc: Exception | None) -> str:
    from github import GithubException

    if isinstance(exc, GithubException):
        msg = exc.data.get("message") if isinstance(exc.data, dict) else None
        return f"HTTP {exc.status}" + (f": {msg}" if msg else "")
    return " ".join(f"{type(exc).__name__}: {exc}".split()) if exc else "unknown error"
