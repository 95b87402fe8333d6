"""SPDX license expressions: parse, check ids against the shipped list, reduce to DNF.

Gate B needs to answer "is there one way to comply with this license that the intended
use allows?". An expression in disjunctive normal form answers that without parsing in
Rego: a list of alternatives, each a set of license terms that all apply together; the
use is allowed when every term of at least one alternative is in the use's table.

Grammar (SPDX spec 2.3 annex D / 3.0), operators upper case, precedence WITH > AND > OR::

    expr     := and_expr ("OR" and_expr)*
    and_expr := with_expr ("AND" with_expr)*
    with_expr:= primary ("WITH" exception_id)?
    primary  := license_id ["+"] | "LicenseRef-..." | "DocumentRef-...:LicenseRef-..."
              | "(" expr ")"

Decisions (stable, the policy depends on them):
- License ids match case-insensitively and are reported in the list's canonical case.
- `X WITH exc` is one term spelled ``"X WITH exc"``: an exception changes the terms, so
  a use table must list the pair explicitly to allow it (fail closed).
- `X+` ("or later") is one term spelled ``"X+"`` for the same reason.
- `NONE` and `NOASSERTION` are not licenses; `classify` reports them as unclear.
- Alternatives are sorted, de-duplicated, and an alternative that is a strict superset of
  another is dropped (it can never be the only way to comply).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

MAX_EXPRESSION_CHARS = 2000
MAX_ALTERNATIVES = 256  # DNF grows exponentially; past this we refuse, not guess
UNCLEAR_VALUES = frozenset({"NONE", "NOASSERTION"})
OPERATORS = frozenset({"AND", "OR", "WITH"})

_TOKEN_RE = re.compile(r"\s*(?:(\()|(\))|([A-Za-z0-9.\-+:]+))")
_IDSTRING = r"[A-Za-z0-9.\-]+"
_REF_RE = re.compile(rf"^(?:DocumentRef-{_IDSTRING}:)?LicenseRef-{_IDSTRING}$")
_ID_RE = re.compile(rf"^{_IDSTRING}\+?$")


class ExpressionError(ValueError):
    """The text is not an SPDX license expression; the message says where."""


@dataclass(frozen=True)
class License:
    id: str  # as written (canonicalized by `normalize`)
    or_later: bool = False
    exception: str | None = None

    @property
    def term(self) -> str:
        base = self.id + ("+" if self.or_later else "")
        return f"{base} WITH {self.exception}" if self.exception else base


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = License | And | Or


@dataclass(frozen=True)
class KnownIds:
    licenses: dict[str, str]  # lower-case id -> canonical id
    deprecated: dict[str, str]
    exceptions: dict[str, str]
    deprecated_exceptions: dict[str, str]
    list_version: str


@functools.cache
def known_ids() -> KnownIds:
    """The SPDX License List shipped as data in `spdx_ids.json`."""
    raw = json.loads((Path(__file__).with_name("spdx_ids.json")).read_text(encoding="utf-8"))

    def index(key: str) -> dict[str, str]:
        return {i.lower(): i for i in raw[key]}

    return KnownIds(index("licenses"), index("deprecated_licenses"), index("exceptions"),
                    index("deprecated_exceptions"), raw["spdx_license_list_version"])


def _tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected character {text[pos:].lstrip()[0]!r} at "
                                  f"offset {len(text) - len(text[pos:].lstrip())}")
        tokens.append(m.group(1) or m.group(2) or m.group(3))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("expression ends too early")
        self.pos += 1
        return tok

    def expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.with_expr()]
        while self.peek() == "AND":
            self.take()
            items.append(self.with_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def with_expr(self) -> Node:
        node = self.primary()
        if self.peek() == "WITH":
            self.take()
            if not isinstance(node, License) or node.exception is not None:
                raise ExpressionError("WITH must follow a single license id")
            exc = self.take()
            if exc in OPERATORS or exc in "()" or not re.fullmatch(_IDSTRING, exc):
                raise ExpressionError(f"expected an exception id after WITH, got {exc!r}")
            node = License(node.id, node.or_later, exc)
        return node

    def primary(self) -> Node:
        tok = self.take()
        if tok == "(":
            node = self.expr()
            if self.take() != ")":
                raise ExpressionError("missing closing parenthesis")
            return node
        if tok in OPERATORS or tok == ")":
            raise ExpressionError(f"expected a license id, got {tok!r}")
        if tok.lower() in {o.lower() for o in OPERATORS}:
            raise ExpressionError(f"operator {tok!r} must be upper case")
        if _REF_RE.match(tok):
            return License(tok)
        if not _ID_RE.match(tok) or tok == "+":
            raise ExpressionError(f"{tok!r} is not a license id")
        return License(tok.rstrip("+"), tok.endswith("+"))


def parse(text: str) -> Node:
    """Parse an SPDX license expression; raise `ExpressionError` when it is not one."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    tokens = _tokenize(text)
    if not tokens:
        raise ExpressionError("empty expression")
    p = _Parser(tokens)
    node = p.expr()
    rest = p.peek()
    if rest is not None:
        if rest.upper() in OPERATORS and rest != rest.upper():
            raise ExpressionError(f"operator {rest!r} must be upper case ({rest.upper()})")
        raise ExpressionError(f"unexpected {rest!r} after a complete expression "
                              "(join terms with AND, OR or WITH)")
    return node


def normalize(node: Node) -> Node:
    """Canonical case for known ids and exceptions (unknown ones stay as written)."""
    ids = known_ids()
    if isinstance(node, License):
        if _REF_RE.match(node.id):
            return node
        low = node.id.lower()
        lid = ids.licenses.get(low) or ids.deprecated.get(low) or node.id
        exc = node.exception
        if exc is not None:
            exc = ids.exceptions.get(exc.lower()) or ids.deprecated_exceptions.get(
                exc.lower()) or exc
        return License(lid, node.or_later, exc)
    items = tuple(normalize(i) for i in node.items)
    return And(items) if isinstance(node, And) else Or(items)


def dnf(node: Node) -> list[list[str]]:
    """Disjunctive normal form: sorted alternatives, each a sorted list of terms."""
    return _finish(_dnf(node))


def _dnf(node: Node) -> set[frozenset[str]]:
    if isinstance(node, License):
        return {frozenset({node.term})}
    parts = [_dnf(i) for i in node.items]
    if isinstance(node, Or):
        out: set[frozenset[str]] = set().union(*parts)
    else:
        out = {frozenset()}
        for part in parts:
            out = {a | b for a in out for b in part}
            if len(out) > MAX_ALTERNATIVES:
                break
    if len(out) > MAX_ALTERNATIVES:
        raise ExpressionError(f"expression expands to more than {MAX_ALTERNATIVES} "
                              "alternatives; simplify it")
    return out


def _finish(alts: set[frozenset[str]]) -> list[list[str]]:
    minimal = [a for a in alts if not any(b < a for b in alts)]
    return sorted(sorted(a) for a in minimal)


def terms(node: Node) -> list[License]:
    """Every license term in the expression, in order of appearance."""
    if isinstance(node, License):
        return [node]
    return [t for i in node.items for t in terms(i)]


@dataclass(frozen=True)
class Classified:
    """What gate B needs from one expression."""

    dnf: list[list[str]] | None  # None: not an expression at all
    error: str | None = None  # parse error
    unknown: tuple[str, ...] = ()  # ids / exceptions not on the SPDX list
    deprecated: tuple[str, ...] = ()
    unclear: tuple[str, ...] = ()  # NONE / NOASSERTION


def classify(text: str) -> Classified:
    """Parse, normalize and look up every id; never raises for bad text."""
    stripped = text.strip()
    if stripped.upper() in UNCLEAR_VALUES:
        return Classified(None, unclear=(stripped.upper(),))
    try:
        node = normalize(parse(stripped))
        form = dnf(node)
    except ExpressionError as e:
        return Classified(None, error=str(e))
    ids = known_ids()
    unknown, deprecated, unclear = [], [], []
    for t in terms(node):
        if t.id.upper() in UNCLEAR_VALUES:
            unclear.append(t.id.upper())
        elif _REF_RE.match(t.id):
            pass
        elif t.id.lower() in ids.deprecated:
            deprecated.append(t.id)
        elif t.id.lower() not in ids.licenses:
            unknown.append(t.id)
        if t.exception is not None:
            low = t.exception.lower()
            if low in ids.deprecated_exceptions:
                deprecated.append(t.exception)
            elif low not in ids.exceptions:
                unknown.append(t.exception)
    return Classified(form, None, tuple(dict.fromkeys(unknown)),
                      tuple(dict.fromkeys(deprecated)), tuple(dict.fromkeys(unclear)))


def satisfiable(form: list[list[str]], allowed: set[str]) -> bool:
    """True when some alternative has every term allowed."""
    return any(all(t in allowed for t in alt) for alt in form)
