"""Helpers for the gate D tests: build a dataset with the fixture builder, run gate D.

Datasets come from `fixtures/build.py` so a spec change is resealed (catalogs rebuilt
with the new version id and digests) exactly as the shipped fixtures are; `post` edits
break a catalog after sealing, as a hand-edited catalog would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fixtures import build
from promote_action.digests import Workspace
from promote_action.gates import d_catalogs
from promote_action.gates.base import GateContext, GateResult
from promote_action.pipeline import precompute_artifact_digests
from promote_action.spec import find_spec, load_spec

DCAT = "catalog/dcat.jsonld"
PROV = "catalog/prov.json"
COLLECTION = "catalog/stac/collection.json"
ITEM = "catalog/stac/items/gauges.json"


def make(root: Path, mutate: Callable[[Any], None] | None = None,
         post: Callable[[Any], None] | None = None) -> Path:
    ds = build.base_dataset()
    if mutate is not None:
        mutate(ds)
    if post is not None:
        ds.post.append(post)
    out = root / "ds"
    ds.write(out)
    return out


def context(dataset: Path) -> GateContext:
    spec_file = find_spec(dataset)
    spec = load_spec(spec_file, display=spec_file.name)
    ctx = GateContext(
        workspace=Workspace(dataset), spec=spec.data, spec_path=spec_file.name,
        spec_doc=spec.doc, spec_hash=spec.identity.spec_hash,
        dataset_version_id=spec.identity.dataset_version_id)
    precompute_artifact_digests(ctx)
    return ctx


def run(dataset: Path) -> tuple[GateResult, GateContext]:
    ctx = context(dataset)
    return d_catalogs.check(ctx), ctx


def codes(res: GateResult) -> list[str]:
    return sorted({r.code for r in res.reasons})


def edit_json(path: Path, fn: Callable[[Any], Any]) -> None:
    data = json.loads(path.read_text())
    new = fn(data)
    path.write_text(json.dumps(data if new is None else new, indent=2))
