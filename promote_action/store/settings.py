"""How the store layer talks to object storage: taken from the environment only.

Credentials and endpoints come from each cloud's standard variables and credential chain
(the variables the AWS, Google Cloud and Azure SDKs read), never from a spec: a pull
request must not be able to choose which account reads or writes, or redirect a read to
a server it controls. `KFM_STORE_*` variables tune limits; plain `http://` object URIs
need an explicit `KFM_STORE_ALLOW_HTTP=1` (loopback test servers, private gateways).

`file://` URIs read the runner's own disk, so they are confined like workspace paths:
only below the directories listed in `KFM_STORE_FILE_ROOTS` (separated by the platform's
path separator, `:` on Linux), after symlinks are resolved. With none listed, no
`file://` URI is read: a pull request must not make the runner hash its own secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from promote_action.errors import InputError

# The prefixes of the standard variables each cloud's SDKs read; nothing else is passed on.
CLOUD_ENV_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_")
# Standard variables outside those prefixes that the clouds' own tools read: Google's
# "no metadata server here" switch, and the Azure emulator's blob endpoint.
CLOUD_ENV_NAMES = ("NO_GCE_CHECK", "AZURITE_BLOB_STORAGE_URL")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InputError(f"environment variable {name}={raw!r} is not a boolean (1/0, true/false)")


def _number(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"environment variable {name}={raw!r} is not a number") from None
    if not lo <= value <= hi:
        raise InputError(f"environment variable {name}={raw!r} is outside {lo:g}..{hi:g}")
    return value


def _roots(raw: str) -> tuple[str, ...]:
    out = []
    for part in raw.split(os.pathsep):
        if not part.strip():
            continue
        if not os.path.isabs(part):
            raise InputError(f"KFM_STORE_FILE_ROOTS entry {part!r} is not an absolute path")
        out.append(os.path.realpath(part))
    return tuple(out)


@dataclass(frozen=True)
class StoreSettings:
    """Limits and the environment the stores are built from.

    Memory is bounded by `concurrency` × `chunk_size` (plus a constant per stream), which
    is why both have hard upper limits; retries are bounded so a throttling store turns
    into a clear error instead of an endless run."""

    allow_http: bool = False
    concurrency: int = 8
    retries: int = 3
    backoff_initial: float = 0.1  # seconds
    backoff_max: float = 2.0
    connect_timeout: float = 5.0
    timeout: float = 60.0  # longest silence while waiting for a response or its bytes
    total_timeout: float = 3600.0  # one request including its whole body (large objects)
    retry_timeout: float = 60.0  # total time retries may take for one request
    chunk_size: int = 1024 * 1024
    # Objects larger than this many bytes are read as parallel ranged GETs (each with
    # If-Match); 0 reads every object in one streamed GET. Ranges speed up one huge object
    # on stores that serve ranges cheaply (S3, GCS, Azure); a store that re-reads the
    # whole object per range would make them quadratic, so they are opt-in.
    range_threshold: int = 0
    file_roots: tuple[str, ...] = ()
    environ: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StoreSettings:
        """Settings from `environ` (the process environment for the CLI)."""
        mib = 1024 * 1024
        cloud = tuple(sorted((k, v) for k, v in environ.items()
                             if k.startswith(CLOUD_ENV_PREFIXES) or k in CLOUD_ENV_NAMES))
        return cls(
            allow_http=_flag(environ, "KFM_STORE_ALLOW_HTTP"),
            concurrency=int(_number(environ, "KFM_STORE_CONCURRENCY", 8, 1, 64)),
            retries=int(_number(environ, "KFM_STORE_RETRIES", 3, 0, 10)),
            backoff_initial=_number(environ, "KFM_STORE_BACKOFF", 0.1, 0.001, 10),
            connect_timeout=_number(environ, "KFM_STORE_CONNECT_TIMEOUT", 5, 0.1, 300),
            timeout=_number(environ, "KFM_STORE_TIMEOUT", 60, 0.1, 3600),
            total_timeout=_number(environ, "KFM_STORE_TOTAL_TIMEOUT", 3600, 1, 86400),
            range_threshold=int(_number(environ, "KFM_STORE_RANGE_MIB", 0, 0, 1 << 20) * mib),
            retry_timeout=_number(environ, "KFM_STORE_RETRY_TIMEOUT", 60, 0.1, 3600),
            chunk_size=max(64, int(_number(environ, "KFM_STORE_CHUNK_MIB", 1, 0.0001, 16)
                                   * mib)),
            file_roots=_roots(environ.get("KFM_STORE_FILE_ROOTS", "")),
            environ=cloud,
        )

    def env(self, name: str) -> str | None:
        """One cloud variable (`AWS_REGION`, …) as captured by `from_env`."""
        for k, v in self.environ:
            if k == name:
                return v
        return None


__all__ = ["CLOUD_ENV_NAMES", "CLOUD_ENV_PREFIXES", "StoreSettings"]
