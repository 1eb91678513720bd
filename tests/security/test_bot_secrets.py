"""The real daemon at DEBUG with both bots through invite -> Start -> send -> a refused send: neither bot
token nor an invitation token reaches a log line, /healthz or /metrics."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from sandbox.max import MaxSandbox
from sandbox.telegram import TelegramSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import Daemon, post_event, wait_for, write_bot_config


def test_bot_tokens_and_invitation_tokens_stay_out_of_logs_health_and_metrics(tmp_path: Path) -> None:
    with VtigerSandbox(messengers=True) as crm, TelegramSandbox() as tg, MaxSandbox() as mx:
        config = write_bot_config(tmp_path, crm, tg, mx, extra="logging: {level: DEBUG}\n")
        record = crm.seed("Contacts", {"lastname": "Secret", "assigned_user_id": "19x1"})
        blocked = crm.seed("Contacts", {"lastname": "Blocked", "assigned_user_id": "19x1"})
        daemon = Daemon(config)
        try:
            assert daemon.url is not None
            for n, rec in enumerate((record, blocked)):
                event = {"event": "invite", "module": "Contacts", "id": rec, "event_id": f"inv-{n}"}
                assert post_event(daemon.url, event).status_code == 202
            assert wait_for(
                lambda: all("start=" in (crm.get(r) or {}).get("description", "") for r in (record, blocked))
            )
            links = {r: (crm.get(r) or {})["description"] for r in (record, blocked)}
            tokens = re.findall(r"start=([A-Za-z0-9_-]+)", " ".join(links.values()))
            assert len(tokens) == 4
            users = {}
            for rec in (record, blocked):
                tg_token, max_token = re.findall(r"start=([A-Za-z0-9_-]+)", links[rec])
                users[rec] = (tg.add_user("A", rec), mx.add_user("A", rec))
                tg.press_start(users[rec][0], tg_token)
                mx.press_start(users[rec][1], max_token)
            assert wait_for(
                lambda: all((crm.get(r) or {}).get("tg_url") for r in (record, blocked)), timeout=20
            )
            tg.block(users[blocked][0])
            mx.stop_bot(users[blocked][1])
            for n, rec in enumerate((record, blocked)):
                send = {
                    "event": "send",
                    "module": "Contacts",
                    "id": rec,
                    "event_id": f"s-{n}",
                    "text": "Привет",
                }
                assert post_event(daemon.url, send).status_code == 202
            assert wait_for(lambda: len(crm.records("ModComments")) >= 1, timeout=20)
            health = requests.get(daemon.url + "/healthz", timeout=5).text
            metrics = requests.get(daemon.url + "/metrics", timeout=5).text
        finally:
            daemon.terminate()
        log = daemon.log
    secrets = [tg.token, tg.token.split(":", 1)[1], mx.token, *tokens]
    for where, text in (("log", log), ("/healthz", health), ("/metrics", metrics)):
        assert not [s for s in secrets if s in text], where
    # the log did tell the story: links, deliveries, the refusal
    assert "linked to" in log and "delivered on telegram" in log and "failed for good" in log
