"""No URL found in CRM data or in a network's answer is ever fetched: profile photos, websites, links in
messages and captcha images are stored or passed on as text. A canary HTTP server on 127.0.0.1 stands
behind every such URL and must see no request at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.base import AccountId
from providers.errors import ProviderCaptchaRequired
from tests.bridge.conftest import World
from tests.security.canary import serve_canary
from tests.security.world_support import open_world


@pytest.fixture
def canary() -> Iterator[tuple[str, list[str]]]:
    with serve_canary() as (url, hits):
        yield url, hits


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_world(tmp_path) as opened:
        yield opened


def test_profile_import_stores_photo_and_website_urls_without_fetching_them(
    world: World, canary: tuple[str, list[str]]
) -> None:
    base, hits = canary
    world.vk_box.add_user(
        "Canary",
        "Lead",
        screen_name="canary_lead",
        site=f"{base}/site",
        photo_max_orig=f"{base}/photo.jpg",
        photo_200=f"{base}/photo200.jpg",
        about=f"see {base}/about",
        city="Тула",
    )
    uid = world.x_box.add_user(
        "canary_x", "Canary X", url=f"{base}/x-site", description=f"{base}/bio", location=f"{base}/where"
    )
    lead = world.crm_box.seed(
        "Leads",
        {
            "lastname": "Lead",
            "assigned_user_id": "19x1",
            "vk_url": "https://vk.com/canary_lead",
            "tw_url": "https://x.com/canary_x",
        },
    )
    report = world.profiles().import_record(lead)
    assert report.written.get("website") == f"{base}/site"  # stored as text...
    assert world.crm_box.get(lead)["website"] == f"{base}/site"  # type: ignore[index]
    assert world.x.fetch_profiles([AccountId(uid)])  # the X profile with canary URLs was read too
    assert hits == []  # ...and never requested


def test_a_record_url_field_pointing_elsewhere_is_not_fetched(
    world: World, canary: tuple[str, list[str]]
) -> None:
    base, hits = canary
    contact = world.contact("Elsewhere", vk_url=f"{base}/id1", tw_url=f"{base}/jack", fb_url=f"{base}/zuck")
    report = world.profiles().import_record(contact)
    assert report.written == {}
    report = world.profiles().import_record(contact, url=f"{base}/profile")
    assert report.errors and report.written == {}
    assert hits == []


def test_message_import_keeps_links_as_text(world: World, canary: tuple[str, list[str]]) -> None:
    base, hits = canary
    uid = world.vk_box.add_user("Link", "Sender", screen_name="link_sender")
    world.contact("Sender", vk_url="https://vk.com/link_sender")
    importer = world.importer(limit=20)
    world.index().refresh(full=True)
    importer.run("vk")
    world.vk_box.incoming(uid, f"смотрите {base}/invoice.pdf и {base}/pixel.gif")
    assert importer.run("vk").created == 1
    assert any(f"{base}/invoice.pdf" in str(m) for m in world.messages())
    assert hits == []


def test_captcha_image_url_is_passed_on_not_fetched(world: World, canary: tuple[str, list[str]]) -> None:
    base, hits = canary
    uid = world.vk_box.add_user("Captcha", "Person")
    world.vk_box.incoming(uid, "hi")
    world.vk_box.fail_next(14, method="messages.send", captcha_img=f"{base}/captcha.php?sid=1")
    with pytest.raises(ProviderCaptchaRequired) as caught:
        world.vk.send_message(AccountId(str(uid)), "hello", "captcha-key")
    assert caught.value.captcha_img == f"{base}/captcha.php?sid=1"
    assert hits == []
