"""The URL index across restarts and beside a running rebuild (issue 14 §3), over real HTTP.

A full build leaves its layout in the state file, so the next start catches up instead of rebuilding; a
build that did not end leaves nothing to trust; and a rebuild walking the CRM never undoes what a webhook
event indexed meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any

from bridge.services.linking import UrlIndex
from tests.bridge.conftest import World


def _seed(world: World, count: int) -> list[str]:
    return [world.contact(f"Idx{n}", vk_url=f"https://vk.com/id{1000 + n}") for n in range(count)]


def test_a_complete_build_is_remembered_and_another_layout_needs_one_again(world: World) -> None:
    _seed(world, 3)
    index = world.index()
    assert index.needs_full_build()  # a new state file
    index.refresh()  # a catch-up is no build, even one that read everything
    assert index.needs_full_build()
    index.refresh(full=True)
    assert not index.needs_full_build()
    assert not UrlIndex(world.crm, dict(world.providers), world.store.url_index).needs_full_build()  # type: ignore[arg-type]
    fewer = {n: p for n, p in world.providers.items() if n != "x"}
    assert UrlIndex(world.crm, fewer, world.store.url_index).needs_full_build()  # type: ignore[arg-type]


def test_a_build_stopped_midway_is_not_trusted_at_the_next_start(world: World) -> None:
    _seed(world, 5)
    index = world.index()
    cancel = threading.Event()
    walk = index.crm.records

    def stop_after_two(module: str, fields: Any, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
        for n, record in enumerate(walk(module, fields, **kwargs)):
            if n == 2:
                cancel.set()  # SIGTERM while the build walks
            yield record

    index.crm.records = stop_after_two  # type: ignore[method-assign]
    index.refresh(full=True, cancel=cancel)
    assert index.activity.state == "stopped" and not index.usable.is_set()
    assert index.needs_full_build()
    assert world.store.url_index.watermark("Contacts") is None  # an id-ordered walk sets no watermark
    assert world.store.url_index.count() == 2


def test_a_record_indexed_by_an_event_during_a_rebuild_is_kept(world: World) -> None:
    _seed(world, 3)
    index = world.index()
    index.refresh(full=True)
    walk = index.crm.records
    late: list[str] = []

    def with_a_save_behind_the_walk(module: str, fields: Any, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
        yield from walk(module, fields, **kwargs)
        if module == "Contacts":
            # Saved once the walk had passed its id, and indexed at once by its record_saved event.
            late.append(world.contact("Late", vk_url="https://vk.com/id4242"))
            index.index_record(late[0], world.crm.record(late[0]))

    index.crm.records = with_a_save_behind_the_walk  # type: ignore[method-assign]
    index.refresh(full=True)
    assert [r.url for r in index.rows_of(late[0])] == ["https://vk.com/id4242"]
    assert index.records_for("vk", "4242") == [("Contacts", late[0])]


def test_a_rebuild_page_read_before_a_save_does_not_undo_it(world: World) -> None:
    (record,) = _seed(world, 1)
    index = world.index()
    index.refresh(full=True)
    stale = world.crm.record(record)
    world.crm_box.advance(5)
    world.crm_box.ui_save("Contacts", {"vk_url": "https://vk.com/id777"}, record)
    index.index_record(record, world.crm.record(record))  # the event of that save
    index.index_record(record, stale)  # the rebuild's older page arrives after it
    assert [r.url for r in index.rows_of(record)] == ["https://vk.com/id777"]


def test_an_event_does_not_move_the_watermark_past_changes_not_read_yet(world: World) -> None:
    first, second = _seed(world, 2)
    index = world.index()
    index.refresh(full=True)
    mark = world.store.url_index.watermark("Contacts")
    world.crm_box.advance(5)
    world.crm_box.ui_save("Contacts", {"vk_url": "https://vk.com/id501"}, first)  # no event for this save
    world.crm_box.advance(5)
    world.crm_box.ui_save("Contacts", {"vk_url": "https://vk.com/id502"}, second)
    index.index_record(second, world.crm.record(second))  # this one's event came
    assert world.store.url_index.watermark("Contacts") == mark
    index.refresh()  # the catch-up finds the save that sent no event
    assert [r.url for r in index.rows_of(first)] == ["https://vk.com/id501"]
