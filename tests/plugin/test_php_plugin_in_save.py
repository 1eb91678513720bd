"""The real PHP plugin inside the vtiger sandbox's saves: events leave only once the save is committed.

vtiger runs an "Invoke Custom Function" task inside a webservice save's open transaction (issue 9,
defect 1). The plugin must build the event then (the record as this save left it) but post it when the
request is over, after the commit; a bridge reading the record at that moment sees the saved values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bridge.webhook.endpoint import make_app
from bridge.webhook.server import WebhookServer
from sandbox.vtiger import VtigerSandbox
from sandbox.vtiger.workflows import WorkflowRun
from tests.bridge.test_webhook_support import Recorder
from tests.plugin.php_request import PluginTasks
from tests.plugin.test_php_plugin import SECRET, Vtiger
from vtiger_ws import VtigerAccessDenied, VtigerClient


@pytest.fixture
def crm() -> Iterator[VtigerSandbox]:
    with VtigerSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def client(crm: VtigerSandbox) -> Iterator[VtigerClient]:
    with VtigerClient(crm.url, crm.username, crm.access_key, timeout=30.0) as ws:
        yield ws


@pytest.fixture
def plugin(vtiger: Vtiger, recorder: Recorder) -> Iterator[PluginTasks]:
    app = make_app(
        secret=SECRET, accept=recorder, health=lambda: (200, {}), metrics=lambda: (b"", "text/plain")
    )
    with WebhookServer(app) as server:
        vtiger.configure(server.url)
        yield PluginTasks(vtiger, server.url)


def _posted_during_the_save(recorder: Recorder, seen: list[int]) -> Any:
    """A task after the plugin's: how many events had reached the bridge while the save was running."""
    return lambda run: seen.append(len(recorder.events))


def test_a_webservice_revise_posts_after_the_commit_with_the_saved_record(
    crm: VtigerSandbox, client: VtigerClient, plugin: PluginTasks, recorder: Recorder
) -> None:
    record = crm.seed("Contacts", {"lastname": "Petrov", "vk_url": "https://vk.com/old"})
    during: list[int] = []
    crm.add_workflow(
        "Contacts", plugin.task("socialbridge_record_saved"), _posted_during_the_save(recorder, during)
    )
    saved = client.revise({"id": record, "vk_url": "https://vk.com/new"})
    assert during == [0]  # nothing left while the transaction was open
    [event] = recorder.events
    assert (event.event, event.record_id, event.is_new) == ("record_saved", record, False)
    assert event.data["vk_url"] == "https://vk.com/new"
    assert event.modifiedtime == saved["modifiedtime"] == event.data["modifiedtime"]
    assert event.changed is not None and "vk_url" in event.changed
    assert plugin.calls[0]["committed"] is False and plugin.vtiger.log() == ""


def test_a_webservice_create_posts_once_the_record_can_be_read(
    crm: VtigerSandbox, client: VtigerClient, plugin: PluginTasks, recorder: Recorder
) -> None:
    readable: list[bool] = []

    def bridge_reads(run: WorkflowRun) -> None:
        def read() -> None:
            try:
                readable.append(bool(client.retrieve(run.record_id)))
            except VtigerAccessDenied:
                readable.append(False)

        read()  # inside the transaction: ACCESS_DENIED, as on the real server
        run.request.at_end(read)  # registered after the plugin's shutdown function, so it runs after it

    crm.add_workflow("Contacts", plugin.task("socialbridge_import_profile"), bridge_reads)
    created = client.create(
        "Contacts", {"lastname": "New", "vk_url": "https://vk.com/new", "assigned_user_id": "19x1"}
    )
    assert readable == [False, True]
    [event] = recorder.events
    assert (event.event, event.record_id, event.is_new, event.modifiedtime) == (
        "import_profile",
        created["id"],
        True,
        created["modifiedtime"],
    )
    assert event.changed is not None and {"lastname", "vk_url"} <= set(event.changed)


def test_a_mass_edit_posts_every_event_at_the_end_in_order(
    crm: VtigerSandbox, plugin: PluginTasks, recorder: Recorder
) -> None:
    ids = [crm.seed("Contacts", {"lastname": f"M{n}"}) for n in range(3)]
    during: list[int] = []
    crm.add_workflow(
        "Contacts", plugin.task("socialbridge_record_saved"), _posted_during_the_save(recorder, during)
    )
    crm.ui_mass_edit("Contacts", ids, {"title": "Mass"})
    assert during == [0, 0, 0]
    assert [e.record_id for e in recorder.events] == ids
    assert all(e.data["title"] == "Mass" for e in recorder.events)
    assert len(plugin.ends) == 1 and plugin.ends[0]["elapsed"] < 2.5


def test_send_text_field_is_no_longer_used_and_says_so(
    crm: VtigerSandbox, plugin: PluginTasks, recorder: Recorder
) -> None:
    """One place to configure the send field: the bridge's fields.outgoing_text_field (issue 9, defect 2)."""
    plugin.vtiger.configure(plugin.bridge_url, send_text_field="description")
    record = crm.seed("Contacts", {"lastname": "S"})
    crm.add_workflow("Contacts", plugin.task("socialbridge_send"))
    crm.ui_save("Contacts", {"description": "Hello"}, record)
    [event] = recorder.events
    assert event.text is None and event.data["description"] == "Hello"
    assert "send_text_field is no longer used: set fields.outgoing_text_field" in plugin.vtiger.log()


def test_the_bridge_down_costs_one_budget_per_request_and_keeps_every_event(
    crm: VtigerSandbox, client: VtigerClient, plugin: PluginTasks, recorder: Recorder
) -> None:
    plugin.vtiger.configure("http://127.0.0.1:9")  # discard port: nothing listens
    crm.add_workflow("Contacts", plugin.task("socialbridge_record_saved"), plugin.task("socialbridge_send"))
    record = crm.seed("Contacts", {"lastname": "Down"})
    client.revise({"id": record, "title": "one"})
    assert plugin.ends[0]["elapsed"] < 2.5
    spool = (plugin.vtiger.log_file.parent / "socialbridge.spool").read_text().splitlines()
    assert [line.split('"event":"')[1].split('"')[0] for line in spool] == ["record_saved", "send"]
