"""The daemon's retention job against sandboxes: after `state.keep_texts_days` the state file no longer
holds the message text, the CRM still does, and vtiger re-sending the event is still a duplicate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bridge.config import load_config
from bridge.daemon import jobs
from bridge.daemon.app import App
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.bridge.test_retention import state_holds
from tests.daemon.helpers import post_event, wait_for, write_config

TEXT = "Ваш заказ №4711 готов"


def test_the_retention_job_drops_texts_and_keeps_duplicates_out(tmp_path: Path) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        uid = vk.add_user("Kept", "Short", screen_name="kept_short")
        record = crm.seed(
            "Contacts",
            {"lastname": "Short", "assigned_user_id": "19x1", "vk_url": "https://vk.com/kept_short"},
        )
        app = App(load_config(write_config(tmp_path, crm, vk), env={}))
        app.start()
        try:
            assert app.webhook is not None and "prune" in app.scheduler.job_ids()
            event = {"event": "send", "module": "Contacts", "id": record, "event_id": "keep-1", "text": TEXT}
            assert post_event(app.webhook.url, event).status_code == 202
            store = app.parts.store
            assert wait_for(
                lambda: (
                    store.outbox.depth() == 0
                    and not store.events.pending()
                    and len(vk.delivered_to(uid)) == 1
                ),
                timeout=30,
            )
            state = tmp_path / "state.sqlite3"
            assert jobs.prune_state(app.parts) == 0 and state_holds(state, TEXT)  # too recent
            later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
            assert jobs.prune_state(app.parts, now=later) == 2  # the send's text and the event's
            assert not state_holds(state, TEXT)
            assert post_event(app.webhook.url, event).status_code == 200  # vtiger re-sends: a duplicate
            assert wait_for(lambda: not app.parts.store.events.pending(), timeout=10)
        finally:
            app.shutdown()
    assert len(vk.delivered_to(uid)) == 1
    [message] = crm.records("SPSocialConnector")
    assert TEXT in str(message)
