"""kill -9 of the real daemon in the middle of a bot send, then a restart.

Telegram keeps no idempotency key and shows a bot no history: a send whose request may have reached it
(killed before or after Telegram carried it out: the daemon cannot tell) is never sent again; the CRM
record says "Delivery unknown" and a comment in the CRM's language says what to do. MAX lets the bot read
the dialog: the restarted daemon looks there first, so the message arrives exactly once either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.services.bot_events import DIALOG_KEY
from bridge.store import Store
from sandbox._http import SandboxServer
from sandbox.max import MaxSandbox
from sandbox.telegram import TelegramSandbox
from sandbox.vtiger import VtigerSandbox
from tests.reliability.helpers import SECRET, Daemon, Tripwire, open_sends, post_event, wait_for


@dataclass
class BotBoxes:
    crm: VtigerSandbox
    tg: TelegramSandbox
    mx: MaxSandbox

    @property
    def all(self) -> tuple[SandboxServer, ...]:
        return (self.crm, self.tg, self.mx)


@pytest.fixture
def bots() -> Iterator[BotBoxes]:
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        yield BotBoxes(crm, tg, mx)


def _config(tmp: Path, boxes: BotBoxes) -> Path:
    crm, tg, mx = boxes.crm, boxes.tg, boxes.mx
    rare = "imports: {interval_minutes: 60}"  # the send flow alone: no poll between the kill and the check
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}", timeout: 5}}
networks:
  telegram: {{enabled: true, token: "{tg.token}", api_url: "{tg.url}", rate_limit: 1000, {rare}}}
  max: {{enabled: true, token: "{mx.token}", api_url: "{mx.url}", rate_limit: 1000, {rare}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{tmp / "state.sqlite3"}"}}
jobs: {{outbox_interval_seconds: 0.2, shutdown_grace_seconds: 10}}
"""
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _linked_client(boxes: BotBoxes, state: Path) -> tuple[str, int, int]:
    """A Contact linked earlier to both bots (as an invitation leaves it), with its MAX dialog known."""
    tg_uid, max_uid = boxes.tg.add_user("Kill", "Nine"), boxes.mx.add_user("Kill", "Nine")
    boxes.tg.press_start(tg_uid)
    boxes.mx.press_start(max_uid)
    record = boxes.crm.seed(
        "Contacts",
        {
            "lastname": "Nine",
            "assigned_user_id": "19x1",
            "tg_url": f"tg://user?id={tg_uid}",
            "max_url": str(max_uid),
        },
    )
    with Store(state) as store:  # what the bot-event handler kept when the client pressed Start
        store.kv.set(DIALOG_KEY.format(network="max") + str(max_uid), boxes.mx.world.users[max_uid].chat_id)
    return record, tg_uid, max_uid


def _send_killed_at(
    boxes: BotBoxes, tmp_path: Path, network: str, op: str, *, after: bool, text: str
) -> tuple[str, int, int]:
    state = tmp_path / "state.sqlite3"
    config = _config(tmp_path, boxes)
    record, tg_uid, max_uid = _linked_client(boxes, state)
    tripwire = Tripwire(boxes)  # type: ignore[arg-type]
    daemon = Daemon(config)
    try:
        fired = tripwire.arm(daemon.pid, 1, after=after, ops={op})
        assert daemon.url is not None
        event = {"event": "send", "module": "Contacts", "id": record, "event_id": "k1", "text": text}
        assert post_event(daemon.url, {**event, "networks": [network]}).status_code == 202
        assert fired.wait(30), daemon.log
        daemon.kill()
        daemon = Daemon(config)
        assert wait_for(lambda: open_sends(state) == 0, timeout=30), daemon.log
    finally:
        daemon.close()
    return record, tg_uid, max_uid


@pytest.mark.parametrize("after", [True, False], ids=["killed-after-telegram-did-it", "killed-before"])
def test_telegram_send_of_unknown_outcome_is_never_resent_and_shown_as_delivery_unknown(
    bots: BotBoxes, tmp_path: Path, after: bool
) -> None:
    text = "Счёт на оплату отправлен"
    record, tg_uid, _ = _send_killed_at(
        bots, tmp_path, "telegram", "telegram:sendMessage", after=after, text=text
    )
    arrived = [m for m in bots.tg.delivered_to(tg_uid) if m.get("text") == text]
    assert len(arrived) == (1 if after else 0)  # never a second copy
    [message] = [m for m in bots.crm.records("SPSocialConnector") if m["message"] == text]
    assert message["tg_status"] == "Delivery unknown"
    assert bots.crm.related(message["id"]) == [record]
    [comment] = bots.crm.records("ModComments")
    assert comment["related_to"] == record
    assert "Неизвестно, доставлено ли сообщение" in comment["commentcontent"]
    assert "не отправит его повторно" in comment["commentcontent"]


@pytest.mark.parametrize("after", [True, False], ids=["killed-after-max-did-it", "killed-before"])
def test_max_send_cut_by_a_kill_is_looked_for_in_the_dialog_and_arrives_once(
    bots: BotBoxes, tmp_path: Path, after: bool
) -> None:
    text = "Договор подписан"
    record, _, max_uid = _send_killed_at(bots, tmp_path, "max", "max:POST /messages", after=after, text=text)
    arrived = [m for m in bots.mx.delivered_to(max_uid) if (m.get("body") or {}).get("text") == text]
    assert len(arrived) == 1
    [message] = [m for m in bots.crm.records("SPSocialConnector") if m["message"] == text]
    assert message["max_status"] == "Sent"
    assert message["max_message_id"] == str(arrived[0]["body"]["mid"])
    assert bots.crm.related(message["id"]) == [record] and bots.crm.records("ModComments") == []
