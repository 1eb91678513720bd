"""The Telegram sandbox over real HTTP with a plain client: every answer is checked against the Bot API
contract (contracts/telegram-bot-api/) when the test ends, errors included."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.telegram import TelegramSandbox
from tests.contracts_telegram import contract_violations, errors, validate_params


@pytest.fixture
def tg() -> Iterator[TelegramSandbox]:
    with TelegramSandbox() as box:
        yield box
        assert contract_violations(box.answers) == []


def call(box: TelegramSandbox, method: str, token: str | None = None, **params: Any) -> tuple[int, Any]:
    response = requests.post(f"{box.url}/bot{token or box.token}/{method}", json=params, timeout=30)
    return response.status_code, response.json()


def test_every_sample_and_negative_control_of_the_contract_is_judged_right() -> None:
    import json
    from pathlib import Path

    samples = Path(__file__).resolve().parents[2] / "contracts" / "telegram-bot-api" / "samples"
    for name, method in [
        ("getUpdates.ok.private-text.json", "getUpdates"),
        ("getChat.ok.private.json", "getChat"),
        ("error.409.webhook-active.json", "getUpdates"),
        ("error.429.retry-after.json", "sendMessage"),
    ]:
        assert errors(f"{method}_response", json.loads((samples / name).read_text(encoding="utf-8"))) == []
    assert errors("sendMessage_response", {"ok": False, "description": "no error_code"})
    assert errors("sendMessage_params", {"chat_id": 1})


def test_token_rules(tg: TelegramSandbox) -> None:
    assert call(tg, "getMe", token="not-a-token") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = call(tg, "getMe", token=tg.token.split(":")[0] + ":" + "A" * 35)
    assert (status, body["description"]) == (401, "Unauthorized")
    status, body = call(tg, "getMe")
    assert (
        status == 200 and body["result"]["is_bot"] is True and body["result"]["username"] == "crm_bridge_bot"
    )


def test_a_bot_cannot_write_first_and_a_blocked_bot_cannot_write(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan", "Petrov", username="ivan_petrov")
    params = {"chat_id": uid, "text": "Здравствуйте"}
    validate_params("sendMessage", params)
    assert (
        call(tg, "sendMessage", **params)[1]["description"]
        == "Forbidden: bot can't initiate conversation with a user"
    )
    assert call(tg, "sendMessage", chat_id=999, text="x")[1]["description"] == "Bad Request: chat not found"
    tg.press_start(uid, "lead-42")
    status, body = call(tg, "sendMessage", **params)
    assert status == 200 and body["result"]["text"] == "Здравствуйте" and body["result"]["chat"]["id"] == uid
    tg.block(uid)
    status, body = call(tg, "sendMessage", **params)
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    assert len(tg.delivered_to(uid)) == 1


def test_text_limits_count_utf16_units(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan")
    tg.incoming(uid, "hi")
    assert call(tg, "sendMessage", chat_id=uid, text="😀" * 2048)[0] == 200  # 4096 units
    status, body = call(tg, "sendMessage", chat_id=uid, text="😀" * 2048 + "x")
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    assert (
        call(tg, "sendMessage", chat_id=uid, text=" ")[1]["description"]
        == "Bad Request: message text is empty"
    )


def test_flood_answers_429_with_retry_after(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan")
    tg.incoming(uid, "hi")
    tg.flood(9)
    status, body = call(tg, "sendMessage", chat_id=uid, text="x")
    assert status == 429 and body["parameters"] == {"retry_after": 9}
    assert body["description"] == "Too Many Requests: retry after 9"


def test_the_send_budget_per_second_is_enforced_on_the_clock() -> None:
    now = [100.0]
    with TelegramSandbox(rate_limit=3, clock=lambda: now[0]) as tg:
        uid = tg.add_user("Ivan")
        tg.incoming(uid, "hi")
        assert [call(tg, "sendMessage", chat_id=uid, text="x")[0] for _ in range(4)] == [200, 200, 200, 429]
        now[0] += 1.0
        assert call(tg, "sendMessage", chat_id=uid, text="x")[0] == 200
        assert contract_violations(tg.answers) == []


def test_updates_are_confirmed_only_by_a_higher_offset(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan", username="ivan_petrov")
    first = tg.press_start(uid, "lead-42")
    second = tg.incoming(uid, "question")
    status, body = call(tg, "getUpdates")
    assert status == 200 and [u["update_id"] for u in body["result"]] == [first, second]
    start = body["result"][0]["message"]
    assert start["text"] == "/start lead-42" and start["entities"][0]["type"] == "bot_command"
    assert [u["update_id"] for u in call(tg, "getUpdates", offset=first)[1]["result"]] == [first, second]
    assert [u["update_id"] for u in call(tg, "getUpdates", offset=second)[1]["result"]] == [second]
    assert call(tg, "getUpdates", offset=second + 1)[1]["result"] == []
    assert tg.pending() == []


def test_a_negative_offset_keeps_only_the_last_updates(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan")
    ids = [tg.incoming(uid, f"m{n}") for n in range(3)]
    assert [u["update_id"] for u in call(tg, "getUpdates", offset=-1)[1]["result"]] == ids[-1:]
    assert [u["update_id"] for u in tg.pending()] == ids[-1:]  # the rest is forgotten


def test_timeout_holds_the_request_until_an_update_arrives(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan")
    answer: dict[str, Any] = {}
    poller = threading.Thread(
        target=lambda: answer.update(zip(("status", "body"), call(tg, "getUpdates", timeout=20), strict=True))
    )
    started = time.monotonic()
    poller.start()
    deadline = time.monotonic() + 10
    while tg.polls_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert poller.is_alive()  # held open: nothing to answer yet
    tg.incoming(uid, "now")
    poller.join(15)
    assert answer["status"] == 200 and answer["body"]["result"][0]["message"]["text"] == "now"
    assert time.monotonic() - started < 15


def test_a_second_poller_ends_the_first_with_409(tg: TelegramSandbox) -> None:
    answer: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: answer.update(zip(("status", "body"), call(tg, "getUpdates", timeout=20), strict=True))
    )
    first.start()
    deadline = time.monotonic() + 10
    while tg.polls_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert call(tg, "getUpdates", timeout=0)[0] == 200
    first.join(15)
    assert answer["status"] == 409
    assert answer["body"]["description"].startswith("Conflict: terminated by other getUpdates request")


def test_a_webhook_blocks_polling_until_deleted_and_pending_updates_survive(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan")
    tg.incoming(uid, "kept")
    tg.set_webhook("https://crm.example/hook")
    status, body = call(tg, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]
    info = call(tg, "getWebhookInfo")[1]["result"]
    assert info["url"] == "https://crm.example/hook" and info["pending_update_count"] == 1
    assert call(tg, "deleteWebhook", drop_pending_updates=False)[1] == {"ok": True, "result": True}
    assert call(tg, "getUpdates")[1]["result"][0]["message"]["text"] == "kept"


def test_allowed_updates_is_remembered_and_filters_new_updates(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan")
    call(tg, "getUpdates", allowed_updates=["message"])
    tg.block(uid)  # my_chat_member: not allowed now
    tg.incoming(uid, "text")
    assert [list(u)[1] for u in call(tg, "getUpdates")[1]["result"]] == ["message"]


def test_a_block_arrives_as_my_chat_member_kicked(tg: TelegramSandbox) -> None:
    uid = tg.add_user("Ivan")
    tg.press_start(uid)
    tg.block(uid)
    tg.press_start(uid, "again")
    kinds = [
        (list(u)[1], (u.get("my_chat_member") or {}).get("new_chat_member", {}).get("status"))
        for u in call(tg, "getUpdates")[1]["result"]
    ]
    assert kinds == [
        ("message", None),
        ("my_chat_member", "kicked"),
        ("my_chat_member", "member"),
        ("message", None),
    ]


def test_get_chat_is_chat_full_info(tg: TelegramSandbox) -> None:
    uid = tg.add_user(
        "Ivan", "Petrov", username="ivan_petrov", bio="Покупатель", birthdate={"day": 3, "month": 7}
    )
    status, body = call(tg, "getChat", chat_id=uid)
    assert (
        status == 200
        and body["result"]["bio"] == "Покупатель"
        and body["result"]["birthdate"] == {"day": 3, "month": 7}
    )
    assert call(tg, "getChat", chat_id=42)[0] == 400
