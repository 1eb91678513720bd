"""The recording scenario's errors (`scenario_quirks.py` runs them last): the exact wording of VTQL syntax
errors, of permission refusals, and of the other rules a real SalesPlatform enforces."""

from __future__ import annotations

from scenario import OWNER, Raw


def vtql_errors(raw: Raw, ids: dict[str, str]) -> None:
    q = raw.query
    for label, text in (
        ("ERR query lower-case module", "SELECT id FROM contacts;"),
        ("ERR query unknown module", "SELECT id FROM NoSuchModule;"),
        ("ERR query no FROM", "SELECT id, lastname;"),
        ("ERR query unknown column in WHERE", "SELECT id FROM Contacts WHERE nosuchfield = '1';"),
        ("ERR query unknown column in ORDER BY", "SELECT id FROM Contacts ORDER BY nosuchfield;"),
        ("ERR query empty string literal", "SELECT id FROM Contacts WHERE vk_url = '';"),
        ("ERR query <> operator", "SELECT id FROM Contacts WHERE vk_url <> 'x';"),
        ("ERR query IS NULL", "SELECT id FROM Contacts WHERE vk_url IS NULL;"),
        (
            "ERR query parentheses in WHERE",
            "SELECT id FROM Contacts WHERE (lastname = 'a' OR lastname = 'b');",
        ),
        ("ERR query trailing text after ;", "SELECT id FROM Contacts; SELECT 1;"),
        ("ERR query LIMIT word", "SELECT id FROM Contacts LIMIT ten;"),
        ("ERR query backslash-escaped quote", "SELECT id FROM Contacts WHERE lastname = 'O\\'Brien';"),
        ("ERR query trailing backslash", "SELECT id FROM Contacts WHERE lastname = 'abc\\';"),
        ("ERR query reference without x", "SELECT id FROM ModComments WHERE related_to = '12';"),
        ("ERR query double comma", "SELECT id,, lastname FROM Contacts;"),
        ("ERR query ORDER without BY", "SELECT id FROM Contacts ORDER id;"),
        ("query count(*)", "SELECT count(*) FROM Contacts;"),
        (
            "query IN and LIKE",
            "SELECT id, lastname FROM Contacts WHERE lastname IN ('Пустое','Лид') OR lastname LIKE 'Пёт%';",
        ),
        ("query ё equals е, case-insensitive", "SELECT id FROM Contacts WHERE lastname = 'ПЕТР ????';"),
        ("query trailing spaces ignored", "SELECT id FROM Contacts WHERE lastname = 'Пустое   ';"),
        ("query LIMIT 150 clamped", "SELECT id FROM Contacts LIMIT 150;"),
        (
            "query ORDER BY two columns DESC",
            "SELECT id, lastname FROM Contacts ORDER BY lastname, id DESC LIMIT 3;",
        ),
        ("query id > with another prefix", "SELECT id FROM Contacts WHERE id > '99x0' LIMIT 2;"),
        ("query vk_url LIKE", "SELECT id, vk_url FROM Contacts WHERE vk_url LIKE '%vk.com%';"),
        (
            "query message by type and datetime",
            "SELECT id, message FROM SPSocialConnector "
            "WHERE message_datetime = '2026-11-30 10:00:00' AND type = 'Входящее';",
        ),
    ):
        q(label, text)


def permissions(raw: Raw, ids: dict[str, str]) -> None:
    call = raw.call
    call("ERR describe unknown module", "GET", operation="describe", elementType="NoSuchModule")
    call("ERR describe lower-case module", "GET", operation="describe", elementType="contacts")
    call("ERR relatedtypes unknown module", "GET", operation="relatedtypes", elementType="NoSuchModule")
    for label, value in (
        ("malformed id", "abc"),
        ("id without number", "12x"),
        ("id without prefix", "x2"),
        ("unknown prefix", "99x1"),
        ("message id with the Contacts prefix", "12" + ids["message"][ids["message"].index("x") :]),
    ):
        call(f"ERR retrieve {label}", "GET", operation="retrieve", id=value)
    call("ERR retrieve without id", "GET", operation="retrieve")
    call(
        "ERR revise with the wrong prefix",
        "POST",
        operation="revise",
        element={"id": "10" + ids["nofirst"][ids["nofirst"].index("x") :], "lastname": "x"},
    )
    call("ERR revise without id", "POST", operation="revise", element={"lastname": "x"})
    call("ERR revise invalid JSON", "POST", operation="revise", element="{not json")
    call(
        "ERR update without mandatory fields",
        "POST",
        operation="update",
        element={"id": ids["nofirst"], "firstname": "x"},
    )
    call(
        "ERR revise clearing a mandatory field",
        "POST",
        operation="revise",
        element={"id": ids["nofirst"], "lastname": ""},
    )
    call(
        "ERR create Users",
        "POST",
        operation="create",
        elementType="Users",
        element={"user_name": "x", "last_name": "x"},
    )
    call("ERR create invalid JSON", "POST", operation="create", elementType="Contacts", element="{oops")
    call(
        "ERR create reference to a message",
        "POST",
        operation="create",
        elementType="Contacts",
        element={"lastname": "x", "assigned_user_id": OWNER, "account_id": ids["message"]},
    )
    call("ERR delete a malformed id", "POST", operation="delete", id="12x")
    call(
        "ERR query without sessionName",
        "GET",
        operation="query",
        query="SELECT id FROM Contacts;",
        sessionName=None,
    )
    call("ERR query POSTed", "POST", operation="query", query="SELECT id FROM Contacts;")
    call("ERR getchallenge unknown user", "GET", operation="getchallenge", username="nosuchuser")
    call("ERR getchallenge without username", "GET", operation="getchallenge", username=None)
    call("ERR login without accessKey", "POST", operation="login", username=raw.user)


def other_rules(raw: Raw, ids: dict[str, str]) -> None:
    raw.create("create Account", "Accounts", {"accountname": "Дубль", "assigned_user_id": OWNER})
    raw.create(
        "ERR create Account with a duplicate name",
        "Accounts",
        {"accountname": "дубль  ", "assigned_user_id": OWNER},
    )
    raw.create(
        "ERR create message without message_datetime",
        "SPSocialConnector",
        {"message": "x", "assigned_user_id": OWNER, "type": "Исходящее"},
    )
    m = raw.create(
        "create message in the user's date format, without type",
        "SPSocialConnector",
        {"message": "Дата", "assigned_user_id": OWNER, "message_datetime": "30-11-2026 10:00"},
    )
    raw.call("retrieve message without type", "GET", operation="retrieve", id=m)
    raw.create(
        "create Contact with values to normalise",
        "Contacts",
        {
            "lastname": "Нормы",
            "assigned_user_id": OWNER,
            "birthday": "31-12-1999",
            "donotcall": True,
            "leadsource": "NoSuchValue",
            "email": "not-an-email",
            "account_id": "11x999999",
        },
    )
    raw.call(
        "sync (broken on SalesPlatform)", "GET", operation="sync", modifiedTime="0", elementType="Contacts"
    )
    raw.call(
        "retrieve_related (SELECT * inside)",
        "GET",
        operation="retrieve_related",
        id=ids["lead"],
        relatedType="SPSocialConnector",
        relatedLabel="SPSocialConnector",
    )
    raw.call(
        "retrieve_related of a record without links",
        "GET",
        operation="retrieve_related",
        id=ids["label_lead"],
        relatedType="SPSocialConnector",
        relatedLabel="SPSocialConnector",
    )
    raw.call("logout (broken on SalesPlatform)", "POST", operation="logout")
    raw.call("listtypes after logout", "GET", operation="listtypes")
    # Last on purpose: vtiger dies with an HTML page inside the open transaction, and with its persistent
    # database connections the row locks stay taken, so every later create on this server would hang.
    raw.create(
        "ERR create Contact with an unknown owner (last: jams later writes)",
        "Contacts",
        {"lastname": "X", "assigned_user_id": "19x99"},
    )
