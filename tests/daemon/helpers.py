"""A daemon configuration pointing at sandboxes, shared by the daemon tests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import requests

from bridge.webhook_auth import sign

SECRET = "test-webhook-secret-0123456789"


def write_config(
    tmp: Path, crm: Any, vk: Any, *, x: Any = None, access_key: str | None = None, extra: str = ""
) -> Path:
    x_section = (
        f"""  x: {{enabled: true, consumer_key: "{x.consumer_key}", consumer_secret: "{x.consumer_secret}",
       access_token: "{x.access_token}", access_token_secret: "{x.access_token_secret}", api_url: "{x.url}",
       rate_limit: 100}}
"""
        if x is not None
        else ""
    )
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{access_key or crm.access_key}"}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        rate_limit: 100, imports: {{interval_minutes: 60}}}}
{x_section}webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{tmp / "state.sqlite3"}"}}
jobs: {{outbox_interval_seconds: 1, shutdown_grace_seconds: 10}}
{extra}"""
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def post_event(url: str, payload: dict[str, Any], secret: str = SECRET) -> requests.Response:
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", **sign(secret, body, int(time.time()))}
    return requests.post(f"{url}/v1/vtiger/events", data=body, headers=headers, timeout=5)


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())
