"""The MAX sandbox over real HTTP(S) with a plain client: every answer is checked against the MAX OpenAPI
snapshot (contracts/max-bot-api/, with the corrections its README lists) when the test ends."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from sandbox.max import MaxSandbox
from tests.contracts_max import contract_violations, errors

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "max-bot-api"


@pytest.fixture
def mx() -> Iterator[MaxSandbox]:
    with MaxSandbox() as box:
        yield box
        assert contract_violations(box.answers) == []


def call(
    box: MaxSandbox, method: str, path: str, *, token: str | None = None, body: Any = None, **params: Any
) -> tuple[int, Any]:
    headers = {"Authorization": box.token if token is None else token}
    response = requests.request(method, box.url + path, params=params, json=body, headers=headers, timeout=30)
    return response.status_code, response.json()


def test_the_contract_fixtures_pass_and_negative_controls_fail() -> None:
    fixtures = sorted((CONTRACT / "fixtures-go-client").glob("update.*.json"))
    assert len(fixtures) == 7
    for path in fixtures:
        assert errors("UpdateList", json.loads(path.read_text(encoding="utf-8"))) == [], path.name
    chat = json.loads((CONTRACT / "fixtures-go-client" / "chats_dialog-with-user.json").read_text("utf-8"))
    assert errors("Chat", chat) == []
    assert errors("Error", {"message": "no code"})
    assert errors("NewMessageBody", {"text": "x" * 4001})
    assert errors("UpdateList", {"updates": [{"update_type": "bot_started", "timestamp": 1}], "marker": 1})


def test_the_token_goes_in_the_authorization_header_only(mx: MaxSandbox) -> None:
    assert call(mx, "GET", "/me", token="")[1] == {"code": "verify.token", "message": "Invalid access_token"}
    assert call(mx, "GET", "/me", token=f"Bearer {mx.token}")[0] == 401
    response = requests.get(mx.url + "/me", params={"access_token": mx.token}, timeout=30)
    assert response.status_code == 401  # "no longer supported" (contracts/max-bot-api/README.md)
    status, bot = call(mx, "GET", "/me")
    assert status == 200 and bot["is_bot"] is True and bot["username"] == "crm_bridge_bot"


def test_a_bot_cannot_write_first_nor_after_a_stop(mx: MaxSandbox) -> None:
    uid = mx.add_user("Иван", "Петров")
    status, body = call(mx, "POST", "/messages", body={"text": "Здравствуйте"}, user_id=uid)
    assert status == 403 and body["code"] == "chat.denied"
    assert call(mx, "POST", "/messages", body={"text": "x"}, user_id=424242)[0] == 404
    mx.press_start(uid, "lead-42")
    status, body = call(mx, "POST", "/messages", body={"text": "Здравствуйте"}, user_id=uid)
    assert status == 200 and body["message"]["recipient"] == {
        "chat_id": mx.world.users[uid].chat_id,
        "chat_type": "dialog",
        "user_id": uid,
    }
    mx.stop_bot(uid)
    status, body = call(mx, "POST", "/messages", body={"text": "again"}, user_id=uid)
    assert (status, body["code"]) == (403, "chat.denied") and "error.dialog.suspended" in body["message"]
    assert call(mx, "POST", "/messages", body={"text": "x"}, chat_id=0)[1]["message"].endswith(
        "Invalid chatId: 0"
    )


def test_text_longer_than_4000_is_refused(mx: MaxSandbox) -> None:
    uid = mx.add_user("Иван")
    mx.press_start(uid)
    assert call(mx, "POST", "/messages", body={"text": "я" * 4000}, user_id=uid)[0] == 200
    assert call(mx, "POST", "/messages", body={"text": "я" * 4001}, user_id=uid)[0] == 400


def test_the_marker_commits_everything_before_it(mx: MaxSandbox) -> None:
    uid = mx.add_user("Иван")
    mx.press_start(uid, "lead-42")
    mx.incoming(uid, "first")
    mx.incoming(uid, "second")
    status, body = call(mx, "GET", "/updates", timeout=0)  # no marker: only the latest update
    assert status == 200 and [u["message"]["body"]["text"] for u in body["updates"]] == ["second"]
    latest_marker = body["marker"]
    first_marker = latest_marker - 3
    body = call(mx, "GET", "/updates", timeout=0, marker=first_marker)[1]
    assert [u["update_type"] for u in body["updates"]] == [
        "bot_started",
        "message_created",
        "message_created",
    ]
    assert body["updates"][0]["payload"] == "lead-42" and body["marker"] == latest_marker
    assert call(mx, "GET", "/updates", timeout=0, marker=first_marker + 1)[1]["updates"][0][
        "update_type"
    ] == ("message_created")
    assert call(mx, "GET", "/updates", timeout=0, marker=latest_marker)[1] == {
        "updates": [],
        "marker": latest_marker,
    }
    assert mx.pending() == []


def test_types_filter_and_stop_events(mx: MaxSandbox) -> None:
    uid = mx.add_user("Иван")
    marker = call(mx, "GET", "/updates", timeout=0)[1]["marker"]
    mx.press_start(uid)
    mx.incoming(uid, "text")
    mx.stop_bot(uid, remove_dialog=True)
    body = call(mx, "GET", "/updates", timeout=0, marker=marker, types="bot_stopped,dialog_removed")[1]
    assert [u["update_type"] for u in body["updates"]] == ["bot_stopped", "dialog_removed"]


def test_timeout_holds_the_request_until_an_update_arrives(mx: MaxSandbox) -> None:
    uid = mx.add_user("Иван")
    marker = call(mx, "GET", "/updates", timeout=0)[1]["marker"]
    answer: dict[str, Any] = {}
    poller = threading.Thread(
        target=lambda: answer.update(
            zip(("status", "body"), call(mx, "GET", "/updates", timeout=30, marker=marker), strict=True)
        )
    )
    poller.start()
    deadline = time.monotonic() + 10
    while mx.count("GET /updates") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    mx.incoming(uid, "now")
    poller.join(20)
    assert answer["status"] == 200 and answer["body"]["updates"][0]["message"]["body"]["text"] == "now"


def test_a_webhook_subscription_starves_polling(mx: MaxSandbox) -> None:
    uid = mx.add_user("Иван")
    mx.press_start(uid)
    mx.subscribe("https://crm.example/max")
    assert call(mx, "GET", "/updates", timeout=0)[1]["updates"] == []
    assert call(mx, "GET", "/subscriptions")[1]["subscriptions"][0]["url"] == "https://crm.example/max"
    assert call(mx, "DELETE", "/subscriptions", url="https://crm.example/max")[1] == {"success": True}
    assert call(mx, "GET", "/updates", timeout=0)[1]["updates"][0]["update_type"] == "bot_started"


def test_a_dialog_reads_newest_first_and_a_chat_names_its_user(mx: MaxSandbox) -> None:
    uid = mx.add_user("Иван", "Петров", description="Покупатель")
    mx.incoming(uid, "вопрос")
    call(mx, "POST", "/messages", body={"text": "ответ"}, user_id=uid)
    chat_id = mx.world.users[uid].chat_id
    messages = call(mx, "GET", "/messages", chat_id=chat_id, count=10)[1]["messages"]
    assert [(m["body"]["text"], m["sender"]["is_bot"]) for m in messages] == [
        ("ответ", True),
        ("вопрос", False),
    ]
    chat = call(mx, "GET", f"/chats/{chat_id}")[1]
    assert chat["type"] == "dialog" and chat["dialog_with_user"]["user_id"] == uid
    assert chat["dialog_with_user"]["description"] == "Покупатель"


def test_more_than_the_rate_limit_per_second_gets_429() -> None:
    now = [50.0]
    with MaxSandbox(rate_limit=2, clock=lambda: now[0]) as mx:
        assert [call(mx, "GET", "/me")[0] for _ in range(3)] == [200, 200, 429]
        now[0] += 1
        assert call(mx, "GET", "/me")[0] == 200
        assert contract_violations(mx.answers) == []


def test_https_with_a_private_ca() -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with MaxSandbox(tls=context) as mx, ca.cert_pem.tempfile() as bundle:
        assert mx.url.startswith("https://127.0.0.1:")
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(mx.url + "/me", headers={"Authorization": mx.token}, timeout=30)
        response = requests.get(
            mx.url + "/me", headers={"Authorization": mx.token}, timeout=30, verify=bundle
        )
        assert response.status_code == 200
