"""Build VTQL queries; the only way values should enter a query.

    >>> from vtiger_ws import vtql
    >>> vtql.select("Contacts", ["lastname"], where=vtql.eq("lastname", "O'Brien") | vtql.eq("id", "12x7"))
    "SELECT lastname FROM Contacts WHERE lastname = 'O''Brien' OR id = '12x7';"

Quoting follows vtiger's VTQL_Lexer.php and MySQL exactly: vtiger's lexer knows only `''` as an escaped quote,
but it hands the literal to MySQL unchanged and MySQL treats `\\` as an escape, so every backslash is doubled
first, then every quote. The empty literal `''` cannot be lexed at all (INTERNAL_SERVER_ERROR), so asking for
it raises ValueError here.

VTQL has no parentheses and AND binds tighter than OR (vtiger's VTQL_Parser.php). A `Condition` is therefore
kept in disjunctive normal form (an OR of ANDs), which renders without parentheses and still means exactly
what `and_`/`or_` (or `&`/`|`) composed: `(a | b) & c` renders `a AND c OR b AND c`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_LIMIT",
    "Condition",
    "and_",
    "contains",
    "endswith",
    "eq",
    "ge",
    "gt",
    "identifier",
    "in_",
    "le",
    "like",
    "like_escape",
    "lt",
    "ne",
    "or_",
    "quote",
    "select",
    "startswith",
]

#: The server clamps every page to 100 rows (VTQL_Parser::buildSelectStmt).
MAX_LIMIT = 100

# Conjunctions a composed condition may expand to; distributing AND over OR multiplies terms.
_MAX_TERMS = 256

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Value = str | int | dt.date


def identifier(name: str) -> str:
    """`name` if it is a valid VTQL field or module name, else ValueError (`^[A-Za-z_][A-Za-z0-9_]*$`)."""
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise ValueError(f"not a VTQL identifier: {name!r}")
    return name


def _text(value: Value) -> str:
    if isinstance(value, bool):  # bool is an int; "True" is never what the caller meant
        raise TypeError("VTQL has no booleans; vtiger stores them as '0'/'1'")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} into VTQL")


def quote(value: Value) -> str:
    """The VTQL string literal for `value`: backslashes doubled, then quotes doubled, in single quotes.

    Raises:
        ValueError: `value` is the empty string, which VTQL cannot express (filter client-side instead).
    """
    text = _text(value)
    if text == "":
        raise ValueError(
            "VTQL cannot express the empty string literal '' (the server fails to lex it); "
            "select the rows and filter client-side instead"
        )
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def like_escape(text: str) -> str:
    """`text` as a LIKE pattern matching itself literally (`\\`, `%` and `_` escaped for MySQL)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Condition:
    """A WHERE condition in disjunctive normal form: `terms` is an OR of ANDs of rendered comparisons.

    Build with the functions of this module and combine with `and_`/`or_` or `&`/`|`.
    """

    terms: tuple[tuple[str, ...], ...]

    def __and__(self, other: Condition) -> Condition:
        return and_(self, other)

    def __or__(self, other: Condition) -> Condition:
        return or_(self, other)

    @property
    def disjuncts(self) -> tuple[Condition, ...]:
        """The OR-ed parts, each a pure conjunction (for servers that prepend `X AND` to a WHERE)."""
        return tuple(Condition((term,)) for term in self.terms)

    def render(self) -> str:
        return " OR ".join(" AND ".join(term) for term in self.terms)

    def __str__(self) -> str:
        return self.render()


def _cmp(field: str, op: str, value: Value) -> Condition:
    return Condition(((f"{identifier(field)} {op} {quote(value)}",),))


def eq(field: str, value: Value) -> Condition:
    """`field = value`. Mind the column collation: SalesPlatform compares case-insensitively."""
    return _cmp(field, "=", value)


def ne(field: str, value: Value) -> Condition:
    """`field != value` (VTQL has no `<>`)."""
    return _cmp(field, "!=", value)


def lt(field: str, value: Value) -> Condition:
    return _cmp(field, "<", value)


def le(field: str, value: Value) -> Condition:
    return _cmp(field, "<=", value)


def gt(field: str, value: Value) -> Condition:
    """`field > value`; for `id` the server compares crmids numerically and ignores the prefix."""
    return _cmp(field, ">", value)


def ge(field: str, value: Value) -> Condition:
    return _cmp(field, ">=", value)


def in_(field: str, values: Iterable[Value]) -> Condition:
    """`field IN (v1, v2, ...)`.

    Raises:
        ValueError: `values` is empty (VTQL has no empty list; the answer would be "no rows").
    """
    literals = [quote(v) for v in values]
    if not literals:
        raise ValueError(f"in_({field!r}, ...) needs at least one value")
    return Condition(((f"{identifier(field)} IN ({','.join(literals)})",),))


def like(field: str, pattern: str) -> Condition:
    """`field LIKE pattern` with `pattern` used as given: `%` and `_` are wildcards.

    Use `like_escape` (or `contains`/`startswith`/`endswith`) for text that must match literally.
    """
    return _cmp(field, "LIKE", pattern)


def contains(field: str, text: str) -> Condition:
    """`field` contains `text` literally (wildcards in `text` are escaped)."""
    return like(field, f"%{like_escape(text)}%")


def startswith(field: str, text: str) -> Condition:
    return like(field, f"{like_escape(text)}%")


def endswith(field: str, text: str) -> Condition:
    return like(field, f"%{like_escape(text)}")


def and_(*conditions: Condition) -> Condition:
    """All of `conditions` (AND distributed over OR so the result needs no parentheses).

    Raises:
        ValueError: no condition given, or the expansion exceeds 256 terms.
    """
    if not conditions:
        raise ValueError("and_() needs at least one condition")
    terms: tuple[tuple[str, ...], ...] = ((),)
    for condition in conditions:
        terms = tuple(left + right for left in terms for right in condition.terms)
        if len(terms) > _MAX_TERMS:
            raise ValueError(f"condition expands to more than {_MAX_TERMS} OR-terms; simplify it")
    return Condition(terms)


def or_(*conditions: Condition) -> Condition:
    """Any of `conditions`."""
    if not conditions:
        raise ValueError("or_() needs at least one condition")
    return Condition(tuple(term for condition in conditions for term in condition.terms))


def _columns(fields: Sequence[str] | None) -> str:
    if fields is None:
        return "*"
    if isinstance(fields, str):
        raise TypeError("fields must be a sequence of names, not a str")
    names = [identifier(f) for f in dict.fromkeys(fields)]
    if not names:
        raise ValueError("select() needs at least one field (or fields=None for *)")
    # The server finds the module with the unanchored regex `from\s+([^\s;]+)` before parsing (vtiger's
    # Query.php), so a column such as `valid_from` followed by a space would be taken for the FROM keyword.
    # Columns are joined without spaces, and `id` (always returned anyway) is moved to the end if the
    # last column ends in "from".
    if names[-1].lower().endswith("from"):
        names = [n for n in names if n != "id"] + ["id"]
    return ",".join(names)


def select(
    module: str,
    fields: Sequence[str] | None,
    *,
    where: Condition | None = None,
    order_by: str | Sequence[str] | None = None,
    descending: bool = False,
    limit: int | None = None,
    offset: int | None = None,
    terminate: bool = True,
) -> str:
    """A complete VTQL SELECT.

    Args:
        module: module name (case-sensitive, validated as an identifier).
        fields: column names, or None for `*` (avoid on SalesPlatform: `*` includes `tags` -> HTTP 500).
        where: a condition built with this module.
        order_by: one field or several; `descending` applies to the last one only (VTQL's rule).
        limit: rows wanted, at most 100 (the server would silently clamp a larger value).
        offset: rows to skip (needs `limit`).
        terminate: append the mandatory `;`. `query_related` wants no `;` (the server appends it).

    Raises:
        ValueError: invalid identifier, limit outside 1..100, offset without limit, empty literal.
    """
    parts = [f"SELECT {_columns(fields)} FROM {identifier(module)}"]
    if where is not None:
        parts.append(f"WHERE {where.render()}")
    if order_by is not None:
        keys = [order_by] if isinstance(order_by, str) else list(order_by)
        if not keys:
            raise ValueError("order_by is empty")
        parts.append("ORDER BY " + ",".join(identifier(k) for k in keys) + (" DESC" if descending else ""))
    if limit is not None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT} (the server caps pages at 100)")
        if offset is not None:
            if offset < 0:
                raise ValueError("offset must be >= 0")
            parts.append(f"LIMIT {offset},{limit}")
        else:
            parts.append(f"LIMIT {limit}")
    elif offset is not None:
        raise ValueError("offset needs a limit")
    return " ".join(parts) + (";" if terminate else "")
