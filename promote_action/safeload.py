"""Load untrusted YAML and JSON into the plain JSON data model, refusing anything ambiguous.

Every document a contributor's PR adds passes through here, so the rules are strict and
checked *before* objects are built: an alias bomb costs nothing to parse and explodes only
when hashed, so aliases are rejected at the event level. Python's `json` silently keeps
the last duplicate key and accepts NaN; both would let two readers see different data
behind one digest, so both are refused. Values are limited to what RFC 8785 canonicalizes
identically everywhere (I-JSON numbers, valid Unicode).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promote_action.errors import InputError, MissingFileError

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_SAFE_INTEGER = 2**53 - 1
_JSON_SUFFIXES = {".json", ".jsonld", ".geojson"}


@dataclass
class Document:
    """A loaded document plus where each JSON pointer sits in the source (for annotations)."""

    path: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, pointer: str) -> int:
        """Best line for `pointer`: its own, else its nearest ancestor's, else 1."""
        p = pointer
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return 1
            p = p.rsplit("/", 1)[0]


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def read_limited(path: Path, display: str, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """Read a file whole, refusing it before reading when it is over `limit` bytes."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise MissingFileError("file not found", file=display) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=display) from e
    if size > limit:
        raise InputError(f"file is {size} bytes, over the {limit}-byte limit", file=display)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"file is over the {limit}-byte limit", file=display)
    return data


def _decode(raw: bytes, display: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raise InputError("byte-order mark at start of file; save it as UTF-8 without BOM",
                         file=display)
    if b"\x00" in raw:
        raise InputError("NUL byte in file", file=display)
    try:
        return raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise InputError(f"invalid UTF-8 at byte {e.start}", file=display) from e


def load_document(path: Path, display: str | None = None) -> Document:
    """Load `path` as JSON (by suffix) or YAML; raise `InputError` naming file and field."""
    shown = display or str(path)
    text = _decode(read_limited(path, shown), shown)
    if path.suffix.lower() in _JSON_SUFFIXES:
        return Document(shown, load_json_text(text, shown))
    return load_yaml_text(text, shown)


# --- JSON -------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 16:
        raise ValueError(f"integer {text[:20]}… is outside the I-JSON range (±2^53-1)")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"integer {text} is outside the I-JSON range (±2^53-1)")
    return value


def _parse_float(text: str) -> float:
    if len(text) > 64:
        raise ValueError(f"number {text[:20]}… is too long")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} overflows to infinity")
    return value


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def load_json_text(text: str, display: str) -> Any:
    """Strict JSON: no duplicate keys, NaN/Infinity, huge or unsafe numbers, bad Unicode."""
    try:
        data = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}",
                         file=display) from e
    except RecursionError as e:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=display) from e
    except ValueError as e:
        raise InputError(str(e), file=display) from e
    check_json_value(data, display)
    return data


def check_json_value(data: Any, display: str) -> None:
    """Iteratively check depth, string validity and key types of an already-built value."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=display,
                             field=pointer or "/")
        if isinstance(value, str):
            _check_string(value, display, pointer)
        elif isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise InputError(f"non-string key {k!r}", file=display, field=pointer or "/")
                _check_string(k, display, pointer)
                stack.append((v, f"{pointer}/{escape_pointer_token(k)}", depth + 1))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                stack.append((v, f"{pointer}/{i}", depth + 1))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise InputError("integer outside the I-JSON range (±2^53-1)", file=display,
                                 field=pointer or "/")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InputError("non-finite number", file=display, field=pointer or "/")
        else:
            raise InputError(f"unsupported value of type {type(value).__name__}",
                             file=display, field=pointer or "/")


def _check_string(s: str, display: str, pointer: str) -> None:
    if "\x00" in s:
        raise InputError("NUL character in string", file=display, field=pointer or "/")
    try:
        s.encode("utf-8", errors="strict")
    except UnicodeEncodeError as e:
        raise InputError("lone surrogate in string (not valid Unicode)", file=display,
                         field=pointer or "/") from e


# --- YAML -------------------------------------------------------------------------------


def load_yaml_text(text: str, display: str) -> Document:
    """Safe YAML 1.2 with no anchors, aliases, tags, merge keys, timestamps or streams.

    The event pre-scan runs before any node is composed so hostile structure is refused in
    time linear in the file size.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionStartEvent,
        DocumentStartEvent,
        MappingEndEvent,
        NodeEvent,
        ScalarEvent,
        SequenceEndEvent,
    )

    yaml = YAML(typ="safe", pure=True)
    try:
        docs = 0
        depth = 0
        for ev in yaml.parse(text):
            line = ev.start_mark.line + 1 if ev.start_mark is not None else 0
            if isinstance(ev, DocumentStartEvent):
                docs += 1
                if docs > 1:
                    raise InputError(f"line {line}: multi-document streams are not allowed",
                                     file=display)
            elif isinstance(ev, AliasEvent):
                raise InputError(f"line {line}: YAML aliases (*{ev.anchor}) are not allowed",
                                 file=display)
            if isinstance(ev, NodeEvent) and ev.anchor is not None:
                raise InputError(f"line {line}: YAML anchors (&{ev.anchor}) are not allowed",
                                 file=display)
            if isinstance(ev, ScalarEvent | CollectionStartEvent):
                tag = ev.tag
                implicit = getattr(ev, "implicit", None)
                explicit_tag = tag is not None and tag != "!" and (
                    not isinstance(ev, ScalarEvent) or not (implicit and implicit[0])
                )
                if isinstance(ev, CollectionStartEvent):
                    explicit_tag = tag is not None and not ev.implicit
                if explicit_tag:
                    raise InputError(f"line {line}: YAML tags ({tag}) are not allowed",
                                     file=display)
            if isinstance(ev, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(f"line {line}: nesting deeper than {MAX_DEPTH} levels",
                                     file=display)
            elif isinstance(ev, MappingEndEvent | SequenceEndEvent):
                depth -= 1
        node = yaml.compose(text)
    except InputError:
        raise
    except MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise InputError(f"{where}invalid YAML: {e.problem or e.context}", file=display) from e
    except (YAMLError, RecursionError) as e:
        raise InputError(f"invalid YAML: {type(e).__name__}", file=display) from e
    doc = Document(display, None)
    if node is None:
        raise InputError("empty document", file=display)
    doc.data = _construct(node, yaml, doc, "")
    check_json_value(doc.data, display)
    return doc


_YAML_OK_SCALARS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def _construct(node: Any, yaml: Any, doc: Document, pointer: str) -> Any:
    from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

    line = node.start_mark.line + 1
    doc.lines.setdefault(pointer, line)
    where = f"line {line}"
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if getattr(key_node, "tag", None) == "tag:yaml.org,2002:merge":
                raise InputError(f"{where}: YAML merge keys (<<) are not allowed", file=doc.path,
                                 field=pointer or "/")
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise InputError(f"{where}: mapping keys must be plain strings", file=doc.path,
                                 field=pointer or "/")
            key = key_node.value
            if key in out:
                raise InputError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}",
                                 file=doc.path, field=pointer or "/")
            child = f"{pointer}/{escape_pointer_token(key)}"
            doc.lines[child] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, yaml, doc, child)
        return out
    if isinstance(node, SequenceNode):
        return [_construct(v, yaml, doc, f"{pointer}/{i}") for i, v in enumerate(node.value)]
    if isinstance(node, ScalarNode):
        if node.tag == "tag:yaml.org,2002:timestamp":
            raise InputError(f"{where}: unquoted timestamp {node.value!r}; quote it as a string",
                             file=doc.path, field=pointer or "/")
        if node.tag not in _YAML_OK_SCALARS:
            raise InputError(f"{where}: unsupported scalar type {node.tag}", file=doc.path,
                             field=pointer or "/")
        if node.tag == "tag:yaml.org,2002:str":
            return node.value
        if node.tag == "tag:yaml.org,2002:int":
            digits = node.value.lstrip("+-")
            if len(digits) > 20:
                raise InputError(f"{where}: integer outside the I-JSON range", file=doc.path,
                                 field=pointer or "/")
        try:
            value = yaml.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as e:
            raise InputError(f"{where}: {e}", file=doc.path, field=pointer or "/") from e
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{where}: non-finite number {node.value!r}", file=doc.path,
                             field=pointer or "/")
        return value
    raise InputError(f"{where}: unsupported YAML node", file=doc.path, field=pointer or "/")
