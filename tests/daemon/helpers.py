"""The daemon under test: a configuration pointing at sandboxes, signed webhook calls, and the daemon
as a real process (shared by the daemon, reliability and security tests)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from bridge.webhook.signing import sign

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


def write_bot_config(tmp: Path, crm: Any, tg: Any, mx: Any, *, extra: str = "") -> Path:
    """Telegram and MAX against their sandboxes, imports every 0.6 s, links written into `description`."""
    often = "imports: {interval_minutes: 0.01}"
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}"}}
fields: {{invitation_field: description}}
networks:
  telegram: {{enabled: true, token: "{tg.token}", api_url: "{tg.url}", {often}}}
  max: {{enabled: true, token: "{mx.token}", api_url: "{mx.url}", {often}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{tmp / "state.sqlite3"}"}}
jobs: {{outbox_interval_seconds: 0.2, shutdown_grace_seconds: 10}}
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


ROOT = Path(__file__).resolve().parents[2]


class Daemon:
    """`python run_bridge.py -c CONFIG run`; stderr drained on a thread so the pipe never fills."""

    def __init__(self, config: Path, *, expect_start: bool = True) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "run_bridge.py", "-c", str(config), "run"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        if expect_start:
            started = wait_for(lambda: self.url is not None or self.proc.poll() is not None, timeout=30)
            if not started or self.url is None:
                self.close()
                raise AssertionError("daemon did not start:\n" + self.log)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    @property
    def url(self) -> str | None:
        for line in list(self.lines):
            match = re.search(r"webhook listening on (http://\S+)", line)
            if match:
                return match.group(1)
        return None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.close()

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
