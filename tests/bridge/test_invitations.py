"""Invitations end to end against the vtiger, Telegram and MAX sandboxes: invite -> Start -> linked record
-> send -> reply imported; tokens single-use, expiring, unguessable; unknown senders; Stop; idempotency.

Until the generic stream runner drives it, `poll` below is the loop it will run: poll_updates ->
Intake.record(messages) -> handler.handle(events) -> keep the offset.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bridge.crm import Crm
from bridge.services.bot_events import BotEventHandler, seed_dialogs
from bridge.services.intake import ImportReport, Intake
from bridge.services.invitations import Invitation, Inviter, InviteRefused
from bridge.services.linking import UrlIndex
from bridge.services.sending import Sender, SendRequest
from bridge.store import Store
from providers.base import LongPolling, Provider
from providers.max import MaxProvider
from providers.ratelimit import RateLimiter
from providers.telegram import TelegramProvider
from sandbox.max import MaxSandbox
from sandbox.telegram import TelegramSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import wait_for
from vtiger_ws import VtigerClient


def _fast() -> RateLimiter:
    return RateLimiter(10_000, burst=10_000)


@dataclass
class Bots:
    crm_box: VtigerSandbox
    tg_box: TelegramSandbox
    max_box: MaxSandbox
    crm: Crm
    store: Store
    providers: dict[str, Provider]
    index: UrlIndex
    intakes: dict[str, Intake]
    handler: BotEventHandler
    now: list[dt.datetime]
    offsets: dict[str, str | None] = field(default_factory=dict)

    def inviter(self) -> Inviter:
        return Inviter(self.crm, self.providers, self.store.invitations, now=lambda: self.now[0])

    def poll(self, network: str) -> None:
        """One poll as the stream runner does it: messages, then events, then the offset."""
        provider = self.providers[network]
        assert isinstance(provider, TelegramProvider | MaxProvider)
        result = provider.poll_updates(self.offsets.get(network), 0)
        if result.messages:
            assert self.intakes[network].record(network, result.messages, ImportReport(network))
        self.handler.handle(network, result.events)
        self.offsets[network] = result.next_offset

    def contact(self, lastname: str = "Petrov", **fields: str) -> str:
        return self.crm_box.seed("Contacts", {"lastname": lastname, "assigned_user_id": "19x1", **fields})

    def messages(self) -> list[dict[str, str]]:
        return self.crm_box.records("SPSocialConnector")


def _bots(
    tmp_path: Path, *, unknown_sender: str = "skip", language: str = "salesplatform-7.2"
) -> Iterator[Bots]:
    with (
        VtigerSandbox(language, messengers=True) as crm_box,
        TelegramSandbox(rate_limit=None) as tg_box,
        MaxSandbox(rate_limit=None) as max_box,
    ):
        client = VtigerClient(crm_box.url, crm_box.username, crm_box.access_key)
        now = [dt.datetime.now(dt.UTC)]
        store = Store(tmp_path / "state.sqlite3", clock=lambda: now[0])
        providers: dict[str, Provider] = {
            "telegram": TelegramProvider(tg_box.token, api_url=tg_box.url, rate_limiter=_fast()),
            "max": MaxProvider(max_box.token, api_url=max_box.url, rate_limiter=_fast()),
        }
        crm = Crm(client, timezone="UTC")
        crm.check_schema(list(providers))
        crm.language = "ru"
        index = UrlIndex(crm, providers, store.url_index)
        intakes = {
            n: Intake(crm, providers, store.ledger, index, api_user_id="19x1", unknown_sender=unknown_sender)
            for n in providers
        }
        handler = BotEventHandler(
            crm, providers, store.invitations, store.bot_events, index, intakes, store.kv
        )
        try:
            yield Bots(crm_box, tg_box, max_box, crm, store, providers, index, intakes, handler, now)
        finally:
            for closable in (*providers.values(), client, store):
                closable.close()  # type: ignore[attr-defined]


@pytest.fixture
def bots(tmp_path: Path) -> Iterator[Bots]:
    yield from _bots(tmp_path)


def _token(invitation: Invitation) -> str:
    return invitation.link.rsplit("start=", 1)[1]


@pytest.mark.parametrize("network", ["telegram", "max"])
def test_invite_start_link_send_and_reply_end_to_end(bots: Bots, network: str) -> None:
    record = bots.contact("Petrov")
    invitation = bots.inviter().invite(record, network)
    box = bots.tg_box if network == "telegram" else bots.max_box
    host = "t.me" if network == "telegram" else "max.ru"
    assert invitation.link.startswith(f"https://{host}/crm_bridge_bot?start=")
    token = _token(invitation)
    assert len(token) == 32 and record not in invitation.link
    uid = box.add_user("Иван", "Петров")
    box.press_start(uid, token)
    bots.poll(network)

    contact = bots.crm_box.records("Contacts")[0]
    field_name = "tg_url" if network == "telegram" else "max_url"
    assert contact[field_name] == (f"tg://user?id={uid}" if network == "telegram" else str(uid))
    assert contact["firstname"] == "Иван" and contact["lastname"] == "Petrov"  # only the empty field filled
    [start] = bots.messages()
    assert (
        start["type"] == "Incoming"
        and "/start" in start["message"]
        and "клиент начал диалог" in start["message"]
    )
    assert bots.crm_box.related(start["id"]) == [record]

    sender = Sender(bots.crm, bots.providers, bots.store.outbox, bots.store.ledger, api_user_id="19x1")
    outbox_id = sender.enqueue(SendRequest(record, "Здравствуйте! Ваш заказ готов."))
    send = bots.store.outbox.get_send(outbox_id)
    assert send is not None and sender.process(send)
    assert [m for m in box.delivered_to(uid) if "заказ готов" in str(m)]

    box.incoming(uid, "Спасибо, заберу завтра")
    bots.poll(network)
    texts = {m["message"]: m for m in bots.messages()}
    reply = texts["Спасибо, заберу завтра"]
    assert reply["type"] == "Incoming" and bots.crm_box.related(reply["id"]) == [record]
    assert len(bots.messages()) == 3  # the Start, the send, the reply: each once


@pytest.mark.parametrize("network", ["telegram", "max"])
def test_a_token_works_once_and_a_repeated_poll_does_nothing_twice(bots: Bots, network: str) -> None:
    first, second = bots.contact("First"), bots.contact("Second")
    token = _token(bots.inviter().invite(first, network))
    box = bots.tg_box if network == "telegram" else bots.max_box
    owner, forwarded = box.add_user("Anna", "Owner"), box.add_user("Boris", "Forwarded")
    box.press_start(owner, token)
    provider = bots.providers[network]
    assert isinstance(provider, TelegramProvider | MaxProvider)
    result = provider.poll_updates(None, 0)
    bots.handler.handle(network, result.events)
    bots.handler.handle(network, result.events)  # the offset was not stored: the same events again
    assert len(bots.messages()) == 1
    bots.offsets[network] = result.next_offset
    box.press_start(forwarded, token)  # the e-mail was forwarded: the token is used
    bots.poll(network)
    field_name = "tg_url" if network == "telegram" else "max_url"
    values = {r["lastname"]: r[field_name] for r in bots.crm_box.records("Contacts")}
    assert str(owner) in values["First"] and values["Second"] == ""
    assert len(bots.messages()) == 1  # the stranger's Start: unknown sender, skipped
    assert second


def test_expired_and_unknown_tokens_link_nothing_with_one_log_line(
    bots: Bots, caplog: pytest.LogCaptureFixture
) -> None:
    record = bots.contact()
    token = _token(bots.inviter().invite(record, "telegram"))
    bots.now[0] += dt.timedelta(days=3, minutes=1)  # default validity: 3 days
    uid = bots.tg_box.add_user("Late", "Client")
    other = bots.tg_box.add_user("Forger", "X")
    with caplog.at_level(logging.INFO, logger="bridge.services.bot_events"):
        bots.tg_box.press_start(uid, token)
        bots.tg_box.press_start(other, "A" * 32)
        bots.poll("telegram")
    lines = [r.getMessage() for r in caplog.records]
    assert sum("invitation that is expired" in line for line in lines) == 1
    assert sum("invitation that is unknown" in line for line in lines) == 1
    assert token not in caplog.text and "A" * 32 not in caplog.text
    assert bots.crm_box.records("Contacts")[0]["tg_url"] == "" and bots.messages() == []


def test_unknown_sender_becomes_a_lead_when_the_policy_says_so(tmp_path: Path) -> None:
    for bots in _bots(tmp_path, unknown_sender="create_lead"):
        uid = bots.max_box.add_user("Ольга", "Новикова")
        bots.max_box.press_start(uid)  # from the bot's page, no invitation
        bots.poll("max")
        [lead] = bots.crm_box.records("Leads")
        assert lead["lastname"] == "Новикова" and lead["max_url"] == str(uid)
        [start] = bots.messages()
        assert bots.crm_box.related(start["id"]) == [lead["id"]]


def test_stop_is_noted_on_the_linked_record_once(bots: Bots) -> None:
    record = bots.contact()
    token = _token(bots.inviter().invite(record, "max"))
    uid = bots.max_box.add_user("Pavel", "Stopper")
    bots.max_box.press_start(uid, token)
    bots.poll("max")
    bots.max_box.stop_bot(uid)
    provider = bots.providers["max"]
    assert isinstance(provider, MaxProvider)
    result = provider.poll_updates(bots.offsets["max"], 0)
    bots.handler.handle("max", result.events)
    bots.handler.handle("max", result.events)
    comments = bots.crm_box.records("ModComments")
    assert len(comments) == 1 and "остановил или заблокировал бота MAX" in comments[0]["commentcontent"]
    assert comments[0]["related_to"] == record


def test_a_max_dialog_seen_in_a_start_is_kept_for_a_restarted_bridge(bots: Bots) -> None:
    record = bots.contact()
    token = _token(bots.inviter().invite(record, "max"))
    uid = bots.max_box.add_user("Dina", "Dialog")
    bots.max_box.press_start(uid, token)
    bots.poll("max")
    fresh = MaxProvider(bots.max_box.token, api_url=bots.max_box.url, rate_limiter=_fast())
    try:
        assert fresh.dialog_of(str(uid)) is None  # type: ignore[arg-type]
        assert seed_dialogs(bots.store.kv, "max", fresh) == 1
        assert fresh.dialog_of(str(uid)) is not None  # type: ignore[arg-type]
    finally:
        fresh.close()


def test_invite_refuses_what_it_cannot_do_and_stores_nothing(bots: Bots) -> None:
    record = bots.contact()
    inviter = bots.inviter()
    with pytest.raises(InviteRefused, match="vk is not enabled"):
        inviter.invite(record, "vk")
    with pytest.raises(InviteRefused, match="not found"):
        inviter.invite("12x999999", "telegram")
    assert bots.store.invitations.of_record("12x999999") == []
    one, two = inviter.invite(record, "telegram"), inviter.invite(record, "telegram")
    assert one.link != two.link and len(bots.store.invitations.of_record(record)) == 2
    rows = bots.store._db.execute("SELECT token_hash FROM invitation")
    assert all(_token(one) not in str(tuple(r)) for r in rows)  # only hashes are kept


def test_a_telegram_send_refused_with_429_is_sent_again_by_a_restarted_bridge(bots: Bots) -> None:
    """429 proves nothing went out: a new process (which cannot look into the chat) may send it again,
    instead of calling it "delivery unknown"."""
    uid = bots.tg_box.add_user("Rate", "Limited")
    bots.tg_box.press_start(uid)
    record = bots.contact("Limited", tg_url=f"tg://user?id={uid}")
    clock = [dt.datetime.now(dt.UTC)]
    first = Sender(bots.crm, bots.providers, bots.store.outbox, bots.store.ledger, now=lambda: clock[0])
    outbox_id = first.enqueue(SendRequest(record, "Повторите, пожалуйста"))
    bots.tg_box.flood(retry_after=1)
    send = bots.store.outbox.get_send(outbox_id)
    assert send is not None and not first.process(send)
    assert send is not None and bots.store.outbox.get_send(outbox_id).target("telegram").error_code == (  # type: ignore[union-attr]
        "ProviderRateLimited"
    )
    restarted = TelegramProvider(bots.tg_box.token, api_url=bots.tg_box.url, rate_limiter=_fast())
    try:
        clock[0] += dt.timedelta(hours=2)
        again = Sender(
            bots.crm, {"telegram": restarted}, bots.store.outbox, bots.store.ledger, now=lambda: clock[0]
        )
        send = bots.store.outbox.get_send(outbox_id)
        assert send is not None and again.process(send)
    finally:
        restarted.close()
    assert len(bots.tg_box.delivered_to(uid)) == 1
    [message] = bots.messages()
    assert message["tg_status"] == "Sent"


@pytest.mark.parametrize("network", ["telegram", "max"])
def test_a_message_in_the_same_poll_as_the_start_reaches_the_record_the_start_linked(
    bots: Bots, network: str
) -> None:
    """The scheduled import hands a poll's events over before recording its messages: a client who presses
    Start and writes at once (one poll brings both) is linked first, so the message finds the record."""
    from bridge.services.importing import Importer

    record = bots.contact("Quick")
    token = _token(bots.inviter().invite(record, network))
    box = bots.tg_box if network == "telegram" else bots.max_box
    uid = box.add_user("Quick", "Writer")
    importer = Importer(
        bots.crm, bots.providers, bots.store.cursors, bots.store.ledger, bots.index, start="now"
    )
    importer.intake = bots.intakes[network]
    importer.on_events = bots.handler.handle
    importer.run(network)  # the first run: the start cursor
    box.press_start(uid, token)
    box.incoming(uid, "Сразу вопрос: когда доставка?")
    importer.run(network)
    texts = {m["message"]: m for m in bots.messages()}
    assert bots.crm_box.related(texts["Сразу вопрос: когда доставка?"]["id"]) == [record]


@pytest.mark.parametrize("network", ["telegram", "max"])
def test_the_stream_hands_a_polls_start_over_before_its_message(bots: Bots, network: str) -> None:
    """The long-poll runner (bridge/services/stream.py), as the daemon wires it for bots: a Start and a
    message in one poll reach the record the Start linked."""
    from bridge.services.stream import StreamIntake

    record = bots.contact("Stream")
    token = _token(bots.inviter().invite(record, network))
    box = bots.tg_box if network == "telegram" else bots.max_box
    uid = box.add_user("Stream", "Writer")
    provider = bots.providers[network]
    assert isinstance(provider, LongPolling)
    # The stream's position from an earlier poll (MAX answers a poll without a marker with its latest
    # update only), then both updates wait for the stream's first poll.
    bots.store.cursors.set(network, provider.poll_updates(None, 0).next_offset)
    box.press_start(uid, token)
    box.incoming(uid, "Вопрос сразу после Start")
    stream = StreamIntake(
        network, provider, bots.intakes[network], bots.store.cursors, bots.handler.handle, 1, backoff=(0.05,)
    ).start()
    try:
        assert wait_for(lambda: any(m["message"] == "Вопрос сразу после Start" for m in bots.messages()))
    finally:
        stream.stop()
    texts = {m["message"]: m for m in bots.messages()}
    assert bots.crm_box.related(texts["Вопрос сразу после Start"]["id"]) == [record]
