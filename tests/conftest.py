"""Shared by every test: tests that run the CLI in-process get the root logger configured by it (and the
third-party loggers clamped); undo that after each test so later tests log into live streams."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


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
