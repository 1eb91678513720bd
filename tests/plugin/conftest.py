"""Fixtures of the plugin tests: a fake vtiger root holding a copy of the plugin, and a recording bridge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.bridge.test_webhook_support import Recorder
from tests.plugin.test_php_plugin import PLUGIN, Vtiger


@pytest.fixture
def vtiger(tmp_path: Path) -> Vtiger:
    plugin_dir = tmp_path / "vtiger" / "modules" / "SocialBridge"
    shutil.copytree(PLUGIN, plugin_dir)
    return Vtiger(tmp_path / "vtiger", plugin_dir, tmp_path / "logs" / "socialbridge.log")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
