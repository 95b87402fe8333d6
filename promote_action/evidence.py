"""Evidence resolver: every EvidenceRef `{uri, digest}` must resolve to bytes with that digest.

A uri is a workspace-relative path or `kfm://evidence/sha256:<hex>` (content-addressed:
any workspace file with that digest). The capsule records each ref and whether it resolved,
and the policy (gate F) denies when none exist or any fails.
"""

from __future__ import annotations

from typing import Any

from promote_action.gates.base import GateContext


def resolve_evidence(ctx: GateContext) -> list[dict[str, Any]]:
    refs = ctx.spec.get("evidence") or []
    out = []
    for i, ref in enumerate(refs):
        if not isinstance(ref, dict):
            continue
        uri, want = ref.get("uri", ""), ref.get("digest", "")
        actual = None
        if isinstance(uri, str) and not uri.startswith("kfm://"):
            from promote_action.errors import MissingFileError

            try:
                actual = ctx.digest(uri, field=f"/evidence/{i}/uri")
            except MissingFileError:
                actual = None
        out.append({"uri": uri, "digest": want, "resolved": actual is not None and actual == want,
                    "actual": actual})
    return out
