"""`--where` filters: quoted values may hold anything, including the word AND; every term reaches VTQL
only through `vtiger_ws.vtql`, and the sandbox CRM answers the query with exactly the matching records."""

from __future__ import annotations

import pytest

from bridge.crm.filters import parse_where
from sandbox.vtiger import VtigerSandbox
from vtiger_ws import VtigerClient, vtql


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lastname = 'Smith AND Sons'", vtql.eq("lastname", "Smith AND Sons")),
        ('lastname = "Smith and Sons"', vtql.eq("lastname", "Smith and Sons")),
        (
            "lastname = 'Smith AND Sons' AND mailingcity = 'Омск'",
            vtql.and_(vtql.eq("lastname", "Smith AND Sons"), vtql.eq("mailingcity", "Омск")),
        ),
        (
            "mailingcity = 'A AND B' and lastname != 'C'",
            vtql.and_(vtql.eq("mailingcity", "A AND B"), vtql.ne("lastname", "C")),
        ),
        ("lastname = 'O''Brien AND Co'", vtql.eq("lastname", "O'Brien AND Co")),
        ("vk_url LIKE '%vk.com%'", vtql.like("vk_url", "%vk.com%")),
        ("  id > 5   AND   id <= 9 ", vtql.and_(vtql.gt("id", "5"), vtql.le("id", "9"))),
    ],
)
def test_quoted_values_keep_the_word_and(text: str, expected: vtql.Condition) -> None:
    assert parse_where(text).render() == expected.render()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1=1 OR 1",
        "lastname = 'x' OR lastname = 'y'",
        "lastname = 'x' AND",
        "AND lastname = 'x'",
        "lastname = 'x' lastname = 'y'",
        "lastname = 'open",
    ],
)
def test_what_is_not_the_grammar_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read the condition"):
        parse_where(text)


def test_a_record_whose_value_holds_and_is_found_in_the_crm() -> None:
    with VtigerSandbox() as crm:
        wanted = crm.seed("Contacts", {"lastname": "Smith AND Sons", "assigned_user_id": "19x1"})
        crm.seed("Contacts", {"lastname": "Smith", "assigned_user_id": "19x1"})
        crm.seed("Contacts", {"lastname": "Sons", "assigned_user_id": "19x1"})
        client = VtigerClient(crm.url, crm.username, crm.access_key)
        try:
            where = parse_where("lastname = 'Smith AND Sons'")
            found = [str(r["id"]) for r in client.query_iter("Contacts", fields=["id"], where=where)]
        finally:
            client.close()
    assert found == [wanted]
