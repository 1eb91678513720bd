"""Every operation over real HTTP against the vtiger sandbox, and how each request is put on the wire."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

import vtiger_ws
from vtiger_ws import VtigerClient, vtql
from vtiger_ws.transport import OPERATION_METHODS, PRELOGIN_OPERATIONS

from .conftest import make_client


def _contact(client: VtigerClient, **fields: str) -> dict[str, Any]:
    values = {"lastname": "Petrov", "assigned_user_id": client.login_info.user_id, **fields}
    return client.create("Contacts", values)


def test_login_is_lazy_and_happens_once(crm: Any, client: VtigerClient) -> None:
    assert crm.count() == 0  # constructing the client sends nothing
    client.listtypes()
    client.describe("Contacts")
    assert (crm.count("getchallenge"), crm.count("login")) == (1, 1)
    assert client.logins == 1
    assert client.login_info.user_id == "19x1"
    assert client.login_info.vtiger_version == "7.2.0-202008"


def test_wire_format_of_every_operation(crm: Any, client: VtigerClient) -> None:
    created = _contact(client, firstname="Пётр", description='<b>html</b> & "quotes" \\ \'')
    client.retrieve(created["id"])
    client.revise({"id": created["id"], "mobile": "+7 900"})
    client.update(client.retrieve(created["id"]))
    client.query_all("Contacts", fields=["lastname"])
    client.relatedtypes("Contacts")
    message = client.create(
        "SPSocialConnector",
        {
            "message": "hi",
            "assigned_user_id": "19x1",
            "message_datetime": "2026-11-30 10:00:00",
            "type": "Входящее",
        },
    )
    client.add_related(created["id"], message["id"], "SPSocialConnector")
    client.query_related(created["id"], "SPSocialConnector", "SPSocialConnector", fields=["message"])
    client.delete(message["id"])
    client.logout()

    seen = set()
    for request in crm.requests:
        op = request.operation
        seen.add(op)
        expected = OPERATION_METHODS[op]
        assert request.method == expected, op
        params = request.query if expected == "GET" else request.form
        other = request.form if expected == "GET" else request.query
        assert params["operation"] == [op]
        assert not (set(other) - {"operation", "sessionName"}), f"{op} parameters in the wrong place"
        assert ("sessionName" in params) == (op not in PRELOGIN_OPERATIONS), op
        if "element" in params:
            element = params["element"][0]
            # Raw UTF-8, never \\uXXXX escapes (8.x's Zend_Json_Decoder corrupts surrogate pairs).
            assert "\\u" not in element
            json.loads(element)
    assert seen >= {
        "getchallenge",
        "login",
        "create",
        "retrieve",
        "revise",
        "update",
        "query",
        "relatedtypes",
        "add_related",
        "query_related",
        "delete",
        "logout",
    }


def test_crud_round_trip_keeps_text_exact(crm: Any, client: VtigerClient) -> None:
    tricky = 'O\'Brien \\ "q" <b>&amp;</b> Пётр ✨'
    created = _contact(client, firstname="Ivan", lastname=tricky)
    assert created["lastname"] == tricky
    assert created["id"].startswith("12x")
    assert client.retrieve(created["id"])["lastname"] == tricky
    revised = client.revise({"id": created["id"], "firstname": "Иван"})
    assert (revised["firstname"], revised["lastname"]) == ("Иван", tricky)
    full = client.retrieve(created["id"])
    full["mobile"] = "+7 901"
    assert client.update(full)["mobile"] == "+7 901"
    assert crm.get(created["id"])["mobile"] == "+7 901"
    client.delete(created["id"])
    with pytest.raises(vtiger_ws.VtigerAccessDenied, match=f"retrieve {created['id']}"):
        client.retrieve(created["id"])  # vtiger says ACCESS_DENIED for deleted records


def test_update_and_revise_need_an_id(client: VtigerClient) -> None:
    with pytest.raises(ValueError):
        client.revise({"lastname": "x"})
    with pytest.raises(ValueError):
        client.update({"id": ""})


def test_describe_is_cached_per_client(crm: Any, client: VtigerClient) -> None:
    first = client.describe("SPSocialConnector")
    assert client.describe("SPSocialConnector") is first
    assert crm.count("describe") == 1
    assert first.id_prefix == "34"
    assert first.mandatory_fields == ("message", "assigned_user_id")


def test_listtypes_and_relatedtypes(client: VtigerClient) -> None:
    types = client.listtypes()
    assert "SPSocialConnector" in types and types["Contacts"].is_entity
    related = client.relatedtypes("SPSocialConnector")
    assert {r.module for r in related} >= {"Contacts", "Accounts", "Leads"}
    assert any(r.label == "SPSocialConnector" for r in client.relatedtypes("Contacts"))


def test_query_iter_selects_explicit_columns_without_tags(crm: Any, client: VtigerClient) -> None:
    for i in range(3):
        crm.seed("Contacts", {"lastname": f"L{i}", "assigned_user_id": "19x1"})
    rows = client.query_all("Contacts")
    assert len(rows) == 3
    assert "lastname" in rows[0] and "tags" not in rows[0]
    for request in crm.requests:
        if request.operation == "query":
            text = request.query["query"][0]
            assert "*" not in text and "tags" not in text.split(" FROM ")[0], text


def test_query_adds_the_semicolon_and_where_conditions_work(crm: Any, client: VtigerClient) -> None:
    wanted = crm.seed(
        "Contacts", {"lastname": "Smith", "vk_url": "https://vk.com/id1", "assigned_user_id": "19x1"}
    )
    crm.seed("Contacts", {"lastname": "Other", "vk_url": "https://x.com/a_b", "assigned_user_id": "19x1"})
    assert [r["id"] for r in client.query("SELECT lastname FROM Contacts WHERE lastname = 'Smith'")] == [
        wanted
    ]
    rows = client.query_all("Contacts", fields=["vk_url"], where=vtql.contains("vk_url", "vk.com"))
    assert [r["id"] for r in rows] == [wanted]
    assert (
        client.query_all("Contacts", fields=["id"], where=vtql.contains("vk_url", "a_b"))[0]["id"] != wanted
    )


def test_relations_add_and_query(crm: Any, client: VtigerClient) -> None:
    contact = _contact(client)
    messages = [
        client.create(
            "SPSocialConnector",
            {
                "message": f"m{i}",
                "assigned_user_id": "19x1",
                "message_datetime": "2026-11-30 10:00:00",
                "type": "Входящее",
            },
        )
        for i in range(3)
    ]
    client.add_related(messages[0]["id"], contact["id"], "Contacts")  # from the message side
    client.add_related(contact["id"], messages[1]["id"], "SPSocialConnector")
    related = client.query_related(contact["id"], "SPSocialConnector", "SPSocialConnector")
    assert sorted(r["id"] for r in related) == sorted([messages[0]["id"], messages[1]["id"]])
    # a condition with OR still only returns related records (the server prepends `id IN (...) AND`)
    where = vtql.eq("message", "m0") | vtql.eq("message", "m2")
    related = client.query_related(
        contact["id"], "SPSocialConnector", "SPSocialConnector", fields=["message"], where=where
    )
    assert [r["message"] for r in related] == ["m0"]
    for request in crm.requests:
        if request.operation == "query_related":
            assert not request.query["query"][0].endswith(";")


def test_retrieve_related_is_http_500_on_salesplatform_and_works_upstream(crm: Any, crm_vtiger7: Any) -> None:
    for sandbox, broken in ((crm, True), (crm_vtiger7, False)):
        with make_client(sandbox) as c:
            contact = c.create("Contacts", {"lastname": "R", "assigned_user_id": "19x1"})
            message = c.create(
                "SPSocialConnector",
                {
                    "message": "m",
                    "assigned_user_id": "19x1",
                    "message_datetime": "2026-11-30 10:00:00",
                    "type": "Входящее",
                },
            )
            c.add_related(contact["id"], message["id"], "SPSocialConnector")
            if broken:
                with pytest.raises(vtiger_ws.VtigerProtocolError) as info:
                    c.retrieve_related(contact["id"], "SPSocialConnector", "SPSocialConnector")
                assert info.value.status == 500
            else:
                rows = c.retrieve_related(contact["id"], "SPSocialConnector", "SPSocialConnector")
                assert [r["id"] for r in rows] == [message["id"]]


def test_logout_is_best_effort(crm: Any, crm_vtiger7: Any) -> None:
    with make_client(crm) as c:
        c.listtypes()
        assert c.logout() is False  # SalesPlatform: INTERNAL_SERVER_ERROR, logged not raised
        assert c.logout() is False  # nothing to log out from
        c.listtypes()  # logs in again
        assert c.logins == 2
    with make_client(crm_vtiger7) as c:
        c.listtypes()
        assert c.logout() is True


@pytest.mark.parametrize("suffix", ["", "/", "/webservice.php", "/webservice.php?x=1"])
def test_url_may_be_the_base_or_the_endpoint(crm: Any, suffix: str) -> None:
    with VtigerClient(crm.url + suffix, crm.username, crm.access_key, timeout=5) as c:
        assert c.url == crm.url.rstrip("/") + "/webservice.php"
        assert c.listtypes()


def test_injected_session_is_used_and_left_open(crm: Any) -> None:
    with requests.Session() as session:
        seen: list[str] = []
        session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.method))
        c = make_client(crm, session=session)
        c.listtypes()
        c.close()
        assert seen == ["GET", "POST", "GET"]
        assert session.get(
            crm.url + "/webservice.php", params={"operation": "getchallenge", "username": crm.username}
        ).ok


def test_stats_count_http_requests_per_operation(client: VtigerClient) -> None:
    client.describe("Contacts")
    client.describe("Contacts")
    client.query("SELECT id FROM Contacts;")
    assert dict(client.stats) == {"getchallenge": 1, "login": 1, "describe": 1, "query": 1}


def test_query_related_returns_more_than_the_100_row_cap(crm: Any, client: VtigerClient) -> None:
    contact = crm.seed("Contacts", {"lastname": "Many"})
    messages = [crm.seed("SPSocialConnector", {"message": f"m{i}", "type": "Входящее"}) for i in range(250)]
    for message in messages:
        client.add_related(contact, message, "SPSocialConnector")
    crm.reset_log()
    rows = client.query_related(contact, "SPSocialConnector", "SPSocialConnector", fields=["message"])
    assert sorted(r["id"] for r in rows) == sorted(messages)
    assert len(rows) == 250
    # one capped answer of 100 is split by id range until every answer is below the cap
    assert 3 <= crm.count("query_related") <= 9
    rows = client.query_related(
        contact,
        "SPSocialConnector",
        "SPSocialConnector",
        fields=["message"],
        where=vtql.like("message", "m1%"),
    )
    assert sorted(r["message"] for r in rows) == sorted(f"m{i}" for i in range(250) if str(i).startswith("1"))


def test_logout_over_a_dropped_connection_is_not_an_error(crm: Any, client: VtigerClient) -> None:
    client.listtypes()
    crm.faults.drop(operation="logout")
    assert client.logout() is False
    assert client.listtypes()  # a fresh login follows
    assert client.logins == 2


def test_in_list_over_http(crm: Any, client: VtigerClient) -> None:
    ids = [crm.seed("Contacts", {"lastname": f"I{i}"}) for i in range(5)]
    rows = client.query_all("Contacts", fields=["lastname"], where=vtql.in_("id", [ids[1], ids[3]]))
    assert [r["id"] for r in rows] == [ids[1], ids[3]]
    rows = client.query_all("Contacts", fields=["lastname"], where=vtql.in_("lastname", ["I0", "i4", "nope"]))
    assert [r["id"] for r in rows] == [ids[0], ids[4]]  # case-insensitive collation
