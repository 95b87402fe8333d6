"""Policy-test fixtures: `engine_name` runs a test once per engine (opa needs real OPA)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["embedded", "opa"])
def engine_name(request: pytest.FixtureRequest) -> str:
    if request.param == "opa":
        request.getfixturevalue("require_opa")
    return str(request.param)
