"""The controlled write into PROCESSED: copy a verified version, create-only, re-verified.

Order, all before the ledger commit names anything:

1. **Check** every destination key. Absent: to copy. Present with the same bytes
   (re-hashed): an idempotent no-op. Present with other bytes: `DestinationConflictError`
   (deny) before a single byte is written, so a conflict publishes nothing.
2. **Probe** that the store enforces create-only writes (`probe.py`); refuse otherwise.
3. **Copy** each missing object:
   - objects up to `PublishOptions.small` (16 MiB): read (pinned with `If-Match` for a
     remote source), hashed, and only bytes that match the digest are `PUT` with
     `If-None-Match: *` straight to the final key. One request writes the object, so it
     is whole or absent; memory is held to a byte budget shared by all such copies;
   - larger ones are assembled under a staging key below the publish root (server-side
     copy when source and destination share a store, otherwise a streamed multipart
     upload hashed on the way), the staging object's digest is checked, and only then is
     it moved to the final key by a create-only copy (S3: multipart copy completed with
     `If-None-Match: *`). A multipart upload is invisible until completed and aborted on
     failure, and a kill leaves at most a complete staging object, so no partial object
     ever appears under a final key. Staging keys are derived from the plan
     (`.kfm-staging/<slug>/<version>/<sha256>`, probes `.../probe`), so a re-run
     overwrites what a killed run staged, completes the copy, and removes every staging
     object of the version, including those of objects the killed run had already moved.
4. **Verify** every destination object by re-reading it: its SHA-256 and size must equal
   the digest the gates recorded. Only then may the ledger commit be written.

Objects are immutable once published: nothing here ever overwrites or deletes a final key.
"""

from __future__ import annotations

import hashlib
import mmap
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import obstore

from promote_action.store.client import store_for
from promote_action.store.digest import ObjectPin, hash_objects_detailed, read_pinned
from promote_action.store.errors import (
    DestinationConflictError,
    ObjectChangedError,
    StoreError,
)
from promote_action.store.faults import translate
from promote_action.store.objects import delete_quietly, head, is_exists
from promote_action.store.probe import probe_create_only
from promote_action.store.publish_plan import STAGING, PublishItem, PublishPlan
from promote_action.store.settings import StoreSettings
from promote_action.store.uri import ObjectURI, is_uri, parse_uri

READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    path: str  # the artifact as the spec names it
    uri: str  # its published URI
    status: str  # created | exists | would_create
    digest: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "uri": self.uri, "status": self.status,
                "digest": self.digest}


@dataclass(frozen=True)
class PublishOptions:
    """Size limits of one publish run.

    `small` decides the path: a whole-object create-only PUT (one read, one write) costs
    far less than staging plus two server-side copies, but holds the object in memory,
    so it is capped and all such copies share `stream_budget` (each is counted twice: our
    buffer and the client's request body)."""

    workspace: Any = None  # the `digests.Workspace` that workspace artifact paths resolve in
    small: int = 16 * 1024 * 1024  # objects up to this size are put in one request
    part_size: int = 5 * 1024 * 1024  # multipart part size when streaming larger ones
    stream_budget: int = 48 * 1024 * 1024  # bytes all in-flight copies may buffer at once


class ByteBudget:
    """A semaphore counted in bytes: copies of many small objects run side by side, one
    large in-memory copy waits until its bytes fit (never more than `total` at once)."""

    def __init__(self, total: int):
        self.total = total
        self._free = total
        self._cv = threading.Condition()

    @contextmanager
    def take(self, n: int) -> Iterator[None]:
        n = min(n, self.total)  # an item larger than the budget runs alone
        with self._cv:
            self._cv.wait_for(lambda: self._free >= n)
            self._free -= n
        try:
            yield
        finally:
            with self._cv:
                self._free += n
                self._cv.notify_all()


class Publisher:
    """Runs one plan; stores come from `store_for` (one per scheme and container)."""

    def __init__(self, plan: PublishPlan, settings: StoreSettings, options: PublishOptions):
        self.plan = plan
        self.settings = settings
        self.opts = options
        self.dest = store_for(plan.root, settings)
        per_stream = 2 * options.part_size + 2 * READ_CHUNK
        self._streams = threading.BoundedSemaphore(max(1, options.stream_budget // per_stream))
        self._small = ByteBudget(options.stream_budget)

    # -- 1. check ---------------------------------------------------------------------
    def check(self) -> dict[str, str]:
        """`{dest uri: "exists" | "missing"}`; raises on a conflicting destination,
        before anything is written."""
        metas = dict(zip((i.dest.uri for i in self.plan.items),
                         self._map(lambda i: head(self.dest, i.dest.key, i.dest.uri),
                                   self.plan.items), strict=True))
        present = [i for i in self.plan.items if metas[i.dest.uri] is not None]
        self._require_same(present)
        return {uri: "missing" if meta is None else "exists" for uri, meta in metas.items()}

    def _require_same(self, items: list[PublishItem]) -> None:
        """Each object under a destination key must be the verified bytes, else deny."""
        for item, (digest, size) in self._mismatches(items):
            raise DestinationConflictError(
                f"{item.dest.uri}: already exists with other bytes ({digest}, {size} "
                f"bytes; expected {item.source.digest}); published objects are immutable, "
                "nothing was published", uri=item.dest.uri)

    def _mismatches(self, items: list[PublishItem],
                    where: dict[str, ObjectURI] | None = None
                    ) -> list[tuple[PublishItem, tuple[str, int]]]:
        """Re-hash each item's destination object (or `where[dest uri]`), streamed and
        in parallel in one bounded-memory batch; (item, (digest, size)) for each whose
        bytes are not the source's."""
        objs = [where[i.dest.uri] if where else i.dest for i in items]
        found = hash_objects_detailed(objs, self.settings)
        out = []
        for item, obj in zip(items, objs, strict=True):
            got = found[obj.uri]
            if isinstance(got, StoreError):
                raise got
            if got.digest != item.source.digest or got.size != item.source.size:
                out.append((item, (got.digest, got.size)))
        return out

    # -- 2-4. run ---------------------------------------------------------------------
    def run(self, *, dry_run: bool = False) -> list[Outcome]:
        state = self.check()
        todo = [i for i in self.plan.items if state[i.dest.uri] == "missing"]
        if dry_run:
            return self._outcomes(state, "would_create")
        if todo:
            probe_create_only(self.dest, self._staging_area(),
                              copies=any(self._is_large(i) for i in todo))
            self._copy_all(todo)
        self.verify(todo)
        # A run killed between a create-only move and its clean-up left the staging
        # object of an item that is now published: its deterministic key finds it here.
        self._map(lambda i: delete_quietly(self.dest, self._stage_key(i).key),
                  [i for i in self.plan.items if self._is_large(i) and i not in todo])
        return self._outcomes(state, "created")

    def _staging_area(self) -> ObjectURI:
        """This version's own staging folder: every key in it is derived from the plan,
        so a re-run finds (and replaces or removes) whatever a killed run left there."""
        return self.plan.root.child(f"{STAGING}/{self.plan.slug}/{self.plan.version}")

    def verify(self, items: list[PublishItem]) -> None:
        """Re-read every object this run wrote: its digest and size must be the source's
        (objects found in place were re-hashed by `check` already)."""
        for item, (digest, size) in self._mismatches(items):
            raise ObjectChangedError(f"{item.dest.uri}: published object reads as {digest} "
                                     f"({size} bytes), expected {item.source.digest}",
                                     uri=item.dest.uri)

    def _outcomes(self, state: dict[str, str], created: str) -> list[Outcome]:
        return [Outcome(i.source.path, i.dest.uri,
                        "exists" if state[i.dest.uri] == "exists" else created,
                        i.source.digest) for i in self.plan.items]

    def _is_large(self, item: PublishItem) -> bool:
        return item.source.size > self.opts.small

    def _copy_all(self, todo: list[PublishItem]) -> None:
        """Small objects straight to their final keys; large ones staged (in parallel),
        their staging objects re-hashed in one bounded-memory batch, then moved."""
        large = [i for i in todo if self._is_large(i)]
        stages = {i.dest.uri: self._stage_key(i) for i in large}
        try:
            self._map(self._copy_small, [i for i in todo if not self._is_large(i)])
            self._map(lambda i: self._stage(i, stages[i.dest.uri]), large)
            for item, got in self._mismatches(large, stages):
                self._check_bytes(item, *got)
            self._map(lambda i: self._commit(i, stages[i.dest.uri]), large)
        finally:
            self._map(lambda i: delete_quietly(self.dest, stages[i.dest.uri].key), large)

    def _stage_key(self, item: PublishItem) -> ObjectURI:
        return self._staging_area().child(item.source.digest.removeprefix("sha256:"))

    def _copy_small(self, item: PublishItem) -> None:
        with self._small.take(2 * max(1, item.source.size)):  # bounded memory
            data = self._read_source(item)
            try:
                obstore.put(self.dest, item.dest.key, data, mode="create")
            except Exception as e:
                if not is_exists(e):
                    raise translate(e, item.dest.uri) from e
                self._require_same([item])  # a concurrent twin won the race
            finally:
                if isinstance(data, mmap.mmap):
                    data.close()

    def _commit(self, item: PublishItem, stage: ObjectURI) -> None:
        """Move a verified staging object to its final key, create-only."""
        try:
            obstore.copy(self.dest, stage.key, item.dest.key, overwrite=False)
        except Exception as e:
            if not is_exists(e):
                raise translate(e, item.dest.uri) from e
            self._require_same([item])

    def _stage(self, item: PublishItem, stage: ObjectURI) -> None:
        """Assemble the bytes under `stage` and prove they are the verified ones."""
        src = self._source_uri(item)
        if src is not None and self._same_store(src):
            meta = head(self.dest, src.key, src.uri)
            if meta is None or (item.source.etag and meta.get("e_tag") != item.source.etag):
                raise ObjectChangedError(f"{src.uri}: the object changed or vanished since "
                                         "validation (its ETag no longer matches)",
                                         uri=src.uri)
            try:
                obstore.copy(self.dest, src.key, stage.key, overwrite=True)
            except Exception as e:
                raise translate(e, src.uri, pinned=True) from e
        else:
            with self._streams:  # bounded memory: at most a few uploads buffer parts
                try:
                    obstore.put(self.dest, stage.key, self._chunks(item, decouple=True),
                                use_multipart=True, chunk_size=self.opts.part_size,
                                max_concurrency=2)
                except StoreError:
                    raise
                except Exception as e:
                    if isinstance(e.__cause__, StoreError):
                        raise e.__cause__ from e
                    raise translate(e, stage.uri) from e

    def _chunks(self, item: PublishItem, *, decouple: bool = False) -> Iterator[bytes]:
        """The source's bytes, hashed once on the way: the iterator raises
        `ObjectChangedError` (at the latest when it ends) unless they are exactly the
        verified size and SHA-256, so whatever is built from them must not be finalized
        before it has ended. `decouple` reads a remote source on its own thread (for an
        upload, whose input obstore pulls from inside its runtime)."""
        src = self._source_uri(item)
        if src is None:
            yield from self._local_chunks(item)
            return
        pin = ObjectPin(src.uri, item.source.size, item.source.etag, item.source.version,
                        item.source.digest)
        # read_pinned checks size and digest itself (If-Match on the GET, hash at the end)
        if decouple:
            yield from _decoupled(lambda: read_pinned(pin, self.settings))
        else:
            yield from read_pinned(pin, self.settings)

    def _local_chunks(self, item: PublishItem) -> Iterator[bytes]:
        hasher = hashlib.sha256()
        n = 0
        with self._local_path(item).open("rb") as fh:
            while block := fh.read(READ_CHUNK):
                n += len(block)
                if n > item.source.size:
                    break
                hasher.update(block)
                yield block
        self._check_bytes(item, "sha256:" + hasher.hexdigest(), n)

    def _read_source(self, item: PublishItem) -> bytearray | mmap.mmap:
        """The whole, verified object in one buffer of its pinned size (no list of
        chunks joined into a second copy).

        Buffers of a megabyte or more are anonymous memory maps, returned to the system
        when closed: from the C heap, freeing one raises glibc's mmap threshold to its
        size, after which every thread's arena keeps such buffers, and the process's peak
        memory grew by twice the budget (measured)."""
        size = item.source.size
        data: bytearray | mmap.mmap = (mmap.mmap(-1, size) if size >= READ_CHUNK
                                       else bytearray(size))
        n = 0
        for block in self._chunks(item):
            data[n:n + len(block)] = block
            n += len(block)
        return data

    @staticmethod
    def _check_bytes(item: PublishItem, digest: str, size: int) -> None:
        src = item.source
        if size != src.size or digest != src.digest:
            raise ObjectChangedError(f"{src.path}: the object changed since validation "
                                     f"(read {size} bytes hashing to {digest}, expected "
                                     f"{src.size} bytes hashing to {src.digest})",
                                     uri=src.path)

    # -- helpers ------------------------------------------------------------------------
    def _source_uri(self, item: PublishItem) -> ObjectURI | None:
        if not is_uri(item.source.path):
            return None
        return parse_uri(item.source.path, field="/artifacts",
                         allow_http=self.settings.allow_http)

    def _same_store(self, src: ObjectURI) -> bool:
        root = self.plan.root
        return (src.scheme, src.container, src.account) == (root.scheme, root.container,
                                                            root.account)

    def _local_path(self, item: PublishItem) -> Path:
        if self.opts.workspace is None:
            raise StoreError(f"{item.source.path}: no workspace to read it from")
        path: Path = self.opts.workspace.resolve(item.source.path, field="/artifacts")
        return path

    def _map(self, fn: Callable[[PublishItem], Any], items: Any) -> list[Any]:
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        workers = min(self.settings.concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))


def _decoupled(make: Callable[[], Iterator[bytes]], depth: int = 4) -> Iterator[bytes]:
    """Run a store read in its own thread, handing blocks over a bounded queue.

    obstore drives an upload's input iterator from inside its runtime, where another
    blocking obstore call (the pinned GET of the source) would deadlock; the queue also
    bounds how many blocks are in flight (`depth`)."""
    blocks: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for block in make():
                while not stop.is_set():
                    try:
                        blocks.put(("data", block), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            blocks.put(("end", None))
        except BaseException as e:  # handed to the consumer  # noqa: BLE001
            blocks.put(("error", e))

    worker = threading.Thread(target=produce, name="kfm-publish-read", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = blocks.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=30)


def publish(plan: PublishPlan, settings: StoreSettings, options: PublishOptions, *,
            dry_run: bool = False) -> list[Outcome]:
    """Publish `plan` (or, with `dry_run`, report what would be copied, writing nothing)."""
    return Publisher(plan, settings, options).run(dry_run=dry_run)


__all__ = ["Outcome", "PublishOptions", "Publisher", "publish"]
