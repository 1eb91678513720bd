"""The first import of a network: it starts where `imports.start` says and brings in every message after
that point, `limit` per run, over the following runs (it used to take the newest `limit` and move the
cursor past the rest, losing 180 of 200)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bridge.config import ImportConfig
from providers.errors import ProviderUnavailable
from sandbox._http import Request, Response
from tests.bridge.conftest import World

DAY = 86400


def _clients(world: World, count: int) -> list[int]:
    uids = []
    for n in range(count):
        uid = world.vk_box.add_user(f"First{n}", "Run", screen_name=f"first_run_{n}")
        world.contact(f"Run{n}", vk_url=f"https://vk.com/first_run_{n}")
        uids.append(uid)
    world.index().refresh(full=True)
    return uids


def test_two_hundred_waiting_messages_all_arrive_over_the_first_runs_none_twice(world: World) -> None:
    uids = _clients(world, 4)
    now = time.time()
    old = [world.vk_box.incoming(uids[0], f"old {n}", date=int(now - 60 * DAY + n)) for n in range(5)]
    waiting = [
        world.vk_box.incoming(uids[n % 4], f"waiting {n}", date=int(now - 2 * DAY + 60 * n))
        for n in range(200)
    ]
    importer = world.importer(limit=20)  # the default start: the last 30 days
    assert ImportConfig().start == "last_days 30"

    created = [importer.run("vk").created for _ in range(11)]

    assert created == [20] * 10 + [0]
    imported = sorted(int(m["vk_message_id"]) for m in world.messages())
    assert imported == sorted(waiting)  # every one, once, and nothing from before the start
    assert not set(imported) & set(old)


def test_the_start_is_fixed_at_the_first_run(world: World) -> None:
    """The first run stores its start before fetching: later runs continue from it, not from a new
    "30 days ago", and a failed first fetch does not move it."""
    (uid,) = _clients(world, 1)
    now = time.time()
    world.vk_box.incoming(uid, "in the window", date=int(now - DAY))
    importer = world.importer(limit=1, start="last_days 2")
    reads: list[str] = []

    def fail_after_the_start(request: Request) -> Response | None:
        reads.append(request.operation)  # the start's own read passes, the fetch's read fails
        return None if len(reads) == 1 else Response(500, b"", {"Content-Type": "text/html"})

    world.vk_box.faults.custom(fail_after_the_start, operation="messages.getHistory", times=None)  # type: ignore[arg-type]
    with pytest.raises(ProviderUnavailable):
        importer.run("vk")
    cursor = world.store.cursors.get("vk")
    assert cursor is not None
    world.vk_box.faults.clear()
    world.vk_box.incoming(uid, "later", date=int(now))
    assert [importer.run("vk").created for _ in range(3)] == [1, 1, 0]
    assert sorted(m["message"] for m in world.messages()) == ["in the window", "later"]


@pytest.mark.parametrize(
    ("start", "expected"), [("now", []), ("all", ["a year ago", "yesterday"]), ("last_days 7", ["yesterday"])]
)
def test_each_start_setting(world: World, start: str, expected: list[str]) -> None:
    (uid,) = _clients(world, 1)
    now = time.time()
    world.vk_box.incoming(uid, "a year ago", date=int(now - 365 * DAY))
    world.vk_box.incoming(uid, "yesterday", date=int(now - DAY))
    importer = world.importer(start=start)
    importer.run("vk")
    world.vk_box.incoming(uid, "after the first run")
    importer.run("vk")
    assert sorted(m["message"] for m in world.messages()) == sorted([*expected, "after the first run"])


def test_an_unknown_start_is_refused() -> None:
    from bridge.config.import_start import parse_start

    for text in ("yesterday", "last_days", "last_days -3", "last_days nan", "last_days 2 4", ""):
        with pytest.raises(ValueError, match="now, all or last_days N"):
            parse_start(text)
    assert parse_start(" Last_Days 7 ").days == 7 and parse_start("all").days is None


def test_the_setting_is_checked_with_the_configuration(tmp_path: Path) -> None:
    from bridge.config import ConfigError, load_config

    path = tmp_path / "config.yaml"
    text = """version: 1
vtiger: {{url: "http://127.0.0.1:1", access_key: "abcdEFGH12345678"}}
networks:
  vk: {{enabled: true, token: "vk1.a.token-value", group_id: 1, imports: {{start: {start}}}}}
webhook: {{secret: "0123456789abcdef0123"}}
"""
    path.write_text(text.format(start='"since monday"'), encoding="utf-8")
    expected = r"networks\.vk\.imports\.start, line 4: must be now, all or last_days N"
    with pytest.raises(ConfigError, match=expected):
        load_config(path, env={})
    path.write_text(text.format(start='"last_days 90"'), encoding="utf-8")
    assert load_config(path, env={}).networks.vk.imports.start == "last_days 90"
