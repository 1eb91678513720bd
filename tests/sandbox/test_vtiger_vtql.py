"""VTQL through real HTTP: the grammar vtiger accepts and rejects, LIMIT, precedence, ids, and the two
quoting layers (VTQL's `''` rule, then MySQL's backslash escapes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_vtiger_helpers import Ws, crm, error_of, http, ws  # noqa: F401  (fixtures)

from sandbox.vtiger import VtigerSandbox


def quote(value: str) -> str:
    """The quoting rule of VTQL_Lexer.php and MySQL together: double backslashes, then quotes, then wrap."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def ids(answer: dict) -> list[str]:
    assert answer["success"] is True, answer
    return [row["id"] for row in answer["result"]]


@pytest.fixture
def people(crm: VtigerSandbox) -> dict[str, str]:  # noqa: F811
    return {
        "ivan": crm.seed("Contacts", {"firstname": "Ivan", "lastname": "Petrov", "mailingcity": "Moscow"}),
        "anna": crm.seed("Contacts", {"firstname": "Anna", "lastname": "Petrova", "mailingcity": "Kazan"}),
        "olga": crm.seed("Contacts", {"firstname": "Olga", "lastname": "Smirnova", "mailingcity": "Moscow"}),
    }


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("lastname = 'Petrov'", ["ivan"]),
        ("lastname != 'Petrov'", ["anna", "olga"]),
        ("lastname LIKE 'Petrov%'", ["ivan", "anna"]),
        ("lastname like 'P_trov'", ["ivan"]),
        ("firstname IN ('Ivan','Olga')", ["ivan", "olga"]),
        ("firstname in 'Anna'", ["anna"]),
        ("firstname = ('Anna')", ["anna"]),
        ("firstname > 'Anna' AND firstname < 'Olga'", ["ivan"]),
        ("firstname >= 'Ivan' and firstname <= 'Olga'", ["ivan", "olga"]),
        # AND binds tighter than OR: a OR (b AND c)
        ("firstname = 'Anna' OR mailingcity = 'Moscow' AND lastname = 'Smirnova'", ["anna", "olga"]),
        ("mailingcity = 'Moscow' AND lastname = 'Smirnova' OR firstname = 'Anna'", ["anna", "olga"]),
    ],
)
def test_accepted_conditions(ws: Ws, people: dict[str, str], where: str, expected: list[str]) -> None:  # noqa: F811
    answer = ws.query(f"SELECT id, firstname FROM Contacts WHERE {where};")
    assert sorted(ids(answer)) == sorted(people[name] for name in expected)


def test_select_shapes_and_keyword_case(ws: Ws, people: dict[str, str]) -> None:  # noqa: F811
    rows = ws.query("select firstname, lastname from Contacts where firstname = 'Ivan' limit 1;")["result"]
    assert rows == [{"firstname": "Ivan", "lastname": "Petrov", "id": people["ivan"]}]
    rows = ws.query("SELECT lastname, id FROM Contacts WHERE firstname = 'Ivan';")["result"]
    assert list(rows[0]) == ["lastname", "id"]
    assert ws.query("SELECT count(*) FROM Contacts;")["result"] == [{"count": "3"}]
    moscow = ws.query("SELECT COUNT(*) FROM Contacts WHERE mailingcity = 'Moscow';")
    assert moscow["result"] == [{"count": "2"}]


def test_order_by_direction_applies_to_the_last_column(ws: Ws, people: dict[str, str]) -> None:  # noqa: F811
    rows = ws.query("SELECT id FROM Contacts ORDER BY mailingcity, firstname DESC;")
    assert ids(rows) == [people["anna"], people["olga"], people["ivan"]]
    assert ids(ws.query("SELECT id FROM Contacts ORDER BY id DESC;")) == sorted(
        people.values(), key=lambda i: int(i.split("x")[1]), reverse=True
    )


def test_ids_ignore_the_prefix_and_support_keyset_paging(ws: Ws, people: dict[str, str]) -> None:  # noqa: F811
    number = people["anna"].split("x")[1]
    assert ids(ws.query(f"SELECT id FROM Contacts WHERE id = '11x{number}';")) == [people["anna"]]
    assert ids(ws.query(f"SELECT id FROM Contacts WHERE id > '12x{number}' ORDER BY id LIMIT 100;")) == [
        people["olga"]
    ]
    assert ids(ws.query(f"SELECT id FROM Contacts WHERE id IN ('12x{number}','12x999');")) == [people["anna"]]
    assert error_of(ws.query(f"SELECT id FROM Contacts WHERE id = {number};"))[0] == "DATABASE_QUERY_ERROR"


def test_reference_and_owner_values(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    account = crm.seed("Accounts", {"accountname": "Acme"})
    contact = crm.seed("Contacts", {"lastname": "Worker", "account_id": account})
    assert ids(ws.query(f"SELECT id FROM Contacts WHERE account_id = '{account}';")) == [contact]
    assert ids(ws.query("SELECT id FROM Contacts WHERE assigned_user_id = '19x1';")) == [contact]
    assert error_of(ws.query("SELECT id FROM Contacts WHERE account_id = 'Acme';")) == (
        "INVALID_ID_ATTRIBUTE",
        "Id specified is incorrect",
    )


def test_limit_is_clamped_to_100(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    for n in range(150):
        crm.seed("Leads", {"lastname": f"Lead {n:03d}"})
    count = {
        q: len(ws.query(f"SELECT id FROM Leads{q};")["result"])
        for q in ("", " LIMIT 150", " LIMIT 0, 150", " LIMIT 100, 50", " LIMIT 140, 100", " LIMIT 5")
    }
    assert count == {
        "": 100,
        " LIMIT 150": 100,
        " LIMIT 0, 150": 100,
        " LIMIT 100, 50": 50,
        " LIMIT 140, 100": 10,
        " LIMIT 5": 5,
    }
    assert error_of(ws.query("SELECT id FROM Leads LIMIT -5;"))[0] == "DATABASE_QUERY_ERROR"


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (
            "SELECT * FROM Contacts LIMIT 1",
            "QUERY_SYNTAX_ERROR",
            "Syntax Error on line 1: token '1' Unexpected End of Input(0), expected one of: SEMICOLON",
        ),
        (
            "SELEC * FROM Contacts;",
            "QUERY_SYNTAX_ERROR",
            "Syntax Error on line 1: token 'SELEC' Unexpected Unknown(SELEC), expected one of: SELECT",
        ),
        (
            "SELECT id FROM Contacts WHERE lastname = 'O\\'Brien';",
            "QUERY_SYNTAX_ERROR",
            "Syntax Error on line 1: token 'Brien' Unexpected COLUMNNAME(Brien), expected one of: SEMICOLON",
        ),
        ("SELECT id FROM Contacts;;", "QUERY_SYNTAX_ERROR", None),
        ("SELECT id FROM Contacts WHERE lastname <> 'x';", "QUERY_SYNTAX_ERROR", None),
        ("SELECT id FROM Contacts WHERE (lastname = 'x' OR firstname = 'y');", "QUERY_SYNTAX_ERROR", None),
        ("SELECT id FROM Contacts WHERE NOT lastname = 'x';", "QUERY_SYNTAX_ERROR", None),
        ("SELECT id FROM Contacts WHERE lastname IS NULL;", "QUERY_SYNTAX_ERROR", None),
        ("SELECT id FROM Contacts WHERE lastname NOT LIKE 'x';", "QUERY_SYNTAX_ERROR", None),
        ("SELECT id FROM Contacts WHERE lastname BETWEEN 'a' AND 'b';", "QUERY_SYNTAX_ERROR", None),
        ("SELECT *, id FROM Contacts;", "QUERY_SYNTAX_ERROR", None),
        ("SELECT id FROM Contacts ORDER BY lastname DESC, firstname;", "QUERY_SYNTAX_ERROR", None),
        ("SELECT max(id) FROM Contacts;", "QUERY_SYNTAX_ERROR", None),
        (
            "SELECT id FROM Contacts WHERE lastname = '';",
            "INTERNAL_SERVER_ERROR",
            "Unknown Error while processing request",
        ),
        ('SELECT id FROM Contacts WHERE lastname = "Smith";', "INTERNAL_SERVER_ERROR", None),
        ("SELECT id FROM Leads WHERE annualrevenue = 1.5;", "INTERNAL_SERVER_ERROR", None),
        (
            "SELECT id FROM Contacts WHERE lastname = 'Смирнов' AND Фамилия = 'x';",
            "INTERNAL_SERVER_ERROR",
            None,
        ),
        (
            "SELECT id FROM Contacts WHERE lastname = Smith;",
            "DATABASE_QUERY_ERROR",
            "Ошибка базы данных при выполнении операции",
        ),
        ("SELECT id FROM Contacts WHERE lastname = 'abc\\';", "DATABASE_QUERY_ERROR", None),
        ("SELECT id FROM Contacts ORDER BY nosuchfield;", "DATABASE_QUERY_ERROR", None),
        (
            "SELECT nosuchfield FROM Contacts;",
            "ACCESS_DENIED",
            "Permission to access '.nosuchfield.' attribute denied.",
        ),
        (
            "SELECT id FROM Contacts WHERE nosuch = 'x';",
            "ACCESS_DENIED",
            "Permission to access nosuch attribute denied.",
        ),
        (
            "SELECT id FROM contacts;",
            "ACCESS_DENIED",
            "Permission to perform the operation is denied for name : contacts",
        ),
        ("SELECT id;", "ACCESS_DENIED", "Permission to perform the operation is denied for query"),
    ],
)
def test_rejected_queries(ws: Ws, text: str, code: str, message: str | None) -> None:  # noqa: F811
    actual_code, actual_message = error_of(ws.query(text))
    assert actual_code == code
    if message is not None:
        assert actual_message == message


def test_backslashes_matter_to_mysql_not_to_vtql(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    record = crm.seed("Contacts", {"lastname": "a\\b"})
    assert ids(ws.query("SELECT id FROM Contacts WHERE lastname = 'a\\b';")) == []  # \b = backspace
    quoted = quote("a" + chr(92) + "b")
    assert ids(ws.query(f"SELECT id FROM Contacts WHERE lastname = {quoted};")) == [record]
    assert ids(ws.query("SELECT id FROM Contacts WHERE lastname = 'O''Brien';")) == []


def test_naive_quoting_lets_a_value_rewrite_the_query(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    live = [crm.seed("Contacts", {"lastname": f"L{n}"}) for n in range(3)]
    gone = crm.seed("Contacts", {"lastname": "Gone"})
    assert ws.call("POST", "delete", id=gone)["success"]
    crafted = "x\\' ) OR 1=1 #"
    naive = "'" + crafted.replace("'", "''") + "'"  # quotes doubled, backslash left alone
    rows = ids(ws.query(f"SELECT id FROM Contacts WHERE lastname = {naive};"))
    assert sorted(rows) == sorted([*live, gone])
    assert ids(ws.query(f"SELECT id FROM Contacts WHERE lastname = {quote(crafted)};")) == []


def test_like_wildcards_and_their_escapes(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    percent = crm.seed("Contacts", {"lastname": "100% sure"})
    other = crm.seed("Contacts", {"lastname": "1000 sure"})
    assert sorted(ids(ws.query("SELECT id FROM Contacts WHERE lastname LIKE '100%';"))) == [percent, other]
    pattern = quote(like_escape("100%") + "%")
    assert ids(ws.query(f"SELECT id FROM Contacts WHERE lastname LIKE {pattern};")) == [percent]
    assert ids(ws.query("SELECT id FROM Contacts WHERE lastname LIKE '100\\\\% sure';")) == [percent]


# derandomized: CI must not turn red on a fresh random draw; the properties were also run with 1500 draws
_FIXED = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": [HealthCheck.function_scoped_fixture],
}
_TEXT = st.text(min_size=1, max_size=40).filter(lambda v: "<script" not in v.lower())


@settings(max_examples=60, **_FIXED)
@given(value=_TEXT)
def test_quoted_values_round_trip_through_both_layers(ws: Ws, crm: VtigerSandbox, value: str) -> None:  # noqa: F811
    record = crm.seed("Contacts", {"lastname": "P", "description": value})
    equal = ids(ws.query(f"SELECT id FROM Contacts WHERE description = {quote(value)};"))
    like = ids(ws.query(f"SELECT id FROM Contacts WHERE description LIKE {quote(like_escape(value))};"))
    outside_bmp = any(ord(ch) > 0xFFFF for ch in value)
    # 3-byte utf8 stores characters outside the BMP as '?', so the original no longer matches
    assert (record in equal) is not outside_bmp
    assert (record in like) is not outside_bmp


@pytest.fixture(scope="module")
def vtiger7() -> Iterator[Ws]:
    with VtigerSandbox("vtiger-7") as sandbox, requests.Session() as session:
        caller = Ws(sandbox, session)
        caller.login()
        yield caller


@settings(max_examples=30, **_FIXED)
@given(value=_TEXT)
def test_vtiger7_keeps_four_byte_characters(vtiger7: Ws, value: str) -> None:
    record = vtiger7.crm.seed("Contacts", {"lastname": "P", "description": value})
    assert vtiger7.crm.get(record)["description"] == value
    assert record in ids(vtiger7.query(f"SELECT id FROM Contacts WHERE description = {quote(value)};"))


_PIECES = [
    "SELECT",
    "select",
    "*",
    "id",
    "lastname",
    "tags",
    "count(*)",
    "FROM",
    "Contacts",
    "WHERE",
    "=",
    "!=",
    "<",
    ">=",
    "'a'",
    "'b''c'",
    "'x\\'",
    "'%'",
    "\\",
    "AND",
    "OR",
    "(",
    ")",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "DESC",
    "LIMIT",
    "5",
    "-5",
    "0",
    ",",
    ";",
    "#",
    "--",
    "'12x3'",
    "nosuch",
    '"q"',
    "1.5",
]
_CODES = {
    "QUERY_SYNTAX_ERROR",
    "INTERNAL_SERVER_ERROR",
    "DATABASE_QUERY_ERROR",
    "ACCESS_DENIED",
    "INVALID_ID_ATTRIBUTE",
}


@settings(max_examples=150, **_FIXED)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=14), valid_prefix=st.booleans())
def test_any_query_text_gets_an_envelope(vtiger7: Ws, pieces: list[str], valid_prefix: bool) -> None:
    head = ["SELECT", "id", "FROM", "Contacts"] if valid_prefix else []
    answer = vtiger7.raw(
        "GET", {"operation": "query", "sessionName": vtiger7.session, "query": " ".join(head + pieces)}
    )
    assert answer.status_code == 200  # upstream vtiger 7 has no fatal on SELECT *; a 500 here is a bug
    body = answer.json()
    assert body["success"] is True or body["error"]["code"] in _CODES
