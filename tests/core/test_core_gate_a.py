"""Gate A: identity and versioning reasons, each triggered."""

from __future__ import annotations

from pathlib import Path

import pytest

from promote_action.digests import Workspace
from promote_action.gates import a_identity
from promote_action.gates.base import GateContext, Options, Status
from promote_action.safeload import Document
from promote_action.spec import compute_identity


def _ctx(spec: dict, tmp_path: Path, **opts: str) -> GateContext:
    ident = compute_identity(spec)
    return GateContext(workspace=Workspace(tmp_path), spec=spec, spec_path="spec.yaml",
                       spec_doc=Document("spec.yaml", spec), spec_hash=ident.spec_hash,
                       dataset_version_id=ident.dataset_version_id, options=Options(**opts))


BASE = {"kfm_spec_version": "v1", "dataset_slug": "kansas_river_gauges",
        "version_label": "2026-02", "title": "t"}


def test_pass(tmp_path: Path) -> None:
    res = a_identity.check(_ctx(dict(BASE), tmp_path))
    assert res.status is Status.PASS and res.reasons == ()


@pytest.mark.parametrize(("change", "code"), [
    ({"dataset_slug": "kansas_rivеr"}, "A.slug_not_ascii"),          # Cyrillic е
    ({"dataset_slug": "ｋansas"}, "A.slug_not_ascii"),               # fullwidth
    ({"dataset_slug": "kansas\u200driver"}, "A.slug_not_ascii"),     # zero-width joiner
    ({"dataset_slug": "kansas\u202eriver"}, "A.slug_not_ascii"),     # bidi override
    ({"dataset_slug": "Kansas"}, "A.slug_invalid"),
    ({"dataset_slug": "ks"}, "A.slug_invalid"),
    ({"dataset_slug": "kansas-river"}, "A.slug_invalid"),
    ({"version_label": "2026/02"}, "A.version_label_invalid"),
    ({"version_label": ""}, "A.version_label_invalid"),
])
def test_identity_reasons(tmp_path: Path, change: dict, code: str) -> None:
    res = a_identity.check(_ctx({**BASE, **change}, tmp_path))
    assert res.status is Status.FAIL
    assert [r.code for r in res.reasons] == [code]
    assert res.reasons[0].pointer.startswith("/")


def test_flag_mismatches_are_named(tmp_path: Path) -> None:
    res = a_identity.check(_ctx(dict(BASE), tmp_path, expected_slug="other_slug",
                                expected_version_id="2026-02.000000000000"))
    codes = sorted(r.code for r in res.reasons)
    assert codes == ["A.slug_mismatch", "A.version_id_mismatch"]
    assert "does not match the id the spec derives" in res.reasons[-1].message


def test_matching_flags_pass(tmp_path: Path) -> None:
    ident = compute_identity(BASE)
    res = a_identity.check(_ctx(dict(BASE), tmp_path, expected_slug=BASE["dataset_slug"],
                                expected_version_id=ident.dataset_version_id))
    assert res.status is Status.PASS
