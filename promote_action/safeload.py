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
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promote_action.errors import InputError, MissingFileError

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 250_000
MAX_YAML_BYTES = 512 * 1024
MAX_YAML_EVENTS = 5_000
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
        p = pointer if pointer.startswith("/") else ""
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return 1
            p = p.rsplit("/", 1)[0]


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def read_limited(path: Path, display: str, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """Read a regular file whole, refusing it before reading when it is over `limit` bytes.

    The file is opened non-blocking and checked with `fstat` on the open descriptor: a
    FIFO or device committed (or symlinked) in place of a document must fail at once,
    not hang the run or stream `/dev/zero`.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise MissingFileError("file not found", file=display) from None
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", file=display) from e
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not a regular file", file=display)
        raise InputError(f"file is {st.st_size} bytes, over the {limit}-byte limit",
                         file=display)
    with os.fdopen(fd, "rb") as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", file=display) from e
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


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def load_json_text(text: str, display: str) -> Any:
    """Strict JSON: no duplicate keys, NaN/Infinity, huge or unsafe numbers, bad Unicode.

    Numbers are parsed by the C scanner (no per-number Python hook: 8 MB of numbers would
    otherwise take seconds) and range-checked afterwards by `check_json_value`; Python's
    own 4,300-digit guard turns integer-parsing bombs into a ValueError first.
    """
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}",
                         file=display) from e
    except RecursionError as e:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=display) from e
    except ValueError as e:
        msg = str(e)
        if "integer string conversion" in msg:
            msg = "integer with thousands of digits is outside the I-JSON range (±2^53-1)"
        raise InputError(msg, file=display) from e
    check_json_value(data, display)
    return data


def check_json_value(data: Any, display: str) -> None:
    """Iteratively check size, depth, string validity and key types of a built value.

    The node budget bounds every later pass (schema checks, RFC 8785, the policy input)
    no matter how the bytes were spent.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    nodes = 1
    while stack:
        value, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"nesting deeper than {MAX_DEPTH} levels", file=display,
                             field=_short(pointer))
        if isinstance(value, str):
            _check_string(value, display, pointer)
            continue
        if isinstance(value, dict | list):
            nodes += len(value)  # counted before pushing, so the stack stays bounded too
            if nodes > MAX_NODES:
                raise InputError(f"more than {MAX_NODES} values in one document", file=display)
        if isinstance(value, dict):
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
                raise InputError("non-finite number (overflows to infinity)", file=display,
                                 field=pointer or "/")
        else:
            raise InputError(f"unsupported value of type {type(value).__name__}",
                             file=display, field=pointer or "/")


def _short(pointer: str) -> str:
    """A pointer short enough for a one-line message (deep ones are thousands of chars)."""
    if not pointer:
        return "/"
    return pointer if len(pointer) <= 80 else pointer[:60] + "/…"


def _check_string(s: str, display: str, pointer: str) -> None:
    if "\x00" in s:
        raise InputError("NUL character in string", file=display, field=pointer or "/")
    if s.isascii():
        return
    try:
        s.encode("utf-8", errors="strict")
    except UnicodeEncodeError as e:
        raise InputError("lone surrogate in string (not valid Unicode)", file=display,
                         field=pointer or "/") from e


# --- YAML -------------------------------------------------------------------------------

# Plain decimal only: `0777`, `0o17`, `0x1f`, `1_000` and `1:20` mean different numbers
# (or strings) to YAML 1.1 and 1.2 readers, so two tools would hash different data.
_YAML_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_YAML_FLOAT_RE = re.compile(r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$")


_ODD_BREAK_RE = re.compile("[\u0085\u2028\u2029]")


class _Reject(Exception):
    """Raised from inside the parser; turned into an InputError that names the file."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def _checked_parser_class() -> Any:
    """A ruamel Parser that vets every event as the composer pulls it (one pass).

    Checking in `get_event` means an alias, anchor, tag, directive or over-deep collection
    is refused before the composer builds anything from it, and a single pass halves the
    cost of the pure-Python parser (the slowest step for a large document).
    """
    global _PARSER_CLASS
    if _PARSER_CLASS is not None:
        return _PARSER_CLASS
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        DocumentStartEvent,
        NodeEvent,
        ScalarEvent,
    )
    from ruamel.yaml.parser import Parser

    class CheckedParser(Parser):  # type: ignore[misc]
        def reset_parser(self) -> None:
            super().reset_parser()
            self.kfm_events = 0
            self.kfm_depth = 0
            self.kfm_docs = 0

        def get_event(self) -> Any:
            ev = super().get_event()
            self.kfm_events += 1
            line = ev.start_mark.line + 1 if ev.start_mark is not None else 0
            if self.kfm_events > MAX_YAML_EVENTS:
                raise _Reject(line, f"more than {MAX_YAML_EVENTS} YAML nodes")
            if isinstance(ev, DocumentStartEvent):
                self.kfm_docs += 1
                if self.kfm_docs > 1:
                    raise _Reject(line, "multi-document streams are not allowed")
                if getattr(ev, "version", None) not in (None, (1, 2)):
                    version = ".".join(map(str, ev.version))
                    raise _Reject(line, f"%YAML {version} directive: only YAML 1.2 is read")
                if getattr(ev, "tags", None):
                    raise _Reject(line, "%TAG directives are not allowed")
            elif isinstance(ev, AliasEvent):
                raise _Reject(line, f"YAML aliases (*{ev.anchor}) are not allowed")
            if isinstance(ev, NodeEvent) and ev.anchor is not None:
                raise _Reject(line, f"YAML anchors (&{ev.anchor}) are not allowed")
            if isinstance(ev, ScalarEvent):
                implicit = getattr(ev, "implicit", None)
                if ev.tag not in (None, "!") and not (implicit and implicit[0]):
                    raise _Reject(line, f"YAML tags ({ev.tag}) are not allowed")
            elif isinstance(ev, CollectionStartEvent):
                if ev.tag is not None and not ev.implicit:
                    raise _Reject(line, f"YAML tags ({ev.tag}) are not allowed")
                self.kfm_depth += 1
                if self.kfm_depth > MAX_DEPTH:
                    raise _Reject(line, f"nesting deeper than {MAX_DEPTH} levels")
            elif isinstance(ev, CollectionEndEvent):
                self.kfm_depth -= 1
            return ev

    _PARSER_CLASS = CheckedParser
    return CheckedParser


def _checked_scanner_class() -> Any:
    """A ruamel Scanner that refuses deep flow nesting (`[[[[…`) while tokenizing.

    The scanner reads ahead over a run of `[` looking for a possible simple key, before
    the parser sees a single event, so the depth limit must also live here.
    """
    global _SCANNER_CLASS
    if _SCANNER_CLASS is not None:
        return _SCANNER_CLASS
    from ruamel.yaml.scanner import Scanner

    class CheckedScanner(Scanner):  # type: ignore[misc]
        def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
            if len(self.flow_context) >= MAX_DEPTH:
                raise _Reject(self.reader.get_mark().line + 1,
                              f"nesting deeper than {MAX_DEPTH} levels")
            super().fetch_flow_collection_start(TokenClass, to_push)

    _SCANNER_CLASS = CheckedScanner
    return CheckedScanner


_SCANNER_CLASS: Any = None


_PARSER_CLASS: Any = None


def load_yaml_text(text: str, display: str) -> Document:
    """Safe YAML 1.2 with no anchors, aliases, tags, merge keys, timestamps or streams.

    Every event is vetted before the composer uses it (see `_checked_parser_class`), and
    the input is bounded in bytes and events, so hostile structure is refused in time
    linear in a small budget: the pure-Python parser costs ~50 µs per event.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_YAML_BYTES:
        raise InputError(f"YAML file is {size} bytes, over the {MAX_YAML_BYTES}-byte limit "
                         "for YAML (use JSON for large documents)", file=display)
    odd_break = _ODD_BREAK_RE.search(text)
    if odd_break:
        line = text.count("\n", 0, odd_break.start()) + 1
        raise InputError(f"line {line}: raw U+{ord(odd_break.group()):04X} is a line break to "
                         "YAML 1.1 readers (ruamel) and text to YAML 1.2 ones; escape it in a "
                         "double-quoted string", file=display)
    yaml = YAML(typ="safe", pure=True)
    yaml.Parser = _checked_parser_class()
    yaml.Scanner = _checked_scanner_class()
    try:
        node = yaml.compose(text)
    except _Reject as e:
        raise InputError(f"line {e.line}: {e.message}", file=display) from None
    except ReaderError as e:
        raise InputError(f"unacceptable character at position {e.position}: {e.reason}",
                         file=display) from e
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
                raise InputError(f"line {key_node.start_mark.line + 1}: YAML merge keys (<<) "
                                 "are not allowed", file=doc.path, field=pointer or "/")
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise InputError(f"line {key_node.start_mark.line + 1}: mapping keys must be "
                                 "plain strings", file=doc.path, field=pointer or "/")
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
            if not _YAML_INT_RE.match(node.value):
                raise InputError(f"{where}: ambiguous integer {node.value[:40]!r} (YAML 1.1 and "
                                 "1.2 read it differently); write plain decimal or quote it",
                                 file=doc.path, field=pointer or "/")
            if len(node.value.lstrip("+-")) > 20:
                raise InputError(f"{where}: integer outside the I-JSON range", file=doc.path,
                                 field=pointer or "/")
        if node.tag == "tag:yaml.org,2002:float" and not _YAML_FLOAT_RE.match(node.value) \
                and node.value.lower().lstrip("+-") not in {".inf", ".nan"}:
            raise InputError(f"{where}: ambiguous number {node.value[:40]!r}; write plain "
                             "decimal or quote it", file=doc.path, field=pointer or "/")
        try:
            value = yaml.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as e:
            raise InputError(f"{where}: {e}", file=doc.path, field=pointer or "/") from e
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{where}: non-finite number {node.value!r}", file=doc.path,
                             field=pointer or "/")
        return value
    raise InputError(f"{where}: unsupported YAML node", file=doc.path, field=pointer or "/")
