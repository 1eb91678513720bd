"""`VkSandbox`: a real-HTTP double of `https://api.vk.ru/method/` for tests and the demo.

    with VkSandbox() as vk:
        uid = vk.add_user("Pavel", "Durov", screen_name="durov", bdate="10.10.1984")
        vk.incoming(uid, "Hello")                        # the person writes to the community
        provider = VkProvider(vk.community_token, group_id=vk.group_id, api_url=vk.url)

Faithful where the bridge depends on it: `v` is required (error 8), the token comes from the
`Authorization: Bearer` header or the `access_token` parameter, errors use VK's envelope with HTTP
200, `random_id` deduplicates per sender over the whole history (a repeat answers the first message's id,
whoever it went to; `messages.getById` tells), per-token requests/s are enforced with error 6 on an
injectable clock, and `execute` runs `return [API.x.y({...}), ...];` with VK's `execute_errors`.
It also serves a Bots Long Poll server (`vk.longpoll`; VK's behaviour and the sandbox's choices are
listed in `sandbox/vk/longpoll.py`): every message of the mailbox is an event there too.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox._http import Request, Response, SandboxServer
from sandbox.vk import methods, vkscript
from sandbox.vk.longpoll import LongPollServer
from sandbox.vk.model import VkApiError, VkCommunity, VkToken, VkUser, World, error

PREFIX = "/method/"
LP_PREFIX = "/whp/"  # the long-poll server's path, like VK's https://lp.vk.com/whp/<group_id>


class VkSandbox(SandboxServer):
    name = "vk"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        group_id: int = 229000001,
        group_screen_name: str = "bridge_shop",
        rate_limit: float | None = 20,
        user_rate_limit: float | None = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(host, port)
        self.world = World(group_id=group_id)
        self.world.communities[group_id] = VkCommunity(group_id, group_screen_name, "Bridge Shop")
        self.group_id = group_id
        self.rate_limit = rate_limit  # requests/s per community token (None = unlimited)
        self.user_rate_limit = user_rate_limit  # requests/s per user token
        self.clock = clock
        self.rate_limited = 0  # how many error-6 answers were given
        self._lock = threading.RLock()
        # Held long polls wait on this condition, which releases the lock: API calls go on meanwhile.
        self._cond = threading.Condition(self._lock)
        self.world.longpoll.clock = clock
        self.world.longpoll.notify = self._wake_pollers
        self.longpoll = LongPollServer(self.world.longpoll, self._cond)
        self._recent: dict[str, deque[float]] = {}
        self.community_token = self.add_token("group", group_id, {"messages", "manage"})
        self.user_token = self.add_token("user", 1, {"offline"})  # no `messages`: VK's default today
        self.add_user("Sandbox", "Admin", user_id=1, screen_name="sandbox_admin")

    # --- population API -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.base_url}{PREFIX}"

    def start(self) -> VkSandbox:
        super().start()
        self.longpoll.reopen(f"{self.base_url}{LP_PREFIX}")
        return self

    def stop(self) -> None:
        self.longpoll.shutdown()  # held long polls are cut now, not when their `wait` runs out
        super().stop()

    def _wake_pollers(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def add_token(self, kind: str, owner_id: int, rights: set[str] | frozenset[str]) -> str:
        token = f"vk1.a.{secrets.token_urlsafe(24)}"
        with self._lock:
            self.world.tokens[token] = VkToken(kind, owner_id, frozenset(rights))
        return token

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self.world.tokens[token].revoked = True

    def add_user(
        self,
        first_name: str,
        last_name: str,
        *,
        user_id: int | None = None,
        screen_name: str | None = None,
        allows_messages: bool = True,
        deactivated: str | None = None,
        is_closed: bool = False,
        blacklisted_us: bool = False,
        messages_privacy: bool = False,
        **profile_fields: Any,
    ) -> int:
        """Add a person; `profile_fields`: bdate, city, country (titles), mobile_phone, home_phone,
        site, about, photo_max_orig, photo_200."""
        with self._lock:
            uid = user_id if user_id is not None else self.world.next_user_id
            self.world.next_user_id = max(self.world.next_user_id, uid + 1)
            self.world.users[uid] = VkUser(
                uid,
                first_name,
                last_name,
                screen_name=screen_name,
                allows_messages=allows_messages,
                deactivated=deactivated,
                is_closed=is_closed,
                blacklisted_us=blacklisted_us,
                messages_privacy=messages_privacy,
                fields=dict(profile_fields),
            )
            return uid

    def add_users(self, count: int, *, screen_prefix: str | None = None) -> list[int]:
        """Bulk population for batching benchmarks: `count` plain users."""
        ids = []
        for n in range(count):
            name = f"{screen_prefix}{n}" if screen_prefix else None
            ids.append(self.add_user(f"User{n}", "Bulk", screen_name=name, bdate=f"{n % 28 + 1}.5.1990"))
        return ids

    def add_community(self, screen_name: str, name: str = "", *, group_id: int | None = None) -> int:
        with self._lock:
            gid = group_id or max(self.world.communities) + 1
            self.world.communities[gid] = VkCommunity(gid, screen_name, name or screen_name)
            return gid

    def set_user(self, user_id: int, **changes: Any) -> None:
        """Change a person (e.g. `allows_messages=False`, `deactivated="banned"`)."""
        with self._lock:
            user = self.world.users[user_id]
            for key, value in changes.items():
                if hasattr(user, key):
                    setattr(user, key, value)
                else:
                    user.fields[key] = value
            self.world.forget_names()

    def incoming(self, user_id: int, text: str, *, date: int | None = None) -> int:
        """The person writes to the community; returns VK's message id."""
        with self._lock:
            user = self.world.users[user_id]
            user.allows_messages = True  # writing to a community lets it answer
            return self.world.add_message(user_id, out=False, text=text, date=date or int(time.time())).id

    def allow_messages(self, user_id: int, key: str = "") -> None:
        """The person allows the community's messages (a `key` comes from the allow link): message_allow."""
        with self._lock:
            self.world.users[user_id].allows_messages = True
            self.world.longpoll.publish("message_allow", {"user_id": user_id, "key": key})

    def deny_messages(self, user_id: int) -> None:
        """The person forbids the community's messages: message_deny; sends get error 901."""
        with self._lock:
            self.world.users[user_id].allows_messages = False
            self.world.longpoll.publish("message_deny", {"user_id": user_id})

    def outgoing_outside(self, user_id: int, text: str, *, date: int | None = None) -> int:
        """A message the community sent from VK's own UI (not through our token)."""
        with self._lock:
            return self.world.add_message(user_id, out=True, text=text, date=date or int(time.time())).id

    def delivered_to(self, user_id: int) -> list[dict[str, Any]]:
        """What our tokens sent to `user_id` through the API: the exactly-once ledger."""
        with self._lock:
            return [m.as_json() for m in self.world.messages if m.peer_id == user_id and m.via_api]

    def fail_next(self, code: int, *, method: str | None = None, times: int | None = 1, **extra: Any) -> None:
        """Answer the next `times` calls (of `method`, or any) with VK error `code` (9, 14, 10, 5...)."""
        if code == 14:
            extra.setdefault("captcha_sid", "548396318459")
            extra.setdefault("captcha_img", "https://api.vk.ru/captcha.php?sid=548396318459")

        def factory(request: Request) -> Response:
            return self._error_response(error(code, **extra), request, self._params(request))

        self.faults.custom(factory, operation=method, times=times)

    # --- HTTP -----------------------------------------------------------------------------------
    def operation_of(self, request: Request) -> str:
        if request.path.startswith(LP_PREFIX):
            return "a_check"
        return request.path[len(PREFIX) :] if request.path.startswith(PREFIX) else request.path

    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        params = {k: v[0] for k, v in request.query.items() if v}
        params.update({k: v[0] for k, v in request.form.items() if v})
        return params

    def _token_of(self, request: Request, params: dict[str, str]) -> tuple[str, VkToken]:
        header = request.headers.get("authorization", "")
        raw = header[7:].strip() if header.lower().startswith("bearer ") else params.get("access_token", "")
        if not raw:
            raise VkApiError(5, "User authorization failed: no access_token passed.")
        token = self.world.tokens.get(raw)
        if token is None:
            raise error(5)
        if token.revoked:
            raise VkApiError(5, "User authorization failed: access_token has expired.")
        return raw, token

    def _check_rate(self, raw_token: str, token: VkToken) -> None:
        limit = self.rate_limit if token.kind == "group" else self.user_rate_limit
        if limit is None:
            return
        now = self.clock()
        window = self._recent.setdefault(raw_token, deque())
        # A 1-second sliding window; the micro-tolerance absorbs float drift of a client that
        # spaces requests exactly 1/limit apart.
        while window and window[0] <= now - 1.0 + 1e-6:
            window.popleft()
        if len(window) >= limit:
            self.rate_limited += 1
            raise error(6)
        window.append(now)

    def handle(self, request: Request) -> Response:
        params = self._params(request)
        if request.path.startswith(LP_PREFIX):
            return self._long_poll(request, params)
        if not request.path.startswith(PREFIX):
            return Response.text("<html><body>404 Not Found</body></html>", status=404)
        method = request.path[len(PREFIX) :]
        try:
            with self._lock:
                if not params.get("v"):
                    raise error(8)
                raw, token = self._token_of(request, params)
                self._check_rate(raw, token)
                if method == "execute":
                    return self._execute(token, params)
                return Response.json({"response": methods.call(self.world, token, method, params)})
        except VkApiError as exc:
            return self._error_response(exc, request, params)

    def _long_poll(self, request: Request, params: dict[str, str]) -> Response:
        group = request.path[len(LP_PREFIX) :]
        if not group.isdigit() or params.get("act") != "a_check":
            # Not a long-poll request VK documents; what VK answers is unknown (see longpoll.py).
            return Response.text("<html><body>400 Bad Request</body></html>", status=400)
        return Response.json(self.longpoll.a_check(int(group), params))

    def _execute(self, token: VkToken, params: dict[str, str]) -> Response:
        try:
            calls = vkscript.parse(params.get("code", ""))
        except vkscript.VkScriptError as exc:
            raise error(12, str(exc)) from None
        results: list[Any] = []
        failures: list[dict[str, Any]] = []
        for name, args in calls:
            sub = {key: vkscript.as_param(value) for key, value in args.items()}
            try:
                results.append(methods.call(self.world, token, name, sub))
            except VkApiError as exc:
                results.append(False)  # VK puts `false` where a call failed
                failures.append({"method": name, "error_code": exc.code, "error_msg": exc.message})
        body: dict[str, Any] = {"response": results}
        if failures:
            body["execute_errors"] = failures
        return Response.json(body)

    def _error_response(self, exc: VkApiError, request: Request, params: dict[str, str]) -> Response:
        shown = [{"key": "method", "value": self.operation_of(request)}, {"key": "oauth", "value": "1"}]
        # VK echoes the parameters but never the token; `code` is long and unhelpful, as in VK.
        shown += [{"key": k, "value": v} for k, v in params.items() if k not in ("access_token", "code")]
        body: dict[str, Any] = {"error_code": exc.code, "error_msg": exc.message, "request_params": shown}
        body.update(exc.extra)
        return Response.json({"error": body})
