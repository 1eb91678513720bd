"""`python run_bridge.py demo`: the real daemon against built-in sandboxes, narrated.

Starts a vtiger (SalesPlatform 7.2) sandbox and VK, X, Facebook, Telegram and MAX sandboxes on 127.0.0.1,
writes a
configuration for them, starts the daemon in-process (scheduler + webhook server), then plays what a
vtiger workflow would do and prints what happened in the CRM.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bridge.config import load_config
from bridge.daemon.app import App
from bridge.webhook.signing import sign

SECRET = "demo-webhook-secret-0123456789"


class Narrator:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.checks: list[tuple[str, bool]] = []

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text)

    def check(self, what: str, ok: bool) -> None:
        self.checks.append((what, ok))
        self.say(f"   {'✔' if ok else '✘'} {what}")


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _config_text(crm: Any, vk: Any, x: Any, fb: Any, tg: Any, mx: Any, state: Path) -> str:
    return f"""
version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}", timezone: UTC}}
fields: {{invitation_field: description}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        rate_limit: 50, imports: {{interval_minutes: 60}}}}
  x: {{enabled: true, consumer_key: "{x.consumer_key}", consumer_secret: "{x.consumer_secret}",
       access_token: "{x.access_token}", access_token_secret: "{x.access_token_secret}", api_url: "{x.url}",
       rate_limit: 50, imports: {{interval_minutes: 60}}}}
  facebook: {{enabled: true, page_id: "{fb.page_id}", page_token: "{fb.page_token}", api_url: "{fb.url}",
              imports: {{interval_minutes: 60}}}}
  telegram: {{enabled: true, token: "{tg.token}", api_url: "{tg.url}", imports: {{interval_minutes: 60}}}}
  max: {{enabled: true, token: "{mx.token}", api_url: "{mx.url}", imports: {{interval_minutes: 60}}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{state}"}}
jobs: {{outbox_interval_seconds: 5, shutdown_grace_seconds: 5}}
logging: {{level: WARNING}}
"""


def post_event(url: str, payload: dict[str, Any]) -> requests.Response:
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json", **sign(SECRET, body, int(time.time()))}
    return requests.post(f"{url}/v1/vtiger/events", data=body, headers=headers, timeout=5)


def _bots_step(n: Narrator, app: App, url: str, crm: Any, tg: Any, mx: Any) -> None:
    """Telegram and MAX: no bot may write first, so the client is linked by an invitation link."""
    n.say("6. Telegram and MAX bots cannot write first: a workflow asks for invitation links for Maria:")
    maria = crm.seed("Contacts", {"lastname": "Смирнова", "assigned_user_id": "19x1"})
    post_event(url, {"event": "invite", "module": "Contacts", "id": maria, "event_id": "demo-6"})
    wait_for(lambda: (crm.get(maria) or {}).get("description", "").count("start=") == 2)
    links = (crm.get(maria) or {}).get("description", "").splitlines()
    n.check(f"two single-use links written into her card: {', '.join(links)}", len(links) == 2)
    tokens = {link.split("/")[2]: link.rsplit("=", 1)[1] for link in links}
    maria_tg, maria_max = tg.add_user("Мария", "Смирнова"), mx.add_user("Мария", "Смирнова")
    tg.press_start(maria_tg, tokens.get("t.me"))
    mx.press_start(maria_max, tokens.get("max.ru"))
    app.scheduler.wake("import_telegram")
    app.scheduler.wake("import_max")
    linked = wait_for(
        lambda: bool((crm.get(maria) or {}).get("tg_url")) and bool((crm.get(maria) or {}).get("max_url"))
    )
    rec = crm.get(maria) or {}
    n.check(
        f"she pressed Start in both: linked ({rec.get('tg_url')!r}, MAX id {rec.get('max_url')!r}), "
        f"first name filled: {rec.get('firstname')!r}",
        linked and rec.get("firstname") == "Мария",
    )
    text = "Мария, ваш заказ готов"
    send = {"event": "send", "module": "Contacts", "id": maria, "event_id": "demo-7", "text": text}
    post_event(url, send)
    wait_for(lambda: any(m.get("message") == text for m in crm.records("SPSocialConnector")))
    sent = [m for m in crm.records("SPSocialConnector") if m.get("message") == text] or [{}]
    statuses = (sent[0].get("tg_status"), sent[0].get("max_status"))
    n.check(f"one message record: Telegram {statuses[0]}, MAX {statuses[1]}", statuses == ("Sent", "Sent"))
    tg.incoming(maria_tg, "Спасибо! (Telegram)")
    mx.incoming(maria_max, "Спасибо! (MAX)")
    app.scheduler.wake("import_telegram")
    app.scheduler.wake("import_max")
    replies = {"Спасибо! (Telegram)", "Спасибо! (MAX)"}

    def imported() -> list[dict[str, str]]:
        return [m for m in crm.records("SPSocialConnector") if m.get("message") in replies]

    wait_for(lambda: len(imported()) == 2)
    n.check(
        "both replies imported as Incoming messages linked to Maria",
        len(imported()) == 2 and all(crm.related(m["id"]) == [maria] for m in imported()),
    )


def run_demo(quiet: bool = False) -> int:
    from sandbox.facebook import FacebookSandbox
    from sandbox.max import MaxSandbox
    from sandbox.telegram import TelegramSandbox
    from sandbox.vk import VkSandbox
    from sandbox.vtiger import VtigerSandbox
    from sandbox.x import XSandbox

    logging.basicConfig(level=logging.WARNING)
    n = Narrator(quiet)
    started = time.monotonic()
    with (
        VtigerSandbox(fb_url=True, messengers=True) as crm,
        VkSandbox() as vk,
        XSandbox() as x,
        FacebookSandbox() as fb,
        TelegramSandbox() as tg,
        MaxSandbox() as mx,
        tempfile.TemporaryDirectory() as tmp,
    ):
        n.say("Sandboxes up: vtiger (SalesPlatform 7.2), VK, X, Facebook, Telegram and MAX on 127.0.0.1.")
        ivan_vk = vk.add_user(
            "Иван",
            "Петров",
            screen_name="ivan.petrov",
            bdate="7.3.1985",
            city="Москва",
            country="Россия",
            mobile_phone="+7 900 111-22-33",
            site="petrov.example.ru",
        )
        ivan_x = x.add_user("ivan_petrov", "Ivan Petrov", location="Moscow")
        ivan = crm.seed(
            "Contacts",
            {
                "lastname": "Петров",
                "mobile": "+7 999 555-00-00",
                "assigned_user_id": "19x1",
                "vk_url": "https://vk.com/ivan.petrov",
                "tw_url": "https://x.com/ivan_petrov",
                "fb_url": "https://www.facebook.com/ivan.petrov.85",
            },
        )
        path = Path(tmp) / "config.yaml"
        path.write_text(_config_text(crm, vk, x, fb, tg, mx, Path(tmp) / "state.sqlite3"), encoding="utf-8")
        app = App(load_config(path, env={}))
        app.start()
        assert app.webhook is not None
        url = app.webhook.url
        n.say(f"Daemon started; webhook on {url}.\n")
        try:
            n.say("1. A workflow asks to import Ivan's profile (only empty fields are filled):")
            post_event(
                url, {"event": "import_profile", "module": "Contacts", "id": ivan, "event_id": "demo-1"}
            )
            filled = wait_for(lambda: (crm.get(ivan) or {}).get("firstname") == "Иван")
            rec = crm.get(ivan) or {}
            n.check(f"first name filled: {rec.get('firstname')!r}, birthday {rec.get('birthday')!r}", filled)
            n.check(
                f"mobile kept as the CRM had it: {rec.get('mobile')!r}",
                rec.get("mobile") == "+7 999 555-00-00",
            )

            n.say("2. A workflow sends a message to Ivan on VK and X:")
            send = {
                "event": "send",
                "module": "Contacts",
                "id": ivan,
                "event_id": "demo-2",
                "text": "Здравствуйте! Ваш заказ готов 🙂",
                "networks": ["vk", "x"],
            }
            first = post_event(url, send)
            wait_for(lambda: bool(crm.records("SPSocialConnector")))
            msgs = crm.records("SPSocialConnector")
            ok = len(msgs) == 1 and msgs[0].get("vk_status") == "Sent" and msgs[0].get("tw_status") == "Sent"
            n.check(
                f"one message record, VK {msgs[0].get('vk_status') if msgs else '-'}, "
                f"X {msgs[0].get('tw_status') if msgs else '-'}; text {msgs[0]['message'] if msgs else ''!r}",
                ok,
            )
            n.check(
                "delivered once on each network, and no public tweet",
                len(vk.delivered_to(ivan_vk)) == 1 and len(x.delivered_to(ivan_x)) == 1 and not x.tweets,
            )

            n.say("3. vtiger retries the same webhook (same event id):")
            again = post_event(url, send)
            time.sleep(0.5)
            n.check(
                f"answered {again.status_code} (first time {first.status_code}): one record, one delivery",
                again.status_code == 200
                and len(crm.records("SPSocialConnector")) == 1
                and len(vk.delivered_to(ivan_vk)) == 1,
            )

            n.say("4. A workflow sends on Facebook, to a profile link:")
            post_event(
                url,
                {
                    "event": "send",
                    "module": "Contacts",
                    "id": ivan,
                    "event_id": "demo-4",
                    "text": "Hello from the CRM",
                    "networks": ["facebook"],
                },
            )
            # The comment is the send's last step, after the message record: wait for it, not the record.
            wait_for(lambda: any(c.get("related_to") == ivan for c in crm.records("ModComments")))
            comments = [c for c in crm.records("ModComments") if c.get("related_to") == ivan]
            n.check(
                "refused, and the reason is a comment on Ivan's card: "
                + (comments[-1]["commentcontent"].splitlines()[-1] if comments else "(none)"),
                bool(comments),
            )

            n.say("5. Ivan answers on VK; the scheduled import picks it up:")
            vk.incoming(ivan_vk, "Спасибо, заберу завтра!")
            app.scheduler.wake("import_vk")
            got = wait_for(lambda: any(m.get("type") == "Incoming" for m in crm.records("SPSocialConnector")))
            incoming = [m for m in crm.records("SPSocialConnector") if m.get("type") == "Incoming"]
            n.check(
                "imported as an Incoming message linked to Ivan",
                got and bool(incoming) and ivan in crm.related(incoming[0]["id"]),
            )
            _bots_step(n, app, url, crm, tg, mx)
        finally:
            app.shutdown()
    passed = sum(ok for _, ok in n.checks)
    print(
        f"\nDemo finished in {time.monotonic() - started:.1f} s: {passed} of {len(n.checks)} checks passed."
    )
    return 0 if passed == len(n.checks) else 1
