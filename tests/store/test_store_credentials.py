"""Which environments can authenticate to GCS and Azure, decided before any request.

A store is built only when the environment names some credential source; otherwise the
run stops with one line naming the URI (exit 2) instead of probing a cloud metadata
service. Nothing here opens a connection: building an obstore store is offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promote_action.errors import EXIT
from promote_action.store import StoreAccessError, StoreSettings
from promote_action.store.client import store_for
from promote_action.store.uri import parse_uri

GS = "gs://lake/work/a.csv"
AZ = "az://lake/work/a.csv"
ABFS = "abfs://lake@acct.dfs.core.windows.net/work/a.csv"


@pytest.fixture(autouse=True)
def no_adc(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store_env: Any) -> None:
    """A HOME without gcloud's application-default credentials file."""
    monkeypatch.setenv("HOME", str(tmp_path))


def build(uri: str, env: dict[str, str]) -> Any:
    return store_for(parse_uri(uri), StoreSettings.from_env(env))


@pytest.mark.parametrize(("uri", "env", "why"), [
    (GS, {"NO_GCE_CHECK": "true"}, "no Google Cloud credentials"),
    (GS, {"NO_GCE_CHECK": "1", "GOOGLE_SERVICE_ACCOUNT": " "}, "no Google Cloud credentials"),
    (AZ, {}, "no Azure credentials"),
    (AZ, {"AZURE_STORAGE_ACCOUNT_NAME": "acct"}, "no Azure credentials"),
    (AZ, {"AZURE_STORAGE_USE_EMULATOR": "false", "AZURE_USE_AZURE_CLI": "0"},
     "no Azure credentials"),
    (AZ, {"AZURE_STORAGE_ACCOUNT_KEY": "a2V5"}, "no Azure storage account"),
    # a credentials file obstore cannot use: still one line, before any request
    (GS, {"GOOGLE_APPLICATION_CREDENTIALS": "/dev/null"}, "cannot be set up"),
])
def test_no_credential_source_is_refused(uri: str, env: dict[str, str], why: str) -> None:
    with pytest.raises(StoreAccessError) as info:
        build(uri, env)
    assert info.value.exit_code == EXIT.BAD_INPUT
    line = info.value.diagnostics()
    assert why in line and uri in line and "\n" not in line


@pytest.mark.parametrize(("uri", "env"), [
    (GS, {}),  # no NO_GCE_CHECK: the metadata server may still answer (GCE, GKE)
    (AZ, {"AZURE_STORAGE_ACCOUNT_NAME": "acct", "AZURE_STORAGE_SAS_TOKEN": "sv=1&sig=x"}),
    (AZ, {"AZURE_STORAGE_ACCOUNT_NAME": "acct", "AZURE_CLIENT_ID": "id"}),
    (AZ, {"AZURE_STORAGE_ACCOUNT_NAME": "acct", "AZURE_USE_AZURE_CLI": "true"}),
    (AZ, {"AZURE_STORAGE_USE_EMULATOR": "true"}),
    (ABFS, {"AZURE_STORAGE_ACCOUNT_KEY": "a2V5"}),  # the account is in the URI
])
def test_some_credential_source_builds_a_store(uri: str, env: dict[str, str]) -> None:
    assert build(uri, env) is not None


def test_gcloud_application_default_credentials_count(tmp_path: Path) -> None:
    adc = tmp_path / ".config" / "gcloud" / "application_default_credentials.json"
    adc.parent.mkdir(parents=True)
    adc.write_text('{"type": "authorized_user", "client_id": "c", "client_secret": "s", '
                   '"refresh_token": "r"}')
    assert build(GS, {"NO_GCE_CHECK": "true"}) is not None
