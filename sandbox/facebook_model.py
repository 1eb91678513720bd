"""The Graph API's vocabulary as the Facebook sandbox speaks it: parameter sets, enums, its error envelope,
its clock, and the Page's people and messages."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox._http import Response

API_VERSION = "v21.0"
REPLY_WINDOW = dt.timedelta(hours=24)
HUMAN_AGENT_WINDOW = dt.timedelta(days=7)
MAX_TEXT = 2000
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"

# Parameters every Graph call accepts; not part of an edge's own parameter list.
GRAPH_COMMON_PARAMS = frozenset({"access_token", "appsecret_proof", "fields", "limit", "after", "before"})
# Edge parameters and enums the sandbox understands (a subset of the codegen contract, checked in tests).
SEND_PARAMS = frozenset({"recipient", "message", "messaging_type", "tag", "notification_type"})
CONVERSATIONS_PARAMS = frozenset({"platform", "user_id", "folder"})
THREAD_MESSAGES_PARAMS = frozenset({"source"})
MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"})
NOTIFICATION_TYPES = frozenset({"REGULAR", "SILENT_PUSH", "NO_PUSH"})
PLATFORMS = frozenset({"MESSENGER", "INSTAGRAM"})
SOURCES = frozenset({"ALL", "PARTICIPANTS"})
# Message tags still accepted by the Send API; only HUMAN_AGENT extends the window in this sandbox.
TAGS = frozenset({"HUMAN_AGENT", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"})


class UtcClock:
    """A manual, timezone-aware UTC clock shared by the sandbox and (in tests) the provider."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> dt.datetime:
        with self._lock:
            self._now += dt.timedelta(**delta)
            return self._now


class GraphError(Exception):
    """Raised inside handlers; becomes the Graph error envelope."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        type_: str = "OAuthException",
        status: int = 400,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.subcode, self.type, self.status = code, message, subcode, type_, status

    def response(self) -> Response:
        body: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            body["error_subcode"] = self.subcode
        body["fbtrace_id"] = secrets.token_urlsafe(8)
        headers: dict[str, str] = {}
        if self.code == 190:
            headers["WWW-Authenticate"] = 'OAuth "Facebook Platform" "invalid_token"'
        if self.code in (4, 17, 32, 613):
            # Business-use-case header: the documented hint of how long until access returns (minutes).
            usage = {"0": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 5}]}
            headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
        return Response.json({"error": body}, status=self.status, headers=headers)


@dataclass
class Message:
    id: str
    created: dt.datetime
    from_id: str
    to_id: str
    text: str


@dataclass
class Person:
    psid: str
    first_name: str
    last_name: str
    thread_id: str
    messages: list[Message] = field(default_factory=list)
    last_inbound: dt.datetime | None = None
    unavailable: bool = False


def graph_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(GRAPH_TIME)
