"""The second half of the recording scenario (`scenario.py`): what a real SalesPlatform does that a twin
must copy — mandatory fields, 4-byte characters, labels, comments, Users, links, deletions, and (in
`scenario_errors.py`) the exact wording of syntax and permission errors."""

from __future__ import annotations

from typing import Any

from scenario import OWNER, Raw
from scenario_errors import other_rules, permissions, vtql_errors


def mandatory_and_labels(raw: Raw, ids: dict[str, str]) -> None:
    c = raw.create
    c("ERR create Contact without assigned_user_id", "Contacts", {"lastname": "Безвладельца"})
    c("ERR create Lead without assigned_user_id", "Leads", {"lastname": "Безвладельца"})
    c("ERR create Lead without lastname", "Leads", {"firstname": "Без", "assigned_user_id": OWNER})
    c(
        "ERR create message without assigned_user_id",
        "SPSocialConnector",
        {"message": "x", "message_datetime": "2026-11-30 10:00:00", "type": "Исходящее"},
    )
    c(
        "ERR create message without message",
        "SPSocialConnector",
        {"assigned_user_id": OWNER, "message_datetime": "2026-11-30 10:00:00"},
    )
    c("ERR create Contact with empty assigned_user_id", "Contacts", {"lastname": "X", "assigned_user_id": ""})
    ids["label_lead"] = c(
        "create Lead without firstname", "Leads", {"lastname": "Лид", "assigned_user_id": OWNER}
    )
    ids["label_contact"] = c(
        "create Contact with firstname empty",
        "Contacts",
        {"firstname": "", "lastname": "Пустое", "assigned_user_id": OWNER},
    )
    c(
        "create Contact with HTML in names",
        "Contacts",
        {
            "firstname": "O'Brien",
            "lastname": '<b>Smith</b> & "Co"',
            "assigned_user_id": OWNER,
            "description": "<script>alert(1)</script> & more",
        },
    )
    c(
        "create Contact with a long first name",
        "Contacts",
        {
            "firstname": "Ж" * 60,
            "lastname": "Длинный",
            "assigned_user_id": OWNER,
            "vk_url": "https://vk.com/" + "a" * 200,
        },
    )
    raw.query("query labels of Leads", "SELECT id, firstname, lastname FROM Leads ORDER BY id;")
    raw.call("retrieve Lead without firstname", "GET", operation="retrieve", id=ids["label_lead"])
    raw.call(
        "revise Lead without firstname (label)",
        "POST",
        operation="revise",
        element={"id": ids["label_lead"], "vk_url": "https://vk.com/lid"},
    )
    raw.call(
        "revise Contact: first name added",
        "POST",
        operation="revise",
        element={"id": ids["label_contact"], "firstname": "Теперь"},
    )


def four_byte(raw: Raw, ids: dict[str, str]) -> None:
    ids["emoji"] = raw.create(
        "create Contact with a 4-byte character",
        "Contacts",
        {
            "firstname": "Пётр",
            "lastname": "Пётр 🙂",
            "assigned_user_id": OWNER,
            "description": "𝔸𝔹 ✨ ❤️ 👍🏽",
        },
    )
    raw.call("retrieve Contact with 4-byte characters", "GET", operation="retrieve", id=ids["emoji"])
    raw.query(
        "query by the stored form (one ? per byte)",
        "SELECT id, lastname FROM Contacts WHERE lastname = 'Пётр ????';",
    )
    raw.query("query by one ? per character", "SELECT id, lastname FROM Contacts WHERE lastname = 'Пётр ?';")
    raw.query("query by the original text", "SELECT id, lastname FROM Contacts WHERE lastname = 'Пётр 🙂';")
    raw.query("query LIKE with a 4-byte character", "SELECT id FROM Contacts WHERE description LIKE '%✨%';")
    ids["emoji_message"] = raw.create(
        "create message with 4-byte characters",
        "SPSocialConnector",
        {
            "message": "Привет 😀😀",
            "assigned_user_id": OWNER,
            "message_datetime": "2026-11-30 11:00:00",
            "type": "Входящее",
        },
    )
    raw.call("retrieve message with 4-byte characters", "GET", operation="retrieve", id=ids["emoji_message"])
    raw.query(
        "query message by its stored form",
        "SELECT id, message FROM SPSocialConnector WHERE message = 'Привет ????????';",
    )


def comments_and_users(raw: Raw, ids: dict[str, str]) -> None:
    raw.call("describe ModComments", "GET", operation="describe", elementType="ModComments")
    raw.call("describe Users", "GET", operation="describe", elementType="Users")
    raw.call("describe Groups", "GET", operation="describe", elementType="Groups")
    ids["comment"] = raw.create(
        "create ModComments",
        "ModComments",
        {"commentcontent": "Первый комментарий", "related_to": ids["ivan"], "assigned_user_id": OWNER},
    )
    raw.call("retrieve ModComments", "GET", operation="retrieve", id=ids["comment"])
    raw.create(
        "ERR create ModComments on a message",
        "ModComments",
        {"commentcontent": "x", "related_to": ids["message"], "assigned_user_id": OWNER},
    )
    raw.create(
        "ERR create ModComments without related_to",
        "ModComments",
        {"commentcontent": "x", "assigned_user_id": OWNER},
    )
    raw.create(
        "ERR create ModComments without assigned_user_id",
        "ModComments",
        {"commentcontent": "x", "related_to": ids["ivan"]},
    )
    raw.query(
        "query ModComments explicit columns",
        "SELECT id, commentcontent, related_to, creator, assigned_user_id, created_user_id FROM ModComments;",
    )
    raw.query("query ModComments SELECT *", "SELECT * FROM ModComments;")
    raw.query(
        "query ModComments by related_to",
        f"SELECT id, commentcontent FROM ModComments WHERE related_to = '{ids['ivan']}';",
    )
    raw.call("retrieve Users admin", "GET", operation="retrieve", id=OWNER)
    raw.query(
        "query Users explicit columns",
        "SELECT id, user_name, first_name, last_name, status, is_admin FROM Users;",
    )
    raw.query("query Users SELECT *", "SELECT * FROM Users;")
    raw.query("query Groups", "SELECT * FROM Groups;")
    raw.call("retrieve Groups", "GET", operation="retrieve", id="20x2")
    raw.query(
        "query SELECT * with no rows (no tags lookup)", "SELECT * FROM Contacts WHERE lastname = 'Никто';"
    )


def links(raw: Raw, ids: dict[str, str]) -> None:
    m2 = raw.create(
        "create message for link tests",
        "SPSocialConnector",
        {
            "message": "Связь",
            "assigned_user_id": OWNER,
            "message_datetime": "2026-11-30 12:00:00",
            "type": "Исходящее",
        },
    )
    ids["m2"] = m2
    add = "add_related"
    raw.call(
        "add_related without a relation label",
        "POST",
        operation=add,
        sourceRecordId=ids["nofirst"],
        relatedRecordId=m2,
    )
    raw.call(
        "add_related with an unknown label",
        "POST",
        operation=add,
        sourceRecordId=ids["lead"],
        relatedRecordId=m2,
        relationIdLabel="NoSuchLabel",
    )
    raw.call(
        "add_related message -> Contact, label Contacts",
        "POST",
        operation=add,
        sourceRecordId=m2,
        relatedRecordId=ids["label_contact"],
        relationIdLabel="Contacts",
    )
    raw.call(
        "add_related the same pair again (reverse)",
        "POST",
        operation=add,
        sourceRecordId=ids["label_contact"],
        relatedRecordId=m2,
        relationIdLabel="SPSocialConnector",
    )
    raw.call(
        "ERR add_related from a non-existent record",
        "POST",
        operation=add,
        sourceRecordId="12x999999",
        relatedRecordId=m2,
        relationIdLabel="SPSocialConnector",
    )
    cols = "SELECT id, message FROM SPSocialConnector"
    for who in ("nofirst", "lead", "label_contact"):
        raw.call(
            f"query_related {who} messages",
            "GET",
            operation="query_related",
            id=ids[who],
            relatedLabel="SPSocialConnector",
            query=cols,
        )
    for module in ("Contacts", "Leads", "Accounts"):
        raw.call(
            f"query_related message -> {module}",
            "GET",
            operation="query_related",
            id=m2,
            relatedLabel=module,
            query=f"SELECT id, lastname FROM {module}"
            if module != "Accounts"
            else "SELECT id, accountname FROM Accounts",
        )
    raw.call("relatedtypes Contacts", "GET", operation="relatedtypes", elementType="Contacts")
    for module in ("Accounts", "Leads", "ModComments"):
        raw.call(f"relatedtypes {module}", "GET", operation="relatedtypes", elementType=module)
    raw.call(
        "ERR query_related with a wrong label",
        "GET",
        operation="query_related",
        id=ids["ivan"],
        relatedLabel="Contacts",
        query=cols,
    )
    raw.call(
        "ERR query_related with ORDER BY",
        "GET",
        operation="query_related",
        id=ids["ivan"],
        relatedLabel="SPSocialConnector",
        query=cols + " ORDER BY id",
    )
    raw.call(
        "query_related with WHERE and ORDER BY",
        "GET",
        operation="query_related",
        id=ids["ivan"],
        relatedLabel="SPSocialConnector",
        query=cols + " WHERE type != 'x' ORDER BY id",
    )
    raw.call(
        "ERR query_related with a lower-case where",
        "GET",
        operation="query_related",
        id=ids["ivan"],
        relatedLabel="SPSocialConnector",
        query=cols + " where type != 'x'",
    )


def deletions(raw: Raw, ids: dict[str, str]) -> None:
    ivan = ids["ivan"]
    raw.call("delete Contact with comment and messages", "POST", operation="delete", id=ivan)
    raw.query(
        "query comments of the deleted Contact",
        f"SELECT id, commentcontent, related_to FROM ModComments WHERE related_to = '{ivan}';",
    )
    raw.query(
        "query all comments after the delete", "SELECT id, commentcontent, related_to FROM ModComments;"
    )
    raw.call("retrieve comment of the deleted Contact", "GET", operation="retrieve", id=ids["comment"])
    raw.call(
        "query_related message -> Contacts after the delete",
        "GET",
        operation="query_related",
        id=ids["message"],
        relatedLabel="Contacts",
        query="SELECT id, lastname FROM Contacts",
    )
    raw.call(
        "ERR query_related from the deleted Contact",
        "GET",
        operation="query_related",
        id=ivan,
        relatedLabel="SPSocialConnector",
        query="SELECT id, message FROM SPSocialConnector",
    )
    raw.query("query the deleted Contact by id", f"SELECT id, lastname FROM Contacts WHERE id = '{ivan}';")
    raw.call("ERR delete the deleted Contact again", "POST", operation="delete", id=ivan)
    raw.call("ERR revise the deleted Contact", "POST", operation="revise", element={"id": ivan, "title": "x"})
    raw.call(
        "ERR add_related from the deleted Contact",
        "POST",
        operation="add_related",
        sourceRecordId=ivan,
        relatedRecordId=ids["m2"],
        relationIdLabel="SPSocialConnector",
    )


def quirks(raw: Raw, ids: dict[str, Any]) -> None:
    for part in (
        mandatory_and_labels,
        four_byte,
        comments_and_users,
        links,
        deletions,
        vtql_errors,
        permissions,
        other_rules,
    ):
        part(raw, ids)
