"""Markdown for the PR comment and the job summary (one renderer, two surfaces).

Everything that comes from a contributor (PR title, branch, paths, finding messages) is
untrusted: it is shown inside code spans whose fence is longer than any backtick run in
the text, with newlines folded and table pipes escaped, so it can neither inject
markup, mentions or HTML nor break the table. The mermaid diagram only ever contains
fixed labels chosen here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from promote_action.github.api import COMMENT_MARKER

_ICON = {"pass": "✅", "fail": "❌", "skip": "⏭️", "not_run": "➖", "pending": "⏳"}
_OUTCOME = {"pass": "✅ PASS", "deny": "❌ DENY", "quarantine": "🟧 QUARANTINE",
            "error": "⛔ INPUT ERROR"}
_MAX_FINDINGS = 50


@dataclass
class DatasetOutcome:
    """One dataset dir's result: a report (pass/deny/quarantine) or an input error."""

    directory: str
    report: dict[str, Any] | None = None
    error: str | None = None
    promotion: dict[str, Any] | None = None  # promote mode: what the ledger step did

    @property
    def outcome(self) -> str:
        """`error` also when the dataset passed but its promotion could not be written
        (e.g. a signing key the trust root refuses, exit 2): the `decision` output and the
        headline must agree with the exit code, never say `pass` for a failed job."""
        if self.report is None or (self.promotion or {}).get("result") == "error":
            return "error"
        return str(self.report["decision"])


@dataclass
class RenderContext:
    mode: str = "check"
    pr_number: int | None = None
    pr_title: str = ""
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""
    base_sha: str = ""
    policy_source: str = ""
    ledger_branch: str = "kfm-ledger"
    policy_changes: Sequence[str] = ()
    trust_changes: Sequence[str] = ()
    removed_datasets: Sequence[str] = ()
    notes: list[str] = field(default_factory=list)
    run_url: str = ""


def code(text: Any) -> str:
    """A code span that shows `text` verbatim whatever backticks it contains."""
    s = " ".join(str(text).split()) or " "
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or longest else ""
    return f"{fence}{pad}{s}{pad}{fence}".replace("|", "\\|")


def overall(outcomes: Sequence[DatasetOutcome]) -> str:
    kinds = {o.outcome for o in outcomes}
    for k in ("error", "deny", "quarantine"):
        if k in kinds:
            return k
    return "pass"


def render(outcomes: Sequence[DatasetOutcome], ctx: RenderContext) -> str:
    lines = [COMMENT_MARKER if ctx.mode == "check" else "<!-- kfm-promote:promote -->"]
    verb = "promotion" if ctx.mode == "promote" else "check"
    if not outcomes:
        lines.append(f"## kfm-promote {verb}: no dataset changed")
    else:
        lines.append(f"## kfm-promote {verb}: {_OUTCOME[overall(outcomes)]}")
    lines += _header(ctx)
    for o in outcomes:
        lines += ["", *_dataset(o, ctx)]
    if ctx.removed_datasets:
        lines += ["", "**Removed dataset dirs** (nothing is unpublished by a merge; use "
                  "`kfm-promote quarantine`): " + ", ".join(code(d) for d in
                                                            ctx.removed_datasets)]
    for note in ctx.notes:
        lines += ["", f"> {note}"]
    if ctx.run_url:
        lines += ["", f"<sub>[workflow run]({ctx.run_url}) · kfm-promote</sub>"]
    return "\n".join(lines) + "\n"


def _header(ctx: RenderContext) -> list[str]:
    out = []
    if ctx.pr_number is not None:
        out.append(f"Pull request #{ctx.pr_number} {code(ctx.pr_title)}"
                   + (f" · {code(ctx.head_ref)} → {code(ctx.base_ref)}" if ctx.head_ref
                      else ""))
    if ctx.head_sha:
        out.append(f"Commit {code(ctx.head_sha[:12])}")
    if ctx.policy_source:
        out.append(f"Judged by the policy of {ctx.policy_source} (a PR cannot change the "
                   "policy that judges it).")
    changed = list(ctx.policy_changes) + list(ctx.trust_changes)
    if changed:
        out += ["", "> [!WARNING]",
                "> This PR changes the **policy or the ledger trust root**: "
                + ", ".join(code(f) for f in changed[:_MAX_FINDINGS]) + ".",
                "> These changes are not used to judge this PR; they take effect after "
                "merge and **need review by a steward**."]
    return [" ".join(out[:1]), *out[1:]] if out else []


def _dataset(o: DatasetOutcome, ctx: RenderContext) -> list[str]:
    if o.report is None:
        return [f"### {code(o.directory)} — {_OUTCOME['error']}", "",
                f"The dataset cannot be judged: {code(o.error or 'unknown error')}",
                "Fix the file and field named above (exit code 2)."]
    r = o.report
    out = [f"### {code(r['dataset_slug'])} — {_OUTCOME.get(r['decision'], r['decision'])}",
           "", "| | |", "|---|---|",
           f"| dataset dir | {code(o.directory)} |",
           f"| dataset_version_id | {code(r['dataset_version_id'])} |",
           f"| spec_hash | {code(r['spec_hash'])} |",
           f"| decision_id | {code(r['policy']['decision_id'])} |",
           f"| policy bundle | {code(r['policy']['policy_bundle_digest'])} |",
           "", "| Gate | Status | Findings |", "|---|---|---|"]
    for g in r["gates"]:
        codes = dict.fromkeys(x["code"] for x in g["reasons"])
        found = ", ".join(code(c) for c in list(codes)[:8]) or "—"
        status = g["status"]
        out.append(f"| {g['id']} · {g.get('title', '')} | {_ICON.get(status, '')} "
                   f"{status} | {found} |")
    out += _reasons(r)
    pending = r["policy"]["pending"]
    if pending:
        out += ["", "> [!NOTE]", "> ⏳ **Awaiting steward approval** — this is not a "
                "failure of the data. A steward approves by submitting an *Approve* "
                "review on this PR; the approval is checked again at merge.", ">"]
        out += [f"> - {code(p['code'])}: {code(p['message'])}" for p in pending]
    out += ["", *_preview(o, ctx), "", *_mermaid(r, ctx)]
    if o.promotion:
        out += ["", *_promotion(o.promotion, ctx)]
    return out


def _reasons(r: dict[str, Any]) -> list[str]:
    rows = []
    for g in r["gates"]:
        if g["status"] != "fail" or g["id"] == "F":
            continue
        for x in g["reasons"]:
            where = x["path"] + (f"#{x['pointer']}" if x.get("pointer") else "")
            rows.append(f"- {code(x['code'])} {code(x['message'])}"
                        + (f" at {code(where)}" if where else ""))
    rows += [f"- {code(d['code'])} {code(d['message'])}" + (f" at {code(d['path'])}"
                                                            if d.get("path") else "")
             for d in r["policy"]["deny"]]
    if not rows:
        return []
    more = len(rows) - _MAX_FINDINGS
    rows = rows[:_MAX_FINDINGS] + ([f"- … and {more} more (see the job log)"] if more > 0
                                   else [])
    return ["", "**Why it cannot be promoted**", "", *rows]


def _preview(o: DatasetOutcome, ctx: RenderContext) -> list[str]:
    r = o.report or {}
    slug, vid = r.get("dataset_slug", ""), r.get("dataset_version_id", "")
    if r.get("decision") != "pass":
        head = "Would **not** promote: a merge now records a `denied` ledger entry."
    elif ctx.mode == "promote":
        head = f"Promoted to ledger branch {code(ctx.ledger_branch)}:"
    else:
        head = f"Would promote on merge (with steward approval) to {code(ctx.ledger_branch)}:"
    arts = r.get("digests", {}).get("artifacts", {})
    body = [f"- `datasets/{slug}/{vid}/` manifest.json, manifest.dsse.json, receipt.json, "
            "report.json, decision.json",
            f"- `published/{slug}.json` → {code(vid)}",
            f"- signed tag `kfm/{slug}/{vid}`"]
    body += [f"- artifact {code(p)} {code(d)}" for p, d in list(arts.items())[:_MAX_FINDINGS]]
    return ["<details><summary>" + ("What was written" if ctx.mode == "promote"
                                     else "“Would promote” preview") + "</summary>", "",
            head, "", *body, "", "</details>"]


_STAGES = [("RAW", "RAW"), ("WORK", "WORK / QUARANTINE"), ("PROC", "PROCESSED"),
           ("CAT", "CATALOG"), ("PUB", "PUBLISHED")]
# gate -> (from stage, to stage): where on the truth path each gate stands.
_GATE_EDGE = {"A": ("RAW", "WORK"), "B": ("RAW", "WORK"), "C": ("WORK", "PROC"),
              "E": ("WORK", "PROC"), "D": ("PROC", "CAT"), "G": ("CAT", "PUB"),
              "F": ("CAT", "PUB")}


def _mermaid(r: dict[str, Any], ctx: RenderContext) -> list[str]:
    status = {g["id"]: g["status"] for g in r["gates"]}
    if r["policy"]["pending"] and status.get("F") == "pass":
        status["F"] = "pending"
    lines = ["```mermaid", "flowchart LR"]
    lines += [f'  {sid}["{label}"]' for sid, label in _STAGES]
    for gid, (src, dst) in _GATE_EDGE.items():
        st = status.get(gid, "not_run")
        lines.append(f'  {src} --> g{gid}{{{{"{gid} {st}"}}}} --> {dst}')
    lines += ["  classDef pass fill:#2da44e,color:#fff", "  classDef fail fill:#cf222e,color:#fff",
              "  classDef skip fill:#8c959f,color:#fff", "  classDef not_run fill:#d0d7de",
              "  classDef pending fill:#bf8700,color:#fff", "  classDef stage fill:#ddf4ff"]
    for gid in _GATE_EDGE:
        lines.append(f"  class g{gid} {status.get(gid, 'not_run')}")
    published = "pass" if r["decision"] == "pass" and ctx.mode == "promote" else "stage"
    work = "pending" if r["decision"] == "quarantine" else "stage"
    lines += ["  class RAW,PROC,CAT stage", f"  class WORK {work}", f"  class PUB {published}",
              "```"]
    return lines


def _promotion(p: dict[str, Any], ctx: RenderContext) -> list[str]:
    rows = [f"**Ledger**: {code(p.get('result', ''))}"]
    for key in ("entry_type", "seq", "ledger_commit", "manifest_digest", "tag"):
        if p.get(key) not in (None, ""):
            rows.append(f"- {key}: {code(p[key])}")
    return rows
