"""Profile import through the shipped workflows (vtiger_plugin/workflows.php), after a save in the web UI
and after a save through the webservice: a record created with its link, and a link revised from A to B.

Only empty fields are written: what a person typed stays, and after a revise from A to B nothing of A's
profile reaches the card. A link revised through the webservice (whose workflows run inside its transaction:
issue 9 defect 1) is tests/real_crm/test_issue9_defects.py's first test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.daemon.helpers import wait_for
from vtiger_ws import VtigerClient

from .bridge import Bridge, Networks
from .checks import vk_link, vk_person
from .webui import WebUi

PROFILE = ("firstname", "birthday", "mobile", "mailingcity", "mailingcountry")


def _card(crm: VtigerClient, record: str) -> dict[str, Any]:
    stored = crm.retrieve(record)
    return {name: stored[name] for name in ("lastname", *PROFILE)}


def _imported(crm: VtigerClient, record: str, bridge: Bridge) -> dict[str, Any]:
    """The card once the bridge has carried out every event (the import writes all fields in one revise)."""
    assert wait_for(lambda: crm.retrieve(record)["mailingcity"] != "", timeout=60), bridge.log
    assert wait_for(bridge.settled, timeout=60), bridge.log
    assert bridge.event_errors() == [], bridge.log
    return _card(crm, record)


def _people(networks: Networks) -> tuple[int, int]:
    """A and B: every mapped field different, so a card shows whose profile reached it."""
    a = vk_person(
        networks.vk,
        "Алина",
        "Первая",
        city="Архангельск",
        country="Россия",
        bdate="3.4.1981",
        mobile_phone="+7 911 000-00-01",
    )
    b = vk_person(
        networks.vk,
        "Борис",
        "Второй",
        city="Вологда",
        country="Беларусь",
        bdate="5.6.1992",
        mobile_phone="+7 921 000-00-02",
    )
    return a, b


B_CARD = {
    "birthday": "1992-06-05",
    "mobile": "+7 921 000-00-02",
    "mailingcity": "Вологда",
    "mailingcountry": "Беларусь",
}


def test_a_contact_created_with_its_link_in_the_web_ui_gets_the_profile_in_its_empty_fields(
    social_crm: VtigerClient,
    shipped: Callable[..., None],
    send_bridge: Bridge,
    networks: Networks,
    web_ui: WebUi,
    unique: str,
) -> None:
    crm = social_crm
    _, b = _people(networks)
    shipped()
    record = f"{crm.describe('Contacts').id_prefix}x" + web_ui.save(
        "Contacts", {"lastname": f"{unique} веб", "firstname": "Мария", "vk_url": vk_link(b)}
    )
    try:
        card = _imported(crm, record, send_bridge)
        assert card == {"lastname": f"{unique} веб", "firstname": "Мария", **B_CARD}  # typed: kept
        [event] = [e for e in send_bridge.events() if e["id"] == record]
        assert (event["event"], event["is_new"]) == ("import_profile", True)
    finally:
        crm.delete(record)


def test_a_contact_created_with_its_link_through_the_webservice_gets_the_profile_in_its_empty_fields(
    social_crm: VtigerClient,
    shipped: Callable[..., None],
    send_bridge: Bridge,
    networks: Networks,
    make_record: Callable[..., str],
    unique: str,
) -> None:
    crm = social_crm
    _, b = _people(networks)
    shipped()
    record = make_record("Contacts", vk_url=vk_link(b), mobile="+7 000 000-00-00")
    card = _imported(crm, record, send_bridge)
    assert card == {
        "lastname": f"{unique} 1",
        "firstname": "Борис",
        **B_CARD,
        "mobile": "+7 000 000-00-00",
    }  # the typed phone stays
    assert "waits:" not in send_bridge.log  # posted after the commit: the first read saw the new record


@pytest.mark.parametrize("save", ["webservice", "web UI"])
def test_a_link_revised_from_a_to_b_imports_b_into_the_empty_fields_only(
    social_crm: VtigerClient,
    shipped: Callable[..., None],
    send_bridge: Bridge,
    networks: Networks,
    web_ui: WebUi,
    make_record: Callable[..., str],
    unique: str,
    save: str,
) -> None:
    crm = social_crm
    a, b = _people(networks)
    record = make_record("Contacts", vk_url=vk_link(a), firstname="Мария")  # before the workflows: no import
    shipped()
    if save == "webservice":
        crm.revise({"id": record, "vk_url": vk_link(b)})
    else:
        web_ui.save("Contacts", {"vk_url": vk_link(b)}, record=record)
    assert _imported(crm, record, send_bridge) == {"lastname": f"{unique} 1", "firstname": "Мария", **B_CARD}
    [event] = send_bridge.events()
    # A web-UI edit also re-saves the support dates the form shows: vtiger lists them as changed too.
    assert (event["event"], event["is_new"], "vk_url" in event["changed"]) == ("import_profile", False, True)
