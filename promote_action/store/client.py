"""obstore stores per (scheme, container), built from `StoreSettings` only.

One store per bucket is reused for the whole run (connection pools, credential caches).
Credentials and endpoints are mapped from the standard cloud variables captured by
`StoreSettings.from_env`; obstore itself also follows each cloud's credential chain (web
identity / OIDC token files, container and instance metadata), which is the point: the
runner's identity decides what can be read, never the spec.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from promote_action.store.credentials import (
    AZURE_KEYS,
    GCS_KEYS,
    mapped,
    require_azure,
    require_gcs,
)
from promote_action.store.credentials import truthy as _truthy
from promote_action.store.errors import BadURIError, StoreAccessError
from promote_action.store.faults import summarize
from promote_action.store.settings import StoreSettings
from promote_action.store.uri import ObjectURI

if TYPE_CHECKING:
    from obstore.store import (
        AzureConfig,
        ClientConfig,
        GCSConfig,
        ObjectStore,
        RetryConfig,
        S3Config,
    )

# Standard AWS variable -> obstore S3 config key. Endpoint variables follow the AWS SDKs'
# service-specific-first order (AWS_ENDPOINT_URL_S3 wins over AWS_ENDPOINT_URL).
_S3_KEYS = (
    ("AWS_ACCESS_KEY_ID", "access_key_id"),
    ("AWS_SECRET_ACCESS_KEY", "secret_access_key"),
    ("AWS_SESSION_TOKEN", "session_token"),
    ("AWS_DEFAULT_REGION", "region"),
    ("AWS_REGION", "region"),
    ("AWS_ENDPOINT_URL", "endpoint"),
    ("AWS_ENDPOINT_URL_S3", "endpoint"),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file"),
    ("AWS_ROLE_ARN", "role_arn"),
    ("AWS_ROLE_SESSION_NAME", "role_session_name"),
    ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "container_credentials_relative_uri"),
    ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "container_credentials_full_uri"),
    ("AWS_SKIP_SIGNATURE", "skip_signature"),
    ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "virtual_hosted_style_request"),
)
# Any one of these means the AWS credential chain has something to try besides the
# instance metadata service.
_S3_CREDENTIAL_SOURCES = ("AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE",
                          "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                          "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_SKIP_SIGNATURE")


def store_for(uri: ObjectURI, settings: StoreSettings) -> ObjectStore:
    """The store that holds `uri` (cached); raises `StoreAccessError` when the
    environment cannot possibly authenticate (so a missing secret is a one-line exit 2,
    not a minute of metadata-service timeouts)."""
    if uri.scheme == "file":
        confine_file(uri, settings)
    key = (uri.scheme, uri.container, uri.account, settings)
    with _LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _STORES[key] = _build(uri, settings)
    return store


def confine_file(uri: ObjectURI, settings: StoreSettings, *, file: str | None = None,
                 field: str | None = None) -> None:
    """A `file://` object must resolve (symlinks followed) below one of the configured
    roots; anything else is refused as bad input before it is opened."""
    real = os.path.realpath("/" + uri.key)
    for root in settings.file_roots:
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return
    why = ("no KFM_STORE_FILE_ROOTS are configured" if not settings.file_roots
           else "it is not below KFM_STORE_FILE_ROOTS")
    raise BadURIError(f"{uri.uri}: file URIs are read only below configured roots, and {why}",
                      uri=uri.uri, file=file, field=field)


_STORES: dict[tuple[str, str, str | None, StoreSettings], ObjectStore] = {}
_LOCK = threading.Lock()


def _client_options(settings: StoreSettings, allow_http: bool) -> ClientConfig:
    return {"allow_http": allow_http,
            "connect_timeout": timedelta(seconds=settings.connect_timeout),
            "read_timeout": timedelta(seconds=settings.timeout),
            "timeout": timedelta(seconds=settings.total_timeout)}


def _retry(settings: StoreSettings) -> RetryConfig:
    return {"max_retries": settings.retries,
            "retry_timeout": timedelta(seconds=settings.retry_timeout),
            "backoff": {"init_backoff": timedelta(seconds=settings.backoff_initial),
                        "max_backoff": timedelta(seconds=settings.backoff_max), "base": 2}}


def _build(uri: ObjectURI, settings: StoreSettings) -> ObjectStore:
    """`_new_store`, with a configuration obstore rejects (an unreadable or malformed
    credentials file, a bad endpoint) turned into one line naming the URI (exit 2)."""
    try:
        return _new_store(uri.scheme, uri.container, uri.account, settings, uri.uri)
    except StoreAccessError:
        raise
    except Exception as e:
        raise StoreAccessError(f"{uri.uri}: the store cannot be set up from the environment "
                               f"({summarize(str(e))})", uri=uri.uri) from e


def _new_store(scheme: str, container: str, account: str | None, settings: StoreSettings,
               uri: str) -> ObjectStore:
    from obstore.store import AzureStore, GCSStore, HTTPStore, LocalStore, S3Store

    if scheme == "file":
        return LocalStore(prefix="/")
    if scheme in ("https", "http"):
        return HTTPStore.from_url(f"{scheme}://{container}/",
                                  client_options=_client_options(settings, settings.allow_http),
                                  retry_config=_retry(settings))
    if scheme == "s3":
        return S3Store(container, config=_s3_config(settings, uri),
                       client_options=_client_options(
                           settings, _truthy(settings.env("AWS_ALLOW_HTTP"))),
                       retry_config=_retry(settings))
    if scheme == "gs":
        # A service-account file's `gcs_base_url` selects a private endpoint.
        require_gcs(settings, uri)
        gcs: GCSConfig = mapped(settings, GCS_KEYS)  # type: ignore[assignment]
        return GCSStore(container, config=gcs, client_options=_client_options(
            settings, _truthy(settings.env("GOOGLE_ALLOW_HTTP"))),
            retry_config=_retry(settings))
    # az / abfs: the emulator (Azurite) is plain http on its well-known account, so it
    # implies allow_http; an account named by an abfs:// URI wins over the environment.
    require_azure(settings, uri, account)
    config: AzureConfig = mapped(settings, AZURE_KEYS)  # type: ignore[assignment]
    if account:
        config["account_name"] = account
    http = _truthy(settings.env("AZURE_ALLOW_HTTP")) or _truthy(
        settings.env("AZURE_STORAGE_USE_EMULATOR"))
    return AzureStore(container, config=config,
                      client_options=_client_options(settings, http),
                      retry_config=_retry(settings))


def _s3_config(settings: StoreSettings, uri: str) -> S3Config:
    # Create-only copies (publishing large objects) need S3's multipart copy completed
    # with If-None-Match; R2-style header modes can be chosen via AWS_COPY_IF_NOT_EXISTS.
    config: dict[str, Any] = {"conditional_put": "etag",
                              "copy_if_not_exists": settings.env("AWS_COPY_IF_NOT_EXISTS")
                              or "multipart"}
    for var, key in _S3_KEYS:
        value = settings.env(var)
        if value:
            config[key] = _truthy(value) if key in ("skip_signature",
                                                     "virtual_hosted_style_request") else value
    if not any(settings.env(v) for v in _S3_CREDENTIAL_SOURCES) and _truthy(
            settings.env("AWS_EC2_METADATA_DISABLED")):
        raise StoreAccessError(f"{uri}: no S3 credentials in the environment (set "
                               "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a web identity "
                               "token for OIDC)", uri=uri)
    if "access_key_id" in config and "secret_access_key" not in config:
        raise StoreAccessError(f"{uri}: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY "
                               "is not", uri=uri)
    config.setdefault("region", "us-east-1")
    return config  # type: ignore[return-value]


def clear_cache() -> None:
    """Forget every store (tests change the environment between cases)."""
    with _LOCK:
        _STORES.clear()


__all__ = ["clear_cache", "store_for"]
