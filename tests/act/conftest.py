"""Fixtures for the act tests: the action exported once per session, act present."""

from __future__ import annotations

from pathlib import Path

import pytest
from act_runner import act_binary, export_action


@pytest.fixture(scope="session")
def action_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    act_binary()  # fail (CI) or skip before any set-up when act is missing
    return export_action(tmp_path_factory.mktemp("kfm-promote-action"))
