"""Refuse early when the environment cannot possibly authenticate to GCS or Azure.

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

from promote_action.store.errors import StoreAccessError
from promote_action.store.settings import StoreSettings

GCS_CREDENTIALS = ("GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_PATH",
                   "GOOGLE_SERVICE_ACCOUNT_KEY", "GOOGLE_APPLICATION_CREDENTIALS",
                   "GOOGLE_SKIP_SIGNATURE")
AZURE_CREDENTIALS = (
    "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_MASTER_KEY",
    "AZURE_STORAGE_SAS_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_SECRET", "AZURE_STORAGE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID", "AZURE_STORAGE_CLIENT_ID", "AZURE_MSI_ENDPOINT", "AZURE_OBJECT_ID",
    "AZURE_MSI_RESOURCE_ID")
# Boolean switches that are a credential source only when true.
AZURE_SWITCHES = ("AZURE_STORAGE_USE_EMULATOR", "AZURE_USE_AZURE_CLI", "AZURE_SKIP_SIGNATURE")
_TRUE = {"1", "true", "yes", "on"}


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _set(settings: StoreSettings, names: tuple[str, ...]) -> bool:
    return any((settings.env(n) or "").strip() for n in names)


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


__all__ = ["AZURE_CREDENTIALS", "AZURE_SWITCHES", "GCS_CREDENTIALS", "require_azure",
           "require_gcs", "truthy"]
