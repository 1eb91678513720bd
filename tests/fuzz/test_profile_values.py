"""Hostile profile values from VK (HTML, quotes, control characters, 10 KB strings, wrong dates) go through
`ProfileImporter.import_record` into the vtiger sandbox over real HTTP: each value is written as the text it
is, or skipped with a report line, and no other field of the record changes.

Seeded and bounded: 40 examples, each a handful of HTTP calls to sandboxes on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bridge.conftest import World
from tests.security.world_support import open_world

NASTY = [
    "<script>alert('x')</script>",
    "<b>Анна</b>",
    'O\'Brien "Jr"',
    "' OR 1=1 --",
    "a\x00b\x07c",
    "line\r\nbreak",
    "&amp;&lt;&#x27;",
    "\u202eevil",
    "%s%n{0}",
    "{{7*7}}",
    "\\'\\\"",
    "\t \u00a0 ",
    "",
    "   ",
    "😀 emoji",
    "Ё" * 10240,
    "x" * 10240,
    "<" * 5000,
    'Зеленоград, ул. "Центральная"',
]
BDATES = [
    "3.7.1991",
    "31.2.2000",
    "29.2.2001",
    "29.2.2000",
    "1.13.1990",
    "0.0.0",
    "12/05/1990",
    "1990-05-12",
    "3.7",
    "99.99.9999",
    "",
    "..",
    "1.1.-5",
    "١.١.١٩٩٠",
    "3.7.1991<br>",
    "3.7.19910",
]
# Which VK field feeds which Contacts field (the default profile map).
FED = {
    "mobile_phone": "mobile",
    "home_phone": "homephone",
    "city": "mailingcity",
    "country": "mailingcountry",
}
SENTINELS = {
    "description": "описание <не трогать> 'as is'",
    "mailingstreet": "ул. Ленина, 1",
    "department": 'Sales & "Co"',
}
ASTRAL = re.compile(r"[\U00010000-\U0010FFFF]")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Kept by vtiger itself on every save: the modification stamp and the record label derived from the name.
UNTOUCHED_BY_DESIGN = {"modifiedtime", "modifiedby", "label"}


def _values() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(
            lambda s: (s * 2000)[:10240]
        ),  # long values: 10 KB and over a column's size
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with open_world(tmp_path_factory.mktemp("profile-fuzz")) as opened:
        yield opened


_serial = itertools.count(1)


def _check_one(world: World, names: tuple[str, str], fields: dict[str, str], bdate: str) -> None:
    n = next(_serial)
    world.vk_box.add_user(names[0], names[1], screen_name=f"fuzz_person_{n}", bdate=bdate, **fields)
    record = world.contact("Fuzz", vk_url=f"https://vk.com/fuzz_person_{n}", **SENTINELS)
    before: dict[str, Any] = dict(world.crm_box.get(record) or {})
    report = world.profiles().import_record(record)
    after: dict[str, Any] = dict(world.crm_box.get(record) or {})

    # Nothing but the written fields changed; the record's own values are intact.
    changed = {k for k in before if after.get(k) != before[k]} - UNTOUCHED_BY_DESIGN
    assert changed <= set(report.written), (changed, report)
    for key, value in SENTINELS.items():
        assert after[key] == value
    assert after["lastname"] == "Fuzz"  # filled already: never overwritten
    # What was written is stored as written, with no control character and no stray whitespace.
    for field, value in report.written.items():
        # A 3-byte-utf8 CRM (SalesPlatform's default) keeps `?` for each emoji, and MySQL cuts a value
        # longer than its column: both have their own tests below. Whatever is stored is the value's start.
        expected = ASTRAL.sub("?", value)
        assert after[field] and after[field] == expected[: len(after[field])], field
        assert not CONTROL.search(value) and value == value.strip()
    if "birthday" in report.written:
        assert dt.date.fromisoformat(report.written["birthday"])
    # Every mapped value that was offered is accounted for: written, skipped or reported.
    accounted = set(report.written) | set(report.skipped_filled) | set(report.not_provided)
    for vk_field, crm_field in FED.items():
        if CONTROL.sub("", fields.get(vk_field, "")).strip():
            assert crm_field in accounted or report.errors, (crm_field, report)


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    first=_values(),
    last=_values(),
    fields=st.fixed_dictionaries({}, optional={name: _values() for name in FED}),
    bdate=st.one_of(st.sampled_from(BDATES), st.text(max_size=12)),
)
def test_hostile_profile_values_are_written_safely_or_skipped(
    world: World, first: str, last: str, fields: dict[str, str], bdate: str
) -> None:
    _check_one(world, (first, last), fields, bdate)


@pytest.mark.parametrize("value", NASTY)
def test_each_nasty_value_in_every_fed_field(world: World, value: str) -> None:
    _check_one(world, (value, value), dict.fromkeys(FED, value), value)


def test_emoji_in_a_profile_is_kept_readable_on_a_3_byte_crm(world: World) -> None:
    world.crm.bmp_only = True  # what the start-up probe finds on SalesPlatform's default charset
    try:
        world.vk_box.add_user("Анна 🌸", "Emoji", screen_name="emoji_person", city="Сочи 🌴")
        record = world.contact("Emoji", vk_url="https://vk.com/emoji_person")
        world.profiles().import_record(record)
        stored = world.crm_box.get(record) or {}
        assert "?" not in stored["firstname"] and "?" not in stored["mailingcity"], stored
    finally:
        world.crm.bmp_only = None


def test_a_value_longer_than_its_column_is_reported_not_cut_silently(world: World) -> None:
    long_name = "Константин-Александр" * 10
    world.vk_box.add_user(long_name, "Long", screen_name="long_person")
    record = world.contact("Long", vk_url="https://vk.com/long_person")
    report = world.profiles().import_record(record)
    stored = (world.crm_box.get(record) or {})["firstname"]
    assert report.written.get("firstname") == stored or any("firstname" in e for e in report.errors)
