"""`TelegramSandbox`: a real-HTTP double of `https://api.telegram.org/bot<token>/<method>`.

    with TelegramSandbox() as tg:
        uid = tg.add_user("Ivan", "Petrov", username="ivan_petrov")
        tg.press_start(uid, "crm-token")          # the client opened t.me/<bot>?start=crm-token
        provider = TelegramProvider(tg.token, api_url=tg.url)

Faithful where the bridge depends on it (contracts/telegram-bot-api/):
- the token is the path segment `bot<token>`: a malformed one answers 404 "Not Found", an unknown one 401;
- every answer is the `{"ok": ...}` envelope with HTTP status = `error_code`; 429 carries
  `parameters.retry_after`; sends beyond `rate_limit` per second (injectable clock) get it;
- a bot cannot write first: 403 "bot can't initiate conversation" until the person pressed Start (or
  wrote), 403 "bot was blocked by the user" after a block, 400 "chat not found" for an id never seen;
- `getUpdates`: an update is confirmed (forgotten) once an `offset` above its id is asked for; a negative
  offset keeps only the last updates; `timeout` holds the request open until an update arrives; a
  second `getUpdates` ends a held one with 409 "terminated by other getUpdates request"; a set webhook
  makes it 409 until `deleteWebhook`; `allowed_updates` is remembered and filters new updates;
  updates older than 24 h are dropped;
- `/start <payload>` arrives as a message with a `bot_command` entity; a block / unblock as
  `my_chat_member` (kicked / member).
Choices where the contract says nothing: a person who writes without pressing Start counts as started.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox._http import Request, Response, SandboxServer
from sandbox.telegram.model import (
    BLOCKED,
    CANT_INITIATE,
    CHAT_NOT_FOUND,
    DEACTIVATED,
    MAX_TEXT,
    NOT_FOUND,
    OTHER_POLLER,
    TEXT_EMPTY,
    TOO_LONG,
    UNAUTHORIZED,
    WEBHOOK_ACTIVE,
    BotApiError,
    TgUser,
    World,
    error,
    too_many,
)

RETENTION = 24 * 3600.0
_PATH = re.compile(r"^/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)$")
_TOKEN = re.compile(r"^[0-9]{5,12}:[A-Za-z0-9_-]{30,50}$")


class TelegramSandbox(SandboxServer):
    name = "telegram"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_username: str = "crm_bridge_bot",
        rate_limit: float | None = 30,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port)
        bot_id = 7_000_000_000 + secrets.randbelow(10**6)
        self.token = f"{bot_id}:{secrets.token_urlsafe(26)[:35]}"
        self.world = World(
            bot={
                "id": bot_id,
                "is_bot": True,
                "first_name": "CRM Bridge",
                "username": bot_username,
                "can_join_groups": False,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        )
        self.rate_limit = rate_limit
        self.clock = clock  # monotonic seconds, for the per-second send budget
        self.now = now  # epoch seconds, for dates and retention
        self.answers: list[tuple[str, int, dict[str, Any]]] = []  # (method, status, body) for contract checks
        self._cond = threading.Condition(threading.RLock())
        self._poll_generation = 0
        self.polls_waiting = 0  # getUpdates requests held open right now
        self._recent: deque[float] = deque()
        self._next_user = 5_550_001

    @property
    def url(self) -> str:
        return self.base_url

    # --- population API ------------------------------------------------------------------------
    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        *,
        username: str | None = None,
        user_id: int | None = None,
        **fields: Any,
    ) -> int:
        """A person Telegram knows (`bio`, `birthdate`, `language_code`, `started`... as keywords)."""
        with self._cond:
            uid = user_id or self._next_user
            self._next_user = max(self._next_user, uid) + 7919
            self.world.users[uid] = TgUser(uid, first_name, last_name, username, **fields)
            return uid

    def press_start(self, user_id: int, payload: str | None = None) -> int:
        """The person presses Start (from `t.me/<bot>?start=<payload>` when given); returns the update id."""
        with self._cond:
            user = self.world.users[user_id]
            if user.blocked:
                self._membership(user, "kicked", "member")
            user.started, user.blocked = True, False
            text = "/start" + (f" {payload}" if payload else "")
            return self._message(user, text, entities=[{"type": "bot_command", "offset": 0, "length": 6}])

    def incoming(self, user_id: int, text: str) -> int:
        """The person writes to the bot; returns the update id."""
        with self._cond:
            user = self.world.users[user_id]
            user.started = True
            return self._message(user, text)

    def block(self, user_id: int) -> int:
        with self._cond:
            user = self.world.users[user_id]
            user.blocked = True
            return self._membership(user, "member", "kicked")

    def set_webhook(self, url: str) -> None:
        with self._cond:
            self.world.webhook_url = url

    def pending(self) -> list[dict[str, Any]]:
        """Updates not confirmed yet."""
        with self._cond:
            return [dict(u) for u in self.world.queue]

    def delivered_to(self, user_id: int) -> list[dict[str, Any]]:
        with self._cond:
            return [m for m in self.world.sent if m["chat"]["id"] == user_id]

    def flood(self, retry_after: int = 7, *, method: str | None = "sendMessage", times: int = 1) -> None:
        """The next `times` calls of `method` get 429 with `retry_after`."""
        self.faults.custom(lambda r: self._answer(r, too_many(retry_after)), operation=method, times=times)

    # --- updates -------------------------------------------------------------------------------
    def _message(self, user: TgUser, text: str, **extra: Any) -> int:
        message = {
            "message_id": self.world.next_message_id(user.id),
            "date": int(self.now()),
            "from": user.as_user(),
            "chat": user.as_chat(),
            "text": text,
            **extra,
        }
        return self._queue("message", message)

    def _membership(self, user: TgUser, old: str, new: str) -> int:
        return self._queue(
            "my_chat_member",
            {
                "chat": user.as_chat(),
                "from": user.as_user(),
                "date": int(self.now()),
                "old_chat_member": self.world.bot_as_member(old),
                "new_chat_member": self.world.bot_as_member(new),
            },
        )

    def _queue(self, kind: str, payload: dict[str, Any]) -> int:
        allowed = self.world.allowed_updates
        if allowed and kind not in allowed:
            return 0  # Telegram does not create updates of types the bot opted out of
        update_id = self.world.add_update(kind, payload, self.now())
        self._cond.notify_all()
        return update_id

    # --- HTTP ----------------------------------------------------------------------------------
    def operation_of(self, request: Request) -> str:
        match = _PATH.match(request.path)
        return match["method"] if match else request.path

    def handle(self, request: Request) -> Response:
        match = _PATH.match(request.path)
        if match is None:
            return Response.text("<html><body>404 Not Found</body></html>", status=404)
        try:
            if not _TOKEN.match(match["token"]):
                raise error(NOT_FOUND)
            if match["token"] != self.token:
                raise error(UNAUTHORIZED)
            params = self._params(request)
            method = match["method"]
            if method == "getUpdates":
                return self._answer(request, None, self._get_updates(params))
            with self._cond:
                return self._answer(request, None, self._call(method, params))
        except BotApiError as exc:
            return self._answer(request, exc)

    def _answer(self, request: Request, exc: BotApiError | None, result: Any = None) -> Response:
        status, body = (200, {"ok": True, "result": result}) if exc is None else (exc.code, exc.body())
        with self._log_lock:
            self.answers.append((request.operation, status, body))
        return Response.json(body, status)

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[0] for k, v in request.query.items() if v}
        params.update({k: v[0] for k, v in request.form.items() if v})
        if request.headers.get("content-type", "").startswith("application/json") and request.body:
            body = request.json()
            if isinstance(body, dict):
                params.update(body)
        return params

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return dict(self.world.bot)
        if method == "sendMessage":
            return self._send(params)
        if method == "getChat":
            return self._user(params.get("chat_id")).as_full_chat()
        if method == "deleteWebhook":
            self.world.webhook_url = ""
            if str(params.get("drop_pending_updates")).lower() in ("true", "1"):
                self.world.queue.clear()
            return True
        if method == "getWebhookInfo":
            return {
                "url": self.world.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self.world.queue),
            }
        raise error(NOT_FOUND)

    def _user(self, chat_id: object) -> TgUser:
        try:
            user = self.world.users.get(int(str(chat_id)))
        except ValueError:
            user = None
        if user is None:
            raise error(CHAT_NOT_FOUND)
        return user

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._user(params.get("chat_id"))
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise error(TEXT_EMPTY)
        if len(text.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise error(TOO_LONG)
        self._check_rate()
        if user.deactivated:
            raise error(DEACTIVATED)
        if user.blocked:
            raise error(BLOCKED)
        if not user.started:
            raise error(CANT_INITIATE)
        bot = {k: self.world.bot[k] for k in ("id", "is_bot", "first_name", "username")}
        message = {
            "message_id": self.world.next_message_id(user.id),
            "from": bot,
            "chat": user.as_chat(),
            "date": int(self.now()),
            "text": text,
        }
        self.world.sent.append(message)
        return message

    def _check_rate(self) -> None:
        if self.rate_limit is None:
            return
        now = self.clock()
        while self._recent and self._recent[0] <= now - 1.0 + 1e-6:
            self._recent.popleft()
        if len(self._recent) >= self.rate_limit:
            raise too_many(1)
        self._recent.append(now)

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset, limit, timeout = (
            _int(params, "offset", 0),
            _int(params, "limit", 100),
            _int(params, "timeout", 0),
        )
        with self._cond:
            if self.world.webhook_url:
                raise error(WEBHOOK_ACTIVE)
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # a held getUpdates of another poller ends with 409
            if "allowed_updates" in params and isinstance(params["allowed_updates"], list):
                self.world.allowed_updates = list(params["allowed_updates"]) or None
            self._confirm(offset)
            deadline = time.monotonic() + max(0, min(timeout, 50))
            while not self.world.queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.polls_waiting += 1
                try:
                    self._cond.wait(left)
                finally:
                    self.polls_waiting -= 1
                if self._poll_generation != generation:
                    raise error(OTHER_POLLER)
                if self.world.webhook_url:
                    raise error(WEBHOOK_ACTIVE)
            return [dict(u) for u in self.world.queue[: max(1, min(limit, 100))]]

    def _confirm(self, offset: int) -> None:
        world = self.world
        oldest = self.now() - RETENTION
        world.queue = [u for u in world.queue if world.queued_at[u["update_id"]] >= oldest]
        if offset > 0:
            world.queue = [u for u in world.queue if u["update_id"] >= offset]
        elif offset < 0:
            world.queue = world.queue[offset:]


def _int(params: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(params.get(name, default))
    except (TypeError, ValueError):
        raise BotApiError(400, f"Bad Request: invalid {name}") from None
