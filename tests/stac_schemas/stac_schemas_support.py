"""Helpers for the schema-directory tests: the official extension schemas from the shared
test data, a loopback HTTP server that serves them, and minimal STAC documents."""

from __future__ import annotations

import copy
import functools
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests_support import PASS_DIR, SHARED_DATA

EXT = SHARED_DATA / "stac-extensions"
PROJ_120 = "https://stac-extensions.github.io/projection/v1.2.0/schema.json"
PROJ_100 = "https://stac-extensions.github.io/projection/v1.0.0/schema.json"
PROJ_SOURCES = [EXT / "projection/v1.2.0/schema.json",
                EXT / "_referenced/proj-v0.7/projjson.schema.json",
                EXT / "_referenced/geojson/Geometry.json"]

needs_shared = pytest.mark.skipif(not EXT.is_dir(), reason="shared STAC extension schemas "
                                  "are absent")


def item(*extensions: str, **properties: Any) -> dict[str, Any]:
    data = json.loads((PASS_DIR / "kansas_river_gauges/catalog/stac/items/gauges.json")
                      .read_text())
    data["stac_extensions"] = list(extensions)
    data["properties"].update(properties)
    return data


def collection(*extensions: str) -> dict[str, Any]:
    data = json.loads((PASS_DIR / "kansas_river_gauges/catalog/stac/collection.json")
                      .read_text())
    data["stac_extensions"] = list(extensions)
    return copy.deepcopy(data)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve `root` on 127.0.0.1 (an ephemeral port) until the block ends; yields the base
    URL and the list of request paths seen."""
    seen: list[str] = []

    class Handler(_Quiet):
        def do_GET(self) -> None:
            seen.append(self.path)
            super().do_GET()

    handler = functools.partial(Handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


