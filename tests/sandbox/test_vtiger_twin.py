"""What a real SalesPlatform 7.2 answered and the sandbox did not (each confirmed on a real server and in
tests/sandbox/recorded/salesplatform-7.2/transcript.json), one test each so a regression names itself."""

from __future__ import annotations

import json

import requests
from test_vtiger_helpers import Ws, crm, error_of, http, ws  # noqa: F401  (fixtures)

from sandbox.vtiger import VtigerSandbox

OWNER = "19x1"


def created(ws: Ws, module: str, **fields: str) -> dict:  # noqa: F811
    answer = ws.create(module, json.dumps(fields))
    assert answer["success"] is True, answer
    return answer["result"]


def test_create_without_an_owner_is_refused(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    for module, fields in (
        ("Contacts", {"lastname": "X"}),
        ("Leads", {"lastname": "X"}),
        ("SPSocialConnector", {"message": "x", "message_datetime": "2026-11-30 10:00:00"}),
        ("Contacts", {"lastname": "X", "assigned_user_id": ""}),
    ):
        assert error_of(ws.create(module, json.dumps(fields))) == (
            "MANDATORY_FIELDS_MISSING",
            "assigned_user_id does not have a value",
        )
    assert crm.records("Contacts") == [] and crm.records("Leads") == []


def test_an_owner_that_is_no_user_gets_the_privileges_page(ws: Ws) -> None:  # noqa: F811
    answer = ws.raw(
        "POST",
        {
            "operation": "create",
            "sessionName": ws.session,
            "elementType": "Contacts",
            "element": json.dumps({"lastname": "X", "assigned_user_id": "19x99"}),
        },
    )
    assert (answer.status_code, answer.text) == (
        200,
        "Sorry! Attempt to access restricted file. - user_privileges/user_privileges_.php",
    )


def test_a_4_byte_character_is_stored_as_one_question_mark_per_byte(ws: Ws) -> None:  # noqa: F811
    record = created(ws, "Contacts", lastname="Пётр 🙂", description="𝔸 ✨ ❤️", assigned_user_id=OWNER)
    assert record["lastname"] == "Пётр ????" and record["description"] == "???? ✨ ❤️"
    found = ws.query("SELECT id FROM Contacts WHERE lastname = 'Пётр ????';")["result"]
    assert found == [{"id": record["id"]}]
    for text in ("Пётр ?", "Пётр 🙂"):
        assert ws.query(f"SELECT id FROM Contacts WHERE lastname = '{text}';")["result"] == []


def test_the_label_of_a_person_without_a_first_name_starts_with_a_space(ws: Ws) -> None:  # noqa: F811
    lead = created(ws, "Leads", lastname="Durov", assigned_user_id=OWNER)
    contact = created(ws, "Contacts", firstname="", lastname="Сидоров", assigned_user_id=OWNER)
    assert (lead["label"], contact["label"]) == (" Durov", " Сидоров")
    named = ws.call("POST", "revise", element=json.dumps({"id": contact["id"], "firstname": "Пётр"}))
    assert named["result"]["label"] == "Пётр Сидоров"


def test_describe_of_comments_and_users_is_complete_and_in_the_install_language(ws: Ws) -> None:  # noqa: F811
    comments = ws.call("GET", "describe", elementType="ModComments")["result"]
    users = ws.call("GET", "describe", elementType="Users")["result"]
    assert (len(comments["fields"]), len(users["fields"])) == (16, 77)
    assert (comments["label"], users["label"]) == ("Комментарии", "Пользователи")
    with VtigerSandbox("vtiger-7") as english, requests.Session() as session:
        caller = Ws(english, session)
        caller.login()
        assert caller.call("GET", "describe", elementType="ModComments")["result"]["label"] == "Comments"


def test_comments_carry_their_creator(ws: Ws) -> None:  # noqa: F811
    contact = created(ws, "Contacts", lastname="Petrov", assigned_user_id=OWNER)
    comment = created(
        ws, "ModComments", commentcontent="Привет", related_to=contact["id"], assigned_user_id=OWNER
    )
    assert {k: comment[k] for k in ("created_user_id", "creator", "filename", "related_email_id")} == {
        "created_user_id": OWNER,
        "creator": OWNER,
        "filename": "",
        "related_email_id": "0",
    }
    assert "modifiedby" not in comment
    assert ws.call("GET", "retrieve", id=comment["id"])["result"] == comment
    # created_user_id and creator are one column: a query answers it once, as `creator`
    rows = ws.query("SELECT id, creator, created_user_id FROM ModComments;")["result"]
    assert rows == [{"id": comment["id"], "creator": OWNER}]
    star = ws.query("SELECT * FROM ModComments;")["result"][0]
    assert "creator" in star and "created_user_id" not in star and list(star)[-1] == "id"


def test_a_link_made_without_a_label_is_found(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    contact = crm.seed("Contacts", {"lastname": "Petrov"})
    message = crm.seed("SPSocialConnector", {"message": "m"})
    other = crm.seed("SPSocialConnector", {"message": "other"})
    assert ws.call("POST", "add_related", sourceRecordId=contact, relatedRecordId=message)["success"]
    assert ws.call(
        "POST", "add_related", sourceRecordId=contact, relatedRecordId=other, relationIdLabel="NoSuchLabel"
    )["success"]  # an unknown label still links nothing
    rows = ws.call(
        "GET",
        "query_related",
        id=contact,
        relatedLabel="SPSocialConnector",
        query="SELECT id, message FROM SPSocialConnector",
    )["result"]
    assert rows == [{"id": message, "message": "m"}]


def test_comments_of_a_deleted_contact_are_still_found(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    contact = crm.seed("Contacts", {"lastname": "Petrov"})
    comment = created(ws, "ModComments", commentcontent="c", related_to=contact, assigned_user_id=OWNER)
    assert ws.call("POST", "delete", id=contact)["success"]
    rows = ws.query(f"SELECT id, related_to FROM ModComments WHERE related_to = '{contact}';")["result"]
    assert rows == [{"id": comment["id"], "related_to": ""}]  # matched on the stored id, shown as gone


def test_error_wording_as_recorded(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    head = "Syntax Error on line 1: token "
    syntax = [
        (
            "SELECT id FROM Contacts WHERE vk_url IS NULL;",
            head + "'IS' Unexpected VALUE(IS), expected one of: EQ,LT,GT,LTE,GTE,NE,IN,LIKE",
        ),
        (
            "SELECT id FROM Contacts WHERE vk_url <> 'x';",
            head + "'>' Unexpected GT(>), expected one of: VALUE",
        ),
        (
            "SELECT id FROM Contacts; SELECT 1;",
            head + "'SELECT' Unexpected COLUMNNAME(SELECT), expected one of: ",
        ),
        ("SELECT id,, lastname FROM Contacts;", head + "',' Unexpected COMMA(,), expected one of: SELECT"),
        ("SELECT id FROM Contacts ORDER id;", "There is an syntax error in query"),
    ]
    for text, message in syntax:
        assert error_of(ws.query(text)) == ("QUERY_SYNTAX_ERROR", message)
    contact = crm.seed("Contacts", {"lastname": "Petrov"})
    assert ws.call("POST", "delete", id=contact)["success"]
    assert error_of(
        ws.call(
            "GET",
            "query_related",
            id=contact,
            relatedLabel="SPSocialConnector",
            query="SELECT id FROM SPSocialConnector",
        )
    ) == ("ACCESS_DENIED", "Permission to perform the operation is denied for name : ")
    assert error_of(ws.create("Users", json.dumps({"user_name": "x", "last_name": "x"}))) == (
        "MANDATORY_FIELDS_MISSING",
        "user_password does not have a value",
    )


def test_select_star_without_rows_does_not_reach_the_missing_tags_method(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    assert ws.query("SELECT * FROM Contacts;") == {"success": True, "result": []}
    crm.seed("Contacts", {"lastname": "Petrov"})
    answer = ws.raw(
        "GET", {"operation": "query", "sessionName": ws.session, "query": "SELECT * FROM Contacts;"}
    )
    assert (answer.status_code, answer.text) == (500, "")
