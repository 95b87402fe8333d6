"""STAC collections and items validated by pystac and jsonschema, strictly offline.

Core: pystac's `JsonSchemaSTACValidator` starts from the core schemas it ships
(`pystac/validation/jsonschemas/`: the STAC core schemas of pystac's own STAC version plus
GeoJSON) and would fetch anything else over HTTP; `OfflineValidator` refuses every schema
that is not bundled. pystac bundles the core schemas of one STAC version only: documents
of an older 1.x version are migrated by pystac (`migrate_to_latest`, the step
`pystac.read_file` performs) and the migrated object is validated against the bundled
core; a newer version than pystac knows has no offline schema and is a failure.

Extensions: each `stac_extensions` URL is validated, against the document as written
(pystac's migration may rewrite extension URLs), with the schema the repository reviewed
into its schema directory (`stac_schemas.store`): never fetched. An extension the
directory does not hold is `D.stac_extension_unavailable` naming the command that adds
it; a schema file that does not match its lock is `D.stac_schema_mismatch`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from promote_action.gates.base import Reason
from promote_action.safeload import escape_pointer_token as tok
from promote_action.stac_schemas.store import SchemaStore, SchemaUnavailable, unavailable_cause

MIN_VERSION = "1.0.0"
_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$")


def _offline_validator_class() -> type:
    from pystac.validation.stac_validator import GetSchemaError, JsonSchemaSTACValidator

    class OfflineValidator(JsonSchemaSTACValidator):  # type: ignore[misc]
        """Serves only the schemas bundled with pystac; a cache miss is an error."""

        def _get_schema(self, schema_uri: str) -> dict[str, Any]:
            if schema_uri not in self.schema_cache:
                raise GetSchemaError(schema_uri, LookupError(
                    f"schema {schema_uri} is not bundled with pystac (offline)"))
            return self.schema_cache[schema_uri]  # type: ignore[no-any-return]

    return OfflineValidator


@functools.cache
def validator() -> Any:
    return _offline_validator_class()()


def bundled_version() -> str:
    from pystac.version import STACVersion

    return str(STACVersion.DEFAULT_STAC_VERSION)


def validate(data: Any, path: str, *, expect: str | None = None,
             store: SchemaStore | None = None) -> list[Reason]:
    """All findings for one STAC document (`expect`: "Collection" or "Feature")."""
    from pystac.errors import STACTypeError
    from pystac.serialization import identify_stac_object

    def reason(code: str, pointer: str, msg: str) -> Reason:
        return Reason(code, msg, path, pointer)

    if not isinstance(data, dict):
        return [reason("D.stac_invalid", "", "a STAC document must be a JSON object")]
    out: list[Reason] = []
    if expect is not None and data.get("type") != expect:
        out.append(reason("D.stac_invalid", "/type",
                          f"expected a STAC {expect}, found type {data.get('type')!r}"))
        return out
    out += _extension_reasons(data, path, store if store is not None else SchemaStore(None))
    version = data.get("stac_version")
    problem = _version_problem(version)
    if problem:
        out.append(reason("D.stac_invalid", "/stac_version", problem))
        return out
    try:
        info = identify_stac_object(data)
    except STACTypeError as e:
        out.append(reason("D.stac_invalid", "", f"not a STAC object: {e}"))
        return out
    for pointer, msg in _core_errors(data, info, str(version)):
        out.append(reason("D.stac_invalid", pointer, msg))
    return out


def _extension_reasons(data: dict[str, Any], path: str, store: SchemaStore) -> list[Reason]:
    exts = data.get("stac_extensions", [])
    if not isinstance(exts, list):
        return []  # the core schema reports the wrong type
    out = []
    for i, uri in enumerate(exts):
        if not isinstance(uri, str):
            continue  # the core schema reports it
        ptr = f"/stac_extensions/{i}"
        try:
            errors = _extension_errors(store, uri, data)
        except SchemaUnavailable as e:
            out.append(_unavailable(e, uri, path, ptr, store))
            continue
        out += [Reason("D.stac_extension_invalid", f"{msg} (STAC extension {uri})", path,
                       pointer) for pointer, msg in errors]
    return out


def _extension_errors(store: SchemaStore, uri: str, data: dict[str, Any]
                      ) -> list[tuple[str, str]]:
    """Violations of one extension schema; a `$ref` the directory cannot serve surfaces
    as the SchemaUnavailable behind jsonschema's resolution error."""
    from referencing.exceptions import Unresolvable

    try:
        errors = list(store.validator(uri).iter_errors(data))
    except Unresolvable as e:
        cause = unavailable_cause(e)
        if cause is None:
            raise SchemaUnavailable(uri, f"schema {uri} has an unresolvable $ref: {e}") from e
        raise cause from e
    except RecursionError as e:
        raise SchemaUnavailable(uri, f"schema {uri} recurses without end") from e
    return sorted({(_pointer(leaf), _short(leaf.message)) for err in errors
                   for leaf in _leaves(err)})


def _unavailable(e: SchemaUnavailable, uri: str, path: str, ptr: str, store: SchemaStore
                 ) -> Reason:
    if e.mismatch:
        return Reason("D.stac_schema_mismatch", f"STAC extension {uri}: {e.message}", path, ptr)
    if e.url != uri.rstrip("#"):  # a schema the extension $refs
        return Reason("D.stac_extension_unavailable", f"STAC extension {uri} needs {e.url}: "
                      f"{e.message}", path, ptr)
    return Reason("D.stac_extension_unavailable", f"STAC extension schema {e.url} is not in "
                  f"{store.display} (offline), so the fields it defines cannot be validated: "
                  f"review it and run `{store.add_command(e.url)}` (or remove the extension "
                  f"and the fields it governs)", path, ptr)


def _version_problem(version: Any) -> str | None:
    from pystac.serialization.identify import STACVersionID

    if not isinstance(version, str):
        return f"stac_version must be a string such as {bundled_version()!r}"
    if not _VERSION_RE.match(version):
        return f"stac_version {version!r} is not a STAC version (such as 1.0.0)"
    v = STACVersionID(version)
    if v > bundled_version():
        return (f"stac_version {version} is newer than the core schemas bundled with pystac "
                f"({bundled_version()}); it cannot be validated offline")
    if v < MIN_VERSION:
        return f"stac_version {version} predates STAC 1.0.0; the KFM profile requires 1.x"
    return None


def _core_errors(data: dict[str, Any], info: Any, version: str) -> list[tuple[str, str]]:
    from pystac.errors import STACValidationError
    from pystac.serialization import migrate_to_latest

    note = ""
    doc = data
    if version != bundled_version():
        note = f" (STAC {version}, migrated by pystac to {bundled_version()})"
        try:
            doc = migrate_to_latest(data, info)
        except (AttributeError, KeyError, TypeError, ValueError):
            # Too malformed for pystac's migration (e.g. properties not an object): the
            # core schema, applied as is, names the malformed field instead.
            doc = {**data, "stac_version": bundled_version()}
            note = f" (STAC {version}, checked against {bundled_version()})"
    try:
        validator().validate_core(doc, info.object_type, doc["stac_version"])
    except STACValidationError as e:
        errors = list(e.source or [])
        if not errors:
            return [("", f"invalid STAC {info.object_type}{note}: {e}")]
        # A failed anyOf/oneOf restates the whole instance; its best sub-error says why.
        leaves = [_leaf(err) for err in errors]
        return sorted({(_pointer(err), _short(err.message) + note) for err in leaves})
    return []


def _leaves(err: Any) -> list[Any]:
    """The errors that say why, under a failed oneOf/anyOf: extension schemas branch on
    the object kind (Item vs Collection), so branches whose `type` discriminator did not
    match are dropped and the remaining branch's own errors are reported."""
    if not err.context:
        return [err]
    branches: dict[Any, list[Any]] = {}
    for sub in err.context:
        branches.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)
    depth = len(err.absolute_path)

    def mismatched(group: list[Any]) -> bool:
        return any(e.validator in ("const", "enum") and len(e.absolute_path) == depth + 1
                   and e.absolute_path[-1] == "type" for e in group)

    viable = [g for g in branches.values() if not mismatched(g)]
    if len(viable) != 1:
        return [_leaf(err)]
    return [leaf for sub in viable[0] for leaf in _leaves(sub)]


def _leaf(err: Any) -> Any:
    from jsonschema.exceptions import best_match

    while err.context:
        err = best_match(err.context)
    return err


def _pointer(err: Any) -> str:
    return "".join(f"/{tok(str(p))}" for p in err.absolute_path)


def _short(msg: str) -> str:
    return msg if len(msg) <= 240 else msg[:237] + "..."


def links(data: dict[str, Any], rel: str) -> list[tuple[str, Any]]:
    """(pointer, href) of every link with relation `rel`."""
    raw = data.get("links")
    if not isinstance(raw, list):
        return []
    return [(f"/links/{i}", ln.get("href")) for i, ln in enumerate(raw)
            if isinstance(ln, dict) and ln.get("rel") == rel]


def all_links(data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    raw = data.get("links")
    if not isinstance(raw, list):
        return []
    return [(f"/links/{i}", str(ln.get("rel")), ln.get("href")) for i, ln in enumerate(raw)
            if isinstance(ln, dict)]


def assets(data: dict[str, Any]) -> list[tuple[str, Any, str | None]]:
    """(pointer, href, kfm:digest) of every asset of an item."""
    raw = data.get("assets")
    if not isinstance(raw, dict):
        return []
    out = []
    for key, asset in raw.items():
        if isinstance(asset, dict):
            d = asset.get("kfm:digest")
            out.append((f"/assets/{tok(key)}", asset.get("href"), d if isinstance(d, str)
                        else None))
    return out
