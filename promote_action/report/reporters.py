"""Reporters by name (the check-jsonschema `REPORTER_BY_NAME` pattern).

One findings model, many surfaces. Reporters return text; the CLI decides where it goes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Locator = Callable[[str, str], int]


def _no_line(path: str, pointer: str) -> int:
    return 1


def render_json(report: dict[str, Any], **_: Any) -> str:
    return json.dumps(report, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


_MARK = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP", "not_run": "----"}


def render_text(report: dict[str, Any], **_: Any) -> str:
    lines = [
        f"{report['dataset_slug']} {report['dataset_version_id']}  "
        f"decision: {report['decision'].upper()}",
        f"  spec_hash {report['spec_hash']}",
    ]
    for g in report["gates"]:
        lines.append(f"  [{_MARK.get(g['status'], g['status'])}] {g['id']}  {g['title']}")
        for r in g["reasons"]:
            where = r["path"] + (f"#{r['pointer']}" if r["pointer"] else "")
            lines.append(f"         {r['code']}: {r['message']}" + (f"  ({where})" if where
                                                                      else ""))
    for p in report["policy"]["pending"]:
        lines.append(f"  [WAIT] {p['code']}: {p['message']}")
    for uri, o in report["digests"].get("objects", {}).items():
        version = f" version {o['version']}" if o["version"] else ""
        lines.append(f"  object {uri}  {o['size']} bytes  etag {o['etag']}{version}  "
                     f"{o['digest']}")
    return "\n".join(lines) + "\n"


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(report: dict[str, Any], *, prefix: str = "", locate: Locator = _no_line,
                  **_: Any) -> str:
    """Workflow commands: `::error file=…,line=…,title=…::message` per finding."""
    out = [f"::group::kfm-promote {_escape_data(report['dataset_slug'])} "
           f"{report['dataset_version_id']}: {report['decision']}"]
    out.append(render_text(report).rstrip("\n"))
    out.append("::endgroup::")
    for g in report["gates"]:
        if g["status"] != "fail" or g["id"] == "F":
            continue
        for r in g["reasons"]:
            path = r["path"] or report["spec_path"]
            file = f"{prefix}{path}" if prefix else path
            line = locate(path, r["pointer"])
            out.append(f"::error file={_escape_prop(file)},line={line},"
                       f"title={_escape_prop(r['code'])}::{_escape_data(r['message'])}")
    if report["decision"] != "pass" and not any(g["status"] == "fail" and g["id"] != "F"
                                                for g in report["gates"]):
        for r in report["policy"]["deny"]:
            out.append(f"::error title={_escape_prop(r['code'])}::{_escape_data(r['message'])}")
    for p in report["policy"]["pending"]:
        out.append(f"::notice title={_escape_prop(p['code'])}::{_escape_data(p['message'])}")
    return "\n".join(out) + "\n"


def _lazy(module: str, func: str) -> Callable[..., str]:
    def render(report: dict[str, Any], **kw: Any) -> str:
        import importlib

        return getattr(importlib.import_module(module), func)(report, **kw)  # type: ignore[no-any-return]
    return render


REPORTER_BY_NAME: dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": _lazy("promote_action.report.sarif", "render_sarif"),
    "junit": _lazy("promote_action.report.junit", "render_junit"),
}
