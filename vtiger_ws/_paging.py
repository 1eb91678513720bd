"""Keyset paging over VTQL's 100-row pages.

`LIMIT offset, 100` loses or repeats rows when records are added or deleted between pages; a cursor on
the id does not. VTQL compares ids by their numeric crmid and ignores the module prefix (vtiger's
VTQL_Parser.php), so the cursor is the row with the highest crmid, never the lexically greatest id string.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import vtql
from .errors import VtigerProtocolError
from .types import crmid_of

Query = Callable[[str], list[dict[str, Any]]]
Page = list[dict[str, Any]]


def _no_progress(module: str) -> VtigerProtocolError:
    # A server that ignores the cursor would make the loop spin forever; stop loudly instead.
    return VtigerProtocolError(
        f"vtiger query {module}: paging cursor did not advance",
        status=200,
        body_excerpt="",
        operation="query",
        subject=module,
    )


def _row_id(row: dict[str, Any], module: str) -> int:
    try:
        return crmid_of(str(row.get("id", "")))
    except ValueError:
        raise VtigerProtocolError(
            f"vtiger query {module}: row without a valid id",
            status=200,
            body_excerpt="",
            operation="query",
            subject=module,
        ) from None


def keyset_pages(
    query: Query, module: str, columns: Sequence[str], where: vtql.Condition | None
) -> Iterator[Page]:
    """Pages of `SELECT columns FROM module WHERE where AND id > cursor ORDER BY id LIMIT 100`.

    Ends on the first empty page: a short page is not proof of the end (8.3+ drops rows per record
    permission and de-duplicates after the LIMIT, 8.3+ VtigerModuleOperation::query).
    """
    cursor: tuple[int, str] | None = None
    while True:
        condition = where
        if cursor is not None:
            after = vtql.gt("id", cursor[1])
            condition = after if where is None else vtql.and_(where, after)
        rows = query(vtql.select(module, columns, where=condition, order_by="id", limit=vtql.MAX_LIMIT))
        if not rows:
            return
        last = max(rows, key=lambda row: _row_id(row, module))
        last_key = (_row_id(last, module), str(last["id"]))
        if cursor is not None:
            if last_key[0] <= cursor[0]:
                raise _no_progress(module)
            # Defensive: never hand out a row at or before the cursor, even if the server sent one.
            rows = [row for row in rows if _row_id(row, module) > cursor[0]]
        cursor = last_key
        yield rows


def changed_since_pages(
    query: Query,
    module: str,
    columns: Sequence[str],
    since: str | dt.datetime,
    where: vtql.Condition | None = None,
) -> Iterator[Page]:
    """Pages of rows with `modifiedtime > since` (and `where`), ordered by (modifiedtime, id), cursor on
    that pair."""
    cursor: tuple[str, int, str] | None = None
    while True:
        if cursor is None:
            condition = vtql.gt("modifiedtime", since)
        else:
            mtime, _, last_id = cursor
            condition = vtql.gt("modifiedtime", mtime) | (
                vtql.eq("modifiedtime", mtime) & vtql.gt("id", last_id)
            )
        if where is not None:
            condition = vtql.and_(where, condition)
        rows = query(
            vtql.select(
                module, columns, where=condition, order_by=["modifiedtime", "id"], limit=vtql.MAX_LIMIT
            )
        )
        if not rows:
            return
        last = max(rows, key=lambda row: (str(row.get("modifiedtime", "")), _row_id(row, module)))
        key = (str(last.get("modifiedtime", "")), _row_id(last, module), str(last["id"]))
        if cursor is not None and key[:2] <= cursor[:2]:
            raise _no_progress(module)
        cursor = key
        yield rows


def related_rows(
    fetch: Query, module: str, columns: Sequence[str], where: vtql.Condition | None
) -> list[dict[str, Any]]:
    """Every row of a `query_related` call, however many there are.

    `query_related` answers at most 100 rows and accepts no ORDER BY/LIMIT (vtiger's QueryRelated.php), so
    keyset paging is impossible. An answer that hit the cap is split at its median id instead, and both halves
    are asked again, until every answer is below the cap. `where` must be a pure conjunction (the server
    prepends `id IN (...) AND`).
    """
    rows = fetch(vtql.select(module, columns, where=where, terminate=False))
    if len(rows) < vtql.MAX_LIMIT:
        return rows
    ordered = sorted(rows, key=lambda row: _row_id(row, module))
    pivot = str(ordered[len(ordered) // 2 - 1]["id"])  # both halves hold rows of this answer: each shrinks
    out: list[dict[str, Any]] = []
    for half in (vtql.le("id", pivot), vtql.gt("id", pivot)):
        out += related_rows(fetch, module, columns, half if where is None else vtql.and_(where, half))
    return out
