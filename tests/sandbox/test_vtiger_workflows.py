"""The vtiger sandbox runs workflows inside the save: before the commit of a webservice save (others still
read the old row, a new record is not readable), after the commit of a web-UI save; conditions in vtiger's
stored JSON format are evaluated as VTJsonCondition does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.vtiger import VtigerSandbox
from sandbox.vtiger.workflows import ON_FIRST_SAVE, ON_MODIFY, ONCE, WorkflowRun
from vtiger_ws import VtigerAccessDenied, VtigerClient, VtigerError


@pytest.fixture
def crm() -> Iterator[VtigerSandbox]:
    with VtigerSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def writer(crm: VtigerSandbox) -> Iterator[VtigerClient]:
    with VtigerClient(crm.url, crm.username, crm.access_key, timeout=30.0) as client:
        yield client


@pytest.fixture
def reader(crm: VtigerSandbox) -> Iterator[VtigerClient]:
    """Another session: what the bridge sees while the writer's request is still running."""
    with VtigerClient(crm.url, crm.username, crm.access_key, timeout=30.0) as client:
        client.login()
        yield client


def _cond(field: str, operation: str, *, join: str = "", group: str = "0", value: str = "") -> dict[str, str]:
    return {
        "fieldname": field,
        "operation": operation,
        "value": value,
        "valuetype": "rawtext",
        "joincondition": join,
        "groupjoin": "and",
        "groupid": group,
    }


def test_a_webservice_revise_runs_the_workflow_before_the_commit(
    crm: VtigerSandbox, writer: VtigerClient, reader: VtigerClient
) -> None:
    record = crm.seed("Contacts", {"lastname": "Old", "vk_url": "https://vk.com/a"})
    seen: list[tuple[str, str, bool, str]] = []

    def task(run: WorkflowRun) -> None:
        others_see = reader.retrieve(record)["vk_url"]
        seen.append((run.data["vk_url"], others_see, run.committed, run.delta["vk_url"]["oldValue"]))

    crm.add_workflow("Contacts", task)
    answer = writer.revise({"id": record, "vk_url": "https://vk.com/b"})
    assert seen == [("https://vk.com/b", "https://vk.com/a", False, "https://vk.com/a")]
    assert answer["vk_url"] == "https://vk.com/b" and reader.retrieve(record)["vk_url"] == "https://vk.com/b"


def test_a_record_being_created_is_not_readable_before_the_commit(
    crm: VtigerSandbox, writer: VtigerClient, reader: VtigerClient
) -> None:
    seen: list[Any] = []

    def task(run: WorkflowRun) -> None:
        try:
            reader.retrieve(run.record_id)
        except VtigerAccessDenied as exc:
            seen.append(("denied", exc.code))
        seen.append(reader.query("SELECT id FROM Contacts WHERE lastname = 'Fresh';"))
        seen.append((run.is_new, run.data["lastname"]))

    crm.add_workflow("Contacts", task)
    created = writer.create("Contacts", {"lastname": "Fresh", "assigned_user_id": "19x1"})
    assert seen == [("denied", "ACCESS_DENIED"), [], (True, "Fresh")]
    assert reader.retrieve(created["id"])["lastname"] == "Fresh"


def test_a_web_ui_save_commits_before_its_workflows_run(crm: VtigerSandbox, reader: VtigerClient) -> None:
    seen: list[tuple[str, bool]] = []
    crm.add_workflow(
        "Contacts", lambda run: seen.append((reader.retrieve(run.record_id)["lastname"], run.committed))
    )
    record = crm.ui_save("Contacts", {"lastname": "Ui", "assigned_user_id": "19x1"})
    crm.ui_save("Contacts", {"lastname": "Ui2"}, record)
    assert seen == [("Ui", True), ("Ui2", True)]


def test_the_end_of_the_request_comes_after_the_commit_and_before_the_answer(
    crm: VtigerSandbox, writer: VtigerClient, reader: VtigerClient
) -> None:
    record = crm.seed("Contacts", {"lastname": "Before"})
    order: list[str] = []

    def task(run: WorkflowRun) -> None:
        order.append("task:" + reader.retrieve(record)["lastname"])
        run.request.at_end(lambda: order.append("end:" + reader.retrieve(record)["lastname"]))

    crm.add_workflow("Contacts", task)
    writer.revise({"id": record, "lastname": "After"})
    order.append("answered")
    assert order == ["task:Before", "end:After", "answered"]


def test_a_mass_edit_is_one_request(crm: VtigerSandbox) -> None:
    ids = [crm.seed("Contacts", {"lastname": f"M{n}"}) for n in range(3)]
    order: list[str] = []

    def task(run: WorkflowRun) -> None:
        order.append(run.record_id)
        if "end" not in run.request.state:
            run.request.state["end"] = True
            run.request.at_end(lambda: order.append("end"))

    crm.add_workflow("Contacts", task)
    crm.ui_mass_edit("Contacts", ids, {"title": "Mass"})
    assert order == [*ids, "end"] and all(crm.get(i)["title"] == "Mass" for i in ids)  # type: ignore[index]


def test_a_second_writer_waits_for_the_commit(
    crm: VtigerSandbox, writer: VtigerClient, reader: VtigerClient
) -> None:
    record = crm.seed("Contacts", {"lastname": "Row"})
    seen: list[str] = []
    threads: list[threading.Thread] = []

    def task(run: WorkflowRun) -> None:
        if threads:  # the second writer's own save runs the workflow too
            return
        thread = threading.Thread(target=lambda: reader.revise({"id": record, "title": "second"}))
        threads.append(thread)
        thread.start()
        thread.join(0.3)  # can only pass wrongly under load (not yet started), never fail wrongly
        seen.append("waiting" if thread.is_alive() else "went through")

    crm.add_workflow("Contacts", task)
    writer.revise({"id": record, "lastname": "First"})
    threads[0].join(30)
    assert seen == ["waiting"] and not threads[0].is_alive()
    final = crm.get(record)
    assert final is not None and (final["lastname"], final["title"]) == ("First", "second")


def test_a_writer_gives_up_after_the_lock_wait_timeout(
    crm: VtigerSandbox, writer: VtigerClient, reader: VtigerClient
) -> None:
    record = crm.seed("Contacts", {"lastname": "Row"})
    crm.transactions.lock_wait_seconds = 0.2
    errors: list[str] = []

    def task(run: WorkflowRun) -> None:
        if errors:
            return
        try:
            reader.revise({"id": record, "title": "blocked"})
        except VtigerError as exc:
            errors.append(str(exc.code))

    crm.add_workflow("Contacts", task)
    writer.revise({"id": record, "lastname": "Holder"})
    assert errors == ["DATABASE_QUERY_ERROR"] and crm.get(record)["title"] == ""  # type: ignore[index]


def test_has_changed_never_fires_on_create_and_first_save_does(crm: VtigerSandbox) -> None:
    fired: list[str] = []
    link_changed = [_cond("vk_url", "has changed")]
    any_link = [
        _cond("vk_url", "is not empty", join="or", group="1"),
        _cond("tw_url", "is not empty", group="1"),
    ]
    crm.add_workflow("Contacts", lambda run: fired.append("changed"), test=link_changed)
    crm.add_workflow(
        "Contacts", lambda run: fired.append("first"), test=any_link, execution_condition=ON_FIRST_SAVE
    )
    crm.add_workflow("Contacts", lambda run: fired.append("modify"), execution_condition=ON_MODIFY)
    crm.add_workflow("Contacts", lambda run: fired.append("once"), execution_condition=ONCE)
    record = crm.ui_save("Contacts", {"lastname": "C", "vk_url": "https://vk.com/c"})
    assert fired == ["first", "once"]
    fired.clear()
    crm.ui_save("Contacts", {"title": "t"}, record)
    assert fired == ["modify"]
    fired.clear()
    crm.ui_save("Contacts", {"vk_url": "https://vk.com/d"}, record)
    assert fired == ["changed", "modify"]
    fired.clear()
    crm.ui_save("Contacts", {"lastname": "No link"})
    assert fired == ["once"]


def test_conditions_join_within_and_between_groups(crm: VtigerSandbox) -> None:
    fired: list[str] = []
    test = [
        _cond("lastname", "is", value="A", join="and"),
        _cond("title", "contains", value="boss"),
        _cond("vk_url", "is not empty", join="or", group="1"),
        _cond("tw_url", "is not empty", group="1"),
    ]
    crm.add_workflow("Contacts", lambda run: fired.append(run.data["title"]), test=test)
    for title, link in (("boss", ""), ("the boss", "https://vk.com/x"), ("clerk", "https://vk.com/y")):
        crm.ui_save("Contacts", {"lastname": "A", "title": title, "vk_url": link, "assigned_user_id": "19x1"})
    assert fired == ["the boss"]


def test_workflow_data_is_html_decoded_like_vtworkflowentity(
    crm: VtigerSandbox, writer: VtigerClient
) -> None:
    record = crm.seed("Contacts", {"lastname": "Tom &amp; Jerry"})  # as a web-UI save stores "&"
    seen: list[str] = []
    crm.add_workflow("Contacts", lambda run: seen.append(run.data["lastname"]))
    answer = writer.revise({"id": record, "title": "x"})
    assert answer["lastname"] == "Tom &amp; Jerry" and seen == ["Tom & Jerry"]


def test_modules_without_workflows_save_as_before(crm: VtigerSandbox, writer: VtigerClient) -> None:
    crm.add_workflow("Leads", lambda run: None)
    created = writer.create("Contacts", {"lastname": "Plain", "assigned_user_id": "19x1"})
    assert crm.get(created["id"]) is not None and crm.transactions.open_rows == set()
