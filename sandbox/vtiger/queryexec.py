"""`query`: VTQL text -> parse (vtql.py) -> vtiger's SQL text -> MySQL semantics (mysql.py) -> rows."""

from __future__ import annotations

import re
from typing import Any

from . import mysql, vtql
from .envelope import INVALID_ID, PhpFatal, WsError, access_denied
from .schema import Module
from .storage import Store, collation_key, split_ws_id

MAX_ROWS = 100
NUMERIC_TYPES = ("integer", "currency", "double", "boolean")
_MODULE_RE = re.compile(r"from\s+([^\s;]+)", re.I)


def module_of(store: Store, text: str) -> Module:
    """VtigerWebserviceObject::fromQuery: the first `from <name>`, before any parsing."""
    match = _MODULE_RE.search(text)
    if match is None:
        raise access_denied("Permission to perform the operation is denied for query")
    module = store.schema.module(match.group(1))
    if module is None:
        raise access_denied(f"Permission to perform the operation is denied for name : {match.group(1)}")
    return module


def _checker(module: Module) -> Any:
    def check(name: str, in_select: bool) -> None:
        if name == "id" or name in module.by_name:
            return
        if in_select:
            raise access_denied(f"Permission to access '.{name}.' attribute denied.")
        raise access_denied(f"Permission to access {name} attribute denied.")

    return check


def _reference_checker(module: Module) -> Any:
    def check(name: str, literals: list[str]) -> None:
        fld = module.by_name.get(name)
        if fld is not None and fld.is_reference and any("x" not in literal for literal in literals):
            raise WsError("INVALID_ID_ATTRIBUTE", INVALID_ID)

    return check


def _module_checker(store: Store) -> Any:
    def check(name: str) -> None:
        if store.schema.module(name) is None:
            raise access_denied(f"Permission to perform the operation is denied for name : {name}")

    return check


def _render_condition(module: Module, cond: vtql.Condition) -> str:
    fld = module.by_name.get(cond.field)
    texts: list[str] = []
    for token in cond.values:
        raw = token.text
        if cond.field == "id" or (fld is not None and (fld.is_reference or fld.is_owner)):
            # The value's quotes are trimmed and only the record number after 'x' reaches SQL.
            parts = split_ws_id(raw.strip("'"))
            if parts is None and fld is not None and fld.is_reference:
                raise WsError("INVALID_ID_ATTRIBUTE", INVALID_ID)
            number = parts[1] if parts is not None else ""
            raw = f"'{number}'" if cond.op == "LIKE" else number
        texts.append(raw)
    if cond.op == "IN":
        return f"{cond.field} IN ({','.join(texts)})"
    if cond.parenthesized:
        return f"{cond.field} {cond.op} ({','.join(texts)})"
    return f"{cond.field} {cond.op} {texts[0]}"


def _limit(token: vtql.Token) -> str:
    text = token.text
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return str(min(int(text), MAX_ROWS))
    return text


def build_sql(module: Module, query: vtql.Select) -> str:
    sql = "deleted = 0"
    if query.conditions:
        parts = [_render_condition(module, query.conditions[0])]
        for connector, cond in zip(query.connectors, query.conditions[1:], strict=True):
            parts += [connector, _render_condition(module, cond)]
        sql += " AND ( " + " ".join(parts) + " )"
    if query.order_by:
        for name in query.order_by:
            if name != "id" and name not in module.by_name:
                raise mysql.SqlError("ORDER BY . (unknown field)")
        sql += " ORDER BY " + ", ".join(query.order_by) + (f" {query.direction}" if query.direction else "")
    if query.limit is None:
        sql += f" LIMIT {MAX_ROWS}"
    else:
        offset, count = query.limit
        sql += " LIMIT " + (f"{offset.text},{_limit(count)}" if offset is not None else _limit(count))
    return sql + ";"


def _column(module: Module, number: int, values: dict[str, str], deleted: bool, name: str) -> Any:
    if name in ("deleted", "vtiger_crmentity.deleted"):
        return int(deleted)
    if name == "id":
        return number
    fld = module.by_name.get(name)
    if fld is None:
        raise mysql.SqlError(f"unknown column {name}")
    value = values.get(name, "")
    if fld.is_reference or fld.is_owner:
        parts = split_ws_id(value)
        return int(parts[1]) if parts is not None and parts[1].isdigit() else None
    if fld.type_name in NUMERIC_TYPES:
        return None if value == "" else mysql._number(value)
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    return (1, collation_key(value)) if isinstance(value, str) else (1, value)


def execute(store: Store, text: str) -> Any:
    module = module_of(store, text)
    query = vtql.parse(text, _checker(module), _reference_checker(module), _module_checker(store))
    if query is vtql.NoResult:
        return ""  # Parser::parse() failed without an error message: vtws_query answers it
    assert isinstance(query, vtql.Select)
    if not query.built:  # no SQL was built: MySQL rejects the empty statement
        raise mysql.database_error(store.profile.database_error)
    selected = [f.name for f in module.fields] if query.columns is None else query.columns  # describe order
    try:
        sql = build_sql(module, query)
        statement = mysql.run(sql)
        rows = store.rows(module.name)
        for tok in statement.toks:  # MySQL resolves every column before it reads a row
            if tok.kind == "ident":
                _column(module, 0, {}, False, str(tok.value))

        def reader(row: tuple[int, dict[str, str], bool]) -> mysql.Row:
            return lambda name: _column(module, row[0], row[1], row[2], name)

        matched = [r for r in rows if mysql._truth(statement.where(reader(r)))]
        for pos, name in reversed(list(enumerate(statement.order))):
            last = pos == len(statement.order) - 1

            def key(row: tuple[int, dict[str, str], bool], name: str = name) -> tuple[int, Any]:
                return _sort_key(reader(row)(name))

            matched.sort(key=key, reverse=last and statement.desc)
    except mysql.SqlError:
        raise mysql.database_error(store.profile.database_error) from None
    if query.count:
        return [{"count": str(len(matched))}]
    end = None if statement.count is None else statement.offset + statement.count
    page = matched[statement.offset : end]
    if page and store.profile.tags_query_fatal and "tags" in module.by_name and "tags" in selected:
        # Only rows make SalesPlatform look their tags up, with a method it does not have.
        raise PhpFatal("Call to undefined method Vtiger_Tag_Model::getAllAccessibleTags()")
    # Rows are keyed by column: fields sharing one are answered once, under one name (schema.SAME_COLUMN).
    columns = list(
        dict.fromkeys(module.column_name(c) for c in (selected if "id" in selected else [*selected, "id"]))
    )
    shown = [store.view(module.name, number, values) for number, values, _ in page]
    return [{name: values.get(name, "") for name in columns} for values in shown]
