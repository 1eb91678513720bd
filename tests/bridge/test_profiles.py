"""Profile import over real HTTP: only empty fields are ever written, with one revise."""

from __future__ import annotations

import pytest

from tests.bridge.conftest import World


def test_fills_only_empty_fields_with_one_revise(world: World) -> None:
    uid = world.vk_box.add_user(
        "Ivan",
        "Petrov",
        screen_name="ivan_p",
        bdate="7.3.1985",
        city="Москва",
        country="Россия",
        mobile_phone="+7 900 111-22-33",
        home_phone="+7 495 000-00-00",
        site="ivan.example.org",
    )
    record = world.contact("Petrov-in-CRM", vk_url="https://vk.com/ivan_p", mobile="+7 999 000 00 00")
    world.client.stats.clear()

    report = world.profiles().import_record(record)

    stored = world.crm_box.get(record)
    assert stored is not None
    assert stored["firstname"] == "Ivan"
    assert stored["lastname"] == "Petrov-in-CRM"  # filled: never overwritten
    assert stored["mobile"] == "+7 999 000 00 00"
    assert stored["birthday"] == "1985-03-07"
    assert stored["homephone"] == "+7 495 000-00-00"
    assert stored["mailingcity"] == "Москва"
    assert stored["mailingcountry"] == "Россия"  # no stray leading space
    assert set(report.skipped_filled) == {"lastname", "mobile"}
    assert "email" in report.not_provided
    assert world.client.stats["revise"] == 1
    assert uid
    audit = world.store.audit.for_record(record)
    assert audit and audit[0].written["firstname"] == "Ivan"


def test_nothing_written_when_nothing_is_empty(world: World) -> None:
    world.vk_box.add_user("Anna", "K", screen_name="anna_k", city="Казань")
    record = world.contact("K", firstname="Анна", mailingcity="Самара", vk_url="vk.com/anna_k")
    world.client.stats.clear()
    report = world.profiles().import_record(record)
    assert report.written == {}
    assert world.client.stats["revise"] == 0
    assert world.crm_box.get(record)["mailingcity"] == "Самара"  # type: ignore[index]


def test_zero_is_a_value_not_an_empty_field(world: World) -> None:
    world.vk_box.add_user("Oleg", "Z", screen_name="oleg_z", city="Omsk")
    record = world.contact("Z", mailingcity="0", vk_url="https://vk.com/oleg_z")
    world.profiles().import_record(record)
    assert world.crm_box.get(record)["mailingcity"] == "0"  # type: ignore[index]


def test_birthday_without_year_is_not_written(world: World) -> None:
    world.vk_box.add_user("Pavel", "B", screen_name="pavel_b", bdate="12.9")
    record = world.contact("B", vk_url="https://vk.com/pavel_b")
    report = world.profiles().import_record(record)
    assert world.crm_box.get(record)["birthday"] == ""  # type: ignore[index]
    assert "birthday" in report.not_provided


def test_leads_phone_filled_only_when_empty(world: World) -> None:
    world.vk_box.add_user("Lena", "L", screen_name="lena_l", home_phone="+7 111", mobile_phone="+7 222")
    full = world.crm_box.seed(
        "Leads",
        {"lastname": "L", "phone": "+7 000 keep", "assigned_user_id": "19x1", "vk_url": "vk.com/lena_l"},
    )
    empty = world.crm_box.seed(
        "Leads", {"lastname": "L2", "assigned_user_id": "19x1", "vk_url": "https://vk.com/lena_l"}
    )
    importer = world.profiles()
    importer.import_record(full)
    importer.import_record(empty)
    assert world.crm_box.get(full)["phone"] == "+7 000 keep"  # type: ignore[index]
    assert world.crm_box.get(empty)["phone"] == "+7 111"  # type: ignore[index]


def test_website_is_imported_as_a_full_url(world: World) -> None:
    world.vk_box.add_user("Firm", "Owner", screen_name="firm_owner", site="firm.example.ru")
    account = world.crm_box.seed(
        "Accounts",
        {"accountname": "Firm LLC", "assigned_user_id": "19x1", "vk_url": "https://vk.com/firm_owner"},
    )
    world.profiles().import_record(account)
    assert world.crm_box.get(account)["website"] == "https://firm.example.ru"  # type: ignore[index]


def test_a_field_filled_between_read_and_write_is_left_alone(world: World) -> None:
    world.vk_box.add_user("Ivan", "Race", screen_name="ivan_race", city="Тверь")
    record = world.contact("Race", vk_url="https://vk.com/ivan_race")
    importer = world.profiles()
    original = importer._still_empty

    def someone_types_a_city(*args: object, **kwargs: object) -> dict[str, str]:
        # A sales person saves the record between our first read and our write.
        world.crm_box.seed_update(record, {"mailingcity": "Псков"}) if hasattr(
            world.crm_box, "seed_update"
        ) else world.client.revise({"id": record, "mailingcity": "Псков"})
        fresh = world.client.retrieve(record)
        return original(args[0], fresh, *args[2:], **kwargs)  # type: ignore[arg-type]

    importer._still_empty = someone_types_a_city  # type: ignore[method-assign]
    report = importer.import_record(record)
    assert world.crm_box.get(record)["mailingcity"] == "Псков"  # type: ignore[index]
    assert "mailingcity" in report.skipped_filled
    assert world.crm_box.get(record)["firstname"] == "Ivan"  # type: ignore[index]


def test_dry_run_writes_nothing_and_reports(world: World) -> None:
    world.vk_box.add_user("Dry", "Run", screen_name="dry_run", city="Сочи")
    record = world.contact("Run", vk_url="https://vk.com/dry_run")
    world.client.stats.clear()
    report = world.profiles().import_record(record, dry_run=True)
    assert report.written["mailingcity"] == "Сочи"
    assert world.client.stats["revise"] == 0
    assert world.crm_box.get(record)["mailingcity"] == ""  # type: ignore[index]


def test_screen_name_starting_with_id_is_a_name(world: World) -> None:
    world.vk_box.add_user("Idea", "List", screen_name="idealist", city="Ижевск")
    record = world.contact("List", vk_url="https://vk.com/idealist")
    report = world.profiles().import_record(record)
    assert report.written.get("firstname") == "Idea"


@pytest.mark.parametrize("deactivated", ["deleted", "banned"])
def test_deleted_or_banned_profiles_import_nothing(world: World, deactivated: str) -> None:
    world.vk_box.add_user("Gone", "User", screen_name="gone_user", deactivated=deactivated, city="Тула")
    record = world.contact("User", vk_url="https://vk.com/gone_user")
    report = world.profiles().import_record(record)
    assert report.written == {}
    assert report.errors


def test_batch_backfill_costs_few_requests(world: World) -> None:
    ids = world.vk_box.add_users(250, screen_prefix="bulk_user_")
    records = [world.contact(f"Bulk{n}", vk_url=f"https://vk.com/bulk_user_{n}") for n in range(len(ids))]
    world.client.stats.clear()
    world.vk_box.reset_log()
    progress: list[int] = []
    reports = world.profiles().import_batch("Contacts", progress=lambda done, total: progress.append(done))
    assert len(reports) == len(records)
    assert all(world.crm_box.get(r)["firstname"].startswith("User") for r in records)  # type: ignore[index]
    assert world.client.stats["revise"] == len(records)
    reads = sum(n for op, n in world.client.stats.items() if op in ("query", "retrieve", "describe"))
    assert reads <= 10
    assert world.vk_box.count() <= 3
    assert progress[-1] == len(records)
