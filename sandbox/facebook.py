"""A real-HTTP double of the Graph API's Page messaging edges (Messenger Platform).

What it enforces, as Meta's documentation and `contracts/facebook/` describe the real service:
- the Page token (`access_token` query/form parameter; `appsecret_proof` when an app secret is set);
- PSIDs exist only for people who wrote to the Page (`add_person` + `incoming`);
- the 24 h reply window after the person's last message, and the HUMAN_AGENT tag (7 days);
- request parameter names and enum values of `POST /{page-id}/messages`, `GET /{page-id}/conversations`
  and `GET /{thread-id}/messages` (checked against the codegen contract by the tests);
- Graph shapes: send -> `{recipient_id, message_id}`, lists -> `{data, paging:{cursors, next}}`, errors ->
  `{"error": {message, type, code, error_subcode, fbtrace_id}}`.

Time is an injectable UTC clock (`fb.clock`, `fb.advance(hours=25)`) so windows are testable instantly.
Lists are newest first, as Graph returns them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
from typing import Any, cast

from sandbox._http import DROP, Request, Response, SandboxServer
from sandbox.facebook_model import (
    API_VERSION,
    CONVERSATIONS_PARAMS,
    GRAPH_COMMON_PARAMS,
    GRAPH_TIME,
    HUMAN_AGENT_WINDOW,
    MAX_TEXT,
    MESSAGING_TYPES,
    NOTIFICATION_TYPES,
    PLATFORMS,
    REPLY_WINDOW,
    SEND_PARAMS,
    SOURCES,
    TAGS,
    THREAD_MESSAGES_PARAMS,
    GraphError,
    Message,
    Person,
    UtcClock,
    graph_time,
)

# Re-exported: the tests read the parameter sets as attributes of this module.
__all__ = [
    "API_VERSION",
    "CONVERSATIONS_PARAMS",
    "GRAPH_COMMON_PARAMS",
    "GRAPH_TIME",
    "HUMAN_AGENT_WINDOW",
    "MAX_TEXT",
    "MESSAGING_TYPES",
    "NOTIFICATION_TYPES",
    "PLATFORMS",
    "REPLY_WINDOW",
    "SEND_PARAMS",
    "SOURCES",
    "TAGS",
    "THREAD_MESSAGES_PARAMS",
    "FacebookSandbox",
    "GraphError",
    "Message",
    "Person",
    "UtcClock",
    "graph_time",
]


class FacebookSandbox(SandboxServer):
    """`with FacebookSandbox() as fb:` — a Page, its token, the people who wrote to it."""

    name = "facebook"

    def __init__(
        self,
        *,
        page_id: str = "104857600000001",
        page_name: str = "Bridge Test Page",
        page_token: str | None = None,
        app_secret: str | None = None,
        clock: UtcClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.page_id = page_id
        self.page_name = page_name
        self.page_token = page_token or "EAAB" + secrets.token_hex(24)
        self.app_secret = app_secret
        self.clock = clock or UtcClock()
        self._lock = threading.RLock()
        self._people: dict[str, Person] = {}
        self._threads: dict[str, str] = {}  # thread id -> psid
        self._delivered: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    # --- population API ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.base_url}/{API_VERSION}"

    def advance(self, **delta: float) -> dt.datetime:
        return self.clock.advance(**delta)

    def add_person(self, first_name: str, last_name: str, *, psid: str | None = None) -> str:
        with self._lock:
            n = next(self._ids)
            psid = psid or f"{2400000000000000 + n}"
            self._people[psid] = Person(psid, first_name, last_name, thread_id=f"t_{9100000000000 + n}")
            self._threads[self._people[psid].thread_id] = psid
            return psid

    def incoming(self, psid: str, text: str) -> str:
        """The person writes to the Page: opens/refreshes the reply window; returns the message id."""
        with self._lock:
            person = self._people[psid]
            msg = self._append(person, psid, self.page_id, text)
            person.last_inbound = msg.created
            return msg.id

    def make_unavailable(self, psid: str) -> None:
        """The person blocked the Page or deactivated their account (Send API error 551)."""
        with self._lock:
            self._people[psid].unavailable = True

    def delivered_to(self, psid: str) -> list[dict[str, Any]]:
        """What the Page delivered to `psid`, in order: the exactly-once ledger."""
        with self._lock:
            return [dict(entry) for entry in self._delivered.get(psid, [])]

    def rate_limit(self, code: int = 613, *, operation: str | None = None, times: int | None = 1) -> None:
        """Answer the next call(s) with a Graph throttling error (4, 17, 32 or 613)."""
        messages = {
            4: "(#4) Application request limit reached",
            17: "(#17) User request limit reached",
            32: "(#32) Page request limit reached",
            613: "(#613) Calls to this api have exceeded the rate limit.",
        }
        error = GraphError(code, messages.get(code, f"(#{code}) Rate limited"))
        self.faults.custom(lambda _r: error.response(), operation=operation, times=times)

    def deliver_then_drop(self, *, times: int = 1) -> None:
        """Deliver the next send(s) but drop the connection before answering (a lost response)."""

        def factory(request: Request) -> Response:
            self.handle(request)
            return cast(Response, DROP)

        self.faults.custom(factory, operation="send", times=times)

    def _append(self, person: Person, from_id: str, to_id: str, text: str) -> Message:
        raw = hashlib.sha256(f"{person.psid}:{next(self._ids)}".encode()).digest()[:24]
        msg = Message(
            "m_" + base64.urlsafe_b64encode(raw).decode().rstrip("="), self.clock(), from_id, to_id, text
        )
        person.messages.append(msg)
        return msg

    # --- routing ----------------------------------------------------------------------------------
    def operation_of(self, request: Request) -> str:
        parts = self._parts(request)
        if len(parts) == 2 and parts[1] == "messages":
            return "send" if request.method == "POST" else "thread_messages"
        if len(parts) == 2 and parts[1] == "conversations":
            return "conversations"
        return "object" if len(parts) == 1 else "?"

    @staticmethod
    def _parts(request: Request) -> list[str]:
        match = re.fullmatch(r"/v\d+\.\d+/(.+?)/?", request.path)
        return match.group(1).split("/") if match else []

    def handle(self, request: Request) -> Response:
        try:
            params = self._params(request)
            self._check_token(params)
            with self._lock:
                return self._dispatch(request, params)
        except GraphError as error:
            return error.response()

    @staticmethod
    def _params(request: Request) -> dict[str, str]:
        params = {k: v[0] for k, v in request.query.items() if v}
        params.update({k: v[0] for k, v in request.form.items() if v})
        return params

    def _check_token(self, params: dict[str, str]) -> None:
        token = params.get("access_token")
        if not token:
            raise GraphError(104, "An access token is required to request this resource.")
        if not hmac.compare_digest(token, self.page_token):
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        if self.app_secret is not None:
            expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(params.get("appsecret_proof", ""), expected):
                raise GraphError(
                    100, "Invalid appsecret_proof provided in the API argument", type_="GraphMethodException"
                )

    def _dispatch(self, request: Request, params: dict[str, str]) -> Response:
        op, parts = request.operation, self._parts(request)
        if op == "send" and parts[0] in (self.page_id, "me"):
            return self._send(params)
        if op == "conversations" and parts[0] in (self.page_id, "me") and request.method == "GET":
            return self._conversations(params)
        if op == "thread_messages" and parts[0] in self._threads:
            return self._thread_messages(parts[0], params)
        if op == "object" and request.method == "GET" and parts[0] in self._people:
            return self._profile(parts[0], params)
        raise GraphError(
            100,
            f"Unsupported {request.method.lower()} request. Object with ID "
            f"'{parts[0] if parts else ''}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation.",
            subcode=33,
            type_="GraphMethodException",
        )

    # --- edges ------------------------------------------------------------------------------------
    @staticmethod
    def _check_names(params: dict[str, str], allowed: frozenset[str]) -> None:
        for name in params:
            if name not in allowed | GRAPH_COMMON_PARAMS:
                raise GraphError(100, f"(#100) Param {name} is not a valid parameter")

    @staticmethod
    def _check_enum(params: dict[str, str], name: str, values: frozenset[str]) -> None:
        value = params.get(name)
        if value is not None and value.upper() not in values:
            raise GraphError(
                100, f'(#100) Param {name} must be one of {{{", ".join(sorted(values))}}} - got "{value}"'
            )

    def _send(self, params: dict[str, str]) -> Response:
        self._check_names(params, SEND_PARAMS)
        self._check_enum(params, "messaging_type", MESSAGING_TYPES)
        self._check_enum(params, "notification_type", NOTIFICATION_TYPES)
        self._check_enum(params, "tag", TAGS)
        try:
            recipient = json.loads(params["recipient"])
            message = json.loads(params.get("message", "{}"))
        except (KeyError, ValueError):
            raise GraphError(100, "(#100) The parameter recipient is required") from None
        messaging_type = params.get("messaging_type", "").upper()
        if not messaging_type:
            raise GraphError(100, "(#100) Param messaging_type is required")
        tag = params.get("tag", "").upper() or None
        if (messaging_type == "MESSAGE_TAG") != (tag is not None):
            raise GraphError(100, "(#100) Param tag goes with, and only with, messaging_type MESSAGE_TAG")
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str) or not text:
            raise GraphError(100, "(#100) Param message must be a non-empty message object")
        if len(text) > MAX_TEXT:
            raise GraphError(100, f"(#100) Length of param message[text] must be <= {MAX_TEXT}")
        person = self._people.get(str(recipient.get("id", "")) if isinstance(recipient, dict) else "")
        if person is None:
            raise GraphError(100, "(#100) No matching user found", subcode=2018001)
        if person.unavailable:
            raise GraphError(551, "This person isn't available right now.", subcode=1545041)
        now = self.clock()
        window = HUMAN_AGENT_WINDOW if tag == "HUMAN_AGENT" else REPLY_WINDOW
        if person.last_inbound is None or now - person.last_inbound > window:
            raise GraphError(10, "(#10) This message is sent outside of allowed window.", subcode=2018278)
        msg = self._append(person, self.page_id, person.psid, text)
        self._delivered.setdefault(person.psid, []).append(
            {"message_id": msg.id, "text": text, "messaging_type": messaging_type, "tag": tag, "sent_at": now}
        )
        return Response.json({"recipient_id": person.psid, "message_id": msg.id})

    def _profile(self, psid: str, params: dict[str, str]) -> Response:
        person = self._people[psid]
        fields = (params.get("fields") or "first_name,last_name,profile_pic").split(",")
        known = {
            "id": psid,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "name": f"{person.first_name} {person.last_name}",
            "profile_pic": f"https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={psid}&ext=1",
        }
        for name in fields:
            if name not in known:
                raise GraphError(100, f"(#100) Tried accessing nonexisting field ({name}) on node type User")
        return Response.json({**{k: known[k] for k in fields}, "id": psid})

    def _conversations(self, params: dict[str, str]) -> Response:
        self._check_names(params, CONVERSATIONS_PARAMS)
        self._check_enum(params, "platform", PLATFORMS)
        threads = [p for p in self._people.values() if p.messages]
        if params.get("user_id"):
            threads = [p for p in threads if p.psid == params["user_id"]]
        if params.get("platform", "MESSENGER").upper() == "INSTAGRAM":
            threads = []
        threads.sort(key=lambda p: (p.messages[-1].created, p.messages[-1].id), reverse=True)
        fields = (params.get("fields") or "id,updated_time").split(",")
        rows = [self._thread_row(p, fields) for p in threads]
        return self._page(rows, params, default_limit=25)

    def _thread_row(self, person: Person, fields: list[str]) -> dict[str, Any]:
        row: dict[str, Any] = {"id": person.thread_id}
        values: dict[str, Any] = {
            "updated_time": graph_time(person.messages[-1].created),
            "message_count": len(person.messages),
            "snippet": person.messages[-1].text[:100],
            "can_reply": person.last_inbound is not None
            and self.clock() - person.last_inbound <= REPLY_WINDOW,
            "participants": {"data": [self._who(person.psid), self._who(self.page_id)]},
        }
        row.update({f: values[f] for f in fields if f in values})
        return row

    def _who(self, account: str) -> dict[str, str]:
        if account == self.page_id:
            return {"name": self.page_name, "email": f"{account}@facebook.com", "id": account}
        person = self._people[account]
        return {
            "name": f"{person.first_name} {person.last_name}",
            "email": f"{account}@facebook.com",
            "id": account,
        }

    def _thread_messages(self, thread_id: str, params: dict[str, str]) -> Response:
        self._check_names(params, THREAD_MESSAGES_PARAMS)
        self._check_enum(params, "source", SOURCES)
        person = self._people[self._threads[thread_id]]
        fields = (params.get("fields") or "id,created_time").split(",")
        rows = []
        for msg in reversed(person.messages):
            values = {
                "id": msg.id,
                "created_time": graph_time(msg.created),
                "message": msg.text,
                "from": self._who(msg.from_id),
                "to": {"data": [self._who(msg.to_id)]},
            }
            rows.append({f: values[f] for f in fields if f in values} | {"id": msg.id})
        return self._page(rows, params, default_limit=25)

    def _page(self, rows: list[dict[str, Any]], params: dict[str, str], *, default_limit: int) -> Response:
        """Cursor paging as Graph does it: opaque base64 cursors, `next` only when more rows remain."""
        limit = max(1, min(int(params.get("limit") or default_limit), 100))
        start = 0
        if params.get("after"):
            try:
                start = int(base64.urlsafe_b64decode(params["after"].encode()).decode()) + 1
            except ValueError:
                raise GraphError(100, "(#100) Invalid cursor") from None
        chunk = rows[start : start + limit]
        body: dict[str, Any] = {"data": chunk}
        if chunk:

            def enc(i: int) -> str:
                return base64.urlsafe_b64encode(str(i).encode()).decode()

            body["paging"] = {"cursors": {"before": enc(start), "after": enc(start + len(chunk) - 1)}}
            if start + len(chunk) < len(rows):
                body["paging"]["next"] = f"{self.url}/...?after={enc(start + len(chunk) - 1)}"
        return Response.json(body)
