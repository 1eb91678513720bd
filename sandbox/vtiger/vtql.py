"""VTQL, the first layer: what vtiger's lexer and parser make of a query (ported in `vtql_lexer.py` and
`vtql_lemon.py`), and the checks `VTQL_Parser::buildSelectStmt` runs once the statement is parsed, in its
order.

The result is a `Select`; `queryexec.py` turns it into the SQL vtiger would run and `mysql.py` reads that SQL
as MySQL does (the second layer: backslashes are escapes there, not in VTQL). Syntax errors carry lemon's
wording; lexing failures are plain PHP exceptions, which webservice.php reports as INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import vtql_lemon
from .envelope import WsError

NoResult = object()  # the parser neither accepted nor failed: vtiger answers `"result": ""`


@dataclass
class Token:
    kind: str  # always "VALUE" here: a literal as it reached the SQL, quotes included
    text: str


@dataclass
class Condition:
    field: str
    op: str  # "=", "<", ..., "IN", "LIKE"
    values: list[Token]
    parenthesized: bool = False


@dataclass
class Select:
    columns: list[str] | None  # None = "*"
    count: bool
    table: str
    conditions: list[Condition] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)  # "AND"/"OR" between conditions
    order_by: list[str] = field(default_factory=list)
    direction: str = ""
    limit: tuple[Token | None, Token] | None = None
    built: bool = True  # buildSelectStmt ran (it does not when the parser lost the SELECT token)


CheckField = Callable[[str, bool], None]  # (name, in_select list) -> raises ACCESS_DENIED
CheckValues = Callable[[str, list[str]], None]  # (WHERE field, its literals) -> raises INVALID_ID_ATTRIBUTE


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def parse(
    text: str,
    check_field: CheckField | None = None,
    check_values: CheckValues | None = None,
    check_module: Callable[[str], None] | None = None,
) -> Select | object:
    """The parsed query, or NoResult; raises the WsError vtiger answers for it."""
    out = vtql_lemon.run(text, check_module or (lambda name: None))
    if not out["success"]:
        return NoResult
    columns = [_text(c) for c in out["column_list"]]
    built = bool(out.get("select")) and out.get("select") != "0"
    where = out.get("where_condition")
    if built:
        star, count = "*" in columns, "count(*)" in columns
        if not star and not count and check_field is not None:
            for name in columns:
                check_field(name, True)
        if where:
            names, values, ops = where["column_names"], where["column_values"], where["column_operators"]
            if len(names) != len(values) or len(ops) != len(where["operators"]) + 1:
                raise WsError("QUERY_SYNTAX_ERROR", "columns data inappropriate")
            for name, value in zip(names, values, strict=True):
                if check_field is not None:
                    check_field(_text(name), False)
                if check_values is not None:
                    literals = value if isinstance(value, list) else [value]
                    check_values(_text(name), [_text(v) for v in literals])
    select = Select(
        columns=None if "*" in columns else columns,
        count="count(*)" in columns,
        table=_text(out.get("moduleName")),
        built=built,
    )
    if where:
        for name, op, value in zip(
            where["column_names"], where["column_operators"], where["column_values"], strict=True
        ):
            literals = value if isinstance(value, list) else [value]
            select.conditions.append(
                Condition(
                    _text(name), op, [Token("VALUE", _text(v)) for v in literals], isinstance(value, list)
                )
            )
        select.connectors = [_text(o).upper() for o in where["operators"]]
    select.order_by = [_text(c) for c in out.get("orderby", [])]
    select.direction = out.get("sortOrder", "")
    limit = [Token("VALUE", _text(v)) for v in out.get("limit", [])]
    if limit:
        select.limit = (limit[0], limit[1]) if len(limit) > 1 else (None, limit[0])
    return select
