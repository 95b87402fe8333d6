"""Strict YAML/JSON loading: ambiguous or hostile constructs are refused with file + line."""

from __future__ import annotations

from pathlib import Path

import pytest

from promote_action.errors import InputError, MissingFileError
from promote_action.safeload import (
    MAX_DOCUMENT_BYTES,
    load_document,
    load_json_text,
    load_yaml_text,
)

YAML_REJECTS = {
    "anchor": ("a: &x 1\nb: 2\n", "anchors"),
    "alias": ("a: [1]\nb: *x\n", "alias"),
    "billion_laughs": ("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "anchors"),
    "python_tag": ("a: !!python/object/apply:os.system ['id']\n", "tags"),
    "custom_tag": ("a: !foo bar\n", "tags"),
    "merge_key": ("base: {x: 1}\nchild:\n  <<: {y: 2}\n", "merge keys"),
    "duplicate_key": ("a: 1\nb: 2\na: 3\n", "duplicate key 'a'"),
    "multi_document": ("a: 1\n---\na: 2\n", "multi-document"),
    "timestamp": ("released: 2026-02-20\n", "unquoted timestamp"),
    "nan": ("x: .nan\n", "non-finite"),
    "inf": ("x: -.inf\n", "non-finite"),
    "int_key": ("1: a\n", "plain strings"),
    "null_key": ("~: a\n", "plain strings"),
    "huge_int": ("x: " + "9" * 30 + "\n", "I-JSON"),
    "deep": ("x: " + "[" * 100 + "]" * 100 + "\n", "nesting"),
    "bad_syntax": ("a: [1, 2\n", "invalid YAML"),
}


@pytest.mark.parametrize("case", sorted(YAML_REJECTS))
def test_yaml_rejects(case: str) -> None:
    text, needle = YAML_REJECTS[case]
    with pytest.raises(InputError) as e:
        load_yaml_text(text, "spec.yaml")
    msg = e.value.diagnostics()
    assert needle in msg
    assert msg.startswith("spec.yaml")
    assert "\n" not in msg


def test_yaml12_words_stay_strings() -> None:
    doc = load_yaml_text("a: NO\nb: on\nc: yes\nd: '1.10'\ne: 1.10\n", "f.yaml")
    assert doc.data == {"a": "NO", "b": "on", "c": "yes", "d": "1.10", "e": 1.1}


def test_yaml_line_numbers_for_pointers() -> None:
    doc = load_yaml_text("a: 1\nb:\n  c: [1, 2]\n  d: x\n", "f.yaml")
    assert doc.line_of("/b/d") == 4
    assert doc.line_of("/b/c/1") == 3
    assert doc.line_of("/nope") == 1
    assert doc.line_of("not/a/pointer") == 1  # never loops on a malformed pointer


JSON_REJECTS = {
    "duplicate": ('{"a": 1, "a": 2}', "duplicate key"),
    "nan": ('{"a": NaN}', "non-finite"),
    "infinity": ('{"a": -Infinity}', "non-finite"),
    "overflow": ('{"a": 1e400}', "infinity"),
    "unsafe_int": ('{"a": 9007199254740993}', "I-JSON"),
    "huge_int": ('{"a": ' + "1" * 5000 + "}", "I-JSON"),
    "lone_surrogate": ('{"a": "\\ud800"}', "surrogate"),
    "nul_escape": ('{"a": "x\\u0000y"}', "NUL"),
    "deep": ("[" * 5000 + "]" * 5000, "nesting"),
    "syntax": ('{"a": }', "invalid JSON at line 1"),
}


@pytest.mark.parametrize("case", sorted(JSON_REJECTS))
def test_json_rejects(case: str) -> None:
    text, needle = JSON_REJECTS[case]
    with pytest.raises(InputError) as e:
        load_json_text(text, "cat.json")
    assert needle in e.value.diagnostics()


@pytest.mark.parametrize(("raw", "needle"), [
    (b"\xef\xbb\xbf{}", "byte-order mark"),
    (b'{"a": "\xff"}', "invalid UTF-8"),
    (b'{"a": 1}\x00', "NUL byte"),
])
def test_byte_level_rejects(tmp_path: Path, raw: bytes, needle: str) -> None:
    p = tmp_path / "x.json"
    p.write_bytes(raw)
    with pytest.raises(InputError, match=needle):
        load_document(p)


def test_size_limit_checked_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    with open(p, "wb") as fh:
        fh.truncate(MAX_DOCUMENT_BYTES + 1)
    with pytest.raises(InputError, match="over the"):
        load_document(p)


def test_missing_file_is_its_own_error(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError):
        load_document(tmp_path / "nope.json")
