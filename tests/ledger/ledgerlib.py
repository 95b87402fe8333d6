"""Helpers for ledger tests and bench/ledger.py: real keys, real repos, direct appends.

`synthetic_promotion` builds a promotion event with a real manifest and a real DSSE
envelope but without running the gates, so large ledgers (and tamper targets) build fast.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from promote_action.ledger import LedgerTarget, init_ledger, quarantine_event  # noqa: E402
from promote_action.ledger.append import (  # noqa: E402
    Event,
    Planned,
    commit_message,
    identity,
    layout,
    listed_files,
)
from promote_action.ledger.entry import (  # noqa: E402
    ENTRY_VERSION,
    build_entry,
    dataset_readme_path,
    entry_digest,
    entry_path,
    idempotency_key,
    pointer_path,
    render_json,
    tag_name,
    version_dir,
)
from promote_action.ledger.policy_paths import load_destinations  # noqa: E402
from promote_action.ledger.readme import LIMIT as README_LIMIT  # noqa: E402
from promote_action.ledger.readme import (  # noqa: E402
    render_dataset_readme,
    update_dataset_readme,
)
from promote_action.ledger.store import LedgerView, open_repo, update_tree  # noqa: E402
from promote_action.ledger.trustroot import TrustSource  # noqa: E402
from promote_action.ledger.verify import verify_ledger  # noqa: E402
from promote_action.signing.commit import create_signed_commit, create_signed_tag  # noqa: E402
from promote_action.signing.keys import load_signing_key  # noqa: E402

T0 = "2026-02-20T13:00:00Z"
REF = "refs/heads/kfm-ledger"


def sh(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_key(tmp: Path, name: str = "ledger", principal: str = "kfm-ledger@example",
             options: str = "") -> tuple[Path, Path, Any]:
    """An ed25519 key file, an allowed_signers file trusting it, and the loaded key."""
    tmp.mkdir(parents=True, exist_ok=True)
    key_file = tmp / name
    if not key_file.exists():
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key_file))
    key = load_signing_key(key_file)
    allowed = tmp / f"{name}.allowed_signers"
    prefix = f"{principal} {options + ' ' if options else ''}"
    allowed.write_text(f"{prefix}{key.public_openssh}\n")
    return key_file, allowed, key


def allowed_for(key_file: Path) -> Path:
    """The allowed_signers file `make_key` wrote beside `key_file`."""
    return key_file.with_name(f"{key_file.name}.allowed_signers")


def trusted_target(repo_dir: Path, key: Any, remote: str | None = None,
                   **kw: Any) -> LedgerTarget:
    """A LedgerTarget whose trust root (files beside the repo, never the repo's own)
    admits `key`: the writers refuse any key their trust root does not admit at the
    commit time, and these tests write ledgers whatever the repo's branches say."""
    allowed = repo_dir.with_name(f"{repo_dir.name}.allowed_signers")
    revoked = repo_dir.with_name(f"{repo_dir.name}.revoked_signers")
    text = allowed.read_text() if allowed.exists() else ""
    if key.public_openssh not in text:
        allowed.write_text(f"{text}kfm-ledger@example {key.public_openssh}\n")
    revoked.touch()
    return LedgerTarget(repo_dir, remote=remote, **kw,
                        trust=TrustSource(allowed_signers=allowed, revoked_signers=revoked))


def git_repo(path: Path, *, bare: bool = False) -> Path:
    sh("git", "init", "-q", *(["--bare"] if bare else []), str(path))
    if not bare:
        sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
           "-m", "source", cwd=path)
    return path


def clone(origin: Path, dst: Path) -> Path:
    sh("git", "clone", "-q", str(origin), str(dst))
    return dst


_EVIDENCE: dict[str, Any] = {}


import pygit2  # noqa: E402


class DirectWriter:
    """Builds a long ledger fast: the product's entry/README/pointer/commit/tag code, but
    with the per-dataset state kept in memory (no `plan` re-reading the tip), blobs shared
    by content, and refs moved in-process instead of by a `git update-ref` subprocess.
    Run in a tmpfs and repacked afterwards, so the result is a normal packed ledger.
    """

    def __init__(self, repo_dir: Path, key: Any, layout_version: str = ENTRY_VERSION) -> None:
        """`layout_version`: the entry layout to write ("v1": the policy bundle under
        every record and an unbounded dataset README, as older ledgers hold)."""
        self.repo = pygit2.Repository(str(repo_dir))
        self.key = key
        self.layout = layout_version
        self.readmes: dict[str, bytes] = {}
        self.bundles: set[str] = set()
        self.tip = self.repo.references[REF].target
        self.seq, self.prev, _ = LedgerView(self.repo, self.tip).head_entry()
        self.bundles.update(f"policy/{n}" for n in LedgerView(self.repo, self.tip)
                            .list_dir("policy"))
        self.versions: dict[str, dict[str, list[Any]]] = {}
        self.blobs: dict[bytes, pygit2.Oid] = {}
        self.tags: list[tuple[str, pygit2.Oid]] = []
        self.folders: dict[tuple[str, str], str] = {}  # (slug, version) -> its folder
        self.paths: dict[int, str] = {}  # seq -> entry path, for entries written here

    def blob(self, data: bytes) -> pygit2.Oid:
        oid = self.blobs.get(data)
        if oid is None:
            oid = self.blobs[data] = self.repo.create_blob(data)
        return oid

    def append(self, ev: Event) -> None:
        self.seq += 1
        seq = self.seq
        vdir = self.folders.setdefault((ev.slug, ev.version),
                                       version_dir(ev.slug, ev.version, self.layout))
        files = layout(ev, seq, self.bundles.__contains__, self.layout, vdir)
        self.bundles.update(p.rsplit("/", 1)[0] for p in files if p.startswith("policy/")
                            and p.endswith("/index.json"))
        versions = self.versions.setdefault(ev.slug, {})
        if ev.version not in versions:  # a version written before this writer: its events
            versions[ev.version] = LedgerView(self.repo, self.tip).read_json(
                f"{vdir}/events.json") or []
        events = versions[ev.version]
        events.append({**ev.summary, "seq": seq, "type": ev.type, "key": ev.key, "at": ev.at})
        files[f"{vdir}/events.json"] = render_json(events)
        if ev.publish is not None:
            pointer = {**ev.publish, "ledger_seq": seq, "quarantine": None}
            files[pointer_path(ev.slug)] = render_json(pointer)
        else:  # other events leave the pointer as it is
            pointer = LedgerView(self.repo, self.tip).read_json(pointer_path(ev.slug))
        limit = None if self.layout == "v1" else README_LIMIT
        old = self.readmes.get(ev.slug) or LedgerView(self.repo, self.tip).read(
            dataset_readme_path(ev.slug))
        prefix = f"datasets/{ev.slug}/"

        def where(s: int, v: str) -> tuple[str, str]:
            return (self.paths[s] if s in self.paths else entry_path(s, self.layout),
                    self.folders[(ev.slug, v)][len(prefix):])

        readme = update_dataset_readme(ev.slug, old, ev.version, events[-1], pointer, limit,
                                       where)
        if readme is None:
            readme = render_dataset_readme(ev.slug, versions, pointer, limit, where)
        files[dataset_readme_path(ev.slug)] = self.readmes[ev.slug] = readme
        entry = build_entry(seq=seq, prev=self.prev, type_=ev.type, slug=ev.slug,
                            version=ev.version,
                            fields={**ev.fields, "at": ev.at, "signer": self.key.fingerprint,
                                    "idempotency_key": ev.key},
                            files=listed_files(files), layout=self.layout)
        self.paths[seq] = entry_path(seq, self.layout)
        files[self.paths[seq]] = render_json(entry)
        planned = Planned("append", entry=entry, files=files, seq=seq)
        base = self.repo[self.tip].peel(pygit2.Tree)
        tree = update_tree(self.repo, base, {p: self.blob(b) for p, b in files.items()})
        who = identity(ev.at)
        self.tip = create_signed_commit(self.repo, self.key, tree=tree, parents=[self.tip],
                                        message=commit_message(entry), author=who,
                                        committer=who)
        if ev.type == "promotion":
            tag = create_signed_tag(self.repo, self.key, name=tag_name(ev.slug, ev.version),
                                    target=self.tip, message=f"kfm-promote: {ev.slug} "
                                    f"{ev.version}\n\nEntry: #{planned.seq}\n", tagger=who)
            self.tags.append((f"refs/tags/{tag_name(ev.slug, ev.version)}", tag))
        self.prev = entry_digest(entry)

    def finish(self) -> None:
        """Move the branch and create the tags written since the last call."""
        self.repo.references.create(REF, self.tip, force=True)
        for name, oid in self.tags:
            self.repo.references.create(name, oid)
        self.tags = []


def reference_evidence(policy_dirs: tuple[Path, ...] | None = None) -> dict[str, Any]:
    """A REAL allow decision (capsule, record, stored bundle) for the reference dataset,
    computed once per process with the embedded engine; synthetic promotions store it
    as their decision evidence so verify and replay check real records."""
    import tempfile

    from promote_action.gates.base import Options
    from promote_action.pipeline import evaluate_dataset
    from promote_action.policy.capsule import Approval
    from promote_action.promote import decision_evidence, destinations_for, spec_catalogs
    from promote_action.spec import load_spec

    dirs = policy_dirs if policy_dirs is not None else (REPO_ROOT / "fixtures" / "policy",)
    if dirs in _EVIDENCE:
        return _EVIDENCE[dirs]  # type: ignore[no-any-return]
    with tempfile.TemporaryDirectory(prefix="kfm-evidence-") as tmp:
        ds, version = make_dataset(Path(tmp), "kansas_river_gauges")
        spec = load_spec(ds)
        ev = evaluate_dataset(
            ds, policy_dirs=list(dirs), engine="embedded", stage="promote",
            options=Options(expected_slug=ds.name, expected_version_id=version),
            approvals=[Approval("steward", "github:kfm-steward", T0)],
            destinations=destinations_for(ds.name, version, spec_catalogs(spec.data)))
        assert ev.outcome == "pass", ev.decision.record()
        record = ev.decision.record()
        _EVIDENCE[dirs] = {"files": decision_evidence(ev, render_json(record)),
                           "decision_id": ev.decision.decision_id,
                           "policy_bundle_digest": ev.decision.policy_digest}
    return _EVIDENCE[dirs]  # type: ignore[no-any-return]


def synthetic_promotion(key: Any, slug: str, version: str, at: str = T0,
                        merge_commit: str | None = None,
                        evidence: dict[str, Any] | None = None) -> Event:
    """A promotion with a real manifest + DSSE envelope and a real stored decision
    (capsule + policy bundle), no gates run for this slug."""
    from promote_action.manifest import ManifestInputs, build_manifest, sign_manifest
    from promote_action.policy.capsule import Approval

    def d(s: str) -> str:
        return "sha256:" + hashlib.sha256(s.encode()).hexdigest()

    evidence = evidence or reference_evidence()
    cat = b'{"@context": "https://www.w3.org/ns/dcat"}\n'
    decision_id = evidence["decision_id"]
    manifest = build_manifest(ManifestInputs(
        slug, version, d(f"spec{slug}{version}"), at,
        [{"path": "processed/data.csv", "digest": d(f"csv{slug}{version}"),
          "media_type": "text/csv"}],
        [{"path": "catalog/dcat.jsonld", "digest": "sha256:" + hashlib.sha256(cat).hexdigest()}],
        d("report"), "public", decision_id,
        [Approval("steward", "github:kfm-steward", at)]))
    mbytes = render_json(manifest)
    mdigest = "sha256:" + hashlib.sha256(mbytes).hexdigest()
    files = {"manifest.json": mbytes,
             "manifest.dsse.json": render_json(sign_manifest(key, manifest)),
             "receipt.json": render_json({"synthetic": True}),
             "report.json": render_json({"synthetic": True}),
             **evidence["files"],
             "catalogs/catalog/dcat.jsonld": cat}
    approvals = [{"role": "steward", "principal": "github:kfm-steward", "approved_at": at}]
    source = {"repo": "kfm/data", "pr": None, "merge_commit": merge_commit}
    return Event("promotion", slug, version, at,
                 idempotency_key("promotion", slug, version, mdigest, merge_commit),
                 {"spec_hash": manifest["spec_hash"], "decision_id": decision_id,
                  "policy_bundle_digest": evidence["policy_bundle_digest"], "source": source,
                  "approvals": approvals, "manifest_digest": mdigest, "released_at": at},
                 files=files, manifest_digest=mdigest,
                 summary={"decision_id": decision_id, "manifest_digest": mdigest,
                          "approvals": approvals},
                 publish={"kfm_published_pointer_version": "v1", "dataset_slug": slug,
                          "dataset_version_id": version, "manifest_digest": mdigest,
                          "released_at": at})


def synthetic_quarantine(slug: str, version: str, at: str = T0, release: bool = False
                         ) -> Event:
    return quarantine_event(release=release, slug=slug, version=version, at=at,
                            reason_code="license_unclear", remediation="re-check license",
                            owner="github:kfm-steward", due="2026-03-01",
                            actor={"principal": "github:kfm-steward", "role": "steward"},
                            source={"repo": "", "pr": None, "merge_commit": None})


def version_id(i: int) -> str:
    return f"2026-02.{i:012x}"


def new_ledger(repo_dir: Path, key: Any, remote: str | None = None) -> LedgerTarget:
    lt = trusted_target(repo_dir, key, remote)
    init_ledger(lt, key, T0)
    return lt


def verify(repo_dir: Path, allowed: Path, checkpoint: tuple[int, str] | None = None,
           ref: str = "refs/heads/kfm-ledger", **options: Any) -> Any:
    """verify_ledger on `ref`; `options` are `promote_action.ledger.verify.Options` fields
    (check_tags, replay, jobs)."""
    from promote_action.ledger.verify import Options
    from promote_action.signing.trust import TrustRoot

    repo = open_repo(repo_dir)
    tip = repo.references[ref].resolve().target
    return verify_ledger(repo, tip, TrustRoot.load(allowed), load_destinations(),
                         options=Options(checkpoint=checkpoint, **options))


def load_fixture_builder() -> Any:
    """fixtures/build.py, through tests/tests_support.py (also when bench/ imports us)."""
    tests_dir = str(Path(__file__).resolve().parents[1])
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    from tests_support import fixture_builder

    return fixture_builder()


def make_dataset(root: Path, slug: str) -> tuple[Path, str]:
    """A passing dataset with its own slug (fixtures/build.py base_dataset); its version id."""
    build = load_fixture_builder()
    ds = build.base_dataset(slug=slug)
    ds.write(root / slug)
    from promote_action.spec import load_spec

    return root / slug, load_spec(root / slug).identity.dataset_version_id
