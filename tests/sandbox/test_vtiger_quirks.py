"""Transport discipline, authentication and the SalesPlatform 7.2 quirks (reference sections 1-2, B, C, E),
each checked against the `vtiger-7` profile where upstream behaves differently."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
import requests
from test_vtiger_helpers import Ws, crm, error_of, http, ws  # noqa: F401  (fixtures)

from sandbox.vtiger import VtigerSandbox


@pytest.fixture
def v7(http: requests.Session) -> Iterator[Ws]:  # noqa: F811
    with VtigerSandbox("vtiger-7") as sandbox:
        caller = Ws(sandbox, http)
        caller.login()
        yield caller


def test_params_come_from_one_superglobal_only(ws: Ws) -> None:  # noqa: F811
    session = {"sessionName": ws.session}
    get_create = ws.raw(
        "GET",
        {
            "operation": "create",
            **session,
            "elementType": "Contacts",
            "element": json.dumps({"lastname": "x"}),
        },
    ).json()
    assert error_of(get_create) == ("ACCESS_DENIED", "Permission to perform the operation is denied")
    post_query = ws.raw("POST", {"operation": "query", **session, "query": "SELECT id FROM Contacts;"}).json()
    assert error_of(post_query) == (
        "ACCESS_DENIED",
        "Permission to perform the operation is denied for query",
    )
    post_challenge = ws.raw("POST", {"operation": "getchallenge", "username": "admin"}).json()
    assert error_of(post_challenge) == ("ACCESS_DENIED", "No username given")
    get_login = ws.raw("GET", {"operation": "login", "username": "admin", "accessKey": "x"}).json()
    assert error_of(get_login) == ("INVALID_AUTH_TOKEN", "Specified token is invalid or expired")
    # operation and sessionName are read from $_REQUEST: either place works
    mixed = ws.http.post(
        ws.endpoint,
        params={"operation": "create", **session},
        data={
            "elementType": "Leads",
            "element": json.dumps({"lastname": "Mixed", "assigned_user_id": "19x1"}),
        },
        timeout=10,
    )
    assert mixed.json()["result"]["lastname"] == "Mixed"
    assert ws.call("GET", "LISTTYPES")["success"] is True  # operation names are case-insensitive


def test_sessions_and_unknown_operations(ws: Ws) -> None:  # noqa: F811
    assert error_of(ws.raw("GET", {"operation": "listtypes"}).json()) == (
        "AUTHENTICATION_REQUIRED",
        "Authencation required",
    )
    stale = ws.raw(
        "GET", {"operation": "getchallenge", "username": "admin", "sessionName": "deadbeef"}
    ).json()
    assert error_of(stale) == ("INVALID_SESSIONID", "Session Identifier provided is Invalid")
    assert ws.raw("GET", {"operation": "listtypes", "sessionName": "null"}).json()["error"]["code"] == (
        "AUTHENTICATION_REQUIRED"
    )
    for params in ({"operation": "nosuchop", "sessionName": ws.session}, {}):
        answer = ws.raw("GET", params)
        assert (answer.status_code, answer.text) == (500, "")
    assert ws.http.get(ws.crm.url + "/index.php", timeout=10).status_code == 404


def test_challenge_and_login_rules(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    assert error_of(ws.call("GET", "getchallenge", username="nobody")) == (
        "ACCESS_DENIED",
        "username does not exists",
    )
    first = ws.call("GET", "getchallenge", username="admin")["result"]
    assert len(first["token"]) == 13 and first["expireTime"] - first["serverTime"] == 300
    again = Ws(crm, ws.http)
    one, two = again.login()["result"], again.login()["result"]
    assert one["sessionName"] != two["sessionName"] and one["userId"] == "19x1"
    assert one["vtigerVersion"] == "7.2.0-202008" and list(one) == [
        "sessionName",
        "userId",
        "version",
        "vtigerVersion",
    ]
    token = ws.call("GET", "getchallenge", username="admin")["result"]["token"]
    key = hashlib.md5((token + crm.access_key).encode()).hexdigest()
    rebound = ws.raw(
        "POST", {"operation": "login", "username": "admin", "accessKey": key, "sessionName": ws.session}
    )
    assert rebound.json()["result"]["sessionName"] == ws.session
    assert error_of(ws.call("POST", "extendsession")) == ("AUTHENTICATION_FAILURE", "Authencation Failed")


def test_a_newer_challenge_replaces_the_token_and_tokens_expire(
    crm: VtigerSandbox,  # noqa: F811
    http: requests.Session,  # noqa: F811
) -> None:

    caller = Ws(crm, http)
    old = caller.call("GET", "getchallenge", username="admin")["result"]["token"]
    caller.call("GET", "getchallenge", username="admin")
    stale_key = hashlib.md5((old + crm.access_key).encode()).hexdigest()
    assert error_of(caller.call("POST", "login", username="admin", accessKey=stale_key))[0] == (
        "INVALID_USER_CREDENTIALS"
    )
    crm.set_time(crm.clock())
    token = caller.call("GET", "getchallenge", username="admin")["result"]["token"]
    crm.advance(301)
    key = hashlib.md5((token + crm.access_key).encode()).hexdigest()
    assert error_of(caller.call("POST", "login", username="admin", accessKey=key))[0] == "INVALID_AUTH_TOKEN"


def test_other_users_keys_and_status(crm: VtigerSandbox, http: requests.Session) -> None:  # noqa: F811
    assert crm.add_user("clerk", access_key="clerkKey") == "19x5"
    crm.add_user("nokey")
    crm.add_user("gone", access_key="goneKey", status="Inactive")
    clerk = Ws(crm, http)
    assert clerk.login("clerk", "clerkKey")["result"]["userId"] == "19x5"
    record = clerk.create("Contacts", json.dumps({"lastname": "Mine", "assigned_user_id": "19x5"}))["result"]
    assert record["assigned_user_id"] == "19x5" and record["modifiedby"] == "19x5"
    assert error_of(clerk.create("Contacts", json.dumps({"lastname": "x", "assigned_user_id": "19x1"}))) == (
        "ACCESS_DENIED",
        "Cannot assign record to the given user",
    )

    for name, code in (("nokey", "ACCESSKEY_UNDEFINED"), ("gone", "INVALID_USER_CREDENTIALS")):
        token = clerk.call("GET", "getchallenge", username=name)["result"]["token"]
        key = hashlib.md5((token + "goneKey").encode()).hexdigest()
        assert error_of(clerk.call("POST", "login", username=name, accessKey=key))[0] == code


def test_select_star_and_tags_are_fatal_on_salesplatform(ws: Ws, v7: Ws) -> None:  # noqa: F811
    empty = ws.raw(
        "GET", {"operation": "query", "sessionName": ws.session, "query": "SELECT * FROM Contacts;"}
    )
    assert empty.json() == {"success": True, "result": []}  # only rows make vtiger look their tags up
    for caller in (ws, v7):
        caller.crm.seed("Contacts", {"lastname": "A"})
        caller.crm.seed("Leads", {"lastname": "A"})
        caller.crm.seed("SPSocialConnector", {"message": "A"})
    for text in (
        "SELECT * FROM Contacts;",
        "SELECT id, tags FROM Leads;",
        "SELECT * FROM SPSocialConnector;",
    ):
        answer = ws.raw("GET", {"operation": "query", "sessionName": ws.session, "query": text})
        assert (answer.status_code, answer.text) == (500, "")
        assert v7.query(text)["success"] is True
    users = ws.query("SELECT * FROM Users;")["result"]
    assert users[0]["user_name"] == "admin" and users[0]["user_password"].startswith("$2y$")
    assert ws.query("SELECT count(*) FROM Contacts;")["result"] == [{"count": "1"}]
    row = v7.query("SELECT * FROM Contacts;")["result"][0]
    assert "label" not in row and list(row)[-1] == "id" and row["lastname"] == "A"


def test_logout_fails_on_salesplatform_and_works_upstream(ws: Ws, v7: Ws) -> None:  # noqa: F811
    assert error_of(ws.call("GET", "logout")) == (
        "OPERATION_NOT_SUPPORTED",
        "Permission to perform the operation is denied",
    )
    assert error_of(ws.call("POST", "logout")) == (
        "INTERNAL_SERVER_ERROR",
        "Unknown Error while processing request",
    )
    assert ws.call("GET", "listtypes")["success"] is True
    assert v7.call("POST", "logout")["result"] == {"message": "successfull"}
    assert error_of(v7.call("GET", "listtypes"))[0] == "INVALID_SESSIONID"


def test_sync_and_retrieve_related(ws: Ws, v7: Ws) -> None:  # noqa: F811
    for caller in (ws, v7):
        caller.crm.set_time(caller.crm.clock())
        contact = caller.crm.seed("Contacts", {"lastname": "Synced"})
        message = caller.crm.seed("SPSocialConnector", {"message": "hi"})
        caller.call(
            "POST",
            "add_related",
            sourceRecordId=contact,
            relatedRecordId=message,
            relationIdLabel="SPSocialConnector",
        )
        caller.crm.advance(10)
        gone = caller.crm.seed("Contacts", {"lastname": "Gone"})
        caller.call("POST", "delete", id=gone)
        since = str(int(caller.crm.clock().timestamp()) - 5)
        sync = caller.raw(
            "GET",
            {
                "operation": "sync",
                "sessionName": caller.session,
                "modifiedTime": since,
                "elementType": "Contacts",
            },
        )
        related = caller.raw(
            "GET",
            {
                "operation": "retrieve_related",
                "sessionName": caller.session,
                "id": contact,
                "relatedType": "SPSocialConnector",
                "relatedLabel": "SPSocialConnector",
            },
        )
        if caller is ws:
            assert (sync.status_code, sync.text, related.status_code, related.text) == (500, "", 500, "")
        else:
            assert sync.json()["result"] == {
                "updated": [],
                "deleted": [gone],
                "more": False,
                "lastModifiedTime": int(caller.crm.clock().timestamp()),
            }
            assert [r["id"] for r in related.json()["result"]] == [message]


def test_message_datetime_rules(ws: Ws) -> None:  # noqa: F811
    base = {"message": "m", "type": "Outbound", "assigned_user_id": "19x1"}
    assert error_of(ws.create("SPSocialConnector", json.dumps(base))) == (
        "DATABASE_QUERY_ERROR",
        "Ошибка базы данных при выполнении операции",
    )
    bad = ws.create("SPSocialConnector", json.dumps({**base, "message_datetime": "30-11-2026 10:00"}))[
        "result"
    ]
    assert bad["message_datetime"] == "0000-00-00 00:00:00" and bad["type"] == "Outbound"
    untyped = ws.create(
        "SPSocialConnector",
        json.dumps({"message": "m", "message_datetime": "2026-11-30 10:00:00", "assigned_user_id": "19x1"}),
    )
    assert untyped["result"]["type"] == "" and "modifiedtime" not in untyped["result"]


def test_text_storage_rules(ws: Ws, v7: Ws) -> None:  # noqa: F811
    element = {
        "firstname": "Пётр 🙂" + "я" * 50,
        "lastname": "O'Brien",
        "vk_url": "https://vk.com/" + "a" * 200,
        "description": "<script>x</script>",
        "leadsource": "NoSuchValue",
        "email": "not-an-email",
        "donotcall": "true",
        "emailoptout": "on",
        "birthday": "31-12-1999",
        "account_id": "11x999999",
        "assigned_user_id": "19x1",
    }
    stored = ws.create("Contacts", json.dumps(element))["result"]
    assert stored["firstname"] == ("Пётр ????" + "я" * 50)[:40]  # one '?' per byte of the emoji
    assert len(stored["vk_url"]) == 155 and stored["leadsource"] == "NoSuchValue"
    assert stored["description"] == "&lt;script&gt;x&lt;/script&gt;" and stored["label"].endswith(
        "O&#039;Brien"
    )
    assert (stored["donotcall"], stored["emailoptout"], stored["birthday"]) == ("0", "1", "1999-12-31")
    assert stored["account_id"] == "" and stored["email"] == "not-an-email"
    upstream = v7.create("Contacts", json.dumps({"lastname": "Пётр 🙂", "assigned_user_id": "19x1"}))[
        "result"
    ]
    assert upstream["lastname"] == "Пётр 🙂"


def test_comparisons_follow_the_collation(ws: Ws) -> None:  # noqa: F811
    record = ws.create("Contacts", json.dumps({"lastname": "Пётр", "assigned_user_id": "19x1"}))["result"][
        "id"
    ]
    for literal in ("'петр'", "'ПЁТР   '", "'Петр'"):
        assert [
            r["id"] for r in ws.query(f"SELECT id FROM Contacts WHERE lastname = {literal};")["result"]
        ] == [record]
    assert ws.query("SELECT id FROM Contacts WHERE lastname = ' Пётр';")["result"] == []
    assert ws.query("SELECT id FROM Contacts WHERE lastname LIKE 'Пётр ';")["result"] == []


def test_duplicate_account_names_are_refused_with_integer_code(ws: Ws, v7: Ws) -> None:  # noqa: F811
    assert ws.create("Accounts", json.dumps({"accountname": "Acme", "assigned_user_id": "19x1"}))["success"]
    answer = ws.create("Accounts", json.dumps({"accountname": "ACME  ", "assigned_user_id": "19x1"}))
    assert answer["error"] == {"code": 0, "message": "Обнаружено дублирование!"}
    assert v7.create("Accounts", json.dumps({"accountname": "Acme", "assigned_user_id": "19x1"}))["success"]
    answer = v7.create("Accounts", json.dumps({"accountname": "acme", "assigned_user_id": "19x1"}))
    assert answer["error"] == {
        "code": 0,
        "message": "Duplicate(s) detected!",
    }


def test_php_json_dialect(ws: Ws) -> None:  # noqa: F811
    answer = ws.raw(
        "POST",
        {
            "operation": "create",
            "sessionName": ws.session,
            "elementType": "Contacts",
            "element": json.dumps(
                {"lastname": "Ёж", "vk_url": "https://vk.com/x", "assigned_user_id": "19x1"}
            ),
        },
    )
    assert answer.headers["Content-Type"] == "application/json"
    assert "\\u0401\\u0436" in answer.text and "https:\\/\\/vk.com\\/x" in answer.text
    assert ws.call("GET", "relatedtypes", elementType="Users")["result"] == {"types": [], "information": []}


def test_long_messages_keep_their_text_but_the_label_is_cut(ws: Ws) -> None:  # noqa: F811
    text = "Привет " * 60
    created = ws.create(
        "SPSocialConnector",
        json.dumps({"message": text, "message_datetime": "2026-11-30 10:00:00", "assigned_user_id": "19x1"}),
    )
    assert created["result"]["message"] == text and created["result"]["label"] == text[:255]
