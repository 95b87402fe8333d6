"""Evidence resolver: workspace paths and content addresses resolve only to bytes with
the recorded digest; other schemes never fetch; escaping paths are bad input (exit 2)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from promote_action.digests import Workspace
from promote_action.errors import UnsafePathError
from promote_action.evidence import resolve_evidence
from promote_action.gates.base import GateContext
from promote_action.safeload import load_document

BYTES = b"qa notes\n"
DIGEST = "sha256:" + hashlib.sha256(BYTES).hexdigest()
OTHER = "sha256:" + "0" * 64


def _ctx(root: Path, evidence: list) -> GateContext:
    (root / "spec.json").write_text("{}")
    doc = load_document(root / "spec.json", display="spec.json")
    return GateContext(workspace=Workspace(root), spec={"evidence": evidence},
                       spec_path="spec.json", spec_doc=doc, spec_hash=OTHER,
                       dataset_version_id="v.0")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    (tmp_path / "qa").mkdir()
    (tmp_path / "qa" / "notes.txt").write_bytes(BYTES)
    return tmp_path


@pytest.mark.parametrize("uri,digest,resolved,detail", [
    ("qa/notes.txt", DIGEST, True, None),
    ("qa/notes.txt", OTHER, False, "file hashes to"),
    ("qa/gone.txt", DIGEST, False, "file not found"),
    (f"kfm://evidence/{DIGEST}", DIGEST, True, None),
    (f"kfm://evidence/{OTHER}", OTHER, False, "no workspace file has this digest"),
    (f"kfm://evidence/{OTHER}", DIGEST, False, "different digest"),
    ("kfm://evidence/md5:abc", DIGEST, False, "unsupported uri"),
    ("ftp://example.org/qa/notes.txt", DIGEST, False, "unsupported uri"),
    ("urn:kfm:qa:notes", DIGEST, False, "unsupported uri"),
    ("qa/notes.txt", "sha256:XYZ", False, "digest is not"),
])
def test_resolution(ws: Path, uri: str, digest: str, resolved: bool, detail: str | None
                    ) -> None:
    (entry,) = resolve_evidence(_ctx(ws, [{"uri": uri, "digest": digest}]))
    assert entry["resolved"] is resolved
    assert (entry["detail"] is None) if detail is None else (detail in entry["detail"])


@pytest.mark.parametrize("uri", ["../outside.txt", "/etc/passwd", "qa/%2e%2e/x",
                                 ".git/config", "qa\\notes.txt"])
def test_escaping_paths_are_bad_input(ws: Path, uri: str) -> None:
    with pytest.raises(UnsafePathError):
        resolve_evidence(_ctx(ws, [{"uri": uri, "digest": DIGEST}]))


@pytest.mark.parametrize("uri", ["file:///etc/passwd", "s3://bucket/../x",
                                 "https://example.org/qa/notes.txt?sig=1"])
def test_object_uris_outside_what_the_environment_allows_are_bad_input(
        ws: Path, uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Evidence may name an object in storage (hashed through the store layer), but a
    file:// outside the configured roots or an unsafe URI is refused before any read."""
    from promote_action.store import BadURIError

    monkeypatch.delenv("KFM_STORE_FILE_ROOTS", raising=False)
    with pytest.raises(BadURIError):
        resolve_evidence(_ctx(ws, [{"uri": uri, "digest": DIGEST}]))


def test_content_address_never_follows_symlinks_out(ws: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_bytes(b"secret\n")
    os.symlink(outside, ws / "link")
    want = "sha256:" + hashlib.sha256(b"secret\n").hexdigest()
    (entry,) = resolve_evidence(_ctx(ws, [{"uri": f"kfm://evidence/{want}", "digest": want}]))
    assert entry["resolved"] is False


def test_validate_with_unsafe_evidence_uri_is_exit_2(run_cli, pass_dataset: Path) -> None:
    yaml = YAML(typ="safe", pure=True)
    spec = yaml.load((pass_dataset / "spec.yaml").read_text())
    spec["evidence"].append({"uri": "../../etc/passwd", "digest": DIGEST})
    with (pass_dataset / "spec.yaml").open("w") as fh:
        yaml.dump(spec, fh)
    r = run_cli("validate", "--spec", pass_dataset, "--engine", "embedded")
    assert r.code == 2 and "/evidence/1/uri" in r.err and "'..'" in r.err, r.err
