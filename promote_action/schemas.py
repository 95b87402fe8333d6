"""JSON Schema validation for the product's own schemas (draft 2020-12, offline).

Schemas reference each other by `$id`; a `referencing.Registry` built from the bundled
files resolves those refs without ever touching the network.
"""

from __future__ import annotations

import functools
from typing import Any

from promote_action.errors import SchemaError
from promote_action.resources import data_root, load_schema


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource

    resources = []
    for path in sorted(data_root("schemas").glob("*.json")):
        schema = load_schema(path.name)
        resources.append((schema.get("$id", path.name), Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    schema = load_schema(name)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def schema_errors(name: str, data: Any) -> list[tuple[str, str]]:
    """All violations as (JSON pointer, message), sorted so reports are deterministic."""
    out = []
    for err in validator(name).iter_errors(data):
        pointer = "".join(f"/{_tok(p)}" for p in err.absolute_path)
        out.append((pointer, err.message))
    return sorted(set(out))


def require_valid(name: str, data: Any, *, file: str) -> None:
    """Raise `SchemaError` with the most relevant violation (all of them in `__cause__`)."""
    from jsonschema.exceptions import best_match

    errors = list(validator(name).iter_errors(data))
    if not errors:
        return
    best = best_match(errors)
    pointer = "".join(f"/{_tok(p)}" for p in best.absolute_path) or "/"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    raise SchemaError(f"{best.message}{more}", file=file, field=pointer) from best


def _tok(p: object) -> str:
    return str(p).replace("~", "~0").replace("/", "~1")
