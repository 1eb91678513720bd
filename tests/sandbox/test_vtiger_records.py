"""Record lifecycle and relations over real HTTP (reference sections 3.2-3.14, A and E)."""

from __future__ import annotations

import json
from datetime import datetime

from test_vtiger_helpers import Ws, crm, error_of, http, ws  # noqa: F401  (fixtures)

from sandbox.vtiger import VtigerSandbox

T0 = datetime(2026, 11, 30, 9, 59, 1)


def freeze(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    """Fix the server clock at T0; log in again, since a clock jump can outlive the session (PHP GC)."""
    crm.set_time(T0)
    ws.login()


def test_create_returns_the_full_record_with_server_fields(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    freeze(ws, crm)
    element = {"lastname": "Lee", "company": "Acme", "id": "10x777", "assigned_user_id": "19x1"}
    record = ws.create("Leads", json.dumps(element))["result"]
    describe = ws.call("GET", "describe", elementType="Leads")["result"]
    assert list(record) == [f["name"] for f in describe["fields"] if f["name"] != "id"] + ["id", "label"]
    assert record["createdtime"] == record["modifiedtime"] == "2026-11-30 09:59:01"
    assert (record["source"], record["assigned_user_id"], record["lead_no"]) == (
        "WEBSERVICE",
        "19x1",
        "ОБР_1",
    )
    assert record["id"].startswith("10x") and record["id"] != "10x777"
    assert record["annualrevenue"] == "0.00000000" and record["label"] == " Lee"  # no first name: " Lee"
    assert crm.get(record["id"]) == record and crm.records("Leads") == [record]


def test_mandatory_fields_and_broken_elements(ws: Ws) -> None:  # noqa: F811
    assert error_of(ws.create("Contacts", json.dumps({"firstname": "No"}))) == (
        "MANDATORY_FIELDS_MISSING",
        "lastname does not have a value",
    )
    assert error_of(ws.create("Contacts", "{not json")) == (
        "MANDATORY_FIELDS_MISSING",
        "lastname does not have a value",
    )
    assert error_of(ws.create("Contacts", json.dumps({"lastname": "x", "assigned_user_id": ""})))[1] == (
        "assigned_user_id does not have a value"
    )
    zero = {"lastname": "0", "assigned_user_id": "19x1"}
    assert ws.create("Contacts", json.dumps(zero))["success"] is True  # "0" is a value
    assert error_of(
        ws.create("SPSocialConnector", json.dumps({"message_datetime": "2026-11-30 10:00:00"}))
    ) == ("MANDATORY_FIELDS_MISSING", "message does not have a value")
    assert error_of(ws.create("NoSuchModule", json.dumps({"lastname": "x"})))[0] == "ACCESS_DENIED"
    assert error_of(ws.create("contacts", json.dumps({"lastname": "x"})))[0] == "ACCESS_DENIED"


def test_update_needs_every_mandatory_field_and_revise_does_not(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    freeze(ws, crm)
    account = crm.seed("Accounts", {"accountname": "Acme"})
    contact = ws.create(
        "Contacts",
        json.dumps({"lastname": "Petrov", "title": "CTO", "account_id": account, "assigned_user_id": "19x1"}),
    )
    cid = contact["result"]["id"]
    crm.advance(60)
    assert error_of(ws.call("POST", "update", element=json.dumps({"id": cid, "title": "CEO"}))) == (
        "MANDATORY_FIELDS_MISSING",
        "lastname does not have a value",
    )
    full = {"id": cid, "lastname": "Petrov", "assigned_user_id": "19x1", "department": "IT", "account_id": ""}
    updated = ws.call("POST", "update", element=json.dumps(full))["result"]
    # 7.x reads the record first: omitted fields keep their values, "" does not clear a reference
    assert (updated["title"], updated["department"], updated["account_id"]) == ("CTO", "IT", account)
    assert (
        updated["modifiedtime"] == "2026-11-30 10:00:01" and updated["createdtime"] == "2026-11-30 09:59:01"
    )
    revised = ws.call("POST", "revise", element=json.dumps({"id": cid, "account_id": "", "title": "CEO"}))
    assert (revised["result"]["account_id"], revised["result"]["title"]) == ("", "CEO")
    assert error_of(ws.call("POST", "revise", element=json.dumps({"id": cid, "lastname": ""})))[0] == (
        "MANDATORY_FIELDS_MISSING"
    )
    assert error_of(ws.call("POST", "revise", element=json.dumps({"id": cid, "account_id": cid}))) == (
        "REFERENCE_INVALID",
        "Invalid reference specified for account_id",
    )


def test_ids_deleted_records_and_wrong_prefixes(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    contact = crm.seed("Contacts", {"lastname": "Gone"})
    number = contact.split("x")[1]
    denied = ("ACCESS_DENIED", "Permission to perform the operation is denied")
    assert error_of(ws.call("GET", "retrieve", id=f"11x{number}")) == (
        "INVALID_ID_ATTRIBUTE",
        "Id specified is incorrect",
    )
    assert error_of(ws.call("GET", "retrieve", id=f"99x{number}"))[1].endswith("for id")
    assert error_of(ws.call("GET", "retrieve", id="garbage"))[0] == "ACCESS_DENIED"
    assert ws.call("POST", "delete", id=contact)["result"] == {"status": "successful"}
    for method, operation, params in (
        ("GET", "retrieve", {"id": contact}),
        ("POST", "delete", {"id": contact}),
        ("POST", "revise", {"element": json.dumps({"id": contact, "title": "x"})}),
    ):
        assert error_of(ws.call(method, operation, **params)) == denied
    assert crm.get(contact) is None and crm.records("Contacts") == []
    assert ws.query("SELECT id FROM Contacts;")["result"] == []
    users = ws.call("GET", "retrieve", id="19x1")["result"]
    assert users["user_name"] == "admin" and users["accesskey"] == crm.access_key


def test_relations_between_contacts_and_messages(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    freeze(ws, crm)
    contact = crm.seed("Contacts", {"firstname": "Ivan", "lastname": "Petrov"})
    first = crm.seed("SPSocialConnector", {"message": "one", "type": "Входящее"})
    second = crm.seed("SPSocialConnector", {"message": "two", "type": "Исходящее"})
    crm.advance(30)

    def add(source: str, related: str, label: str) -> dict:
        return ws.call(
            "POST", "add_related", sourceRecordId=source, relatedRecordId=related, relationIdLabel=label
        )

    assert add(contact, first, "SPSocialConnector")["result"] == {"message": "successfull"}
    assert crm.get(contact)["modifiedtime"] == "2026-11-30 09:59:31"  # linked from the Contact side
    crm.advance(30)
    assert add(second, contact, "Contacts")["success"] is True
    assert crm.get(contact)["modifiedtime"] == "2026-11-30 09:59:31"  # not from the message side
    assert add(contact, first, "NoSuchLabel")["success"] is True  # answers success, links nothing
    assert add(contact, "34x99999", "SPSocialConnector")["success"] is True
    assert add(first, contact, "Contacts")["success"] is True  # the reverse pair is no duplicate
    assert sorted(crm.related(contact)) == sorted([first, second])

    def related(record: str, label: str, query: str) -> dict:
        return ws.call("GET", "query_related", id=record, relatedLabel=label, query=query)

    rows = related(contact, "SPSocialConnector", "SELECT id, message, type FROM SPSocialConnector")["result"]
    assert sorted(r["message"] for r in rows) == ["one", "two"]
    rows = related(
        contact, "SPSocialConnector", "SELECT message FROM SPSocialConnector WHERE type = 'Входящее'"
    )
    assert rows["result"] == [{"message": "one", "id": first}]
    assert related(first, "Contacts", "SELECT id, lastname FROM Contacts")["result"] == [
        {"id": contact, "lastname": "Petrov"}
    ]
    assert error_of(related(contact, "SPSocialConnector", "SELECT id FROM SPSocialConnector;")) == (
        "UNKOWN_ENTITY",
        "Relation specified is incorrect",
    )
    # The id clause goes after the first upper-case WHERE, or is appended: ORDER BY works only after a WHERE
    assert related(
        contact, "SPSocialConnector", "SELECT id FROM SPSocialConnector WHERE type != 'x' ORDER BY id"
    )["result"] == [{"id": first}, {"id": second}]
    for query in (
        "SELECT id FROM SPSocialConnector ORDER BY id",
        "SELECT id FROM SPSocialConnector where type = 'x'",
    ):
        assert error_of(related(contact, "SPSocialConnector", query)) == (
            "QUERY_SYNTAX_ERROR",
            "Syntax Error on line 1: token 'WHERE' Unexpected WHERE(WHERE), expected one of: SEMICOLON",
        )
    star = ws.raw(
        "GET",
        {
            "operation": "query_related",
            "sessionName": ws.session,
            "id": contact,
            "relatedLabel": "SPSocialConnector",
            "query": "SELECT * FROM SPSocialConnector",
        },
    )
    assert (star.status_code, star.text) == (500, "")
    types = ws.call("GET", "relatedtypes", elementType="SPSocialConnector")["result"]
    assert types["types"] == ["Accounts", "Contacts", "Leads"]

    assert ws.call("POST", "delete", id=contact)["success"] is True
    assert related(first, "Contacts", "SELECT id FROM Contacts")["result"] == []  # messages stay
    assert error_of(related(contact, "SPSocialConnector", "SELECT id FROM SPSocialConnector"))[0] == (
        "ACCESS_DENIED"
    )
    assert crm.get(first) is not None
    assert error_of(add(contact, second, "SPSocialConnector")) == (
        "INTERNAL_SERVER_ERROR",
        "Unknown Error while processing request",
    )


def test_comments_may_not_point_at_messages(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    contact = crm.seed("Contacts", {"lastname": "Petrov"})
    message = crm.seed("SPSocialConnector", {"message": "hi"})
    refused = ws.create("ModComments", json.dumps({"commentcontent": "c", "related_to": message}))
    assert error_of(refused) == ("REFERENCE_INVALID", "Invalid reference specified for related_to")
    element = {"commentcontent": "c", "related_to": contact, "assigned_user_id": "19x1"}
    comment = ws.create("ModComments", json.dumps(element))["result"]
    assert comment["id"].startswith("32x") and comment["related_to"] == contact
    rows = ws.call(
        "GET",
        "query_related",
        id=contact,
        relatedLabel="ModComments",
        query="SELECT id, commentcontent FROM ModComments",
    )["result"]
    assert rows == [{"id": comment["id"], "commentcontent": "c"}]
    ws.call("POST", "delete", id=contact)
    assert ws.call("GET", "retrieve", id=comment["id"])["result"]["related_to"] == ""


def test_listtypes_and_describe(ws: Ws) -> None:  # noqa: F811
    types = ws.call("GET", "listtypes")["result"]
    assert {"Contacts", "Accounts", "Leads", "SPSocialConnector", "ModComments", "Users"} <= set(
        types["types"]
    )
    assert types["information"]["SPSocialConnector"]["label"] == "Сообщения"
    emails = ws.call("GET", "listtypes", fieldTypeList=json.dumps(["email"]))["result"]["types"]
    assert "Contacts" in emails and "SPSocialConnector" not in emails
    assert ws.call("GET", "describe", elementType="ModComments")["result"]["idPrefix"] == "32"
    assert error_of(ws.call("GET", "describe", elementType="Nope")) == (
        "ACCESS_DENIED",
        "Permission to perform the operation is denied for name : Nope",
    )


def test_concurrent_creates_get_distinct_ids_and_numbers(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    import threading

    import requests

    results: list[dict] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        with requests.Session() as session:
            caller = Ws(crm, session)
            caller.session = ws.session
            for i in range(8):
                element = {"lastname": f"T{n}-{i}", "assigned_user_id": "19x1"}
                answer = caller.create("Contacts", json.dumps(element))
                with lock:
                    results.append(answer["result"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r["id"] for r in results}) == len({r["contact_no"] for r in results}) == 48
    assert ws.query("SELECT count(*) FROM Contacts;")["result"] == [{"count": "48"}]
