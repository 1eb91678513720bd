"""Keyset paging: many pages while rows are added and deleted, no loss and no repeat; sync emulation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import vtiger_ws
from sandbox._http import Response
from vtiger_ws import VtigerClient, crmid_of, vtql


def _seed(crm: Any, n: int, prefix: str = "P", **fields: str) -> list[str]:
    return [
        crm.seed("Contacts", {"lastname": f"{prefix}{i}", "assigned_user_id": "19x1", **fields})
        for i in range(n)
    ]


def test_paging_while_rows_are_added_never_loses_or_repeats(crm: Any, client: VtigerClient) -> None:
    original = _seed(crm, 250)  # crmids cross 99 -> 100: ids must be compared as numbers
    added: list[str] = []
    seen: list[str] = []
    for row in client.query_iter("Contacts", fields=["lastname"]):
        seen.append(row["id"])
        if len(seen) % 100 == 50:  # mid-page: the next page must still start right after the cursor
            added += _seed(crm, 30, prefix="New")
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert set(original) <= set(seen), "a row was lost"
    assert set(seen) == set(original) | set(added)  # rows added before the end are picked up too
    assert [crmid_of(i) for i in seen] == sorted(crmid_of(i) for i in seen)
    pages = -(-len(seen) // 100)
    assert crm.count("query") == pages + 1  # the last request is the empty page that ends the walk


def test_paging_while_rows_are_deleted_keeps_the_rest(crm: Any, client: VtigerClient) -> None:
    ids = _seed(crm, 230)
    seen: list[str] = []
    for row in client.query_iter("Contacts", fields=["lastname"]):
        seen.append(row["id"])
        if len(seen) == 10:
            client.delete(ids[0])  # already seen
            client.delete(ids[150])  # not yet seen
    assert seen == [i for i in ids if i != ids[150]]


def test_paging_with_a_where_that_has_or(crm: Any, client: VtigerClient) -> None:
    ids_a = _seed(crm, 120, prefix="A", vk_url="https://vk.com/a")
    _seed(crm, 50, prefix="B", vk_url="https://x.com/b")
    ids_c = _seed(crm, 40, prefix="C", vk_url="https://vk.com/c")
    where = vtql.eq("vk_url", "https://vk.com/a") | vtql.eq("vk_url", "https://vk.com/c")
    rows = client.query_all("Contacts", fields=["vk_url"], where=where)
    # `... OR vk_url = c AND id > cursor` would repeat the a-rows on every page; the DNF keeps it exact
    assert [r["id"] for r in rows] == ids_a + ids_c


def test_a_server_ignoring_the_cursor_cannot_make_paging_spin(crm: Any, client: VtigerClient) -> None:
    _seed(crm, 3)
    page = [{"id": "12x2", "lastname": "x"}]
    crm.faults.custom(
        lambda r: Response.json({"success": True, "result": page}), operation="query", times=None
    )
    with pytest.raises(vtiger_ws.VtigerProtocolError, match="cursor did not advance"):
        client.query_all("Contacts", fields=["lastname"])
    assert crm.count("query") == 2


def test_changed_since_needs_a_modifiedtime_field(client: VtigerClient) -> None:
    with pytest.raises(ValueError, match="modifiedtime"):
        client.changed_since("SPSocialConnector", "2026-01-01 00:00:00")


def test_changed_since_pages_through_equal_timestamps_and_sees_revisions(
    crm: Any, client: VtigerClient
) -> None:
    crm.set_time(dt.datetime(2026, 1, 1, 10, 0, 0))
    early = _seed(crm, 150, prefix="E")  # one timestamp for 150 rows: the id breaks the tie across pages
    crm.advance(60)
    late = _seed(crm, 30, prefix="L")
    crm.advance(60)
    client.revise({"id": early[5], "mobile": "+7 900"})  # moves to the newest position

    rows = list(client.changed_since("Contacts", "2026-01-01 09:59:59", fields=["lastname"]))
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 180
    assert ids == [i for i in early if i != early[5]] + late + [early[5]]
    assert [r["modifiedtime"] for r in rows] == sorted(r["modifiedtime"] for r in rows)

    newer = client.changed_since("Contacts", dt.datetime(2026, 1, 1, 10, 0, 0), fields=["lastname"])
    assert [r["id"] for r in newer] == [*late, early[5]]
    assert list(client.changed_since("Contacts", "2026-01-01 10:02:00")) == []


def test_changed_since_yields_a_record_again_when_it_changes_during_the_walk(
    crm: Any, client: VtigerClient
) -> None:
    crm.set_time(dt.datetime(2026, 1, 1, 10, 0, 0))
    ids = _seed(crm, 120)
    crm.advance(1)
    seen: list[str] = []
    for row in client.changed_since("Contacts", "2026-01-01 00:00:00", fields=["lastname"]):
        seen.append(row["id"])
        if len(seen) == 1:
            client.revise({"id": ids[0], "lastname": "changed"})
    assert seen == [*ids, ids[0]]
