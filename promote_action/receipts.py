"""Run receipts (the Promotion Contract's v1 template): build one, or judge one's shape.

Two producers share this module: a dataset's own pipeline runs (checked by gate E) and the
promotion run itself (written by `promote`). Both must satisfy the same schema,
`schemas/run_receipt.schema.json`, so a receipt in the ledger is never held to a weaker
standard than one in a PR. The shape checks here are classified, not just listed, because a
bad `container_digest` deserves a different remediation than a missing `run_id`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from promote_action.errors import SchemaError

SCHEMA = "run_receipt.schema.json"

#: Problem kinds; gate E reports them as ``E.<kind>``.
INVALID = "receipt_invalid"
ENVIRONMENT_INCOMPLETE = "environment_incomplete"
CONTAINER_DIGEST_INVALID = "container_digest_invalid"
GIT_COMMIT_INVALID = "git_commit_invalid"
PARAMS_DIGEST_INVALID = "params_digest_invalid"

_ENV_KINDS = {
    "container_digest": CONTAINER_DIGEST_INVALID,
    "git_commit": GIT_COMMIT_INVALID,
    "params_digest": PARAMS_DIGEST_INVALID,
}


@dataclass(frozen=True)
class Problem:
    """One shape problem: `kind` (see the constants above), a JSON pointer, a message."""

    kind: str
    pointer: str
    message: str


def make_receipt(
    *,
    run_id: str,
    principal: str,
    role: str,
    operation: str,
    dataset_version_id: str,
    inputs: Iterable[tuple[str, str]],
    outputs: Iterable[tuple[str, str]],
    container_digest: str,
    git_commit: str,
    params_digest: str,
    validation_status: str,
    report_digest: str,
    created_at: str,
    decision_id: str | None = None,
) -> dict[str, Any]:
    """Build a receipt in the template's field order; `inputs`/`outputs` are (uri, digest).

    Validated before it is returned, so a caller can never write a receipt gate E would
    refuse. Time is a parameter: receipts must be reproducible from their inputs.
    """
    receipt: dict[str, Any] = {
        "run_id": run_id,
        "actor": {"principal": principal, "role": role},
        "operation": operation,
        "dataset_version_id": dataset_version_id,
        "inputs": [{"uri": u, "digest": d} for u, d in inputs],
        "outputs": [{"uri": u, "digest": d} for u, d in outputs],
        "environment": {"container_digest": container_digest, "git_commit": git_commit,
                        "params_digest": params_digest},
        "validation": {"status": validation_status, "report_digest": report_digest},
    }
    if decision_id is not None:
        receipt["policy"] = {"decision_id": decision_id}
    receipt["created_at"] = created_at
    validate_receipt(receipt, file="<receipt>")
    return receipt


def validate_receipt(data: Any, *, file: str) -> None:
    """Raise `SchemaError` naming the first problem (all of them counted in the message)."""
    problems = receipt_problems(data)
    if problems:
        first = problems[0]
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SchemaError(f"run receipt: {first.message}{more}", file=file,
                          field=first.pointer or "/")


def receipt_problems(data: Any) -> list[Problem]:
    """Every schema violation, classified, plus the checks a pattern cannot express."""
    from promote_action.schemas import validator

    out: list[Problem] = []
    for err in validator(SCHEMA).iter_errors(data):
        path = [str(p) for p in err.absolute_path]
        pointer = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)
        out.append(Problem(_classify(path, err), pointer,
                           _message(pointer, err.message)))
    if isinstance(data, Mapping):
        created = data.get("created_at")
        if isinstance(created, str) and not any(p.pointer == "/created_at" for p in out):
            if not _valid_datetime(created):
                out.append(Problem(INVALID, "/created_at",
                                   f"/created_at: {created!r} is not a real date-time"))
        out.extend(_duplicates(data))
    return sorted(set(out), key=lambda p: (p.pointer, p.kind, p.message))


def _classify(path: list[str], err: Any) -> str:
    keyword, instance = err.validator, err.instance
    if path[:1] == ["environment"]:
        if len(path) == 2 and path[1] in _ENV_KINDS:
            if instance in ("", None):
                return ENVIRONMENT_INCOMPLETE
            return _ENV_KINDS[path[1]]
        if keyword == "required" or (len(path) == 1 and keyword == "type"):
            return ENVIRONMENT_INCOMPLETE
    if not path and keyword == "required" and str(err.message).startswith("'environment'"):
        return ENVIRONMENT_INCOMPLETE
    return INVALID


def _message(pointer: str, message: str) -> str:
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{pointer or '/'}: {message}"


def _valid_datetime(value: str) -> bool:
    """The schema's pattern checks the spelling; this rejects Feb 30 and friends."""
    text = value.replace("t", "T").replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = text.replace(":60", ":59")  # leap second: valid RFC 3339, unknown to datetime
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _duplicates(data: Mapping[str, Any]) -> list[Problem]:
    """A uri listed twice with two digests would make "the" digest of that file ambiguous."""
    out = []
    for side in ("inputs", "outputs"):
        refs = data.get(side)
        if not isinstance(refs, list):
            continue
        seen: dict[str, int] = {}
        for i, ref in enumerate(refs):
            uri = ref.get("uri") if isinstance(ref, Mapping) else None
            if not isinstance(uri, str):
                continue
            if uri in seen:
                out.append(Problem(INVALID, f"/{side}/{i}/uri",
                                   f"/{side}/{i}/uri: {uri!r} is already listed at "
                                   f"/{side}/{seen[uri]}"))
            else:
                seen[uri] = i
    return out


def file_refs(data: Any, side: str) -> list[tuple[int, str, str | None]]:
    """(index, uri, claimed digest) for each well-formed entry of `inputs`/`outputs`."""
    refs = data.get(side) if isinstance(data, Mapping) else None
    out = []
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        if isinstance(ref, Mapping) and isinstance(ref.get("uri"), str) and ref["uri"]:
            digest = ref.get("digest")
            out.append((i, ref["uri"], digest if isinstance(digest, str) else None))
    return out


def environment_value(data: Any, key: str) -> str | None:
    env = data.get("environment") if isinstance(data, Mapping) else None
    value = env.get(key) if isinstance(env, Mapping) else None
    return value if isinstance(value, str) else None
