"""Generators for hostile cases that are too big or too byte-exact to commit.

A case's `case.json` names one with `{"op": "generate", "name": ...}`; the generator
writes into the case's private sandbox at test time (tmp_path), so the repository never
carries a 50 MB file and no editor or git filter can "fix" an invalid byte sequence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hostile_support import Sandbox  # type: ignore[import-not-found]

TITLE = "title: Kansas River stream gauges\n"


def _spec_replace(box: Sandbox, old: str, new: str) -> None:
    p = box.ds / "spec.yaml"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new))


def huge_scalar(box: Sandbox) -> None:
    _spec_replace(box, "description: Stage", "description: " + "x" * 400_000 + " Stage")


def over_yaml_limit(box: Sandbox) -> None:
    _spec_replace(box, "description: Stage", "description: " + "x" * 600_000 + " Stage")


def file_50mb(box: Sandbox) -> None:
    with open(box.ds / "spec.yaml", "a") as fh:
        line = "# " + "padding " * 12 + "\n"
        fh.write(line * (50 * 1024 * 1024 // len(line) + 1))


def many_yaml_nodes(box: Sandbox) -> None:
    _spec_replace(box, TITLE, TITLE + "redaction_plan:\n  method: generalize\n"
                  "  description: rounded to a 1 km grid\n  prov_activity: kfm:run/x\n"
                  "  parameters:\n    cells: [" + "1," * 100_000 + "1]\n")


def invalid_utf8_prov(box: Sandbox) -> None:
    p = box.ds / "catalog" / "prov.json"
    p.write_bytes(p.read_bytes().replace(b"prov:SoftwareAgent", b"prov:Software\xffAgent"))


def overlong_utf8_dcat(box: Sandbox) -> None:
    p = box.ds / "catalog" / "dcat.jsonld"
    raw = p.read_bytes()
    p.write_bytes(raw.replace(b"../processed/gauges.csv", b"..\xc0\xafprocessed/gauges.csv"))


def utf16_spec_json(box: Sandbox) -> None:
    p = box.ds / "spec.json"
    p.write_bytes(p.read_text().encode("utf-16"))


def deep_json_item(box: Sandbox) -> None:
    item = box.ds / "catalog" / "stac" / "items" / "gauges.json"
    item.write_text("[" * 100_000 + "]" * 100_000)


def many_json_values(box: Sandbox) -> None:
    p = box.ds / "spec.json"
    spec: dict[str, Any] = json.loads(p.read_text())
    spec["redaction_plan"] = {"method": "generalize", "description": "rounded to a 1 km grid",
                              "prov_activity": "kfm:run/x", "parameters": {"cells": "@@"}}
    p.write_text(json.dumps(spec, indent=2).replace('"@@"', "[" + "1," * 3_500_000 + "1]"))


def huge_jsonld_graph(box: Sandbox) -> None:
    p = box.ds / "catalog" / "dcat.jsonld"
    doc: dict[str, Any] = json.loads(p.read_text())
    ctx = doc.pop("@context")
    nodes = [{"@id": f"https://x.example/d/{i}", "@type": "dcat:Distribution"}
             for i in range(40_000)]
    p.write_text(json.dumps({"@context": ctx, "@graph": [doc, *nodes]}))


def jsonld_scoped_context_bomb(box: Sandbox) -> None:
    p = box.ds / "catalog" / "dcat.jsonld"
    doc: dict[str, Any] = json.loads(p.read_text())
    node: dict[str, Any] = {"foaf:name": "leaf"}
    for level in range(55):
        ctx = {f"t{level}_{i}": f"https://x.example/v{level}#{i}" for i in range(60)}
        node = {"@context": ctx, "@type": "foaf:Agent", "foaf:member": node}
    doc["dct:title"] = node
    p.write_text(json.dumps(doc))


GENERATORS: dict[str, Callable[[Sandbox], None]] = {
    f.__name__: f for f in (huge_scalar, over_yaml_limit, file_50mb, many_yaml_nodes,
                            invalid_utf8_prov, overlong_utf8_dcat, utf16_spec_json,
                            deep_json_item, many_json_values, huge_jsonld_graph,
                            jsonld_scoped_context_bomb)
}
