"""What the bridge exposes by default: a loopback-only webhook, and a state file only its owner can read."""

from __future__ import annotations

import inspect
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bridge.config import WebhookConfig
from bridge.store import Store
from bridge.webhook.server import WebhookServer

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def test_default_bind_is_loopback_in_code_and_in_the_example_file() -> None:
    assert WebhookConfig().bind in LOOPBACK
    assert inspect.signature(WebhookServer).parameters["host"].default in LOOPBACK
    example = yaml.safe_load((ROOT / "config" / "example-config.yaml").read_text(encoding="utf-8"))
    assert example["webhook"]["bind"] in LOOPBACK


def test_the_default_webhook_socket_listens_on_loopback_only() -> None:
    def app(environ: object, start_response: object) -> list[bytes]:  # never called
        return []

    with WebhookServer(app, port=0) as server:  # type: ignore[arg-type]
        assert server.url.startswith("http://127.0.0.1:")


@pytest.fixture
def umask_open() -> Iterator[None]:
    """The most permissive umask: the store must not rely on the operator's umask."""
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_open")
def test_state_file_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    with Store(path) as store:
        store.kv.set("probe", True)  # a write: SQLite now has its -wal and -shm files open
        companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        present = [p for p in companions if p.exists()]
        assert present, "WAL mode keeps a -wal/-shm beside the database while it is open"
        modes = {p.name: oct(_mode(p)) for p in [path, *present]}
    assert set(modes.values()) == {oct(0o600)}, modes
    assert _mode(path) == 0o600  # and after close
