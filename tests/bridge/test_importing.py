"""Message import over real HTTP: every new message once, linked to every matching record."""

from __future__ import annotations

from bridge.services.sending import SendRequest
from tests.bridge.conftest import World


def known_client(world: World, name: str = "ivan_imp") -> tuple[str, int]:
    uid = world.vk_box.add_user("Ivan", "Import", screen_name=name)
    record = world.contact("Import", vk_url=f"https://vk.com/{name}")
    return record, uid


def test_45_new_messages_with_limit_20_arrive_over_three_runs_none_twice(world: World) -> None:
    record, uid = known_client(world)
    importer = world.importer(limit=20)
    world.index().refresh(full=True)
    assert importer.run("vk").fetched == 0  # establishes the cursor
    ids = [world.vk_box.incoming(uid, f"message {n}") for n in range(45)]

    created = [importer.run("vk").created for _ in range(4)]

    assert created == [20, 20, 5, 0]
    messages = world.messages()
    assert sorted(int(m["vk_message_id"]) for m in messages) == sorted(ids)
    assert all(m["type"] == "Incoming" and m["vk_status"] == "Received" for m in messages)
    assert all(record in world.crm_box.related(m["id"]) for m in messages)


def test_messages_arriving_between_runs_are_not_skipped(world: World) -> None:
    _, uid = known_client(world)
    importer = world.importer(limit=5)
    world.index().refresh(full=True)
    importer.run("vk")
    first = [world.vk_box.incoming(uid, f"a{n}") for n in range(8)]
    importer.run("vk")
    later = [world.vk_box.incoming(uid, f"b{n}") for n in range(4)]
    for _ in range(4):
        importer.run("vk")
    assert sorted(int(m["vk_message_id"]) for m in world.messages()) == sorted(first + later)


def test_message_is_linked_to_every_matching_record(world: World) -> None:
    uid = world.vk_box.add_user("Shared", "Person", screen_name="shared_person")
    contact = world.contact("Person", vk_url="https://vk.com/shared_person")
    lead = world.crm_box.seed(
        "Leads", {"lastname": "Person", "assigned_user_id": "19x1", "vk_url": f"https://vk.com/id{uid}"}
    )
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("vk")
    world.vk_box.incoming(uid, "hello to both")
    assert importer.run("vk").created == 1
    (message,) = world.messages()
    assert {contact, lead} <= set(world.crm_box.related(message["id"]))


def test_unknown_sender_is_skipped_by_default(world: World) -> None:
    stranger = world.vk_box.add_user("Str", "Anger", screen_name="stranger")
    importer = world.importer()
    importer.run("vk")
    world.vk_box.incoming(stranger, "who am I")
    report = importer.run("vk")
    assert report.unknown_sender == 1 and world.messages() == []


def test_unknown_sender_can_become_a_lead(world: World) -> None:
    stranger = world.vk_box.add_user("New", "Client", screen_name="new_client", city="Тула")
    importer = world.importer(unknown_sender="create_lead")
    importer.run("vk")
    world.vk_box.incoming(stranger, "I want to buy")
    report = importer.run("vk")
    assert report.leads_created == 1
    (lead,) = world.crm_box.records("Leads")
    assert lead["lastname"] == "Client" and lead["vk_url"].endswith(f"id{stranger}")
    (message,) = world.messages()
    assert lead["id"] in world.crm_box.related(message["id"])


def test_a_lead_for_a_sender_with_emoji_in_the_name_gets_them_as_readable_names(world: World) -> None:
    # Seen on a real SalesPlatform 7.2 (tests/real_crm/test_emoji.py): the Lead was named "Ника✨????".
    stranger = world.vk_box.add_user("Ника✨🌸", "Новая🦊", screen_name="nika_emoji")
    importer = world.importer(unknown_sender="create_lead")
    importer.run("vk")
    world.vk_box.incoming(stranger, "Хочу заказать")
    assert importer.run("vk").leads_created == 1
    (lead,) = world.crm_box.records("Leads")
    assert (lead["firstname"], lead["lastname"]) == ("Ника✨:cherry_blossom:", "Новая:fox_face:")


def test_messages_sent_by_the_bridge_are_not_imported_again(world: World) -> None:
    record, uid = known_client(world)
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("vk")
    sender = world.sender()
    sender.enqueue(SendRequest(record, "from the CRM", networks=("vk",)))
    sender.process_due()
    world.vk_box.outgoing_outside(uid, "typed in VK's own UI")
    report = importer.run("vk")
    assert report.created == 1
    texts = sorted((m["type"], m["message"]) for m in world.messages())
    assert texts == [("Outbound", "from the CRM"), ("Outbound", "typed in VK's own UI")]


def test_a_screen_name_link_typed_after_the_index_was_built_is_found(world: World) -> None:
    uid = world.vk_box.add_user("Late", "Comer", screen_name="late_comer")
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("vk")
    record = world.contact("Comer", vk_url="https://vk.com/late_comer")
    world.vk_box.incoming(uid, "hi")
    assert importer.run("vk").created == 1
    assert record in world.crm_box.related(world.messages()[0]["id"])


def test_crash_after_create_before_ledger_does_not_duplicate(world: World) -> None:
    _, uid = known_client(world)
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("vk")
    world.vk_box.incoming(uid, "only once")
    original = world.crm.create_message

    def create_then_die(**kwargs: object) -> str:
        original(**kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    world.crm.create_message = create_then_die  # type: ignore[assignment, method-assign]
    try:
        importer.run("vk")
    except KeyboardInterrupt:
        pass
    del world.crm.create_message
    importer.run("vk")
    assert len(world.messages()) == 1


def test_idle_run_costs_one_vk_request_and_at_most_one_vtiger_request(world: World) -> None:
    known_client(world)
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("vk")
    world.vk_box.reset_log()
    world.client.stats.clear()
    importer.run("vk")
    assert world.vk_box.count() == 1
    assert sum(world.client.stats.values()) <= 1


def test_twenty_messages_from_twenty_known_senders_cost_few_requests(world: World) -> None:
    people = [known_client(world, f"sender_{n}") for n in range(20)]
    importer = world.importer(limit=20)
    world.index().refresh(full=True)
    importer.run("vk")
    for _, uid in people:
        world.vk_box.incoming(uid, "hello")
    world.vk_box.reset_log()
    world.client.stats.clear()
    report = importer.run("vk")
    assert report.created == 20
    assert world.vk_box.count() <= 3
    assert sum(world.client.stats.values()) / 20 <= 2.2


def test_x_direct_messages_are_imported_the_same_way(world: World) -> None:
    xid = world.x_box.add_user("dm_client", "DM Client")
    record = world.contact("Client", tw_url="https://x.com/dm_client")
    importer = world.importer()
    world.index().refresh(full=True)
    importer.run("x")
    world.x_box.incoming_dm(xid, "a DM for the CRM")
    assert importer.run("x").created == 1
    (message,) = world.messages()
    assert message["type"] == "Incoming" and message["tw_status"] == "Received"
    assert message["tw_message_id"] and record in world.crm_box.related(message["id"])


def test_facebook_page_messages_create_a_lead_addressable_by_its_psid(world: World) -> None:
    psid = world.fb_box.add_person("Olga", "Page")
    importer = world.importer(unknown_sender="create_lead")
    importer.run("facebook")
    world.fb_box.incoming(psid, "Do you deliver?")
    report = importer.run("facebook")
    assert report.leads_created == 1
    (lead,) = world.crm_box.records("Leads")
    assert lead["lastname"] == "Page" and psid in lead["fb_url"]
    (message,) = world.messages()
    assert message["message"] == "Do you deliver?" and lead["id"] in world.crm_box.related(message["id"])
    # The Lead's stored link addresses the person: the Page can answer within the 24 h window.
    sender = world.sender()
    sender.enqueue(SendRequest(lead["id"], "Yes, every day", networks=("facebook",)))
    sender.process_due()
    assert [m["text"] for m in world.fb_box.delivered_to(psid)] == ["Yes, every day"]
