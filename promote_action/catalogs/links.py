"""Relative hrefs in catalog documents, and the digests catalogs claim for files.

Catalog hrefs are written by contributors (or their pipelines) and are hostile by
assumption, but unlike spec paths they are *findings*, not bad input: a DCAT
distribution that points outside the dataset is a gate D reason the contributor must see
next to every other problem, so nothing here raises. Hrefs are resolved the way a
browser resolves a relative URL against the document that contains it (the document's
own directory), normalised with `posixpath.normpath`, then confinement and existence go
through the `Workspace` rules shared by the whole product.

An absolute object URI (`s3://`, `gs://`, `az://`, `https://`, `file://`) is followed only
when, in its normal form, it is one of the spec's artifacts: that object was hashed once
for the run, and the catalog's claim is compared with that pin. Any other absolute URI
is never fetched (no catalog can make the gate read an object the spec does not name).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from promote_action.digests import is_sha256_digest
from promote_action.errors import MissingFileError, UnsafePathError
from promote_action.gates.base import GateContext, Reason

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def is_external(href: str) -> bool:
    """An absolute URI (https:, kfm:, urn:…) names something outside the dataset
    directory; it is never fetched (no network), so it cannot be a published file."""
    return bool(_SCHEME.match(href)) or href.startswith("//")


def artifact_uri(ctx: GateContext, href: object) -> str | None:
    """The artifact key when `href` is an object URI naming one of the spec's artifacts
    (compared in normal form), else None."""
    if not isinstance(href, str):
        return None
    norm = ctx.remote.normalize(href)
    return norm if norm is not None and norm in ctx.artifact_paths() else None


def followed(ctx: GateContext, href: object) -> bool:
    """Whether a link is judged at all: relative hrefs, and object URIs of artifacts."""
    return not (isinstance(href, str) and is_external(href)) or artifact_uri(ctx, href) \
        is not None


def join_href(doc_rel: str, href: str) -> str | None:
    """Workspace-relative path that `href` (relative to `doc_rel`) names, or None when it
    escapes the workspace. Query and fragment are not part of a file name."""
    href = href.split("#", 1)[0].split("?", 1)[0]
    if href.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(doc_rel), href))
    if joined == ".." or joined.startswith("../") or joined == ".":
        return None
    return joined


@dataclass(frozen=True)
class Target:
    """Where a relative href led: `rel` is set only for an existing workspace file."""

    rel: str | None
    reason: Reason | None = None


def resolve(ctx: GateContext, doc_rel: str, pointer: str, href: object, what: str) -> Target:
    """Resolve one href from `doc_rel`; a reason (never an exception) when it is bad."""
    def bad(code: str, msg: str) -> Target:
        return Target(None, Reason(code, f"{what} {href!r}: {msg}", doc_rel, pointer))

    if not isinstance(href, str) or not href:
        return bad("D.link_broken", "is not a non-empty string href")
    uri = artifact_uri(ctx, href)
    if uri is not None:
        return Target(uri)
    if is_external(href):
        return bad("D.link_broken", "must be a relative href inside the dataset directory "
                   "or the URI of one of the spec's artifacts (other absolute URIs are not "
                   "followed)")
    rel = join_href(doc_rel, href)
    if rel is None:
        return bad("D.href_outside_workspace",
                   f"resolves outside the dataset directory (relative to {doc_rel})")
    try:
        ctx.workspace.check_relative(rel)
    except UnsafePathError as e:  # spelling: backslash, %xx, NUL, .git/
        return bad("D.href_unsafe", e.message)
    try:
        ctx.workspace.resolve(rel)
    except UnsafePathError as e:  # the spelling passed, so only a symlink can leave
        return bad("D.href_outside_workspace", e.message)
    except MissingFileError:
        return bad("D.link_broken", f"resolves to {rel}, which does not exist")
    return Target(rel)


def expect_link(ctx: GateContext, doc_rel: str, pointer: str, href: object, what: str,
                expected: str | None, reasons: list[Reason]) -> None:
    """A cross-reference between catalog documents: present, resolvable, and pointing at
    the document the spec declares (`expected`; None: any existing file will do)."""
    if href is None:
        if expected is not None:
            reasons.append(Reason("D.link_missing", f"{what} is missing: it must point at "
                                  f"{expected}", doc_rel, pointer))
        return
    target = resolve(ctx, doc_rel, pointer, href, what)
    if target.reason is not None:
        reasons.append(target.reason)
    elif expected is not None and target.rel != expected:
        reasons.append(Reason("D.link_mismatch", f"{what} {href!r} resolves to {target.rel}, "
                              f"but the spec declares {expected}", doc_rel, pointer))


@dataclass(frozen=True)
class Claim:
    """One catalog statement "file `target` has digest `digest`"."""

    kind: str  # dcat | stac | prov
    doc: str
    pointer: str
    target: str
    digest: str | None


def verify_claims(ctx: GateContext, claims: list[Claim], reasons: list[Reason]) -> None:
    """Every digest a catalog states is compared with the bytes on disk (artifacts were
    hashed up front by the pipeline; the workspace cache makes this free for them)."""
    for c in claims:
        if c.digest is None:
            continue  # reported by the profile, or by `record_artifacts` for artifacts
        link = ctx.links.get(c.target)
        actual = link.actual if link is not None and link.actual else None
        if actual is None and ctx.remote.normalize(c.target) is not None:
            continue  # an object that could not be hashed: gate E reports why
        if actual is None:
            actual = ctx.digest(c.target)
        if c.digest != actual:
            reasons.append(Reason(f"D.digest_mismatch_{c.kind}",
                                  f"{c.target}: {c.doc} claims {c.digest}, the "
                                  f"{'object' if is_external(c.target) else 'file on disk'} "
                                  f"is {actual}", c.doc, c.pointer))


def record_artifacts(ctx: GateContext, kind: str, where: tuple[str, str],
                     claims: list[Claim], required: list[str], reasons: list[Reason],
                     hint: str) -> None:
    """Each `required` artifact must be claimed in this catalog; what the catalog says
    about any artifact goes into its hash links (the capsule carries them to the policy)."""
    by_target: dict[str, Claim] = {}
    for c in claims:
        by_target.setdefault(c.target, c)
    for path in ctx.artifact_paths():
        claim = by_target.get(path)
        if claim is None:
            if path in required:
                reasons.append(Reason(f"D.artifact_not_in_{kind}",
                                      f"published artifact {path} is not listed: {hint}",
                                      *where))
            continue
        if claim.digest is None:
            reasons.append(Reason(f"D.digest_mismatch_{kind}",
                                  f"artifact {path} is listed without a sha256 digest",
                                  claim.doc, claim.pointer))
        setattr(ctx.link(path), kind, claim.digest if is_sha256_digest(claim.digest) else None)
