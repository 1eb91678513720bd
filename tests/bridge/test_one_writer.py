"""One CRM record per network message, whichever path sees it first: the send or the import.

The two paths run on threads against the sandboxes; the sandboxes' `hold` knobs put their requests in an
exact order (a VK answer kept back while the import reads VK, a slow CRM create), so each interleaving
happens every run, not one run in ten.

While a send waits for a network's answer, the import leaves our messages to that person on that network
to the send (the send ties its networks' messages into one record). An import records a send's message
first only after the send's attempt ended without an answer and waits for its retry (`unheard_send`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bridge.crm import Crm
from bridge.services.importing import Importer
from bridge.services.linking import UrlIndex
from bridge.services.sending import Sender, SendRequest
from bridge.store import Store, TargetState
from providers.vk import VkProvider
from tests.bridge.conftest import World, fast_limiter
from tests.daemon.helpers import wait_for
from vtiger_ws import VtigerClient, VtigerConnectionError


def client(world: World, name: str = "olga_race") -> tuple[str, int]:
    uid = world.vk_box.add_user("Olga", "Race", screen_name=name)
    world.vk_box.incoming(uid, "hello")  # she wrote first, so the community may answer
    record = world.contact("Race", vk_url=f"https://vk.com/{name}")
    return record, uid


def caught_up(world: World) -> tuple[str, int, Importer]:
    """A client and an import that has read everything there is (her "hello", VK message 1)."""
    record, uid = client(world)
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("vk")
    return record, uid, importer


class Clock:
    """The send's clock: a retry is made due without waiting for it."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def hasty_vk(world: World) -> Iterator[VkProvider]:
    """VK as a bridge talks to it that gives up waiting for an answer after 1.5 s."""
    box = world.vk_box
    with closing(
        VkProvider(
            box.community_token,
            group_id=box.group_id,
            api_url=box.url,
            rate_limiter=fast_limiter(),
            timeout=1.5,
        )
    ) as vk:
        yield vk


def unheard_send(world: World, vk: VkProvider, record: str, text: str) -> Sender:
    """A VK send that VK delivered but whose answer never came (the bridge's read timed out): it waits for
    its retry, its message in VK's history and in no ledger. Returns its sender, the retry due now."""
    clock = Clock()
    sender = Sender(
        world.crm, {"vk": vk}, world.store.outbox, world.store.ledger, api_user_id="19x1", now=clock
    )
    outbox_id = sender.enqueue(SendRequest(record, text, networks=("vk",)))
    world.vk_box.faults.slow(4.0, operation="messages.send", after=True, times=1)
    assert sender.process_due() == 0
    send = world.store.outbox.get_send(outbox_id)
    assert send is not None and send.target("vk").state is TargetState.PENDING
    clock.now += dt.timedelta(hours=1)
    return sender


def records_of(world: World, text: str) -> list[dict[str, str]]:
    return [m for m in world.messages() if m["message"] == text]


def started(target: object, *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_an_import_that_sees_a_sent_message_first_records_it_and_the_send_adopts_the_record(
    world: World, hasty_vk: VkProvider
) -> None:
    record, uid, importer = caught_up(world)  # only the send's message will be new
    sender = unheard_send(world, hasty_vk, record, "one record, please")
    import_create = threading.Event()
    world.crm_box.faults.hold(import_create, operation="create")  # the first create (the import's) is slow

    creates = world.crm_box.count("create")
    importing = started(importer.run, "vk")  # sees the message before the send knows its id
    assert wait_for(lambda: world.crm_box.count("create") == creates + 1)
    # The retry: VK answers the same random_id with that message, and the send comes to record it while
    # the import's create runs.
    assert sender.process_due() == 0
    import_create.set()
    importing.join(15)
    sender.process_due()  # the pass after the import recorded it

    (message,) = records_of(world, "one record, please")
    (delivered,) = world.vk_box.delivered_to(uid)
    assert (message["vk_status"], message["vk_message_id"]) == ("Sent", str(delivered["id"]))
    assert world.crm_box.related(message["id"]) == [record]
    assert world.store.outbox.depth() == 0
    assert world.store.ledger.lookup("vk", [str(delivered["id"])]) == {str(delivered["id"]): message["id"]}


def test_a_send_recording_its_message_slowly_is_left_alone_by_the_import(world: World) -> None:
    record, _, importer = caught_up(world)
    sender = world.sender()
    sender.enqueue(SendRequest(record, "mine to record", networks=("vk",)))
    send_create = threading.Event()
    world.crm_box.faults.hold(send_create, operation="create")

    creates = world.crm_box.count("create")
    sending = started(sender.process_due)
    assert wait_for(lambda: world.crm_box.count("create") == creates + 1)
    report = importer.run("vk")
    send_create.set()
    sending.join(15)

    assert (report.fetched, report.created) == (1, 0)
    (message,) = records_of(world, "mine to record")
    assert world.crm_box.related(message["id"]) == [record]


def test_a_send_takes_over_from_an_import_that_died_after_its_create(
    world: World, hasty_vk: VkProvider
) -> None:
    record, _, importer = caught_up(world)
    sender = unheard_send(world, hasty_vk, record, "taken over")
    import_create = threading.Event()
    world.crm_box.faults.hold(import_create, operation="create", after=True)  # created, answer kept back

    importing = started(importer.run, "vk")
    assert wait_for(lambda: len(records_of(world, "taken over")) == 1)  # the import's record exists
    sender.process_due()  # the import holds the claim: the send waits for it
    assert world.store.outbox.depth() == 1
    # The import's process dies here (its thread is left hanging); the next start frees its claim.
    world.store.release_all_leases()
    sender.process_due()  # looks the message up in the CRM by its VK id before creating: finds it
    import_create.set()
    importing.join(15)

    (message,) = records_of(world, "taken over")
    assert world.crm_box.related(message["id"]) == [record] and message["vk_status"] == "Sent"
    assert world.store.outbox.depth() == 0


def test_an_import_run_meeting_another_live_run_reads_its_window_again(world: World) -> None:
    record, uid, first = caught_up(world)
    second = world.importer()  # as another process: no lock shared with the first
    world.vk_box.incoming(uid, "wanted once")
    cursor = world.store.cursors.get("vk")
    creates, create = world.crm_box.count("create"), threading.Event()
    world.crm_box.faults.hold(create, operation="create")

    running = started(first.run, "vk")
    assert wait_for(lambda: world.crm_box.count("create") == creates + 1)
    report = second.run("vk")
    unmoved = world.store.cursors.get("vk") == cursor  # the window is read again, not passed
    create.set()
    running.join(15)

    assert (report.busy, report.created, report.fetched, unmoved) == (1, 0, 1, True)
    (message,) = records_of(world, "wanted once")
    assert world.crm_box.related(message["id"]) == [record]
    assert second.run("vk").fetched == 0 and world.store.cursors.get("vk") != cursor


def test_a_new_state_file_adopts_the_messages_the_crm_already_holds(world: World, tmp_path: Path) -> None:
    record, uid, importer = caught_up(world)
    ids = [1] + [world.vk_box.incoming(uid, f"before the loss {n}") for n in range(3)]
    assert importer.run("vk").created == 3
    cursor = world.store.cursors.get("vk")

    # The state file is lost; a fresh one starts with no cursor and no ledger.
    world.store.close()
    world.store = Store(tmp_path / "new-state.sqlite3")
    later = world.vk_box.incoming(uid, "after the loss")
    importer = world.importer()
    world.index().refresh(full=True)
    first = importer.run("vk")
    second = importer.run("vk")

    assert (first.created, first.already_known) == (1, 4) and second.fetched == 0
    assert world.store.cursors.get("vk") not in (None, cursor)
    messages = world.messages()
    assert sorted(int(m["vk_message_id"]) for m in messages) == sorted([*ids, later])
    assert all(world.crm_box.related(m["id"]) == [record] for m in messages)
    assert world.store.ledger.lookup("vk", [str(i) for i in ids])  # adopted into the ledger


def test_two_messages_from_one_unknown_sender_make_one_lead(world: World) -> None:
    stranger = world.vk_box.add_user("Twice", "Writer", screen_name="twice_writer")
    importer = world.importer(unknown_sender="create_lead")
    importer.run("vk")
    world.vk_box.incoming(stranger, "first")
    world.vk_box.incoming(stranger, "second")
    report = importer.run("vk")
    assert (report.created, report.leads_created) == (2, 1)
    (lead,) = world.crm_box.records("Leads")
    assert all(world.crm_box.related(m["id"]) == [lead["id"]] for m in world.messages())


def test_an_import_create_left_without_an_answer_keeps_its_claim_so_the_send_does_not_record_twice(
    world: World, hasty_vk: VkProvider
) -> None:
    """The import's create times out while vtiger is still writing it (it commits a moment later). The
    claim must outlive the failed run: a send that came to record the message meanwhile would find nothing
    in the CRM yet and create a second record."""
    record, uid, _ = caught_up(world)
    # The import talks to the CRM through a client that gives up after 1 s, as a real one does at its timeout.
    impatient = VtigerClient(
        world.crm_box.url, world.crm_box.username, world.crm_box.access_key, timeout=(5.0, 1.0)
    )
    crm = Crm(impatient, timezone="UTC")
    crm.check_schema(["vk", "x", "facebook"])
    index = UrlIndex(crm, world.providers, world.store.url_index)  # type: ignore[arg-type]
    importer = Importer(
        crm,
        world.providers,
        world.store.cursors,
        world.store.ledger,
        index,  # type: ignore[arg-type]
        api_user_id="19x1",
    )
    importer.intake.lease_seconds = 3.0
    sender = unheard_send(world, hasty_vk, record, "written after the timeout")
    import_create = threading.Event()
    world.crm_box.faults.hold(import_create, operation="create")  # vtiger is slow to write the import's

    with pytest.raises(VtigerConnectionError):
        importer.run("vk")  # its create is still being written when it gives up
    sender.process_due()  # the send comes to record while the import's create is still under way
    import_create.set()  # now vtiger commits the import's record
    assert wait_for(lambda: len(records_of(world, "written after the timeout")) == 1)
    # When the dead run's claim has run out, the send looks in the CRM first and adopts that record.
    assert wait_for(lambda: sender.process_due() >= 0 and world.store.outbox.depth() == 0, timeout=20)

    (message,) = records_of(world, "written after the timeout")
    (delivered,) = world.vk_box.delivered_to(uid)
    assert (message["vk_status"], message["vk_message_id"]) == ("Sent", str(delivered["id"]))
    assert world.crm_box.related(message["id"]) == [record]
    impatient.close()


class Killed(BaseException):
    """Stands for the process dying at this line (BaseException: no `except Exception` swallows it)."""


def vk_and_x_client(world: World) -> tuple[str, int, str, Importer]:
    """A client on VK and X, and an import of both networks that has read everything there is."""
    uid = world.vk_box.add_user("Vera", "Both", screen_name="vera_both")
    world.vk_box.incoming(uid, "hello")  # she wrote first, so the community may answer
    xid = world.x_box.add_user("vera_x", "Vera Both")
    record = world.contact("Both", vk_url="https://vk.com/vera_both", tw_url="https://x.com/vera_x")
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("vk")
    importer.run("x")
    return record, uid, xid, importer


def the_one_record(world: World, text: str, record: str, uid: int, xid: str) -> None:
    found = records_of(world, text)
    assert len(found) == 1, f"one send, {len(found)} CRM records: {found}"
    ((vk,), (x,)), message = (world.vk_box.delivered_to(uid), world.x_box.delivered_to(xid)), found[0]
    assert (message["vk_status"], message["vk_message_id"]) == ("Sent", str(vk["id"]))
    assert (message["tw_status"], message["tw_message_id"]) == ("Sent", str(x["id"]))
    assert world.crm_box.related(message["id"]) == [record]
    assert world.store.outbox.depth() == 0


def test_each_network_import_seeing_its_message_of_one_send_first_makes_one_record(world: World) -> None:
    """VK's and X's imports each see their network's message of one send before the send knows its id.
    The ledger is per network message: were each import to record "its" message, the send would get two
    records, nothing tying the two messages to one send until the send marks them."""
    record, uid, xid, importer = vk_and_x_client(world)
    sender = world.sender()
    sender.enqueue(SendRequest(record, "one send, two networks"))
    vk_answer, x_answer = threading.Event(), threading.Event()
    world.vk_box.faults.hold(vk_answer, operation="messages.send", after=True)  # delivered, answer kept back
    world.x_box.faults.hold(x_answer, operation="dm_create", after=True)

    sending = started(sender.process_due)
    assert wait_for(lambda: len(world.vk_box.delivered_to(uid)) == 1)
    vk_report = importer.run("vk")  # sees the VK message while the send waits for VK's answer
    vk_answer.set()
    assert wait_for(lambda: len(world.x_box.delivered_to(xid)) == 1)
    x_report = importer.run("x")  # sees the DM while the send waits for X's answer
    x_answer.set()
    sending.join(15)
    later = [importer.run("vk"), importer.run("x")]  # the sent messages are the send's now

    the_one_record(world, "one send, two networks", record, uid, xid)
    # Each import left its message to the send, read its window again and found it the send's.
    assert (vk_report.created, vk_report.busy, x_report.created, x_report.busy) == (0, 1, 0, 1)
    assert [(r.created, r.busy, r.already_known) for r in later] == [(0, 0, 1), (0, 0, 1)]


def test_a_send_killed_after_x_accepted_makes_one_record_with_both_imports_running(world: World) -> None:
    """The flaky daemon test's interleaving (tests/reliability/test_crash.py, killed after x:dm_create with
    X's lane first): X holds the DM, the state file says `sending`; after the restart VK is delivered while
    both networks' imports run, each seeing the send's message on its network before the send marks it."""
    record, uid, xid, importer = vk_and_x_client(world)
    sender = world.sender()
    outbox_id = sender.enqueue(SendRequest(record, "killed after X"))
    send = world.store.outbox.claim_send_for("x", sender.now(), sender.lease_seconds)
    assert send is not None and send.id == outbox_id

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed("the daemon dies before it hears X's answer")

    world.store.outbox.mark_target_sent = killed  # type: ignore[method-assign]
    with pytest.raises(Killed):
        sender.deliver_to(send, "x")
    del world.store.outbox.mark_target_sent
    assert len(world.x_box.delivered_to(xid)) == 1
    world.store.release_all_leases()  # the restart (App.prepare)

    sender = world.sender()
    vk_answer = threading.Event()
    world.vk_box.faults.hold(vk_answer, operation="messages.send", after=True)
    sending = started(sender.process_due)  # VK now, then X (found delivered), then the CRM record
    assert wait_for(lambda: len(world.vk_box.delivered_to(uid)) == 1)
    reports = [importer.run("x"), importer.run("vk")]  # the start-up imports
    vk_answer.set()
    sending.join(15)
    reports += [importer.run("x"), importer.run("vk")]

    the_one_record(world, "killed after X", record, uid, xid)
    assert [(r.created, r.busy) for r in reports] == [(0, 1), (0, 1), (0, 0), (0, 0)]
