"""Gate B: every reason code, triggered by one mutation of the passing dataset."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gates_bc_support import codes, context, gate_b, policy_data, read_yaml, write_yaml

from promote_action.errors import InputError, UnsafePathError
from promote_action.gates import b_license
from promote_action.gates.base import Status

ENTRY = "sources/usgs_nwis.yaml"
SNAPSHOT = "sources/usgs_nwis.LICENSE.txt"


def edit_spec(fn: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(ds: Path) -> None:
        spec = read_yaml(ds / "spec.yaml")
        fn(spec)
        write_yaml(ds / "spec.yaml", spec)
    return apply


def edit_entry(fn: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def apply(ds: Path) -> None:
        entry = read_yaml(ds / ENTRY)
        fn(entry)
        write_yaml(ds / ENTRY, entry)
    return apply


def lic(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda s: s["license"].__setitem__(key, value)


def setter(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.__setitem__(key, value)


def dropper(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.pop(key)


MUTATIONS: dict[str, tuple[Callable[[Path], None], set[str]]] = {
    "no license block": (edit_spec(dropper("license")), {"B.license_missing"}),
    "empty spdx": (edit_spec(lic("spdx", " ")), {"B.license_missing"}),
    "NOASSERTION": (edit_spec(lic("spdx", "NOASSERTION")), {"B.license_unclear"}),
    "NONE": (edit_spec(lic("spdx", "NONE")), {"B.license_unclear"}),
    "unknown id": (edit_spec(lic("spdx", "CC-BY-5.0")), {"B.license_unclear"}),
    "deprecated id": (edit_spec(lic("spdx", "GPL-2.0")), {"B.license_unclear"}),
    "NOASSERTION inside": (edit_spec(lic("spdx", "CC-BY-4.0 AND NOASSERTION")),
                           {"B.license_unclear"}),
    "unparsable": (edit_spec(lic("spdx", "CC-BY-4.0 AND (MIT")), {"B.license_unparsable"}),
    "lower-case operator": (edit_spec(lic("spdx", "CC-BY-4.0 or MIT")),
                            {"B.license_unparsable"}),
    "NC for public web": (edit_spec(lic("spdx", "CC-BY-NC-4.0")), {"B.license_incompatible"}),
    "AND with NC": (edit_spec(lic("spdx", "CC-BY-4.0 AND CC-BY-NC-4.0")),
                    {"B.license_incompatible"}),
    "exception not listed": (edit_spec(lic("spdx", "Apache-2.0 WITH LLVM-exception")),
                             {"B.license_incompatible"}),
    "LicenseRef not listed": (edit_spec(lic("spdx", "LicenseRef-Custom")),
                              {"B.license_incompatible"}),
    "rights holder blank": (edit_spec(lic("rights_holder", "  ")), {"B.rights_holder_missing"}),
    "attribution empty": (edit_spec(lic("attribution", "")), {"B.attribution_missing"}),
    "intended use missing": (edit_spec(dropper("intended_use")), {"B.intended_use_unknown"}),
    "intended use unknown": (edit_spec(setter("intended_use", "resale")),
                             {"B.intended_use_unknown"}),
    "label forbids use": (edit_spec(setter("policy_label", "internal")),
                          {"B.intended_use_not_allowed"}),
    "no sources": (edit_spec(dropper("sources")), {"B.source_entry_missing"}),
    "entry file missing": (lambda ds: (ds / ENTRY).unlink(), {"B.source_entry_missing"}),
    "entry without publisher": (edit_entry(dropper("publisher")), {"B.source_entry_invalid"}),
    "entry unknown field": (edit_entry(setter("licence", "x")), {"B.source_entry_invalid"}),
    "entry bad url": (edit_entry(setter("access_url", "ftp://x")), {"B.source_entry_invalid"}),
    "entry id differs": (edit_entry(setter("id", "other_source")), {"B.source_entry_invalid"}),
    "entry not a mapping": (lambda ds: write_yaml(ds / ENTRY, ["a"]), {"B.source_entry_invalid"}),
    "source listed twice": (edit_spec(lambda s: s["sources"].append(dict(s["sources"][0]))),
                            {"B.source_entry_invalid"}),
    "stability missing": (edit_entry(dropper("stability")), {"B.source_entry_invalid"}),
    "unstable upstream": (edit_entry(setter("stability", "unstable")), {"B.upstream_unstable"}),
    "snapshot missing": (lambda ds: (ds / SNAPSHOT).unlink(), {"B.license_snapshot_missing"}),
    "snapshot edited": (lambda ds: (ds / SNAPSHOT).write_bytes(b"other terms\n"),
                        {"B.license_snapshot_mismatch"}),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_fails_gate_b_for_its_reason(pass_dataset: Path, name: str) -> None:
    mutate, want = MUTATIONS[name]
    mutate(pass_dataset)
    res = gate_b(pass_dataset)
    assert res.status == Status.FAIL
    assert codes(res) == want, [r.to_json() for r in res.reasons]
    for r in res.reasons:
        assert r.path and r.message
        assert r.pointer == "" or r.pointer.startswith("/")  # "" is the document root


def test_every_gate_b_code_is_covered() -> None:
    import re

    source = Path(b_license.__file__).read_text()
    defined = set(re.findall(r'"(B\.[a-z_]+)"', source))
    covered = set().union(*(w for _, w in MUTATIONS.values()))
    assert defined == covered


def test_reference_dataset_passes_and_records_dnf(pass_dataset: Path) -> None:
    ctx = context(pass_dataset)
    res = b_license.check(ctx)
    assert res.status == Status.PASS, res.reasons
    assert ctx.facts["license_dnf"] == [["CC-BY-4.0"]]


@pytest.mark.parametrize(("expr", "use", "dnf"), [
    ("MIT OR CC-BY-NC-4.0", "public_web", [["CC-BY-NC-4.0"], ["MIT"]]),
    ("cc-by-4.0 AND odbl-1.0", "public_web", [["CC-BY-4.0", "ODbL-1.0"]]),
    ("CC-BY-NC-4.0", "research", [["CC-BY-NC-4.0"]]),
    ("LicenseRef-KFM-Internal", "internal_analysis", [["LicenseRef-KFM-Internal"]]),
])
def test_compatible_expressions_pass(pass_dataset: Path, expr: str, use: str,
                                     dnf: list[list[str]]) -> None:
    def fn(s: dict[str, Any]) -> None:
        s["license"]["spdx"] = expr
        s["intended_use"] = use
    edit_spec(fn)(pass_dataset)
    ctx = context(pass_dataset)
    res = b_license.check(ctx)
    assert res.status == Status.PASS, res.reasons
    assert ctx.facts["license_dnf"] == dnf


def test_dnf_fact_is_none_when_unparsable_or_missing(pass_dataset: Path) -> None:
    edit_spec(lic("spdx", "MIT AND"))(pass_dataset)
    ctx = context(pass_dataset)
    b_license.check(ctx)
    assert ctx.facts["license_dnf"] is None


def test_all_problems_are_reported_at_once(pass_dataset: Path) -> None:
    def fn(s: dict[str, Any]) -> None:
        s["license"] = {"spdx": "NOASSERTION", "rights_holder": "", "attribution": ""}
        s["intended_use"] = "resale"
    edit_spec(fn)(pass_dataset)
    edit_entry(setter("stability", "unstable"))(pass_dataset)
    (pass_dataset / SNAPSHOT).write_bytes(b"changed\n")
    assert codes(gate_b(pass_dataset)) == {
        "B.license_unclear", "B.rights_holder_missing", "B.attribution_missing",
        "B.intended_use_unknown", "B.upstream_unstable", "B.license_snapshot_mismatch"}


def test_tables_come_from_policy_data_not_code(pass_dataset: Path) -> None:
    """Changing the shared table changes the verdict: nothing is hard-coded in Python."""
    data = copy.deepcopy(policy_data())
    data["kfm"]["tables"]["licenses_by_use"]["public_web"].remove("CC-BY-4.0")
    res = b_license.check(context(pass_dataset, data))
    assert codes(res) == {"B.license_incompatible"}
    del data["kfm"]["tables"]["intended_uses"]
    assert codes(b_license.check(context(pass_dataset, data))) == {"B.intended_use_unknown"}


def test_unsafe_snapshot_path_is_bad_input(pass_dataset: Path) -> None:
    edit_entry(lambda e: e["license_snapshot"].__setitem__("path", "../../etc/passwd"))(
        pass_dataset)
    with pytest.raises(UnsafePathError):
        gate_b(pass_dataset)


def test_unparsable_entry_is_bad_input(pass_dataset: Path) -> None:
    (pass_dataset / ENTRY).write_text("id: a\nid: b\n")
    with pytest.raises(InputError) as e:
        gate_b(pass_dataset)
    assert "usgs_nwis.yaml" in e.value.diagnostics() and "duplicate" in str(e.value)


@pytest.mark.parametrize(("expr", "outcome", "dnf"), [
    ("MIT OR CC-BY-NC-4.0", "pass", [["CC-BY-NC-4.0"], ["MIT"]]),
    ("CC-BY-4.0 AND CC-BY-NC-4.0", "quarantine", [["CC-BY-4.0", "CC-BY-NC-4.0"]]),
])
@pytest.mark.parametrize("engine", ["embedded", "opa"])
def test_capsule_carries_dnf_and_policy_agrees(tmp_path: Path, expr: str, outcome: str,
                                               dnf: list[list[str]], engine: str,
                                               request: pytest.FixtureRequest) -> None:
    """Gate B and the Rego rule read the same table through the capsule's DNF."""
    from gates_bc_support import build_module

    from promote_action.pipeline import evaluate_dataset

    if engine == "opa":
        request.getfixturevalue("require_opa")
    ds = build_module().base_dataset()
    ds.spec["license"]["spdx"] = expr
    ds.write(tmp_path / "ds")
    ev = evaluate_dataset(tmp_path / "ds", engine=engine)
    assert ev.capsule["license"]["dnf"] == dnf
    assert ev.outcome == outcome
    denies = {d.code for d in ev.decision.deny}
    assert ("F.license_not_allowed" in denies) == (outcome != "pass")
