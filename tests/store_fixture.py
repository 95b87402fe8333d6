"""The object-storage variant of the reference passing dataset, built at test time.

The dataset is the one `fixtures/build.py` makes, except that its artifacts live in a
store: the spec's `artifacts[].path`, the receipt's `outputs[].uri`, the DCAT
`dcat:accessURL` + `dcat:downloadURL`, the STAC asset `href` and the PROV
`prov:location` all name each artifact by the same URI, and the bytes are uploaded by the
`upload` callable the test passes (moto S3, the HTTP object server, or a directory for
`file://`). Nothing binary is committed: the bytes are the builder's.

`prepare(ds, uris)` runs before sealing (spec changes: the version id and every digest
follow); `mutate(ds, uris)` runs after sealing, before anything is written or uploaded,
so a test can break one thing (a catalog link, an uploaded byte) and keep the rest
consistent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests_support import fixture_builder

Upload = Callable[[str, bytes], str]  # (key below the prefix, bytes) -> URI


def remote_dataset(out: Path, upload: Upload, *,
                   mutate: Callable[[Any, dict[str, str]], None] | None = None,
                   prepare: Callable[[Any, dict[str, str]], None] | None = None,
                   receipt_inputs_remote: bool = False) -> tuple[Path, dict[str, str]]:
    """Write the dataset to `out`, upload its artifacts; returns (dir, path -> URI)."""
    build = fixture_builder()
    ds = build.base_dataset()
    local = [a["path"] for a in ds.spec["artifacts"]]
    # Name each artifact by a URI whose upload happens below; the URI is known up front
    # because the upload callable is deterministic in the key.
    uris = {p: upload(p, b"") for p in local}
    if receipt_inputs_remote:
        uris["raw/nwis_export.csv"] = upload("raw/nwis_export.csv", b"")
    for rel, uri in uris.items():
        ds.files[uri] = ds.files[rel]
    for art in ds.spec["artifacts"]:
        art["path"] = uris[art["path"]]
    if prepare is not None:  # spec changes: before sealing, so every id stays consistent
        prepare(ds, uris)
    ds.post.append(lambda d: _hrefs(d, uris, receipt_inputs_remote))
    if mutate is not None:
        ds.post.append(lambda d: mutate(d, uris))
    blobs: dict[str, bytes] = {}
    ds.post.append(lambda d: blobs.update(_take_uri_files(d)))
    ds.write(out)
    for rel, uri in uris.items():
        upload(rel, blobs[uri])
    return out, uris


def _take_uri_files(ds: Any) -> dict[str, bytes]:
    """Remove the objects from the workspace files (they live in the store only)."""
    taken = {k: v for k, v in ds.files.items() if "://" in k}
    for k in taken:
        del ds.files[k]
    for rel in ("processed/gauges.csv", "processed/gauges.geojson"):
        ds.files.pop(rel, None)
    return taken


def _hrefs(ds: Any, uris: dict[str, str], inputs_remote: bool) -> None:
    """Catalog links to artifacts by URI, as a pipeline writing to a bucket would."""
    by_uri = set(uris.values())
    dcat = ds.docs["catalog/dcat.jsonld"]
    for dist in dcat["dcat:distribution"]:
        href = dist["dcat:accessURL"].removeprefix("../")
        if href in by_uri:
            dist["dcat:accessURL"] = href
            dist["dcat:downloadURL"] = href
    prov = ds.docs["catalog/prov.json"]
    for ent in prov["entity"].values():
        loc = ent.get("prov:location", "").removeprefix("../")
        if loc in by_uri:
            ent["prov:location"] = loc
        elif inputs_remote and loc in uris:
            ent["prov:location"] = uris[loc]
    for item in ds.spec["catalogs"]["stac_items"]:
        for asset in ds.docs[item]["assets"].values():
            asset["href"] = next(u for u in by_uri if ds.digest_of(u) == asset["kfm:digest"])
    if inputs_remote:
        receipt = ds.docs["receipts/build.json"]
        for ref in receipt["inputs"]:
            ref["uri"] = uris.get(ref["uri"], ref["uri"])


def s3_upload(s3: Any, bucket: str, prefix: str = "work/kansas_river_gauges") -> Upload:
    """Upload callable for a bucket store: moto S3, Azurite or fake-gcs-server
    (`b""` only names the URI)."""
    def upload(rel: str, data: bytes) -> str:
        key = f"{prefix}/{rel}"
        if data:
            s3.put(bucket, key, data)
        return f"{s3.scheme}://{bucket}/{key}"
    return upload


def http_upload(server: Any, prefix: str = "work/kansas_river_gauges") -> Upload:
    def upload(rel: str, data: bytes) -> str:
        key = f"{prefix}/{rel}"
        if data:
            server.put(key, data)
        return f"{server.base}/{key}"
    return upload


def file_upload(root: Path) -> Upload:
    def upload(rel: str, data: bytes) -> str:
        path = root / rel
        if data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return "file://" + path.resolve().as_posix()
    return upload
