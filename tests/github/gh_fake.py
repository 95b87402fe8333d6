"""A small fake of the GitHub REST API on 127.0.0.1 that records every request.

Serves just what the action uses through PyGithub: commit->pulls, pull reviews, issue
comments (list/create/edit). Failures are injected per (method, path regex) with a
status, headers and a count, to test forks (403 on comment POST), rate limits and 5xx.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Failure:
    method: str
    path: str  # regex
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1_000_000
    body: dict[str, Any] = field(default_factory=lambda: {"message": "injected failure"})


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    auth: str | None


class FakeGitHub:
    def __init__(self, repo: str = "kfm-org/datasets") -> None:
        self.repo = repo
        self.requests: list[Recorded] = []
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.commit_pulls: dict[str, list[int]] = {}
        self.failures: list[Failure] = []
        self._next_id = 1000
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- state helpers for tests ----------------------------------------------------
    def add_pull(self, number: int, *, title: str, head_ref: str, base_ref: str = "main",
                 merge_commit_sha: str | None = None, merged: bool = False,
                 user: str = "contributor") -> dict[str, Any]:
        pr = {"url": f"{self.url}/repos/{self.repo}/pulls/{number}", "id": number * 7,
              "number": number, "state": "closed" if merged else "open", "title": title,
              "user": {"login": user, "type": "User", "id": 1},
              "html_url": f"https://github.com/{self.repo}/pull/{number}",
              "merged_at": "2026-02-10T12:00:00Z" if merged else None,
              "merge_commit_sha": merge_commit_sha,
              "head": {"ref": head_ref, "sha": "1" * 40, "label": f"x:{head_ref}"},
              "base": {"ref": base_ref, "sha": "2" * 40, "label": f"x:{base_ref}"}}
        self.pulls[number] = pr
        if merge_commit_sha:
            self.commit_pulls.setdefault(merge_commit_sha, []).append(number)
        return pr

    def add_review(self, number: int, login: str, state: str, submitted_at: str) -> None:
        with self._lock:
            self._next_id += 1
            self.reviews.setdefault(number, []).append({
                "id": self._next_id, "user": {"login": login, "type": "User", "id": 2},
                "state": state, "submitted_at": submitted_at, "body": "",
                "html_url": f"https://github.com/{self.repo}/pull/{number}#r{self._next_id}"})

    def calls(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    # --- HTTP -----------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path = self.path.split("?")[0]
                fake.requests.append(Recorded(self.command, path, body,
                                              self.headers.get("Authorization")))
                status, payload, headers = fake._route(self.command, path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _do

        return Handler

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            for f in self.failures:
                if f.method == method and re.search(f.path, path) and f.times > 0:
                    f.times -= 1
                    return f.status, f.body, f.headers
        base = f"/repos/{self.repo}"
        if m := re.fullmatch(base + r"/commits/([0-9a-f]{40})/pulls", path):
            return 200, [self.pulls[n] for n in self.commit_pulls.get(m[1], [])], {}
        if m := re.fullmatch(base + r"/pulls/(\d+)/reviews", path):
            return 200, self.reviews.get(int(m[1]), []), {}
        if m := re.fullmatch(base + r"/pulls/(\d+)", path):
            pr = self.pulls.get(int(m[1]))
            return (200, pr, {}) if pr else (404, {"message": "Not Found"}, {})
        if m := re.fullmatch(base + r"/issues/(\d+)/comments", path):
            number = int(m[1])
            if method == "GET":
                return 200, self.comments.get(number, []), {}
            if method == "POST":
                return 201, self._new_comment(number, body["body"]), {}
        if (m := re.fullmatch(base + r"/issues/comments/(\d+)", path)) and method == "PATCH":
            for cs in self.comments.values():
                for c in cs:
                    if c["id"] == int(m[1]):
                        c["body"] = body["body"]
                        return 200, c, {}
        return 404, {"message": "Not Found"}, {}

    def _new_comment(self, number: int, text: str) -> dict[str, Any]:
        self._next_id += 1
        cid = self._next_id
        c = {"id": cid, "body": text, "url": f"{self.url}/repos/{self.repo}/issues/comments/{cid}",
             "html_url": f"https://github.com/{self.repo}/pull/{number}#issuecomment-{cid}",
             "user": {"login": "github-actions[bot]", "type": "Bot", "id": 41898282},
             "created_at": "2026-02-10T12:00:00Z", "updated_at": "2026-02-10T12:00:00Z"}
        self.comments.setdefault(number, []).append(c)
        return c
