"""The shape every gate shares: a context in, a `GateResult` out.

Gates never raise for a *finding* (a missing license, a digest mismatch): those are
`Reason`s in the result, and a gate collects all of them instead of stopping at the first.
They raise only for input that cannot be judged at all (unsafe paths, unparsable files),
which the CLI reports as exit 2.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from promote_action.digests import Workspace
from promote_action.errors import InputError, MissingFileError
from promote_action.remote import RemoteObjects, is_uri
from promote_action.safeload import Document, load_document
from promote_action.store.settings import StoreSettings

if TYPE_CHECKING:
    from promote_action.stac_schemas.store import SchemaStore


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a gate status, not a password
    FAIL = "fail"
    SKIP = "skip"
    NOT_RUN = "not_run"


@dataclass(frozen=True)
class Reason:
    """One finding. `code` is stable (``B.license_unclear``); `path` is a workspace file,
    `pointer` a JSON pointer into it, so reporters can annotate the exact line."""

    code: str
    message: str
    path: str = ""
    pointer: str = ""

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "path": self.path,
                "pointer": self.pointer}


@dataclass(frozen=True)
class GateResult:
    id: str
    status: Status
    reasons: tuple[Reason, ...] = ()
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "status": str(self.status),
                "reasons": [r.to_json() for r in self.reasons]}


@dataclass
class Options:
    """What the caller asks for beyond the spec itself (CLI flags, action inputs)."""

    expected_slug: str | None = None
    expected_version_id: str | None = None
    require_sbom: bool = False
    require_provenance: bool = False
    # Reviewed STAC extension schemas (None: no directory, every extension is missing).
    stac_schemas: SchemaStore | None = None
    # Object-storage settings; None: from the process environment on first use.
    store: StoreSettings | None = None


@dataclass
class ArtifactLink:
    """Which digest each document claims for one artifact (None: not listed there)."""

    actual: str | None = None
    dcat: str | None = None
    stac: str | None = None
    prov: str | None = None
    receipt: str | None = None


@dataclass
class GateContext:
    """Everything a gate may read, plus the facts gates record for the capsule.

    Documents are loaded through `load` so each file is parsed once per run and every
    path goes through the workspace's confinement rules.
    """

    workspace: Workspace
    spec: dict[str, Any]
    spec_path: str
    spec_doc: Document
    spec_hash: str
    dataset_version_id: str
    options: Options = field(default_factory=Options)
    policy_data: dict[str, Any] = field(default_factory=dict)
    links: dict[str, ArtifactLink] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    remote: RemoteObjects = field(default_factory=RemoteObjects)
    _docs: dict[str, Document] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.remote.settings is None:
            self.remote.settings = self.options.store

    def load(self, rel: str, *, field: str = "") -> Document:
        """Load a workspace document (JSON/YAML) once; raises InputError/MissingFileError."""
        if rel not in self._docs:
            path = self.workspace.resolve(rel, file=self.spec_path, field=field)
            self._docs[rel] = load_document(path, display=rel)
        return self._docs[rel]

    def loaded(self, rel: str) -> Document | None:
        """A document the gates already loaded (for line numbers), without loading it:
        a report must never read a file the gates did not."""
        return self._docs.get(rel)

    def try_load(self, rel: str, code: str, reasons: list[Reason], *, field: str = ""
                 ) -> Document | None:
        """Load, or record `code` as a reason when the file is missing (not an error)."""
        try:
            return self.load(rel, field=field)
        except MissingFileError as e:
            reasons.append(Reason(code, e.message, self.spec_path, field))
            return None

    def digest(self, rel: str, *, field: str = "") -> str:
        return self.workspace.digest(rel, file=self.spec_path, field=field)

    def try_digest(self, rel: str, code: str, reasons: list[Reason], *, field: str = ""
                   ) -> str | None:
        try:
            return self.digest(rel, field=field)
        except MissingFileError as e:
            reasons.append(Reason(code, e.message, self.spec_path, field))
            return None

    def link(self, artifact_path: str) -> ArtifactLink:
        return self.links.setdefault(artifact_path, ArtifactLink())

    def artifact_paths(self) -> list[str]:
        """Each artifact's key: its workspace path as written, or the normal form of its
        object URI (so every document that names the object is compared with one key)."""
        arts = self.spec.get("artifacts")
        if not isinstance(arts, list):
            return []
        return [self.artifact_key(a["path"], i) for i, a in enumerate(arts)
                if isinstance(a, dict) and isinstance(a.get("path"), str)]

    def artifact_key(self, path: str, index: int | None = None) -> str:
        if not is_uri(path):
            return path
        where = "/artifacts" if index is None else f"/artifacts/{index}/path"
        return self.remote.parse(path, file=self.spec_path, field=where).uri

    def file_of(self, rel: str) -> Path:
        return self.workspace.resolve(rel, file=self.spec_path)


class Gate(Protocol):
    """A gate module exposes `ID`, `TITLE` and `check`."""

    ID: str
    TITLE: str

    def check(self, ctx: GateContext) -> GateResult: ...


def result(gate_id: str, title: str, reasons: list[Reason], *, skip_reason: Reason | None = None
           ) -> GateResult:
    """Build a result: any reason fails the gate; a skip must say why (never silent)."""
    if reasons:
        return GateResult(gate_id, Status.FAIL, tuple(reasons), title)
    if skip_reason is not None:
        return GateResult(gate_id, Status.SKIP, (skip_reason,), title)
    return GateResult(gate_id, Status.PASS, (), title)


GateCheck = Callable[[GateContext], GateResult]


def ensure(cond: bool, reasons: list[Reason], code: str, message: str, path: str = "",
           pointer: str = "") -> bool:
    """Append a reason when `cond` is false; returns `cond` so checks can chain."""
    if not cond:
        reasons.append(Reason(code, message, path, pointer))
    return cond


__all__ = ["ArtifactLink", "Gate", "GateContext", "GateResult", "InputError", "Options",
           "Reason", "Status", "ensure", "result"]
