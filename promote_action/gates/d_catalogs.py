"""Gate D — the catalog triplet: DCAT, STAC, PROV, and the hash links between them.

A published dataset is found through its DCAT record, located through STAC and
explained by PROV; if the three disagree about which files were published or what their
bytes are, a consumer cannot tell which one to believe. So every artifact must appear in
all of them (STAC only for spatial artifacts) with the digest of the bytes on disk, and
the documents must point at each other. Each check adds reasons and carries on, so a
contributor sees every broken link at once. What each catalog claims per artifact goes
into `ctx.links` and the catalog files' digests into `ctx.facts["catalogs"]`, for the
capsule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promote_action.catalogs import dcat, prov, stac
from promote_action.catalogs.links import (
    Claim,
    expect_link,
    followed,
    is_external,
    record_artifacts,
    resolve,
    verify_claims,
)
from promote_action.gates.base import GateContext, GateResult, Reason, result

ID = "D"
TITLE = "Catalog triplet (DCAT, STAC, PROV)"


@dataclass
class Run:
    """State shared by the checks of one gate run."""

    ctx: GateContext
    cats: dict[str, Any]
    reasons: list[Reason] = field(default_factory=list)
    facts: list[dict[str, str]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)

    def add(self, code: str, message: str, path: str, pointer: str = "") -> None:
        self.reasons.append(Reason(code, message, path, pointer))

    def rel(self, key: str) -> str | None:
        value = self.cats.get(key)
        return value if isinstance(value, str) and value else None

    def load(self, rel: str, key: str, code: str, kind: str) -> Any:
        doc = self.ctx.try_load(rel, code, self.reasons, field=f"/catalogs/{key}")
        if doc is None:
            return None
        self.facts.append({"kind": kind, "path": rel, "digest": self.ctx.digest(rel)})
        return doc.data


def check(ctx: GateContext) -> GateResult:
    if ctx.options.stac_schemas is None:
        from promote_action.stac_schemas.store import default_store

        ctx.options.stac_schemas = default_store(ctx.workspace.root)
    raw = ctx.spec.get("catalogs")
    run = Run(ctx, raw if isinstance(raw, dict) else {})
    dataset_iri = check_dcat(run)
    check_stac(run)
    check_prov(run, dataset_iri)
    verify_claims(ctx, run.claims, run.reasons)
    order = {"dcat": 0, "stac_collection": 1, "stac_item": 2, "prov": 3}
    ctx.facts["catalogs"] = sorted(run.facts, key=lambda f: order[f["kind"]])
    return result(ID, TITLE, run.reasons)


# --- DCAT ---------------------------------------------------------------------------

def check_dcat(run: Run) -> str | None:
    """Validate the DCAT record and its links; returns the dataset @id for PROV."""
    ctx, rel = run.ctx, run.rel("dcat")
    if rel is None:
        run.add("D.dcat_missing", "the spec declares no DCAT record (catalogs.dcat)",
                ctx.spec_path, "/catalogs")
        return None
    data = run.load(rel, "dcat", "D.dcat_missing", "dcat")
    if data is None:
        return None
    view = dcat.inspect(data, rel, ctx.options.stac_schemas)
    for code, pointer, msg in view.problems:
        run.add(code, f"not a KFM DCAT record: {msg}", rel, pointer)
    node = view.node
    if not node:
        return None
    _identity(run, rel, view.pointer("dct:identifier"), node.get("dct:identifier"),
              view.pointer("kfm:datasetVersionId"), node.get("kfm:datasetVersionId"))
    _dcat_license(run, rel, view)
    expect_link(ctx, rel, view.pointer("kfm:prov"), dcat.href_of(node.get("kfm:prov")),
                "kfm:prov", run.rel("prov"), run.reasons)
    expect_link(ctx, rel, view.pointer("kfm:stac"), dcat.href_of(node.get("kfm:stac")),
                "kfm:stac", run.rel("stac_collection"), run.reasons)
    claims = []
    artifacts = ctx.artifact_paths()
    for pointer, href, digest in dcat.distributions(view):
        target = resolve(ctx, rel, pointer + "/dcat:accessURL", href, "dcat:accessURL")
        if target.reason is not None:
            run.reasons.append(target.reason)
            continue
        if target.rel is None:
            continue
        if target.rel not in artifacts:
            run.add("D.distribution_undeclared", f"distribution {target.rel} is not one of "
                    f"the spec's artifacts, so no gate checks what it publishes", rel, pointer)
        claims.append(Claim("dcat", rel, pointer + "/spdx:checksum/spdx:checksumValue",
                            target.rel, digest))
        _download_url(run, rel, view, pointer, target.rel)
    run.claims += claims
    record_artifacts(ctx, "dcat", (rel, view.pointer("dcat:distribution")), claims,
                     artifacts, run.reasons, "add a dcat:distribution whose dcat:accessURL "
                     "resolves to it, with its spdx:checksum")
    iri = node.get("@id")
    return iri if isinstance(iri, str) else None


def _download_url(run: Run, rel: str, view: dcat.DcatView, pointer: str, target: str
                  ) -> None:
    """A distribution's `dcat:downloadURL`, when given, must name the same file or
    object as its `dcat:accessURL`: two URLs for one distribution must not serve
    different bytes under one checksum."""
    dists = view.node.get("dcat:distribution")
    nodes = dists if isinstance(dists, list) else [dists]
    node = next((d for i, d in enumerate(nodes) if isinstance(d, dict) and pointer ==
                 (view.dist_pointers[i] if i < len(view.dist_pointers)
                  else view.pointer("dcat:distribution", i))), None)
    href = dcat.href_of(node.get("dcat:downloadURL")) if isinstance(node, dict) else None
    if href is None:
        return
    where = pointer + "/dcat:downloadURL"
    found = resolve(run.ctx, rel, where, href, "dcat:downloadURL")
    if found.reason is not None:
        run.reasons.append(found.reason)
    elif found.rel != target:
        run.add("D.link_mismatch", f"dcat:downloadURL {href!r} names {found.rel}, but the "
                f"distribution's dcat:accessURL names {target}", rel, where)


def _identity(run: Run, rel: str, id_ptr: str, ident: Any, vid_ptr: str, vid: Any) -> None:
    slug = run.ctx.spec.get("dataset_slug")
    if isinstance(ident, str) and ident != slug:
        run.add("D.identifier_mismatch", f"catalog identifier {ident!r} is not the spec's "
                f"dataset_slug {slug!r}", rel, id_ptr)
    if isinstance(vid, str) and vid != run.ctx.dataset_version_id:
        run.add("D.version_mismatch", f"catalog names version {vid}, but the spec derives "
                f"{run.ctx.dataset_version_id}: regenerate the catalogs", rel, vid_ptr)


def _spec_spdx(run: Run) -> str | None:
    lic = run.ctx.spec.get("license")
    spdx = lic.get("spdx") if isinstance(lic, dict) else None
    return spdx if isinstance(spdx, str) and spdx.strip() else None


def _dcat_license(run: Run, rel: str, view: dcat.DcatView) -> None:
    """dct:license must say what the spec says: one SPDX URI for a single id; for an
    expression, a URI per id plus kfm:licenseExpression (URIs alone lose AND/OR)."""
    named = dcat.license_ids(view.node)
    ids = {i.casefold() for i in named}
    expr = view.node.get("kfm:licenseExpression")
    ptr = view.pointer("dct:license")
    spdx = _spec_spdx(run)
    if spdx is None:  # gate B reports the missing license; only self-conflict here
        if len(ids) > 1 and not isinstance(expr, str):
            run.add("D.license_conflict", f"dct:license names {len(ids)} licenses "
                    f"({', '.join(named)}) without kfm:licenseExpression", rel, ptr)
        return
    want = {i.casefold() for i in dcat.expression_ids(spdx)}
    if ids and ids != want:
        run.add("D.license_conflict", f"dct:license names {', '.join(named)}, but the "
                f"spec's license is {spdx!r}", rel, ptr)
    is_expression = len(dcat.expression_ids(spdx)) > 1 or " " in spdx.strip()
    if is_expression and (not isinstance(expr, str) or " ".join(expr.split()) != " ".join(
            spdx.split())):
        run.add("D.license_conflict", f"the spec's license is the SPDX expression {spdx!r}; "
                f"kfm:licenseExpression must state it (found {expr!r})", rel,
                view.pointer("kfm:licenseExpression"))
    elif not is_expression and isinstance(expr, str) and expr.strip() != spdx.strip():
        run.add("D.license_conflict", f"kfm:licenseExpression {expr!r} differs from the "
                f"spec's license {spdx!r}", rel, view.pointer("kfm:licenseExpression"))


# --- STAC ---------------------------------------------------------------------------

def check_stac(run: Run) -> None:
    """STAC is required when an artifact is spatial; when present it is always checked."""
    ctx = run.ctx
    raw = ctx.spec.get("artifacts")
    arts: list[Any] = raw if isinstance(raw, list) else []
    spatial = [ctx.artifact_key(a["path"]) for a in arts if isinstance(a, dict)
               and a.get("spatial") is True and isinstance(a.get("path"), str)]
    coll_rel = run.rel("stac_collection")
    items_raw = run.cats.get("stac_items")
    items = [i for i in items_raw if isinstance(i, str)] if isinstance(items_raw, list) else []
    if coll_rel is None:
        if spatial or items:
            run.add("D.stac_missing", f"the spec declares no STAC collection "
                    f"(catalogs.stac_collection); spatial artifacts: "
                    f"{', '.join(spatial) or 'none'}", ctx.spec_path, "/catalogs")
        return
    coll = run.load(coll_rel, "stac_collection", "D.stac_missing", "stac_collection")
    linked: list[str] = []
    if coll is not None:
        linked = _check_collection(run, coll_rel, coll, items)
    claims: list[Claim] = []
    extra = sorted(set(linked) - set(items))
    for i, item_rel in enumerate(items + extra):
        key = f"stac_items/{i}" if i < len(items) else "stac_collection"
        if item_rel in items[:i]:
            continue
        data = run.load(item_rel, key, "D.stac_missing", "stac_item")
        if data is not None:
            claims += _check_item(run, item_rel, data, coll_rel)
    run.claims += claims
    where = (items[0] if items else coll_rel, "/assets" if items else "/links")
    record_artifacts(ctx, "stac", where, claims, spatial, run.reasons,
                     "spatial artifacts need a STAC item asset whose href resolves to it, "
                     "with kfm:digest")


def _check_collection(run: Run, rel: str, data: Any, items: list[str]) -> list[str]:
    """Validate the collection; return the item documents it links to."""
    run.reasons += stac.validate(data, rel, expect="Collection",
                                  store=run.ctx.options.stac_schemas)
    if not isinstance(data, dict):
        return []
    _identity(run, rel, "/id", data.get("id"), "/kfm:dataset_version_id",
              data.get("kfm:dataset_version_id"))
    spdx, lic = _spec_spdx(run), data.get("license")
    # STAC's license field holds one SPDX id; an SPDX expression is written "other".
    single = spdx is not None and dcat.expression_ids(spdx) == [spdx.strip()]
    want = spdx.strip() if spdx is not None and single else "other"
    if spdx is not None and isinstance(lic, str) and lic.casefold() != want.casefold():
        run.add("D.license_conflict", f"STAC collection license {lic!r} differs from the "
                f"spec's license {spdx!r} (expected {want!r})", rel, "/license")
    _stac_links(run, rel, data, {"describedby": run.rel("dcat"), "via": run.rel("prov")})
    linked = []
    for pointer, href in stac.links(data, "item"):
        if isinstance(href, str) and not is_external(href):
            target = resolve(run.ctx, rel, pointer + "/href", href, "item link")
            if target.rel is not None:
                linked.append(target.rel)
    for item in items:
        if item not in linked:
            run.add("D.link_missing", f"the collection has no rel=item link to {item}", rel,
                    "/links")
    return linked


def _stac_links(run: Run, rel: str, data: dict[str, Any], required: dict[str, str | None]
                ) -> None:
    """Relative links must resolve inside the workspace (absolute ones, such as a
    published `self` URL, are not followed); `required` rels must point at the declared
    document."""
    for pointer, link_rel, href in stac.all_links(data):
        if link_rel in required or (isinstance(href, str) and is_external(href)):
            continue
        target = resolve(run.ctx, rel, pointer + "/href", href, f"rel={link_rel} link")
        if target.reason is not None:
            run.reasons.append(target.reason)
    for link_rel, expected in required.items():
        found = stac.links(data, link_rel)
        pointer, href = found[0] if found else ("/links", None)
        expect_link(run.ctx, rel, pointer + ("/href" if found else ""), href,
                    f"rel={link_rel} link", expected, run.reasons)


def _check_item(run: Run, rel: str, data: Any, coll_rel: str) -> list[Claim]:
    run.reasons += stac.validate(data, rel, expect="Feature",
                                  store=run.ctx.options.stac_schemas)
    if not isinstance(data, dict):
        return []
    _stac_links(run, rel, data, {"collection": coll_rel})
    claims = []
    for pointer, href, digest in stac.assets(data):
        if not followed(run.ctx, href):
            continue
        target = resolve(run.ctx, rel, pointer + "/href", href, "asset href")
        if target.reason is not None:
            run.reasons.append(target.reason)
        elif target.rel is not None:
            claims.append(Claim("stac", rel, pointer + "/kfm:digest", target.rel, digest))
    return claims


# --- PROV ---------------------------------------------------------------------------

def check_prov(run: Run, dataset_iri: str | None) -> None:
    ctx, rel = run.ctx, run.rel("prov")
    if rel is None:
        run.add("D.prov_missing", "the spec declares no PROV bundle (catalogs.prov)",
                ctx.spec_path, "/catalogs")
        return
    data = run.load(rel, "prov", "D.prov_missing", "prov")
    if data is None:
        return
    graph = prov.inspect(data, rel, ctx.options.stac_schemas)
    for code, pointer, msg in graph.problems:
        run.add(code, msg, rel, pointer)
    claims, generated = [], []
    for ent in graph.entities.values():
        if ent.location is None or not followed(ctx, ent.location):
            continue
        target = resolve(ctx, rel, ent.location_pointer, ent.location, "entity location")
        if target.reason is not None:
            run.reasons.append(target.reason)
        elif target.rel is not None and (graph.generated_by(ent.id) or ent.digest):
            claim = Claim("prov", rel, ent.pointer + "/kfm:digest", target.rel, ent.digest)
            claims.append(claim)
            if graph.generated_by(ent.id):
                generated.append(claim)
    run.claims += claims
    section = "/@graph" if graph.format == "prov-o" else "/wasGeneratedBy"
    record_artifacts(ctx, "prov", (rel, section), generated, ctx.artifact_paths(),
                     run.reasons, "add an entity whose location resolves to it, with "
                     "kfm:digest, generated by an activity (wasGeneratedBy)")
    _dataset_entity(run, rel, graph, dataset_iri)


def _dataset_entity(run: Run, rel: str, graph: prov.ProvGraph, iri: str | None) -> None:
    """PROV must describe the dataset itself (the DCAT @id), located at the DCAT record."""
    dcat_rel = run.rel("dcat")
    if iri is None or dcat_rel is None or graph.format is None:
        return
    ent = graph.entity(iri)
    if ent is None:
        section = "/@graph" if graph.format == "prov-o" else "/entity"
        run.add("D.link_missing", f"no PROV entity for the dataset {iri} (the DCAT @id), "
                f"located at {dcat_rel}", rel, section)
        return
    expect_link(run.ctx, rel, ent.location_pointer, ent.location, "dataset entity location",
                dcat_rel, run.reasons)
