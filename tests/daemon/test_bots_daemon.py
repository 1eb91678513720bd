"""The daemon with both bots: a workflow's `invite` event writes the links into the record, the client
presses Start, the record is linked, a workflow send reaches the client, the reply is imported."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.daemon.app import App
from sandbox.max import MaxSandbox
from sandbox.telegram import TelegramSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import post_event, wait_for, write_bot_config

Boxes = tuple[VtigerSandbox, TelegramSandbox, MaxSandbox]


@pytest.fixture
def boxes() -> Iterator[Boxes]:
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        yield crm, tg, mx


@pytest.fixture
def app(tmp_path: Path, boxes: Boxes) -> Iterator[App]:
    crm, tg, mx = boxes
    path = write_bot_config(tmp_path, crm, tg, mx)
    application = App(load_config(path, env={}))
    application.start()
    try:
        yield application
    finally:
        application.shutdown()


def test_invite_event_start_send_and_reply_through_the_daemon(app: App, boxes: Boxes) -> None:
    crm, tg, mx = boxes
    record = crm.seed("Contacts", {"lastname": "Клиентова", "assigned_user_id": "19x1"})
    assert app.webhook is not None
    url = app.webhook.url
    answer = post_event(url, {"event": "invite", "module": "Contacts", "id": record, "event_id": "i1"})
    assert answer.status_code == 202
    assert wait_for(lambda: (crm.get(record) or {}).get("description", "").count("start=") == 2)
    links = dict(
        re.findall(
            r"https://(t\.me|max\.ru)/crm_bridge_bot\?start=([A-Za-z0-9_-]+)", crm.get(record)["description"]
        )
    )  # type: ignore[index]
    tg_uid, max_uid = tg.add_user("Мария", "Клиентова"), mx.add_user("Мария", "Клиентова")
    tg.press_start(tg_uid, links["t.me"])
    mx.press_start(max_uid, links["max.ru"])
    assert wait_for(
        lambda: (
            (crm.get(record) or {}).get("tg_url") == f"tg://user?id={tg_uid}"
            and (crm.get(record) or {}).get("max_url") == str(max_uid)
        ),
        timeout=20,
    )
    assert crm.get(record)["firstname"] == "Мария"  # type: ignore[index]
    send = {"event": "send", "module": "Contacts", "id": record, "event_id": "s1", "text": "Заказ готов"}
    assert post_event(url, send).status_code == 202
    assert wait_for(lambda: bool(tg.delivered_to(tg_uid)) and bool(mx.delivered_to(max_uid)), timeout=20)
    tg.incoming(tg_uid, "Спасибо из Telegram")
    mx.incoming(max_uid, "Спасибо из MAX")

    def texts() -> list[str]:
        return [m["message"] for m in crm.records("SPSocialConnector")]

    assert wait_for(lambda: {"Спасибо из Telegram", "Спасибо из MAX"} <= set(texts()), timeout=20)
    assert texts().count("Заказ готов") == 1 and len(texts()) == 5  # 2 Starts, 1 send, 2 replies
    for message in crm.records("SPSocialConnector"):
        assert crm.related(message["id"]) == [record]


def test_an_invite_for_a_record_not_committed_yet_waits_for_it(app: App, boxes: Boxes) -> None:
    """vtiger runs the workflow inside the save, before a webservice create is committed: the event comes
    before the record can be read, and must wait for it rather than fail as "not found"."""
    crm, _, _ = boxes
    first = crm.seed("Contacts", {"lastname": "Before", "assigned_user_id": "19x1"})
    upcoming = f"12x{int(first.split('x')[1]) + 1}"
    assert app.webhook is not None
    event = {"event": "invite", "module": "Contacts", "id": upcoming, "event_id": "early", "is_new": True}
    assert post_event(app.webhook.url, event).status_code == 202
    assert wait_for(lambda: app.parts.store.events.next_attempt() is not None)  # it waits, not failed
    assert crm.seed("Contacts", {"lastname": "Late", "assigned_user_id": "19x1"}) == upcoming
    events = app.parts.store.events
    assert wait_for(
        lambda: (events.next_attempt() or dt.datetime.max.replace(tzinfo=dt.UTC)) <= dt.datetime.now(dt.UTC)
    )
    nudge = {
        "event": "record_saved",
        "module": "Contacts",
        "id": first,
        "event_id": "n1",
        "changed": ["phone"],
    }
    assert post_event(app.webhook.url, nudge).status_code == 202  # wakes the worker before its 30 s round
    assert wait_for(lambda: (crm.get(upcoming) or {}).get("description", "").count("start=") == 2, timeout=20)
    assert events.error("early") is None


def test_each_bot_has_one_reader_its_stream(app: App, boxes: Boxes) -> None:
    """A bot's update stream is also its history: a second reader would be refused (Telegram 409) or take
    updates the stream never sees. The daemon reads each bot by long polling only; the scheduled import
    leaves it alone."""
    from bridge.daemon import jobs

    tg = boxes[1]
    assert set(app.parts.streams) == {"telegram", "max"}
    assert wait_for(lambda: tg.polls_waiting == 1)  # the stream holds a poll open
    polls = tg.count("getUpdates")
    assert jobs.import_messages(app.parts, "telegram") == 0
    assert jobs.import_messages(app.parts, "max") == 0
    assert tg.count("getUpdates") == polls  # no second getUpdates, so no 409 for the stream
    assert app.parts.streams["telegram"].snapshot()["conflicts"] == 0
