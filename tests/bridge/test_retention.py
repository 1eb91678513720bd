"""Retention (bridge/store/retention.py): finished sends and events lose their message texts after
`keep_texts`, their rows after `forget_after`; open work is never touched, and an event re-sent at any
time after it was processed never becomes a second event — while its row exists it is a duplicate, and
once the row may be gone the webhook refuses it as too old."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.store import SendTarget, Store, event_age_limit
from bridge.webhook.endpoint import EVENTS_PATH, make_app, store_acceptor
from bridge.webhook.server import WebhookServer
from bridge.webhook.signing import sign
from tests.bridge.test_store_outbox import Clock
from tests.bridge.test_webhook_support import SECRET

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
KEEP = dt.timedelta(days=30)
FORGET = dt.timedelta(days=400)
TEXT = "Ваш заказ №4711 готов, Анна"
VK = SendTarget("vk", "vk_url", "https://vk.com/id1", "1")


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def state(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store(tmp_path / "state.sqlite3", clock=clock) as store:
        yield store


def _finished_send(store: Store, event_id: str | None, text: str = TEXT) -> int:
    oid = store.outbox.enqueue_send(
        record_id="12x7", module="Contacts", text=text, targets=[VK], event_id=event_id, requested_by="19x1"
    )
    store.outbox.mark_target_sending(oid, "vk")
    store.outbox.mark_target_sent(oid, "vk", f"vk-{oid}")
    store.outbox.set_send_crm_message_id(oid, f"40x{oid}")
    store.outbox.mark_send_linked(oid)
    store.outbox.mark_send_done(oid)
    return oid


def _event(store: Store, event_id: str, done: bool = True) -> None:
    payload = {
        "event": "send",
        "module": "Contacts",
        "id": "12x7",
        "event_id": event_id,
        "ts": 1.0,
        "data": {"lastname": "Иванова", "mobile": "+7 900 000-00-00"},
        "text": TEXT,
    }
    assert store.events.remember(event_id, "send", payload)
    if done:
        store.events.mark_done(event_id)


def _rows(path: str, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def state_holds(path: str | Path, needle: str) -> bool:
    """Whether any table of the state file still holds `needle` (a message text, a phone); read-only,
    so a running daemon's file can be searched too."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return any(
            needle in json.dumps([list(r) for r in conn.execute(f"SELECT * FROM {t}")], ensure_ascii=False)
            for t in tables
        )
    finally:
        conn.close()


def test_texts_go_after_keep_texts_and_rows_after_forget_after(state: Store, clock: Clock) -> None:
    oid = _finished_send(state, "ev-1")
    _event(state, "ev-1")
    clock.now = T0 + KEEP - dt.timedelta(seconds=1)
    assert state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET).total == 0
    assert state_holds(state.path, TEXT) and state_holds(state.path, "+7 900")

    clock.now = T0 + KEEP + dt.timedelta(seconds=1)
    report = state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET)
    assert (report.send_texts_dropped, report.event_texts_dropped) == (1, 1)
    assert not state_holds(state.path, TEXT) and not state_holds(state.path, "+7 900")
    send = state.outbox.get_send(oid)
    assert send is not None and send.text == "" and send.event_id == "ev-1"  # idempotency kept
    assert send.crm_message_id == "40x1" and send.target("vk").message_id == "vk-1"
    [(payload,)] = _rows(state.path, "SELECT payload FROM webhook_event")
    assert json.loads(str(payload)) == {
        "pruned": True,
        "event": "send",
        "module": "Contacts",
        "id": "12x7",
        "event_id": "ev-1",
        "ts": 1.0,
    }
    assert not state.events.remember("ev-1", "send", {})  # still a duplicate
    assert (
        state.outbox.enqueue_send(
            record_id="12x7",
            module="Contacts",
            text="again",
            targets=[VK],
            event_id="ev-1",
            requested_by="19x1",
        )
        == oid
    )
    assert state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET).total == 0  # idempotent

    clock.now = T0 + FORGET + dt.timedelta(seconds=1)
    report = state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET)
    assert (report.sends_forgotten, report.events_forgotten) == (1, 1)
    assert _rows(state.path, "SELECT COUNT(*) FROM outbox_target") == [(0,)]
    # The message ledger (ids only) stays: the import must keep skipping the message the bridge sent.
    assert state.ledger.lookup("vk", ["vk-1"]) == {"vk-1": "40x1"}
    # Outbox ids are never issued again after rows are forgotten.
    assert _finished_send(state, None) == oid + 1


def test_open_work_is_never_pruned(state: Store, clock: Clock) -> None:
    waiting = state.outbox.enqueue_send(
        record_id="12x7", module="Contacts", text=TEXT, targets=[VK], event_id="ev-open", requested_by="19x1"
    )
    _event(state, "ev-pending", done=False)
    clock.now = T0 + dt.timedelta(days=5000)
    assert state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET).total == 0
    send = state.outbox.get_send(waiting)
    assert send is not None and send.text == TEXT
    [pending] = state.events.pending()
    assert pending.payload["text"] == TEXT and pending.payload["data"]["lastname"] == "Иванова"


def test_a_large_backlog_is_pruned_in_batches(state: Store, clock: Clock) -> None:
    for n in range(23):
        _finished_send(state, f"ev-{n}")
        _event(state, f"ev-{n}")
    clock.now = T0 + KEEP + dt.timedelta(days=1)
    report = state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET, batch=5)
    assert (report.send_texts_dropped, report.event_texts_dropped) == (23, 23)
    clock.now = T0 + FORGET + dt.timedelta(days=1)
    report = state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET, batch=5)
    assert (report.sends_forgotten, report.events_forgotten) == (23, 23)
    assert _rows(state.path, "SELECT COUNT(*) FROM outbox UNION ALL SELECT COUNT(*) FROM webhook_event") == [
        (0,),
        (0,),
    ]


@pytest.mark.parametrize(
    "skew",
    [dt.timedelta(0), dt.timedelta(days=-10), dt.timedelta(hours=6)],
    ids=["ts-now", "spooled-10-days", "vtiger-clock-6h-ahead"],
)
def test_a_resent_event_is_never_a_second_event_at_any_later_time(
    tmp_path: Path, clock: Clock, skew: dt.timedelta
) -> None:
    """The plugin's spool may send an event again much later. Walk 450 days (half-days, and hours around
    the horizon): after each prune, the same body re-signed is a duplicate (200) or refused as too old
    (422), never a new 202."""
    with Store(tmp_path / "walk.sqlite3", clock=clock) as store:
        app = make_app(
            secret=SECRET,
            accept=store_acceptor(store.events),
            health=lambda: (200, {}),
            metrics=lambda: (b"", "text/plain"),
            clock=lambda: clock.now.timestamp(),
            max_event_age=event_age_limit(FORGET).total_seconds(),
        )  # as bridge/daemon/app.py
        body = json.dumps(
            {
                "event": "send",
                "module": "Contacts",
                "id": "12x7",
                "event_id": "vt-spooled",
                "text": TEXT,
                "ts": int((T0 + skew).timestamp()),
            }
        ).encode()
        with WebhookServer(app) as server, requests.Session() as http:

            def post() -> int:
                headers = sign(SECRET, body, clock.now.timestamp()) | {"Content-Type": "application/json"}
                return http.post(server.url + EVENTS_PATH, data=body, headers=headers, timeout=10).status_code

            assert post() == 202
            store.events.mark_done("vt-spooled")
            answers: dict[int, int] = {}
            hours = sorted({12 * n for n in range(1, 901)} | set(range(397 * 24, 403 * 24)))
            for hour in hours:
                clock.now = T0 + dt.timedelta(hours=hour)
                store.prune(clock.now, keep_texts=KEEP, forget_after=FORGET)
                status = post()
                answers[status] = answers.get(status, 0) + 1
                assert status in (200, 422), (hour, status)
            assert store.events.pending() == []
    assert answers[200] > 700 and answers[422] > 50  # both regimes were reached


def test_the_webhook_refuses_an_event_older_than_its_horizon_with_a_clear_reason(tmp_path: Path) -> None:
    now = T0.timestamp()
    with Store(tmp_path / "s.sqlite3") as store:
        app = make_app(
            secret=SECRET,
            accept=store_acceptor(store.events),
            health=lambda: (200, {}),
            metrics=lambda: (b"", "text/plain"),
            clock=lambda: now,
            max_event_age=399 * 86400,
        )
        with WebhookServer(app) as server:
            for age_days, expected in ((398.9, 202), (399.1, 422)):
                body = json.dumps(
                    {
                        "event": "record_saved",
                        "module": "Contacts",
                        "id": "12x7",
                        "ts": now - age_days * 86400,
                    }
                ).encode()
                r = requests.post(
                    server.url + EVENTS_PATH,
                    data=body,
                    timeout=10,
                    headers=sign(SECRET, body, now) | {"Content-Type": "application/json"},
                )
                assert r.status_code == expected, r.text
        assert "state.forget_after_days" in r.json()["error"]["message"]
        assert r.json()["error"]["code"] == "event_too_old"
        assert len(store.events.pending()) == 1


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        ("{keep_texts_days: 0}", "state.keep_texts_days"),
        ("{keep_texts_days: 30, forget_after_days: 30}", "state.forget_after_days"),
        ("{forget_after_days: 7}", "state.forget_after_days"),
    ],
)
def test_horizons_that_would_forget_too_early_are_refused(tmp_path: Path, state: str, problem: str) -> None:
    from bridge.config import ConfigError, load_config

    path = tmp_path / "config.yaml"
    path.write_text(
        f"""version: 1
vtiger: {{url: "http://127.0.0.1:1", access_key: "abcdEFGH12345678"}}
webhook: {{secret: "0123456789abcdef0123"}}
state: {state}
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=problem.replace(".", r"\.")):
        load_config(path, env={})
    shortest = "state: {keep_texts_days: 1, forget_after_days: 2}"
    path.write_text(path.read_text().replace(f"state: {state}", shortest), encoding="utf-8")
    assert load_config(path, env={}).state.forget_after_days == 2


def test_bot_invitations_and_updates_are_forgotten_after_forget_after(state: Store, clock: Clock) -> None:
    state.invitations.issue("telegram", "12x1", "old-token", clock.now + dt.timedelta(days=3))
    state.bot_events.mark_done("telegram", "100", "started", "5", "linked")
    clock.now += FORGET
    state.invitations.issue("telegram", "12x2", "new-token", clock.now + dt.timedelta(days=3))
    state.bot_events.mark_done("telegram", "101", "started", "6", "linked")
    report = state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET)
    assert report.bot_rows_forgotten == 0  # the old invitation expired less than FORGET ago
    clock.now += dt.timedelta(days=4)
    report = state.prune(clock.now, keep_texts=KEEP, forget_after=FORGET)
    assert report.bot_rows_forgotten == 2  # the old invitation and the old update
    assert state.bot_events.done("telegram", "101") and not state.bot_events.done("telegram", "100")
    assert [i.record_id for i in state.invitations.of_record("12x2")] == ["12x2"]
    assert state.invitations.of_record("12x1") == []
