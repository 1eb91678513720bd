"""`MaxSandbox`: a real-HTTP (or HTTPS) double of the MAX Bot API (`https://platform-api2.max.ru`).

    with MaxSandbox() as mx:
        uid = mx.add_user("Ivan", "Petrov")
        mx.press_start(uid, "crm-token")            # the client opened max.ru/<bot>?start=crm-token
        provider = MaxProvider(mx.token, api_url=mx.url)

Faithful where the bridge depends on it (contracts/max-bot-api/):
- the token only in `Authorization: <token>`; anything else (a query `access_token`, `Bearer`) is 401
  `verify.token`; errors are a non-2xx status with `{"code", "message"}`;
- a bot cannot write first: 403 `chat.denied` until the person pressed Start, and again after they
  stopped the bot (`Key: error.dialog.suspended`); 404 for a user id nobody has;
- `GET /updates`: the `marker` commits every update before it and the answer's marker points at the next
  one; without a marker only the latest update comes back; `timeout` holds the request open; `types`
  filters; nothing comes while a webhook subscription exists;
- `bot_started` carries the deep-link `payload`; `bot_stopped` and `dialog_removed` follow a stop;
- `GET /messages?chat_id=` lists a dialog newest first (both directions), so a bot can look for its own
  message; `GET /chats/{chatId}` of a dialog carries `dialog_with_user`;
- more than `rate_limit` requests per second (injectable clock) get 429.
`tls=` (an `ssl.SSLContext`) serves HTTPS with the caller's certificate, for CA-bundle tests.
Choices where the contract says nothing: the 429 body `{"code": "too.many.requests"}` with no hint, the
404 body `not.found`, `chat.denied` with `error.dialog.not.started` for someone who never started the bot.
"""

from __future__ import annotations

import re
import secrets
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox._http import Request, Response, SandboxServer
from sandbox.max.model import (
    MaxApiError,
    MaxUser,
    MaxWorld,
    bad_request,
    invalid_token,
    not_found,
    not_started,
    suspended,
    too_many,
)

MAX_TEXT = 4000
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/me$"), "GET /me"),
    ("POST", re.compile(r"^/messages$"), "POST /messages"),
    ("GET", re.compile(r"^/messages$"), "GET /messages"),
    ("GET", re.compile(r"^/chats/(?P<chat>-?[0-9]+)$"), "GET /chats/{chatId}"),
    ("GET", re.compile(r"^/updates$"), "GET /updates"),
    ("GET", re.compile(r"^/subscriptions$"), "GET /subscriptions"),
    ("DELETE", re.compile(r"^/subscriptions$"), "DELETE /subscriptions"),
]


class MaxSandbox(SandboxServer):
    name = "max"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_username: str = "crm_bridge_bot",
        rate_limit: float | None = 30,
        tls: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port, tls=tls)
        self.token = secrets.token_urlsafe(48)
        self.now = now  # epoch seconds (timestamps are sent in milliseconds)
        self.clock = clock
        self.rate_limit = rate_limit
        bot_id = 9_990_000 + secrets.randbelow(10_000)
        self.world = MaxWorld(
            bot={
                "user_id": bot_id,
                "first_name": "CRM Bridge",
                "username": bot_username,
                "is_bot": True,
                "last_activity_time": self._ms(),
                "description": "CRM bridge bot",
                "name": "CRM Bridge",
            }
        )
        self.answers: list[tuple[str, int, Any]] = []  # (operation, status, body) for contract checks
        self._cond = threading.Condition(threading.RLock())
        self._recent: deque[float] = deque()
        self._next_user = 5_550_001

    @property
    def url(self) -> str:
        return self.base_url

    def _ms(self) -> int:
        return int(self.now() * 1000)

    # --- population API ------------------------------------------------------------------------
    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        *,
        user_id: int | None = None,
        description: str | None = None,
    ) -> int:
        with self._cond:
            uid = user_id or self._next_user
            self._next_user = max(self._next_user, uid) + 7919
            # Dialog ids are positive and unlike user ids, so a client that mixes them up fails here.
            chat_id = 180_000_000 + uid * 3
            self.world.users[uid] = MaxUser(
                uid, first_name, last_name, description, chat_id, last_activity_time=self._ms()
            )
            return uid

    def press_start(self, user_id: int, payload: str | None = None) -> int:
        """The person presses Start (from `max.ru/<bot>?start=<payload>` when given)."""
        with self._cond:
            user = self.world.users[user_id]
            user.started, user.stopped = True, False
            update: dict[str, Any] = {
                "update_type": "bot_started",
                "timestamp": self._ms(),
                "chat_id": user.chat_id,
                "user": user.as_user(),
                "user_id": user_id,
                "user_locale": "ru",
            }
            if payload is not None:
                update["payload"] = payload
            return self._queue(update)

    def incoming(self, user_id: int, text: str) -> str:
        """The person writes in the dialog (they must have started the bot); returns the message's mid."""
        with self._cond:
            user = self.world.users[user_id]
            user.started, user.stopped = True, False
            message = self.world.add_message(user, text, self._ms(), from_bot=False)
            self._queue(
                {
                    "update_type": "message_created",
                    "timestamp": message["timestamp"],
                    "message": message,
                    "user_locale": "ru",
                }
            )
            return str(message["body"]["mid"])

    def stop_bot(self, user_id: int, *, remove_dialog: bool = False) -> None:
        """The person stops the bot (and deletes the dialog with `remove_dialog`)."""
        with self._cond:
            user = self.world.users[user_id]
            user.stopped = True
            kinds = ["bot_stopped"] + (["dialog_removed"] if remove_dialog else [])
            for kind in kinds:
                self._queue(
                    {
                        "update_type": kind,
                        "timestamp": self._ms(),
                        "chat_id": user.chat_id,
                        "user": user.as_user(),
                        "user_locale": "ru",
                    }
                )

    def subscribe(self, url: str) -> None:
        with self._cond:
            self.world.subscriptions.append({"url": url, "time": self._ms(), "update_types": None})

    def delivered_to(self, user_id: int) -> list[dict[str, Any]]:
        with self._cond:
            user = self.world.users[user_id]
            return [m for m in self.world.dialogs.get(user.chat_id, []) if m["sender"]["is_bot"]]

    def pending(self) -> list[dict[str, Any]]:
        with self._cond:
            return [u for _, u in self.world.updates]

    def fail_next(
        self, status: int, code: str, message: str = "", *, operation: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` calls (of `operation`) with a MAX error body."""
        error = MaxApiError(status, code, message or code)
        self.faults.custom(
            lambda r: self._answer(r, error.status, error.body()), operation=operation, times=times
        )

    def _queue(self, update: dict[str, Any]) -> int:
        update_id = self.world.add_update(update)
        self._cond.notify_all()
        return update_id

    # --- HTTP ----------------------------------------------------------------------------------
    def operation_of(self, request: Request) -> str:
        for method, pattern, name in _ROUTES:
            if request.method == method and pattern.match(request.path):
                return name
        return f"{request.method} {request.path}"

    def handle(self, request: Request) -> Response:
        try:
            if request.headers.get("authorization") != self.token:
                raise invalid_token()
            self._check_rate()
            op = request.operation
            if op == "GET /updates":
                return self._answer(request, 200, self._updates(request))
            with self._cond:
                return self._answer(request, 200, self._call(op, request))
        except MaxApiError as exc:
            return self._answer(request, exc.status, exc.body())

    def _answer(self, request: Request, status: int, body: Any) -> Response:
        with self._log_lock:
            self.answers.append((request.operation, status, body))
        return Response.json(body, status)

    def _check_rate(self) -> None:
        with self._cond:
            if self.rate_limit is None:
                return
            now = self.clock()
            while self._recent and self._recent[0] <= now - 1.0 + 1e-6:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit:
                raise too_many()
            self._recent.append(now)

    def _call(self, op: str, request: Request) -> Any:
        if op == "GET /me":
            return dict(self.world.bot)
        if op == "POST /messages":
            return self._send(request)
        if op == "GET /messages":
            return self._list(request)
        if op == "GET /chats/{chatId}":
            return self._chat(int(request.path.rsplit("/", 1)[1]))
        if op == "GET /subscriptions":
            return {"subscriptions": [dict(s) for s in self.world.subscriptions]}
        if op == "DELETE /subscriptions":
            url = request.arg("url")
            self.world.subscriptions = [s for s in self.world.subscriptions if s["url"] != url]
            return {"success": True}
        raise MaxApiError(405, "method.not.allowed", f"{op} is not supported")

    def _user_for_send(self, request: Request) -> MaxUser:
        user_id, chat_id = request.arg("user_id"), request.arg("chat_id")
        user = None
        if user_id is not None and user_id.lstrip("-").isdigit():
            user = self.world.users.get(int(user_id))
        elif chat_id is not None and chat_id.lstrip("-").isdigit():
            if int(chat_id) == 0:
                raise MaxApiError(403, "chat.denied", "Key: error.chat.denied, Invalid chatId: 0")
            user = self.world.user_by_chat(int(chat_id))
        else:
            raise bad_request("user_id or chat_id is required")
        if user is None:
            raise not_found("Chat")
        return user

    def _send(self, request: Request) -> dict[str, Any]:
        user = self._user_for_send(request)
        try:
            body = request.json()
        except ValueError:
            raise bad_request("the request body is not JSON") from None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise bad_request("text must not be empty")
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise bad_request(f"text: size must be between 0 and {MAX_TEXT}")
        if user.stopped:
            raise suspended(user.user_id)
        if not user.started:
            raise not_started(user.user_id)
        return {"message": self.world.add_message(user, text, self._ms(), from_bot=True)}

    def _list(self, request: Request) -> dict[str, Any]:
        chat_id = request.arg("chat_id")
        if chat_id is None or not chat_id.lstrip("-").isdigit():
            raise bad_request("chat_id or message_ids is required")
        user = self.world.user_by_chat(int(chat_id))
        if user is None:
            raise not_found("Chat")
        if user.stopped:
            raise suspended(user.user_id)
        count = max(1, min(int(request.arg("count") or 50), 100))
        return {"messages": list(reversed(self.world.dialogs.get(user.chat_id, [])))[:count]}

    def _chat(self, chat_id: int) -> dict[str, Any]:
        user = self.world.user_by_chat(chat_id)
        if user is None:
            raise not_found("Chat")
        return {
            "chat_id": chat_id,
            "type": "dialog",
            "status": "active",
            "last_event_time": self._ms(),
            "participants_count": 2,
            "is_public": False,
            "dialog_with_user": user.with_photo(),
        }

    def _updates(self, request: Request) -> dict[str, Any]:
        marker_arg, types_arg = request.arg("marker"), request.arg("types")
        limit = max(1, min(int(request.arg("limit") or 100), 1000))
        timeout = max(0, min(int(request.arg("timeout") or 30), 90))
        types = set(types_arg.split(",")) if types_arg else None
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.world.subscriptions:
                return {"updates": [], "marker": int(marker_arg) if marker_arg else None}
            marker = int(marker_arg) if marker_arg else None
            if marker is not None:  # the marker commits everything before it
                self.world.updates = [(i, u) for i, u in self.world.updates if i >= marker]
            while True:
                found = self._take(marker, types, limit)
                left = deadline - time.monotonic()
                if found["updates"] or left <= 0:
                    return found
                self._cond.wait(left)

    def _take(self, marker: int | None, types: set[str] | None, limit: int) -> dict[str, Any]:
        rows = [(i, u) for i, u in self.world.updates if types is None or u["update_type"] in types]
        if marker is None:
            # Since the 2026-05 docs: without a marker, only the latest update.
            latest = rows[-1:] if rows else []
            next_marker = latest[0][0] + 1 if latest else self.world.next_update
            return {"updates": [u for _, u in latest], "marker": next_marker}
        taken = rows[:limit]
        next_marker = taken[-1][0] + 1 if taken else max(marker, self.world.next_update)
        return {"updates": [u for _, u in taken], "marker": next_marker}
