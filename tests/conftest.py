"""Shared by every test: tests that run the CLI in-process get the root logger configured by it (and the
third-party loggers clamped); undo that after each test so later tests log into live streams.
The opt-in real-CRM suite (tests/real_crm/) is skipped, with one line, unless a real vtiger is named."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.real_crm.realenv import REQUIRED, SKIP_REASON

REAL_CRM_DIR = Path(__file__).resolve().parent / "real_crm"


class _NotRunDirectory(pytest.Dir):
    def collect(self) -> list[pytest.Item]:  # type: ignore[override]
        pytest.skip(SKIP_REASON)


def _real_crm_named() -> bool:
    return any(os.environ.get(name) for name in REQUIRED)


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if path == REAL_CRM_DIR and not _real_crm_named():
        return _NotRunDirectory.from_parent(parent, path=path)
    return None


def pytest_configure(config: pytest.Config) -> None:
    # `pytest tests/real_crm/test_x.py[::test]` cannot be collected through the skipped folder: say why.
    args = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
    if args and not _real_crm_named() and all(REAL_CRM_DIR in a.parents for a in args):
        pytest.exit(SKIP_REASON, returncode=pytest.ExitCode.NO_TESTS_COLLECTED)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {
        name: logging.getLogger(name).level
        for name in ("urllib3", "requests_oauthlib", "oauthlib", "apscheduler", "waitress")
    }
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    for name, old in noisy.items():
        logging.getLogger(name).setLevel(old)
