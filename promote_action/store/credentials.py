"""GCS and Azure settings from the standard environment, and an early refusal when it
cannot possibly authenticate.

The standard variables captured by `StoreSettings.from_env` are mapped to obstore's
config keys here (as `client._s3_config` does for AWS), so the store is built from what
the settings saw, not from whatever the process environment holds at that moment.

obstore follows each cloud's whole credential chain, ending at the instance metadata
service (169.254.169.254). When the runner names no credential at all, that last step
means a minute of metadata timeouts (or, on a host that answers, a token for the
*machine's* identity) before a vague error. So, as for S3 with
`AWS_EC2_METADATA_DISABLED`, a missing credential is a one-line exit 2 naming the URI,
before any request:

- `gs://`: a service-account file or key (`GOOGLE_SERVICE_ACCOUNT`,
  `GOOGLE_SERVICE_ACCOUNT_PATH`, `GOOGLE_SERVICE_ACCOUNT_KEY`,
  `GOOGLE_APPLICATION_CREDENTIALS`) or gcloud's application-default credentials file;
  without one, the metadata server is tried unless `NO_GCE_CHECK=true` (the Google auth
  libraries' own switch) says there is none.
- `az://`: a key, SAS, token, service principal, workload-identity token file, the
  Azure CLI, the emulator, or an explicit managed identity (`AZURE_CLIENT_ID`,
  `AZURE_MSI_ENDPOINT`, …). Azure has no standard "no metadata service" switch, so a
  managed identity must be named; and a storage account is needed unless the URI names
  it (`abfs://container@account.dfs.core.windows.net/…`) or the emulator is used.
"""

from __future__ import annotations

import os
from typing import Any

from promote_action.store.errors import StoreAccessError
from promote_action.store.settings import StoreSettings

# Standard variable -> obstore config key, in increasing precedence.
GCS_KEYS = (("GOOGLE_SERVICE_ACCOUNT_PATH", "service_account"),
            ("GOOGLE_SERVICE_ACCOUNT", "service_account"),
            ("GOOGLE_SERVICE_ACCOUNT_KEY", "service_account_key"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "application_credentials"),
            ("GOOGLE_BEARER_TOKEN", "bearer_token"),
            ("GOOGLE_BASE_URL", "base_url"),
            ("GOOGLE_SKIP_SIGNATURE", "skip_signature"))
AZURE_KEYS = (
    ("AZURE_STORAGE_ACCOUNT_NAME", "account_name"),
    ("AZURE_STORAGE_MASTER_KEY", "account_key"), ("AZURE_STORAGE_ACCESS_KEY", "account_key"),
    ("AZURE_STORAGE_ACCOUNT_KEY", "account_key"),
    ("AZURE_CLIENT_ID", "client_id"), ("AZURE_STORAGE_CLIENT_ID", "client_id"),
    ("AZURE_CLIENT_SECRET", "client_secret"), ("AZURE_STORAGE_CLIENT_SECRET", "client_secret"),
    ("AZURE_AUTHORITY_ID", "tenant_id"), ("AZURE_TENANT_ID", "tenant_id"),
    ("AZURE_STORAGE_AUTHORITY_ID", "tenant_id"), ("AZURE_STORAGE_TENANT_ID", "tenant_id"),
    ("AZURE_STORAGE_SAS_KEY", "sas_key"), ("AZURE_STORAGE_SAS_TOKEN", "sas_key"),
    ("AZURE_STORAGE_TOKEN", "token"),
    ("AZURE_ENDPOINT", "endpoint"), ("AZURE_STORAGE_ENDPOINT", "endpoint"),
    ("AZURE_IDENTITY_ENDPOINT", "msi_endpoint"), ("AZURE_MSI_ENDPOINT", "msi_endpoint"),
    ("AZURE_OBJECT_ID", "object_id"), ("AZURE_MSI_RESOURCE_ID", "msi_resource_id"),
    ("AZURE_FEDERATED_TOKEN_FILE", "federated_token_file"),
    ("AZURE_USE_AZURE_CLI", "use_azure_cli"), ("AZURE_STORAGE_USE_EMULATOR", "use_emulator"),
    ("AZURE_SKIP_SIGNATURE", "skip_signature"))
_BOOL_KEYS = ("skip_signature", "use_azure_cli", "use_emulator")

GCS_CREDENTIALS = ("GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH",
                   "GOOGLE_SERVICE_ACCOUNT_KEY", "GOOGLE_APPLICATION_CREDENTIALS",
                   "GOOGLE_BEARER_TOKEN", "GOOGLE_SKIP_SIGNATURE")
AZURE_CREDENTIALS = (
    "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_MASTER_KEY",
    "AZURE_STORAGE_SAS_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_SECRET", "AZURE_STORAGE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID", "AZURE_STORAGE_CLIENT_ID", "AZURE_MSI_ENDPOINT",
    "AZURE_IDENTITY_ENDPOINT", "AZURE_OBJECT_ID", "AZURE_MSI_RESOURCE_ID")
# Boolean switches that are a credential source only when true.
AZURE_SWITCHES = ("AZURE_STORAGE_USE_EMULATOR", "AZURE_USE_AZURE_CLI", "AZURE_SKIP_SIGNATURE")
_TRUE = {"1", "true", "yes", "on"}


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _set(settings: StoreSettings, names: tuple[str, ...]) -> bool:
    return any((settings.env(n) or "").strip() for n in names)


def mapped(settings: StoreSettings, keys: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """obstore config from the captured standard variables (later entries win)."""
    config: dict[str, Any] = {}
    for var, key in keys:
        value = (settings.env(var) or "").strip()
        if value:
            config[key] = truthy(value) if key in _BOOL_KEYS else value
    return config


def require_gcs(settings: StoreSettings, uri: str) -> None:
    """Raise unless some GCS credential source can be tried."""
    if _set(settings, GCS_CREDENTIALS) or os.path.isfile(os.path.expanduser(
            "~/.config/gcloud/application_default_credentials.json")):
        return
    if truthy(settings.env("NO_GCE_CHECK")):
        raise StoreAccessError(f"{uri}: no Google Cloud credentials in the environment (set "
                               "GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT "
                               "to a service-account or workload-identity file)", uri=uri)


def require_azure(settings: StoreSettings, uri: str, account: str | None) -> None:
    """Raise unless an Azure credential source and a storage account are named."""
    emulator = truthy(settings.env("AZURE_STORAGE_USE_EMULATOR"))
    if not (_set(settings, AZURE_CREDENTIALS)
            or any(truthy(settings.env(n)) for n in AZURE_SWITCHES)):
        raise StoreAccessError(f"{uri}: no Azure credentials in the environment (set "
                               "AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN, a "
                               "service principal or AZURE_FEDERATED_TOKEN_FILE, or name the "
                               "managed identity with AZURE_CLIENT_ID)", uri=uri)
    if not (account or emulator or _set(settings, ("AZURE_STORAGE_ACCOUNT_NAME",))):
        raise StoreAccessError(f"{uri}: no Azure storage account (set "
                               "AZURE_STORAGE_ACCOUNT_NAME, or name it in an abfs:// URI)",
                               uri=uri)


__all__ = ["AZURE_CREDENTIALS", "AZURE_KEYS", "AZURE_SWITCHES", "GCS_CREDENTIALS",
           "GCS_KEYS", "mapped", "require_azure", "require_gcs", "truthy"]
