"""The daemon as a whole: webhooks in, work done, health and metrics out, signals, bad tokens."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.config import load_config
from bridge.daemon.app import App
from bridge.daemon.scheduler import import_job_id
from bridge.webhook.signing import sign
from bridge.webhook.status import STATUS_PATH
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from tests.daemon.helpers import SECRET, Daemon, post_event, wait_for, write_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def boxes() -> Iterator[tuple[VtigerSandbox, VkSandbox, XSandbox]]:
    with VtigerSandbox() as crm, VkSandbox() as vk, XSandbox() as x:
        yield crm, vk, x


@pytest.fixture
def app(tmp_path: Path, boxes: tuple[VtigerSandbox, VkSandbox, XSandbox]) -> Iterator[App]:
    crm, vk, x = boxes
    extra = "fields: {outgoing_text_field: description}\n"
    application = App(load_config(write_config(tmp_path, crm, vk, x=x, extra=extra), env={}))
    application.start()
    try:
        # The URL index is built after the webhook listens; imports wait for it (index_start.py).
        assert application.parts.index.usable.wait(30)
        yield application
    finally:
        application.shutdown()


def test_workflow_send_uses_and_clears_the_outgoing_field_and_its_echo_is_ignored(
    app: App, boxes: tuple[VtigerSandbox, VkSandbox, XSandbox]
) -> None:
    crm, vk, _ = boxes
    uid = vk.add_user("Echo", "Test", screen_name="echo_test")
    record = crm.seed(
        "Contacts",
        {
            "lastname": "Test",
            "assigned_user_id": "19x1",
            "vk_url": "https://vk.com/echo_test",
            "description": "Ваш заказ готов",
        },
    )
    assert app.webhook is not None
    answer = post_event(
        app.webhook.url, {"event": "send", "module": "Contacts", "id": record, "event_id": "e1"}
    )
    assert answer.status_code == 202
    assert wait_for(lambda: len(vk.delivered_to(uid)) == 1 and crm.get(record)["description"] == "")  # type: ignore[index]
    # vtiger fires the workflow again for the bridge's own revise: the echo must not send anything.
    echo = post_event(
        app.webhook.url,
        {
            "event": "send",
            "module": "Contacts",
            "id": record,
            "event_id": "e2",
            "changed": ["description", "modifiedtime"],
        },
    )
    assert echo.status_code == 202
    assert wait_for(lambda: app.parts.store.events.pending() == [])
    # The record is written by the outbox's recorders after the delivery: wait for the queue to empty.
    assert wait_for(lambda: app.parts.store.outbox.depth() == 0)
    assert len(vk.delivered_to(uid)) == 1
    assert len(crm.records("SPSocialConnector")) == 1


def test_record_saved_with_a_new_link_imports_the_profile(
    app: App, boxes: tuple[VtigerSandbox, VkSandbox, XSandbox]
) -> None:
    crm, vk, _ = boxes
    vk.add_user("Saved", "Record", screen_name="saved_record", city="Вологда")
    record = crm.seed(
        "Contacts",
        {"lastname": "Record", "assigned_user_id": "19x1", "vk_url": "https://vk.com/saved_record"},
    )
    assert app.webhook is not None
    post_event(
        app.webhook.url,
        {
            "event": "record_saved",
            "module": "Contacts",
            "id": record,
            "changed": ["vk_url"],
            "event_id": "s1",
        },
    )
    assert wait_for(lambda: crm.get(record)["mailingcity"] == "Вологда")  # type: ignore[index]
    # The profile revise fires record_saved again with the fields the bridge wrote: ignored.
    revises = crm.count("revise")
    post_event(
        app.webhook.url,
        {
            "event": "record_saved",
            "module": "Contacts",
            "id": record,
            "changed": ["firstname", "mailingcity"],
            "event_id": "s2",
        },
    )
    assert wait_for(lambda: app.parts.store.events.pending() == [])
    assert crm.count("revise") == revises


def test_health_and_metrics_never_show_a_secret(
    app: App, boxes: tuple[VtigerSandbox, VkSandbox, XSandbox]
) -> None:
    crm, vk, x = boxes
    assert app.webhook is not None
    health = requests.get(f"{app.webhook.url}/healthz", timeout=5)
    metrics = requests.get(f"{app.webhook.url}/metrics", timeout=5)
    assert health.status_code == 200 and health.json()["components"]["vtiger"]["state"] == "ok"
    assert "bridge_outbox_depth" in metrics.text and "bridge_vtiger_requests" in metrics.text
    for secret in (crm.access_key, vk.community_token, x.consumer_secret, x.access_token_secret, SECRET):
        assert secret not in health.text and secret not in metrics.text


def test_the_daemon_serves_the_signed_status_for_the_crm_settings_page(
    app: App, boxes: tuple[VtigerSandbox, VkSandbox, XSandbox]
) -> None:
    crm, vk, x = boxes
    assert app.webhook is not None
    url = f"{app.webhook.url}{STATUS_PATH}"
    assert requests.get(url, timeout=5).status_code == 401
    answer = requests.get(url, headers=sign(SECRET, b"", time.time()), timeout=5)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["crm"]["url"] == crm.url and body["health"]["components"]["vtiger"]["state"] == "ok"
    for secret in (crm.access_key, vk.community_token, x.consumer_secret, x.access_token_secret, SECRET):
        assert secret not in answer.text


def test_a_revoked_token_pauses_imports_and_a_renewed_one_resumes_them(
    app: App,
    boxes: tuple[VtigerSandbox, VkSandbox, XSandbox],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, vk, _ = boxes
    vk.revoke_token(vk.community_token)
    app.scheduler.wake(import_job_id("vk"))
    assert wait_for(lambda: app.scheduler.is_paused(import_job_id("vk")))
    assert app.parts.health.snapshot()[1]["components"]["vk"]["state"] == "bad credentials"  # type: ignore[index]
    assert any("password changes" in r.getMessage() for r in caplog.records)
    # The administrator puts a new token into the config; the token check picks it up.
    new_token = vk.add_token("group", vk.group_id, {"messages"})
    config = tmp_path / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(vk.community_token, new_token), encoding="utf-8"
    )
    app.scheduler._check_token("vk")
    assert not app.scheduler.is_paused(import_job_id("vk"))
    assert app.parts.health.state("vk") == "ok"


def test_sigterm_during_a_send_loses_nothing_and_exits_0(
    tmp_path: Path, boxes: tuple[VtigerSandbox, VkSandbox, XSandbox]
) -> None:
    crm, vk, _ = boxes
    uid = vk.add_user("Sig", "Term", screen_name="sig_term")
    record = crm.seed(
        "Contacts", {"lastname": "Term", "assigned_user_id": "19x1", "vk_url": "https://vk.com/sig_term"}
    )
    config = write_config(tmp_path, crm, vk)
    daemon = Daemon(config)
    try:
        assert daemon.url is not None
        vk.faults.latency = 0.5  # the send is in flight when the signal arrives
        event = {"event": "send", "module": "Contacts", "id": record, "event_id": "t1", "text": "in flight"}
        assert post_event(daemon.url, event).status_code == 202
        wait_for(lambda: vk.count("messages.send") > 0, timeout=5)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
        vk.faults.latency = 0
    # Whatever the signal interrupted is finished by the next start; nothing twice.
    daemon = Daemon(config)
    try:
        assert wait_for(lambda: len(crm.records("SPSocialConnector")) == 1, timeout=15)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    assert len(vk.delivered_to(uid)) == 1
    assert len(crm.records("SPSocialConnector")) == 1


def test_a_network_whose_url_field_the_crm_lacks_is_disabled_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from sandbox.facebook import FacebookSandbox

    with VtigerSandbox(fb_url=False) as crm, VkSandbox() as vk, FacebookSandbox() as fb:
        path = write_config(tmp_path, crm, vk)
        text = path.read_text(encoding="utf-8").replace(
            "webhook:",
            f'  facebook: {{enabled: true, page_id: "{fb.page_id}", page_token: "{fb.page_token}",'
            f' api_url: "{fb.url}"}}\nwebhook:',
            1,
        )
        path.write_text(text, encoding="utf-8")
        application = App(load_config(path, env={}))
        application.start()
        try:
            assert "facebook" not in application.parts.providers
            assert "import_facebook" not in application.scheduler.job_ids()
            assert "facebook" not in application.parts.health.snapshot()[1]["components"]  # type: ignore[operator]
            assert any("facebook is disabled" in r.getMessage() for r in caplog.records)
            assert "vk" in application.parts.providers
        finally:
            application.shutdown()
