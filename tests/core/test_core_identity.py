"""spec_hash / dataset_version_id: stable across formats and key order, sensitive to content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests_support import dump_yaml

from promote_action.errors import InputError, SchemaError
from promote_action.spec import canonical_digest, compute_identity, load_spec

# Pinned ids of the shipped passing fixtures: the contract's "spec_hash stability test".
# A change here means every recorded version id of that dataset changes: bump on purpose only.
PINNED = {
    "kansas_river_gauges": (
        "sha256:9d1f014ed6ed731dafe786dace8ca560f37410e9b34f345430282b6226dac258",
        "2026-02.9d1f014ed6ed",
    ),
}

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(alphabet="abcdefgh_", min_size=1, max_size=6), children,
                      max_size=4),
    max_leaves=20,
)
specs = st.fixed_dictionaries(
    {"kfm_spec_version": st.just("v1"),
     "dataset_slug": st.from_regex(r"[a-z][a-z0-9_]{2,10}", fullmatch=True),
     "version_label": st.from_regex(r"20[0-9]{2}-[01][0-9]", fullmatch=True),
     "title": st.text(alphabet="abc XYZ", min_size=1, max_size=20)},
    # YAML treats U+0085/U+2028/U+2029 as line breaks, so the loader refuses them raw:
    # the property is about specs the loader accepts.
    optional={"description": st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30),
              "extra_payload": json_values},
)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_fixture_spec_hash_is_pinned(name: str) -> None:
    ident = load_spec(FIXTURES / "pass" / name).identity
    assert (ident.spec_hash, ident.dataset_version_id) == PINNED[name]


def _shuffled(value: object, seed: int) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        items = items[seed % len(items):] + items[: seed % len(items)] if items else items
        return {k: _shuffled(v, seed + 1) for k, v in reversed(items)}
    if isinstance(value, list):
        return [_shuffled(v, seed + 1) for v in value]
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs, seed=st.integers(0, 50))
def test_same_spec_any_format_any_order_same_hash(spec: dict, seed: int,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    spec.pop("extra_payload", None)  # free-form payload is not allowed by the schema
    d = tmp_path_factory.mktemp("spec")
    (d / "a.json").write_text(json.dumps(spec, indent=3, sort_keys=True))
    (d / "b.json").write_text(json.dumps(_shuffled(spec, seed), separators=(",", ":")))
    (d / "c.yaml").write_bytes(dump_yaml(_shuffled(spec, seed + 7)))
    ids = {load_spec(d / n).identity for n in ("a.json", "b.json", "c.yaml")}
    assert len(ids) == 1


@settings(max_examples=200, deadline=None)
@given(a=json_values, b=json_values)
def test_canonical_digest_distinguishes_values(a: object, b: object) -> None:
    # JCS is injective on the JSON data model (1 and 1.0 are the same JSON number).
    same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    if same:
        assert canonical_digest(a) == canonical_digest(b)
    elif canonical_digest(a) == canonical_digest(b):
        assert _json_equal(a, b)


def _json_equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@settings(max_examples=100, deadline=None)
@given(spec=specs, new_title=st.text(alphabet="abc XYZ", min_size=1, max_size=20))
def test_any_semantic_change_changes_hash(spec: dict, new_title: str) -> None:
    spec.pop("extra_payload", None)
    changed = dict(spec, title=new_title)
    if new_title == spec["title"]:
        assert compute_identity(changed) == compute_identity(spec)
    else:
        assert compute_identity(changed).spec_hash != compute_identity(spec).spec_hash


def test_version_id_shape() -> None:
    ident = compute_identity({"kfm_spec_version": "v1", "dataset_slug": "abc",
                              "version_label": "2026-02", "title": "t"})
    assert ident.dataset_version_id == "2026-02." + ident.spec_hash[7:19]


def test_unknown_field_is_rejected_with_pointer(tmp_path: Path) -> None:
    p = tmp_path / "spec.json"
    p.write_text(json.dumps({"kfm_spec_version": "v1", "dataset_slug": "abc",
                             "version_label": "1", "title": "t", "lisence": {}}))
    with pytest.raises(SchemaError) as e:
        load_spec(p)
    assert "lisence" in e.value.diagnostics()


def test_spec_must_be_mapping(tmp_path: Path) -> None:
    p = tmp_path / "spec.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="mapping"):
        load_spec(p)
