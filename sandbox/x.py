"""A real-HTTP double of the X API v2 endpoints the bridge uses: user lookup, DM create and DM lookup.

What it enforces, as `contracts/x-api-v2/` and X's documentation describe the real service:
- OAuth 1.0a user context, HMAC-SHA1 signatures verified for real (bad signature, unknown token or a
  replayed nonce -> 401 `about:blank` problem, as X answers);
- DM rules: a person who does not accept DMs from us (and never wrote to us) -> 403; blocked -> 403;
  unknown or suspended participant -> 404 `resource-not-found`;
- user lookups answer 200 with an `errors` array for unknown/suspended names, like X;
- 15-minute rate windows per token and endpoint with `x-rate-limit-limit/remaining/reset` headers and
  429 on overflow, on an injectable epoch clock (`clock=`);
- DM event lists newest first with base32hex pagination tokens; event ids are snowflake-like
  increasing integers (`first_event_id=` lets tests cross a digit boundary);
- the OAuth 1.0a PIN flow (`/oauth/request_token`, `/oauth/authorize`, `/oauth/access_token`, see
  `sandbox/x_oauth.py`): `authorize(request_token)` is the user's click and returns the PIN; the access
  tokens it issues are accepted for API calls at once.

`tweets` records any attempt to post a tweet (v2 or v1.1): it must stay empty. Every answer the
sandbox produces is kept in `responses` so tests can validate it against the OpenAPI spec.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from sandbox._http import Request, Response, SandboxServer
from sandbox.x_model import (
    DEFAULT_LIMITS,
    DEFAULT_USER_FIELDS,
    DM_EVENT_FIELDS,
    HISTORY,
    MAX_DM_TEXT,
    USER_ID,
    USERNAME,
    WINDOW,
    DmEvent,
    XUser,
    conversation_id,
    dm_forbidden,
    generic_problem,
    invalid_request,
    list_param,
    not_found_problem,
    page_token,
    parse_page_token,
    problem,
    user_fields,
    verify_oauth1,
)
from sandbox.x_oauth import PinFlow

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/oauth/request_token$"), "oauth_request_token"),
    ("GET", re.compile(r"^/oauth/authorize$"), "oauth_authorize"),
    ("POST", re.compile(r"^/oauth/access_token$"), "oauth_access_token"),
    ("GET", re.compile(r"^/2/users/me$"), "users_me"),
    ("GET", re.compile(r"^/2/users/by$"), "users_by"),
    ("GET", re.compile(r"^/2/users/by/username/(?P<username>[^/]+)$"), "users_by_username"),
    ("GET", re.compile(r"^/2/users$"), "users"),
    ("GET", re.compile(r"^/2/dm_events$"), "dm_events"),
    ("GET", re.compile(r"^/2/dm_conversations/with/(?P<pid>[^/]+)/dm_events$"), "dm_conversation_events"),
    ("POST", re.compile(r"^/2/dm_conversations/with/(?P<pid>[^/]+)/messages$"), "dm_create"),
    ("POST", re.compile(r"^/(2/tweets|1\.1/statuses/update\.json)$"), "tweet_create"),
]


class XSandbox(SandboxServer):
    name = "x"

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        first_event_id: int = 1585823814058971140,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.clock = clock  # epoch seconds: `x-rate-limit-reset` and `created_at` come from it
        self.consumer_key = "xck-" + secrets.token_hex(6)
        self.consumer_secret = "xcs-" + secrets.token_hex(16)
        self.access_token = "1072250532645998596-" + secrets.token_hex(10)
        self.access_token_secret = "xts-" + secrets.token_hex(16)
        self.limits = dict(DEFAULT_LIMITS)
        self.tweets: list[dict[str, Any]] = []
        self.responses: list[tuple[Request, Response]] = []
        self._lock = threading.RLock()
        self._users: dict[str, XUser] = {}
        self._events: list[DmEvent] = []
        self._blocked_by: set[str] = set()
        self._nonces: set[tuple[str, str]] = set()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}  # (token, op) -> (reset, used)
        self._fail_after_delivery = 0
        self._event_ids = itertools.count(first_event_id, 4_194_305)  # snowflake-ish strides
        self._user_ids = itertools.count(2244994945, 7919)
        self.me = self.add_user("CrmBridgeDesk", "CRM Bridge Desk", user_id="1072250532645998596")
        self._issued: dict[str, str] = {}  # access tokens the PIN flow gave out -> their secrets
        self._pin_flow = PinFlow(
            consumers=lambda: {self.consumer_key: self.consumer_secret},
            access_tokens=self._issued,
            nonces=self._nonces,
            lock=self._lock,
            account=lambda: (self.me, self._users[self.me].username),
        )

    @property
    def url(self) -> str:
        return self.base_url

    # --- population API ------------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        name: str,
        *,
        user_id: str | None = None,
        description: str | None = None,
        location: str | None = None,
        url: str | None = None,
        accepts_dms: bool = True,
        protected: bool = False,
        suspended: bool = False,
    ) -> str:
        with self._lock:
            uid = user_id or str(next(self._user_ids))
            self._users[uid] = XUser(
                uid, username, name, description, location, url, accepts_dms, protected, suspended
            )
            return uid

    def block_us(self, user_id: str) -> None:
        """The person blocked our account: every DM to them is refused (403)."""
        self._blocked_by.add(user_id)

    def incoming_dm(self, user_id: str, text: str) -> str:
        """The person `user_id` writes to our account; returns the DM event id."""
        return self._add_event(user_id, self.me, text).id

    def delivered_to(self, user_id: str) -> list[dict[str, Any]]:
        """DMs our account sent to `user_id`, oldest first: the exactly-once ledger for tests."""
        cid = conversation_id(self.me, user_id)
        with self._lock:
            return [
                {"id": e.id, "text": e.text, "created_at": e.created_at, "dm_conversation_id": cid}
                for e in self._events
                if e.conversation_id == cid and e.sender_id == self.me
            ]

    def authorize(self, request_token: str) -> str:
        """Our account's user clicks "Authorize app" for `request_token`; returns the PIN X shows."""
        return self._pin_flow.authorize(request_token)

    def fail_after_delivery(self, times: int = 1) -> None:
        """The next `times` DM creates are stored but answered 503, like a timeout after delivery."""
        self._fail_after_delivery = times

    def _add_event(self, sender: str, recipient: str, text: str) -> DmEvent:
        with self._lock:
            now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
            event = DmEvent(
                str(next(self._event_ids)),
                sender,
                conversation_id(sender, recipient),
                [sender, recipient],
                text,
                now,
            )
            self._events.append(event)
            return event

    # --- HTTP ------------------------------------------------------------------------------------
    def operation_of(self, request: Request) -> str:
        for method, pattern, operation in _ROUTES:
            if request.method == method and pattern.match(request.path):
                return operation
        return "unknown"

    def handle(self, request: Request) -> Response:
        response = self._handle(request)
        with self._lock:
            self.responses.append((request, response))
        return response

    def _handle(self, request: Request) -> Response:
        if request.operation.startswith("oauth_"):
            return self._pin_flow.handle(request, request.operation)
        with self._lock:
            check = verify_oauth1(
                request,
                consumers={self.consumer_key: self.consumer_secret},
                tokens={self.access_token: self.access_token_secret, **self._issued},
                seen_nonces=self._nonces,
            )
        if not check.ok:
            return problem(401, generic_problem(401, "Unauthorized"))
        operation = request.operation
        if operation == "tweet_create":
            self.tweets.append({"path": request.path, "body": request.body.decode("utf-8", "replace")})
            return Response.json({"data": {"id": "1", "text": "", "edit_history_tweet_ids": ["1"]}}, 201)
        if operation == "unknown":
            return problem(404, generic_problem(404, "Not Found Error", "Sorry, that page does not exist."))
        headers, allowed = self._take_window(check.token, operation)
        if not allowed:
            return problem(429, generic_problem(429, "Too Many Requests"), headers)
        match = next(m for _, p, op in _ROUTES if op == operation and (m := p.match(request.path)))
        handler: Callable[..., Response] = getattr(self, "_op_" + operation)
        response = handler(request, **match.groupdict())
        response.headers.update(headers)
        return response

    def _take_window(self, token: str, operation: str) -> tuple[dict[str, str], bool]:
        limit = self.limits.get(operation, 900)
        with self._lock:
            now = self.clock()
            reset, used = self._windows.get((token, operation), (0.0, 0))
            if now >= reset:
                reset, used = now + WINDOW, 0
            allowed = used < limit
            used += 1 if allowed else 0
            self._windows[(token, operation)] = (reset, used)
        headers = {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str(int(reset)),
        }
        return headers, allowed

    # --- users -------------------------------------------------------------------------------------
    def _lookup(self, values: list[str], parameter: str, request: Request, many: bool) -> Response:
        fields = user_fields(request)
        if isinstance(fields, Response):
            return fields
        data: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for value in values:
            with self._lock:
                if parameter == "username":
                    user = next(
                        (u for u in self._users.values() if u.username.lower() == value.lower()), None
                    )
                else:
                    user = self._users.get(value)
            if user is None:
                errors.append(not_found_problem(value, parameter))
            elif user.suspended:
                errors.append(
                    not_found_problem(
                        value, parameter, title="Forbidden", detail=f"User has been suspended: [{value}]."
                    )
                )
            else:
                data.append(self._with_dm_status(user.as_json(fields)))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data if many else data[0]
        if errors:
            body["errors"] = errors
        return Response.json(body)

    def _wrote_to_us(self, user_id: str) -> bool:
        with self._lock:
            return any(e.sender_id == user_id and self.me in e.participant_ids for e in self._events)

    def _with_dm_status(self, user: dict[str, Any]) -> dict[str, Any]:
        """`receives_your_dm` is whether a DM from us would go through now, as the DM rules below decide."""
        if "receives_your_dm" in user:
            uid = user["id"]
            user["receives_your_dm"] = uid not in self._blocked_by and (
                bool(user["receives_your_dm"]) or self._wrote_to_us(uid)
            )
        return user

    def _op_users_me(self, request: Request) -> Response:
        return self._lookup([self.me], "id", request, many=False)

    def _op_users_by_username(self, request: Request, username: str) -> Response:
        if not USERNAME.match(username):
            return invalid_request(
                f"The `username` query parameter value [{username}] does not match ^[A-Za-z0-9_]{{1,15}}$",
                "username",
                username,
            )
        return self._lookup([username], "username", request, many=False)

    def _op_users_by(self, request: Request) -> Response:
        values = list_param(request, "usernames", USERNAME)
        return values if isinstance(values, Response) else self._lookup(values, "username", request, True)

    def _op_users(self, request: Request) -> Response:
        values = list_param(request, "ids", USER_ID)
        return values if isinstance(values, Response) else self._lookup(values, "id", request, True)

    # --- DMs ---------------------------------------------------------------------------------------
    def _op_dm_create(self, request: Request, pid: str) -> Response:
        if not USER_ID.match(pid):
            return invalid_request(
                f"The `participant_id` path parameter value [{pid}] is not valid", "participant_id", pid
            )
        try:
            payload = request.json()
        except (ValueError, UnicodeDecodeError):
            return invalid_request("The request body is not valid JSON")
        if (
            not isinstance(payload, dict)
            or set(payload) - {"text", "attachments"}
            or not (payload.get("text") or payload.get("attachments"))
        ):
            return invalid_request("The request body must carry `text` or `attachments` and nothing else")
        text = payload.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_DM_TEXT:
            return invalid_request(f"`text` must be a string of at most {MAX_DM_TEXT} characters", "text")
        with self._lock:
            user = self._users.get(pid)
            if user is None or user.suspended or pid == self.me:
                return problem(404, {**not_found_problem(pid, "participant_id"), "status": 404})
            if pid in self._blocked_by:
                return dm_forbidden(user, blocked=True)
            if not user.accepts_dms and not self._wrote_to_us(pid):
                return dm_forbidden(user, blocked=False)
            event = self._add_event(self.me, pid, text)
            if self._fail_after_delivery > 0:
                self._fail_after_delivery -= 1
                return Response(503, b"", {"Content-Type": "text/html; charset=UTF-8"})
        return Response.json(
            {"data": {"dm_conversation_id": event.conversation_id, "dm_event_id": event.id}}, 201
        )

    def _op_dm_events(self, request: Request) -> Response:
        return self._list_events(request, None)

    def _op_dm_conversation_events(self, request: Request, pid: str) -> Response:
        if not USER_ID.match(pid):
            return invalid_request(
                f"The `participant_id` path parameter value [{pid}] is not valid", "participant_id", pid
            )
        return self._list_events(request, conversation_id(self.me, pid))

    def _list_events(self, request: Request, conversation: str | None) -> Response:
        try:
            max_results = int(request.arg("max_results") or 100)
        except ValueError:
            max_results = 0
        if not 1 <= max_results <= 100:
            return invalid_request(
                "The `max_results` query parameter value must be between 1 and 100",
                "max_results",
                request.arg("max_results"),
            )
        fields = set(filter(None, (request.arg("dm_event.fields") or "").split(",")))
        types = set(filter(None, (request.arg("event_types") or "MessageCreate").split(",")))
        if fields - DM_EVENT_FIELDS or types - {"MessageCreate", "ParticipantsJoin", "ParticipantsLeave"}:
            return invalid_request("One or more parameters to your request was invalid.")
        token = request.arg("pagination_token")
        before = parse_page_token(token) if token is not None else None
        if token is not None and (len(token) < 16 or before is None):
            return invalid_request(
                "The `pagination_token` query parameter value is not valid", "pagination_token", token
            )
        oldest = dt.datetime.fromtimestamp(self.clock(), dt.UTC) - HISTORY
        with self._lock:
            events = sorted(
                (
                    e
                    for e in self._events
                    if self.me in e.participant_ids
                    and e.created_at >= oldest
                    and (conversation is None or e.conversation_id == conversation)
                    and (before is None or int(e.id) < int(before))
                    and "MessageCreate" in types
                ),
                key=lambda e: int(e.id),
                reverse=True,
            )
        page, more = events[:max_results], len(events) > max_results
        body: dict[str, Any] = {}
        if page:
            body["data"] = [e.as_json(fields) for e in page]
        expansions = set(filter(None, (request.arg("expansions") or "").split(",")))
        if page and "sender_id" in expansions:
            with self._lock:
                users = {e.sender_id: self._users[e.sender_id] for e in page if e.sender_id in self._users}
            body["includes"] = {"users": [u.as_json(set(DEFAULT_USER_FIELDS)) for u in users.values()]}
        meta: dict[str, Any] = {"result_count": len(page)}
        if more:
            meta["next_token"] = page_token(page[-1].id)
        body["meta"] = meta
        return Response.json(body)
