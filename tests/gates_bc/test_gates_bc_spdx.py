"""SPDX expression parsing, id lookup and disjunctive normal form."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promote_action import spdx


@pytest.mark.parametrize(("text", "form"), [
    ("MIT", [["MIT"]]),
    ("mit", [["MIT"]]),
    ("cc-by-4.0", [["CC-BY-4.0"]]),
    ("MIT OR Apache-2.0", [["Apache-2.0"], ["MIT"]]),
    ("MIT AND Apache-2.0", [["Apache-2.0", "MIT"]]),
    # AND binds tighter than OR
    ("MIT OR Apache-2.0 AND CC0-1.0", [["Apache-2.0", "CC0-1.0"], ["MIT"]]),
    ("(MIT OR Apache-2.0) AND CC0-1.0", [["Apache-2.0", "CC0-1.0"], ["CC0-1.0", "MIT"]]),
    ("((MIT))", [["MIT"]]),
    ("GPL-2.0-only WITH Classpath-exception-2.0",
     [["GPL-2.0-only WITH Classpath-exception-2.0"]]),
    ("gpl-2.0-only with classpath-exception-2.0 OR MIT", None),  # lower-case operator
    ("GPL-2.0-or-later WITH classpath-exception-2.0 OR MIT",
     [["GPL-2.0-or-later WITH Classpath-exception-2.0"], ["MIT"]]),
    ("Apache-1.0+", [["Apache-1.0+"]]),
    ("LicenseRef-KFM-Internal", [["LicenseRef-KFM-Internal"]]),
    ("DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2",
     [["DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2"]]),
    ("MIT AND MIT", [["MIT"]]),
    ("MIT OR MIT", [["MIT"]]),
    # absorption: (MIT AND CC0) is never the only way to comply when MIT alone is
    ("MIT OR (MIT AND CC0-1.0)", [["MIT"]]),
    ("  MIT\tOR\nApache-2.0 ", [["Apache-2.0"], ["MIT"]]),
])
def test_dnf_of_valid_expressions(text: str, form: list[list[str]] | None) -> None:
    if form is None:
        with pytest.raises(spdx.ExpressionError, match="upper case"):
            spdx.parse(text)
        return
    assert spdx.dnf(spdx.normalize(spdx.parse(text))) == form


@pytest.mark.parametrize(("text", "needle"), [
    ("", "empty"),
    ("   ", "empty"),
    ("MIT AND", "ends too early"),
    ("(MIT OR Apache-2.0", "ends too early"),
    ("MIT)", "unexpected ')'"),
    ("MIT Apache-2.0", "unexpected 'Apache-2.0'"),
    ("MIT or Apache-2.0", "must be upper case"),
    ("and MIT", "must be upper case"),
    ("OR MIT", "expected a license id"),
    ("MIT WITH", "ends too early"),
    ("MIT WITH OR", "expected an exception id"),
    ("(MIT OR Apache-2.0) WITH Classpath-exception-2.0", "WITH must follow a single"),
    ("MIT WITH a WITH b", "unexpected 'WITH'"),
    ("CC_BY_4.0", "unexpected character '_'"),
    ("MIT / Apache-2.0", "unexpected character '/'"),
    ("+", "is not a license id"),
    ("MIT++", "is not a license id"),
    ("()", "expected a license id"),
    ("x" * (spdx.MAX_EXPRESSION_CHARS + 1), "longer than"),
])
def test_unparsable_expressions(text: str, needle: str) -> None:
    with pytest.raises(spdx.ExpressionError, match=re.escape(needle)):
        spdx.dnf(spdx.parse(text))


def test_exponential_expression_is_refused_not_expanded() -> None:
    text = " AND ".join(f"(MIT OR LicenseRef-x{i})" for i in range(12))  # 4096 alternatives
    with pytest.raises(spdx.ExpressionError, match="alternatives"):
        spdx.dnf(spdx.parse(text))
    assert spdx.classify(text).error is not None


@pytest.mark.parametrize(("text", "field", "value"), [
    ("NOASSERTION", "unclear", ("NOASSERTION",)),
    ("noassertion", "unclear", ("NOASSERTION",)),
    ("NONE", "unclear", ("NONE",)),
    ("MIT AND NOASSERTION", "unclear", ("NOASSERTION",)),
    ("Foo-License-1.0", "unknown", ("Foo-License-1.0",)),
    ("MIT OR Foo-1.0", "unknown", ("Foo-1.0",)),
    ("GPL-2.0-only WITH No-Such-exception", "unknown", ("No-Such-exception",)),
    ("GPL-2.0", "deprecated", ("GPL-2.0",)),
    ("MIT", "unknown", ()),
])
def test_classify_flags_unclear_unknown_and_deprecated(text: str, field: str,
                                                       value: tuple[str, ...]) -> None:
    assert getattr(spdx.classify(text), field) == value


def test_classify_never_raises_and_reports_errors() -> None:
    c = spdx.classify("MIT AND (")
    assert c.dnf is None and c.error


def test_shipped_id_list_is_data_with_canonical_ids() -> None:
    from pathlib import Path

    raw = json.loads(Path(spdx.__file__).with_name("spdx_ids.json").read_text())
    assert set(raw) >= {"spdx_license_list_version", "licenses", "exceptions"}
    assert {"CC-BY-4.0", "CC0-1.0", "ODbL-1.0", "MIT", "Apache-2.0"} <= set(raw["licenses"])
    assert raw["licenses"] == sorted(raw["licenses"])
    assert not set(raw["licenses"]) & set(raw["deprecated_licenses"])


def test_every_license_in_the_policy_tables_is_a_known_current_id() -> None:
    """The use tables must name ids the gate can produce, or a use could never match."""
    from promote_action.policy.bundle import load_bundle, table

    by_use = table(load_bundle([]).data, "licenses_by_use")
    for use, ids in by_use.items():
        for lid in ids:
            c = spdx.classify(lid)
            assert c.dnf == [[lid]] and not (c.unknown or c.deprecated), (use, lid)


def test_satisfiable_needs_one_fully_allowed_alternative() -> None:
    form = [["Apache-2.0", "CC0-1.0"], ["MIT"]]
    assert spdx.satisfiable(form, {"MIT"})
    assert spdx.satisfiable(form, {"Apache-2.0", "CC0-1.0"})
    assert not spdx.satisfiable(form, {"Apache-2.0"})
    assert not spdx.satisfiable([], {"MIT"})


# --- properties ---------------------------------------------------------------------------

IDS = ["MIT", "Apache-2.0", "CC0-1.0", "CC-BY-4.0", "ODbL-1.0", "LicenseRef-a",
       "GPL-2.0-only WITH Classpath-exception-2.0"]


def _exprs() -> st.SearchStrategy[str]:
    leaf = st.sampled_from(IDS)
    return st.recursive(
        leaf,
        lambda inner: st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        max_leaves=8)


def _form(text: str) -> list[list[str]]:
    return spdx.dnf(spdx.normalize(spdx.parse(text)))


def _minimal(alts: list[list[str]]) -> list[list[str]]:
    sets = {frozenset(a) for a in alts}
    return sorted(sorted(a) for a in sets if not any(b < a for b in sets))


def _truth(text: str, allowed: frozenset[str]) -> bool:
    """Evaluate the expression directly: a term holds when it is allowed."""
    def ev(node: spdx.Node) -> bool:
        if isinstance(node, spdx.License):
            return node.term in allowed
        vals = [ev(i) for i in node.items]
        return all(vals) if isinstance(node, spdx.And) else any(vals)
    return ev(spdx.normalize(spdx.parse(text)))


@settings(max_examples=150, deadline=None)
@given(_exprs(), _exprs())
def test_dnf_of_or_is_the_union(a: str, b: str) -> None:
    assert _form(f"{a} OR {b}") == _minimal(_form(a) + _form(b))


@settings(max_examples=150, deadline=None)
@given(_exprs(), _exprs())
def test_dnf_of_and_is_the_cross_product(a: str, b: str) -> None:
    cross = [sorted(set(x) | set(y)) for x in _form(a) for y in _form(b)]
    assert _form(f"({a}) AND ({b})") == _minimal(cross)


@settings(max_examples=150, deadline=None)
@given(_exprs(), _exprs())
def test_dnf_is_commutative_and_canonical(a: str, b: str) -> None:
    assert _form(f"{a} OR {b}") == _form(f"{b} OR {a}")
    assert _form(f"{a} AND {b}") == _form(f"{b} AND {a}")
    form = _form(a)
    assert form == sorted(form) and all(alt == sorted(set(alt)) for alt in form)


@settings(max_examples=200, deadline=None)
@given(_exprs(), st.frozensets(st.sampled_from(IDS)))
def test_dnf_is_equivalent_to_the_expression(text: str, allowed: frozenset[str]) -> None:
    """satisfiable(DNF) agrees with evaluating the expression tree for every allow-set."""
    assert spdx.satisfiable(_form(text), set(allowed)) == _truth(text, allowed)
