"""The real daemon (`run_bridge.py run`) keeps answering signed calls and /healthz while hundreds of
local connections stay open without finishing a request (issue: ~100 half-open connections used to stop
the webhook until waitress's 120 s idle timeout)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests

from bridge.webhook.signing import sign
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.bridge.webhook_clients import Dripper, close_all, open_idle
from tests.daemon.helpers import SECRET, Daemon, wait_for, write_config

DEADLINE = 10.0


def test_half_open_connections_do_not_stop_the_webhook_or_healthz(tmp_path: Path) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        uid = vk.add_user("Held", "Open", screen_name="held_open")
        record = crm.seed(
            "Contacts", {"lastname": "Open", "assigned_user_id": "19x1", "vk_url": "https://vk.com/held_open"}
        )
        with Daemon(write_config(tmp_path, crm, vk)) as daemon:
            url = daemon.url
            assert url is not None
            port = int(url.rsplit(":", 1)[1])
            idle = open_idle("127.0.0.1", port, 300)
            drip = open_idle("127.0.0.1", port, 40)
            try:
                with Dripper(drip):
                    body = json.dumps(
                        {
                            "event": "send",
                            "module": "Contacts",
                            "id": record,
                            "event_id": "held-open-1",
                            "text": "still here",
                        }
                    ).encode()
                    headers = sign(SECRET, body, int(time.time())) | {"Content-Type": "application/json"}
                    sent = requests.post(
                        url + "/v1/vtiger/events", data=body, headers=headers, timeout=DEADLINE
                    )
                    health = requests.get(url + "/healthz", timeout=DEADLINE)
                    assert sent.status_code == 202, sent.text
                    assert health.status_code == 200, health.text
                    assert wait_for(lambda: len(vk.delivered_to(uid)) == 1, timeout=30), daemon.log
            finally:
                close_all(idle + drip)
            assert daemon.terminate() == 0, daemon.log[-2000:]
