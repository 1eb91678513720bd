"""VTQL building without a server: quoting as VTQL_Lexer.php and MySQL read it, identifiers, DNF composition,
SELECT shape."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vtiger_ws import vtql

# vtiger's lexer token for a string literal (VTQL_Lexer.php): at least one char, '' is an escaped quote.
_VTQL_LITERAL = re.compile(r"'(?:[^']|'')+'")


def _mysql_unquote(literal: str) -> str:
    """What MySQL (default sql_mode) makes of a single-quoted literal: `\\x` escapes and `''`."""
    assert literal[0] == literal[-1] == "'"
    body, out, i = literal[1:-1], [], 0
    escapes = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "Z": "\x1a"}
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            out.append(escapes.get(nxt, nxt))
            i += 2
        elif ch == "'":
            assert body[i + 1] == "'", "a lone quote would end the MySQL literal early"
            out.append("'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


@given(st.text(min_size=1))
def test_quote_is_one_vtql_token_and_mysql_reads_back_the_value(value: str) -> None:
    literal = vtql.quote(value)
    match = _VTQL_LITERAL.match(literal)
    assert match is not None and match.end() == len(literal)  # the lexer sees exactly one literal
    assert _mysql_unquote(literal) == value  # and MySQL sees exactly the value


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("O'Brien", "'O''Brien'"),
        ("a\\b'c", "'a\\\\b''c'"),  # as a real vtiger ran it: 'a\\b''c'
        ("abc\\", "'abc\\\\'"),  # a trailing backslash must not swallow the closing quote
        ("Пётр ✨", "'Пётр ✨'"),
        ("50%_off", "'50%_off'"),  # plain equality leaves wildcards alone
        (42, "'42'"),
        (dt.date(2026, 1, 2), "'2026-01-02'"),
        (dt.datetime(2026, 1, 2, 3, 4, 5), "'2026-01-02 03:04:05'"),
    ],
)
def test_quote_examples(value: str | int | dt.date, literal: str) -> None:
    assert vtql.quote(value) == literal


def test_empty_literal_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="empty string"):
        vtql.eq("vk_url", "")
    with pytest.raises(TypeError):
        vtql.eq("donotcall", True)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["", "1abc", "last name", "a-b", "a.b", "x;DROP", "Контакты", "id\n"])
def test_identifiers_are_validated(name: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        vtql.eq(name, "x")
    with pytest.raises(ValueError, match="identifier"):
        vtql.select(name, ["id"])


def test_like_escapes_wildcards_and_backslash_for_literal_matching() -> None:
    assert vtql.like_escape("50%_a\\b") == "50\\%\\_a\\\\b"
    # after quoting, `\%` becomes `\\%`: MySQL reads `\%` and `\_` as literal characters in LIKE
    assert vtql.contains("vk_url", "50%").render() == "vk_url LIKE '%50\\\\%%'"
    assert vtql.startswith("a", "x_").render() == "a LIKE 'x\\\\_%'"
    assert vtql.endswith("a", "y").render() == "a LIKE '%y'"
    assert vtql.like("vk_url", "%vk.com%").render() == "vk_url LIKE '%vk.com%'"


def test_in_list() -> None:
    assert vtql.in_("id", ["12x1", "12x2"]).render() == "id IN ('12x1','12x2')"
    with pytest.raises(ValueError):
        vtql.in_("id", [])


def test_and_distributes_over_or_because_vtql_has_no_parentheses() -> None:
    a, b, c = vtql.eq("a", "1"), vtql.eq("b", "2"), vtql.eq("c", "3")
    assert (a | b).render() == "a = '1' OR b = '2'"
    # (a OR b) AND c must not render as `a OR b AND c`, which VTQL reads as a OR (b AND c)
    assert ((a | b) & c).render() == "a = '1' AND c = '3' OR b = '2' AND c = '3'"
    assert vtql.and_(a, b | c).disjuncts == (vtql.and_(a, b), vtql.and_(a, c))
    assert vtql.or_(a, vtql.and_(b, c)).render() == "a = '1' OR b = '2' AND c = '3'"


@given(st.lists(st.booleans(), min_size=3, max_size=3))
def test_dnf_means_what_was_composed(truth: list[bool]) -> None:
    # Evaluate the rendered text with VTQL's precedence (AND over OR) and compare with Python's.
    a, b, c = (vtql.eq(n, "1") for n in "abc")
    env = dict(zip("abc", truth, strict=True))
    composed = [(a | b) & c, a & (b | c) | c, (a | b) & (b | c)]
    expected = [
        (env["a"] or env["b"]) and env["c"],
        (env["a"] and (env["b"] or env["c"])) or env["c"],
        (env["a"] or env["b"]) and (env["b"] or env["c"]),
    ]
    for condition, want in zip(composed, expected, strict=True):
        got = any(all(env[atom[0]] for atom in term) for term in condition.terms)
        assert got == want


def test_expansion_is_bounded() -> None:
    big = vtql.or_(*(vtql.eq("a", str(i)) for i in range(20)))
    with pytest.raises(ValueError, match="more than"):
        vtql.and_(big, big)


def test_select_shapes() -> None:
    where = vtql.eq("lastname", "O'Brien") | vtql.eq("id", "12x7")
    assert vtql.select("Contacts", ["id", "lastname"], where=where, order_by="id", limit=100) == (
        "SELECT id,lastname FROM Contacts WHERE lastname = 'O''Brien' OR id = '12x7' ORDER BY id LIMIT 100;"
    )
    assert vtql.select("Contacts", None, limit=5, offset=10) == "SELECT * FROM Contacts LIMIT 10,5;"
    assert vtql.select("Contacts", ["a", "b"], order_by=["a", "b"], descending=True, terminate=False) == (
        "SELECT a,b FROM Contacts ORDER BY a,b DESC"
    )
    assert vtql.select("M", ["a", "a", "b"]) == "SELECT a,b FROM M;"  # duplicates dropped


def test_select_never_lets_a_column_pass_for_the_from_keyword() -> None:
    # The server finds the module with `from\s+(\S+)`; "valid_from FROM" would read as module "FROM".
    text = vtql.select("Services", ["valid_from"])
    assert re.search(r"from\s+([^\s;]+)", text, re.IGNORECASE).group(1) == "Services"  # type: ignore[union-attr]
    assert text == "SELECT valid_from,id FROM Services;"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 101}, "between"),
        ({"limit": 0}, "between"),
        ({"offset": 5}, "offset needs"),
        ({"limit": 5, "offset": -1}, ">= 0"),
        ({"order_by": []}, "empty"),
    ],
)
def test_select_rejects_what_the_server_would_silently_change(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vtql.select("Contacts", ["id"], **kwargs)


def test_select_rejects_a_bare_string_as_fields() -> None:
    with pytest.raises(TypeError):
        vtql.select("Contacts", "lastname")
    with pytest.raises(ValueError):
        vtql.select("Contacts", [])
