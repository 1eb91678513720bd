"""Events name the save they are about (`modifiedtime`, `is_new`); the store keeps waiting events durably."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bridge.store import Store
from bridge.store.db import Database
from bridge.store.upgrade import MIGRATIONS, upgrade
from bridge.webhook.events import Event, parse_event
from bridge.webhook.freshness import NotVisibleYet, check_saved_state, retry_delay

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _parse(obj: dict[str, object]) -> Event:
    base = {"event": "record_saved", "module": "Contacts", "id": "12x5", "event_id": "e1"}
    return parse_event({**base, **obj}, body=json.dumps(obj).encode(), default_ts=0.0)


def test_modifiedtime_and_is_new_are_read_from_the_event_or_its_data() -> None:
    event = _parse({"modifiedtime": "2026-03-01 12:00:05", "is_new": True})
    assert (event.modifiedtime, event.is_new) == ("2026-03-01 12:00:05", True)
    assert _parse({"data": {"modifiedtime": "2026-03-01 12:00:06"}}).modifiedtime == "2026-03-01 12:00:06"
    flat = _parse({"modifiedtime": "01-03-2026 12:00", "is_new": "0"})  # a Cloud body in the user's format
    assert (flat.modifiedtime, flat.is_new, flat.data) == (None, False, {})
    assert _parse({"is_new": ["x"]}).is_new is None
    assert Event.from_payload({**event.to_payload(), "ts": 0.0}).modifiedtime == "2026-03-01 12:00:05"


def _event(modifiedtime: str | None, **data: str) -> Event:
    return Event("record_saved", "Contacts", "12x5", "e1", 0.0, data=dict(data), modifiedtime=modifiedtime)


def test_the_record_must_show_the_save() -> None:
    saved = _event("2026-03-01 12:00:05", vk_url="https://vk.com/b")
    newer = {"modifiedtime": "2026-03-01 12:00:06", "vk_url": "https://vk.com/c"}
    assert check_saved_state(saved, newer, ["vk_url"]) is newer  # a later save: the current state counts
    same_second = {"modifiedtime": "2026-03-01 12:00:05", "vk_url": "https://vk.com/b"}
    assert check_saved_state(saved, same_second, ["vk_url"]) is same_second
    for record, missing in (
        (None, True),
        ({"modifiedtime": "2026-03-01 12:00:04", "vk_url": "https://vk.com/b"}, False),
        ({"modifiedtime": "2026-03-01 12:00:05", "vk_url": "https://vk.com/a"}, False),  # the save before
    ):
        with pytest.raises(NotVisibleYet) as caught:
            check_saved_state(saved, record, ["vk_url"])
        assert caught.value.missing is missing
    escaped = {"modifiedtime": "2026-03-01 12:00:05", "vk_url": "https://vk.com/b?a=1&amp;c=2"}
    decoded = _event("2026-03-01 12:00:05", vk_url="https://vk.com/b?a=1&c=2")  # workflow data is decoded
    assert check_saved_state(decoded, escaped, ["vk_url"])
    assert check_saved_state(_event(None), {"modifiedtime": "2000-01-01 00:00:00"}, ["vk_url"])
    assert [retry_delay(n) for n in range(7)] == [2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 60.0]


def test_events_wait_until_due_and_failures_are_listed() -> None:
    with Store(":memory:", clock=lambda: T0) as store:
        for n in (1, 2, 3):
            store.events.remember(f"e{n}", "send", {"n": n})
        assert store.events.defer("e1", T0 + dt.timedelta(seconds=5), "not committed yet") == 1
        assert [e.event_id for e in store.events.due(T0)] == ["e2", "e3"]
        assert [e.event_id for e in store.events.due(T0 + dt.timedelta(seconds=5))] == ["e1", "e2", "e3"]
        assert store.events.next_attempt() == T0 + dt.timedelta(seconds=5)
        [waiting] = [e for e in store.events.pending() if e.event_id == "e1"]
        assert (waiting.attempts, waiting.error) == (1, "not committed yet")
        store.events.mark_done("e2", "record 12x5 could not be read")
        store.events.mark_done("e3")
        [failure] = store.events.failures()
        assert (failure.event_id, failure.error, failure.done_at) == (
            "e2",
            "record 12x5 could not be read",
            T0,
        )


def test_a_state_file_from_before_the_retries_is_upgraded_with_its_events(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = Database(path)
    upgrade(db, MIGRATIONS[:1])
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO webhook_event (event_id, kind, payload, received_at)"
            " VALUES ('old', 'send', '{}', '2026-03-01T12:00:00.000000Z')"
        )
    db.close()
    with Store(path) as store:
        [event] = store.events.due(T0)
        assert (event.event_id, event.attempts, event.next_attempt_at, event.error) == ("old", 0, None, None)
