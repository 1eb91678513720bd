"""The long-poll runner (bridge/services/stream.py) over real HTTP: VK's Bots Long Poll in the VK sandbox and
Telegram's getUpdates in the Telegram sandbox feed the vtiger sandbox through the import's ledger."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence

import pytest

from bridge.services.intake import Intake
from bridge.services.stream import StreamIntake, StreamOffsets
from providers.base import BotEvent, EventKind
from providers.telegram import TelegramProvider
from sandbox.telegram import TelegramSandbox
from tests.bridge.conftest import World
from tests.contracts_vk_longpoll import validate_answer
from tests.daemon.helpers import wait_for

WAIT = 5  # seconds a poll is held; every test below is answered by events, knobs or stop, not by `wait`


def client(world: World, name: str) -> tuple[str, int]:
    uid = world.vk_box.add_user("Ivan", name, screen_name=name)
    record = world.contact(name, vk_url=f"https://vk.com/{name}")
    return record, uid


def vk_ids(world: World) -> list[int]:
    return sorted(int(m["vk_message_id"]) for m in world.messages())


@pytest.fixture
def streams(world: World) -> Iterator[Callable[..., StreamIntake]]:
    made: list[StreamIntake] = []

    def make(**kwargs: object) -> StreamIntake:
        index = world.index()
        index.refresh(full=True)
        intake = Intake(world.crm, world.providers, world.store.ledger, index, api_user_id="19x1")  # type: ignore[arg-type]
        options: dict[str, object] = {"backoff": (0.05,), "on_events": None, "wait": WAIT}
        options.update(kwargs)
        stream = StreamIntake("vk", world.vk, intake, StreamOffsets(world.store.kv), **options)  # type: ignore[arg-type]
        made.append(stream)
        return stream.start()

    yield make
    for stream in made:
        stream.stop()
    for body in world.vk_box.longpoll.answers:  # every answer the sandbox gave the provider
        validate_answer(body)


def test_messages_are_in_the_crm_as_they_arrive_without_the_scheduled_import(
    world: World, streams: Callable[..., StreamIntake]
) -> None:
    record, uid = client(world, "stream_ivan")
    stream = streams()
    assert wait_for(lambda: world.vk_box.longpoll.waiting == 1, timeout=20)  # held, nothing to record
    assert world.messages() == []
    sent = [world.vk_box.incoming(uid, f"Здравствуйте {n}") for n in range(3)]
    linked = lambda: [m for m in world.messages() if record in world.crm_box.related(m["id"])]  # noqa: E731
    assert wait_for(lambda: sorted(int(m["vk_message_id"]) for m in linked()) == sent, timeout=20)
    assert all(m["vk_status"] == "Received" and m["type"] == "Incoming" for m in world.messages())
    # the offset is VK's ts, persisted after the records; the key is never stored
    assert wait_for(
        lambda: world.store.kv.get("stream.vk.offset") == str(world.vk_box.world.longpoll.last_ts)
    )
    assert not any("key" in str(v) for v in world.store.kv.items("stream.").values())
    snap = stream.snapshot()
    assert (snap["state"], snap["messages"], snap["created"]) in {("polling", 3, 3), ("recording", 3, 3)}
    assert world.vk.stats["messages.getConversations"] == 0  # nothing was imported the scheduled way


def test_stream_and_scheduled_import_on_the_same_messages_make_one_record_each(
    world: World, streams: Callable[..., StreamIntake]
) -> None:
    _, uid = client(world, "both_paths")
    importer = world.importer(limit=200)
    importer.run("vk")  # the import's cursor starts here
    streams()
    sent: list[int] = []
    stop = threading.Event()

    def import_all_the_time() -> None:
        while not stop.is_set():
            importer.run("vk")

    racer = threading.Thread(target=import_all_the_time)
    racer.start()
    try:
        for n in range(40):
            sent.append(world.vk_box.incoming(uid, f"both {n}"))
        assert wait_for(lambda: len(world.messages()) >= len(sent), timeout=60)
    finally:
        stop.set()
        racer.join()
    for _ in range(3):
        importer.run("vk")
    assert vk_ids(world) == sorted(sent)  # each once: the ledger has one writer per message


def test_failed_1_2_3_and_key_expiry_recover_and_the_import_fills_the_gap(
    world: World, streams: Callable[..., StreamIntake]
) -> None:
    _, uid = client(world, "failures")
    lp = world.vk_box.longpoll
    importer = world.importer(limit=200)
    importer.run("vk")
    missed: list[str] = []
    stream = streams(on_missed=lambda network: (missed.append(network), importer.run(network)))
    assert wait_for(lambda: lp.waiting == 1, timeout=20)
    missed.clear()  # the first start (no offset) is a "missed" too; the import ran for it

    first = world.vk_box.incoming(uid, "before any failure")
    assert wait_for(lambda: vk_ids(world) == [first], timeout=20)

    # key expiry (failed 2): a new key, the same ts, nothing lost, nothing reported missing
    lp.expire_keys()
    expired = world.vk_box.incoming(uid, "after the key expired")
    assert wait_for(lambda: vk_ids(world) == [first, expired], timeout=20)
    assert missed == []

    # failed 1: the queue lost events while the stream was held elsewhere -> the import finds them
    with world.vk_box._cond:  # the events are written and lost in one step, before the poll can see them
        lost = [
            world.vk_box.world.add_message(uid, out=False, text=f"lost {n}", date=int(time.time())).id
            for n in range(3)
        ]
        lp.state.evict(keep=0)
        world.vk_box._cond.notify_all()
    assert wait_for(lambda: vk_ids(world) == sorted([first, expired, *lost]), timeout=20)
    assert missed == ["vk"]

    # failed 3: the long-poll server restarts and loses its state (a held poll is cut as well)
    assert wait_for(lambda: lp.waiting == 1, timeout=20)
    with world.vk_box._cond:
        gone = world.vk_box.world.add_message(
            uid, out=False, text="lost in the restart", date=int(time.time())
        ).id
        lp.restart()
    assert wait_for(lambda: gone in vk_ids(world), timeout=20)
    after = world.vk_box.incoming(uid, "after the restart")
    assert wait_for(lambda: after in vk_ids(world), timeout=20)
    assert missed == ["vk", "vk"]
    assert vk_ids(world) == sorted([first, expired, *lost, gone, after])
    assert stream.snapshot()["missed"] >= 2


def test_a_crm_outage_while_recording_does_not_advance_the_offset(
    world: World, streams: Callable[..., StreamIntake]
) -> None:
    _, uid = client(world, "outage")
    streams()
    assert wait_for(lambda: world.vk_box.longpoll.waiting == 1, timeout=20)
    before = world.store.kv.get("stream.vk.offset")
    # the CRM fails the lookup before the create, twice: nothing is written, the offset stays
    world.crm_box.faults.http_error(503, operation="query", times=2)
    polls = world.vk.stats["a_check"]
    message = world.vk_box.incoming(uid, "during the outage")
    assert wait_for(lambda: vk_ids(world) == [message], timeout=30)
    assert wait_for(lambda: int(world.store.kv.get("stream.vk.offset")) > int(before))
    assert world.vk.stats["a_check"] - polls >= 2  # the same ts polled again after each failure


def test_stop_does_not_wait_for_a_held_poll(world: World, streams: Callable[..., StreamIntake]) -> None:
    stream = streams(wait=60)
    assert wait_for(lambda: world.vk_box.longpoll.waiting == 1, timeout=20)
    started = time.monotonic()
    assert stream.stop(grace=1.0)
    assert time.monotonic() - started < 30  # far below the 60 s the poll is held
    assert stream.snapshot()["state"] == "stopped"
    # an answer that comes after stop is not recorded, so its offset is not persisted
    offset = world.store.kv.get("stream.vk.offset")
    _, uid = client(world, "after_stop")
    world.vk_box.incoming(uid, "while stopping")
    time.sleep(0.5)  # the abandoned poll answers now; give it the chance to (wrongly) record
    assert world.messages() == [] and world.store.kv.get("stream.vk.offset") == offset


# --- the runner is generic: Telegram's getUpdates through the same class -----------------------------
@pytest.fixture
def tg() -> Iterator[TelegramSandbox]:
    with TelegramSandbox() as box:
        yield box


def test_the_runner_drives_telegram_offsets_events_and_a_409_conflict(
    world: World, tg: TelegramSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    provider = TelegramProvider(tg.token, api_url=tg.url, timeout=5)
    seen: list[BotEvent] = []
    fail_once = threading.Event()
    fail_once.set()

    def on_events(network: str, events: Sequence[BotEvent]) -> None:
        assert network == "telegram"
        if fail_once.is_set():  # the handler fails once: the offset must not pass these updates
            fail_once.clear()
            raise RuntimeError("handler failed")
        seen.extend(events)

    providers = {**world.providers, "telegram": provider}
    intake = Intake(world.crm, providers, world.store.ledger, world.index(), api_user_id="19x1")  # type: ignore[arg-type]
    stream = StreamIntake(
        "telegram",
        provider,
        intake,
        world.store.cursors,  # for Telegram the stream is the import: its cursor is the offset
        on_events,
        WAIT,
        backoff=(0.05,),
        conflict_backoff=(0.5,),
    ).start()
    try:
        uid = tg.add_user("Иван", "Петров", username="ivan_tg")
        tg.press_start(uid, "crm-lead-77")
        assert wait_for(lambda: len(seen) == 1, timeout=20)
        assert (seen[0].kind, seen[0].payload, seen[0].account_id) == (
            EventKind.STARTED,
            "crm-lead-77",
            str(uid),
        )
        assert wait_for(lambda: world.store.cursors.get("telegram") is not None, timeout=20)
        offset = world.store.cursors.get("telegram")
        assert offset  # persisted after the handler took the event; the next poll confirms it to Telegram
        assert wait_for(lambda: tg.pending() == [], timeout=20)

        # another program takes the updates (a webhook): one clear line, health shows it, slow retries
        polls = tg.count("getUpdates")
        tg.set_webhook("https://example.invalid/hook")
        assert wait_for(lambda: stream.snapshot()["state"] == "conflict", timeout=20)
        time.sleep(1.6)
        conflicts = stream.snapshot()["conflicts"]
        assert 1 <= conflicts <= 5  # 0.5 s apart, not a tight loop
        assert tg.count("getUpdates") - polls <= conflicts + 1
        lines = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
        assert len(lines) == 1 and "remove the webhook" in lines[0] and "intake: poll" in lines[0]
        assert "webhook" in stream.snapshot()["reason"]
        tg.world.webhook_url = ""  # the administrator removed it
        tg.press_start(uid, "second")
        assert wait_for(lambda: len(seen) == 2, timeout=20)
        assert stream.snapshot()["state"] in ("polling", "recording")
        assert world.store.cursors.get("telegram") != offset
    finally:
        stream.stop()
        provider.close()


def test_a_rejected_token_pauses_the_stream_until_the_renewed_one_wakes_it(
    world: World, streams: Callable[..., StreamIntake]
) -> None:
    from providers.vk import VkProvider

    _, uid = client(world, "renewed")
    revoked = VkProvider("vk1.a.revoked-token", group_id=world.vk_box.group_id, api_url=world.vk_box.url)
    stream = streams()
    stream.provider = revoked
    assert wait_for(lambda: stream.snapshot()["state"] == "backing off", timeout=20)
    assert "access key" in stream.snapshot()["reason"]  # VK error 5: the pause is 5 minutes
    stream.provider = world.vk  # what Parts.replace_provider does after a token renewal
    stream.wake()
    message = world.vk_box.incoming(uid, "after the renewal")
    assert wait_for(lambda: vk_ids(world) == [message], timeout=30)
    revoked.close()


def test_no_poll_before_the_index_is_usable_and_a_held_message_is_polled_again(
    world: World, streams: Callable[..., StreamIntake]
) -> None:
    """The daemon starts its streams with the webhook, before its URL index may be usable: the stream does
    not poll until then. A message another writer holds (a send still recording it, another run) is not
    confirmed: VK gives it again on the next poll, so the stream itself records it once it is free."""
    record, uid = client(world, "held")
    ready = threading.Event()
    stream = streams(ready=ready)
    time.sleep(1.0)  # a stream that polled at once would be held by now
    assert world.vk.stats["a_check"] == 0 and stream.snapshot()["state"] == "waiting for the URL index"
    ready.set()
    assert wait_for(lambda: world.vk_box.longpoll.waiting == 1, timeout=20)
    coming = world.vk_box.world.next_message_id  # claimed by another writer before the stream sees it
    world.store.ledger.claim("vk", {str(coming): str(uid)}, token="other-writer", lease_seconds=600)
    polls = world.vk.stats["a_check"]
    message = world.vk_box.incoming(uid, "held by another writer")
    assert message == coming
    assert wait_for(lambda: world.vk.stats["a_check"] - polls >= 3, timeout=20)  # asked again, not confirmed
    assert world.messages() == []
    world.store.ledger.release("other-writer")  # the other writer ended without recording it
    assert wait_for(lambda: vk_ids(world) == [message], timeout=20)
    assert world.crm_box.related(world.messages()[0]["id"]) == [record]
    assert world.vk.stats["messages.getConversations"] == 0  # the stream recorded it, not an import
