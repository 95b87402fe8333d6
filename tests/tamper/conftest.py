"""One real ledger per session, built by the CLI; each test tampers with its own copy.

The base ledger (bare origin, 4 real promotions pushed by `kfm-promote promote --remote`):
  seq 1 tamper_alpha 2026-01  key K1  policy bundle A
  seq 2 tamper_beta  2026-01  key K1  policy bundle A
  seq 3 tamper_alpha 2026-02  key K2  policy bundle B (K1 rotated out for K2)
  seq 4 tamper_beta  2026-02  key K2  policy bundle B
Both keys are in allowed_signers; the checkpoint of every seq is kept for rollback tests.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from promote_harness import (
    POLICY,
    clone,
    load_fixture_builder,
    make_key,
    make_origin,
    promote_argv,
    run,
    verify_json,
)
from tamper_lib import Ledger, entry_digest

from promote_action.spec import load_spec

PLAN = [("tamper_alpha", "2026-01", "k1", "A"), ("tamper_beta", "2026-01", "k1", "A"),
        ("tamper_alpha", "2026-02", "k2", "B"), ("tamper_beta", "2026-02", "k2", "B")]


def _build(root: Path) -> dict[str, Any]:
    keys = root / "keys"
    _, a1, _ = make_key(keys, "k1", principal="steward-2025")
    _, a2, _ = make_key(keys, "k2", principal="steward-2026")
    mallory, _, _ = make_key(root / "attacker", "mallory", principal="mallory")
    allowed = keys / "allowed_signers"
    allowed.write_text(a1.read_text() + a2.read_text())
    bundle_b = root / "policy_b"
    shutil.copytree(POLICY, bundle_b)
    stewards = json.loads((bundle_b / "stewards.json").read_text())
    stewards["kfm"]["stewards"]["github:kfm-steward-3"] = {"roles": ["steward"],
                                                           "name": "Added in revision 2"}
    (bundle_b / "stewards.json").write_text(json.dumps(stewards, indent=2) + "\n")
    origin = make_origin(root / "origin.git")
    work = clone(origin, root / "builder")
    for slug, label, key, bundle in PLAN:
        build = load_fixture_builder()
        ds = build.base_dataset(slug=slug, label=label)
        ds.write(root / "data" / label / slug)
        version = load_spec(root / "data" / label / slug).identity.dataset_version_id
        p = run(promote_argv(root / "data" / label / slug, version, work,
                             keys / key, "--remote", "origin",
                             policy=POLICY if bundle == "A" else bundle_b))
        assert p.returncode == 0 and "recorded" in p.stdout, p.stdout + p.stderr
    code, out = verify_json(origin, allowed)
    assert code == 0, out
    led = Ledger(origin)
    checkpoints = {0: None}
    for e in led.entries():
        checkpoints[e["seq"]] = f"{e['seq']}:{entry_digest(e)}"
    # our independent JCS digest agrees; the printed form adds the commit (SEQ:DIGEST:
    # COMMIT), and the older SEQ:DIGEST kept here must still be accepted by --checkpoint
    assert out["checkpoint"] == f"{checkpoints[4]}:{out['head_commit']}", out
    digests = [e["policy_bundle_digest"] for e in led.entries()]
    assert digests[0] == digests[1] != digests[2] == digests[3], digests
    return {"origin": origin, "allowed": allowed, "k1": keys / "k1", "k2": keys / "k2",
            "k1_pub": (keys / "k1.pub").read_text(), "k2_pub": (keys / "k2.pub").read_text(),
            "mallory": mallory, "checkpoints": checkpoints}


@pytest.fixture(scope="session")
def base_ledger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build(tmp_path_factory.mktemp("tamper-base"))


@pytest.fixture
def led(base_ledger: dict[str, Any], tmp_path: Path) -> Ledger:
    """A private copy of the base origin (an attacker with write access works on it)."""
    dst = tmp_path / "origin.git"
    shutil.copytree(base_ledger["origin"], dst)
    led = Ledger(dst)
    led.info = base_ledger
    return led

