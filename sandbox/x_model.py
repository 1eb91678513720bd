"""The data, shapes and checks behind the X API v2 sandbox (`sandbox/x.py`).

Kept apart from the HTTP routing so each file stays readable: users and DM events as X stores them,
the JSON shapes X answers with, RFC-7807 problem documents, and OAuth 1.0a signature verification.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from oauthlib.oauth1.rfc5849 import signature as oauth_signature  # type: ignore[import-untyped]
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from sandbox._http import Request, Response

PROBLEM_BASE = "https://api.x.com/2/problems/"
PROBLEM_JSON = "application/problem+json"
# Default fields X returns when a request does not ask for more (as the recorded cassettes show).
DEFAULT_USER_FIELDS = ("id", "name", "username")
DEFAULT_EVENT_FIELDS = ("id", "event_type", "text")
DM_EVENT_FIELDS = frozenset(
    {
        "attachments",
        "created_at",
        "dm_conversation_id",
        "entities",
        "event_type",
        "id",
        "text",
        "participant_ids",
        "referenced_tweets",
        "sender_id",
    }
)
MAX_DM_TEXT = 10_000


@dataclass
class XUser:
    id: str
    username: str
    name: str
    description: str | None = None
    location: str | None = None
    url: str | None = None  # the website as the person typed it; X shows it wrapped in t.co
    accepts_dms: bool = True
    protected: bool = False
    suspended: bool = False
    created_at: str = "2012-06-01T10:00:00.000Z"

    def tco_url(self) -> str | None:
        if not self.url:
            return None
        return "https://t.co/" + base64.b32encode(self.id.encode()).decode().rstrip("=").lower()[:10]

    def as_json(self, fields: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "username": self.username}
        optional: dict[str, Any] = {
            "created_at": self.created_at,
            "description": self.description or "",
            "location": self.location,
            "protected": self.protected,
            "receives_your_dm": self.accepts_dms,
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{self.id}/avatar_normal.jpg",
            "url": self.tco_url() or "",
            "verified": False,
        }
        for name, value in optional.items():
            # X omits `location` when the person left it empty, but sends "" for description/url.
            if name in fields and value is not None:
                out[name] = value
        if "entities" in fields and self.url:
            tco = self.tco_url() or ""
            display = self.url.split("://", 1)[-1]
            out["entities"] = {
                "url": {
                    "urls": [
                        {
                            "start": 0,
                            "end": len(tco),
                            "url": tco,
                            "expanded_url": self.url,
                            "display_url": display,
                        },
                    ]
                }
            }
        return out


@dataclass
class DmEvent:
    id: str
    sender_id: str
    conversation_id: str
    participant_ids: list[str]
    text: str
    created_at: dt.datetime
    attachments: list[str] = field(default_factory=list)

    def as_json(self, fields: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {
            "id": self.id,
            "event_type": "MessageCreate",
            "text": self.text,
            "sender_id": self.sender_id,
            "dm_conversation_id": self.conversation_id,
            "created_at": x_time(self.created_at),
        }
        if self.attachments:
            values["attachments"] = {"media_keys": list(self.attachments)}
        wanted = set(DEFAULT_EVENT_FIELDS) | fields
        return {k: v for k, v in values.items() if k in wanted}


def x_time(moment: dt.datetime) -> str:
    """X's timestamp format: ISO 8601 in UTC with milliseconds and a Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def conversation_id(a: str, b: str) -> str:
    """A 1-1 conversation id: both user ids, the smaller first (as in the recorded cassettes)."""
    low, high = sorted((a, b), key=int)
    return f"{low}-{high}"


def page_token(last_id: str) -> str:
    """A base32hex pagination token (the spec wants >= 16 chars) naming where the next page starts."""
    return base64.b32hexencode(f"p:{last_id}".encode()).decode().rstrip("=")


def parse_page_token(token: str) -> str | None:
    try:
        raw = base64.b32hexdecode(token + "=" * (-len(token) % 8)).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return raw[2:] if raw.startswith("p:") and raw[2:].isdigit() else None


# --- problems ------------------------------------------------------------------------------------
def problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response.json(body, status, headers)
    response.headers["Content-Type"] = PROBLEM_JSON
    return response


def generic_problem(status: int, title: str, detail: str | None = None) -> dict[str, Any]:
    """X's bare problem for 401/403/429: `type` is "about:blank" (not listed in the 2.167 spec)."""
    return {"title": title, "detail": detail or title, "type": "about:blank", "status": status}


def not_found_problem(
    value: str, parameter: str, *, title: str = "Not Found Error", detail: str | None = None
) -> dict[str, Any]:
    return {
        "value": value,
        "detail": detail or f"Could not find user with {parameter}: [{value}].",
        "title": title,
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEM_BASE + "resource-not-found",
    }


def invalid_request(detail: str, parameter: str | None = None, value: str | None = None) -> Response:
    body: dict[str, Any] = {
        "title": "Invalid Request",
        "detail": detail,
        "type": PROBLEM_BASE + "invalid-request",
        "status": 400,
    }
    if parameter is not None:
        body["parameter"] = parameter
    if value is not None:
        body["value"] = value
    return problem(400, body)


def dm_forbidden(user: XUser, *, blocked: bool) -> Response:
    """403 for a DM the recipient does not accept. The detail carries v1.1's wording (codes 150/349)."""
    detail = (
        "You cannot send messages to this user."
        if blocked
        else "You cannot send messages to users who are not following you."
    )
    return problem(
        403,
        {
            "title": "Forbidden",
            "detail": detail,
            "type": PROBLEM_BASE + "not-authorized-for-resource",
            "resource_type": "user",
            "resource_id": user.id,
            "section": "data",
            "status": 403,
        },
    )


# --- OAuth 1.0a ------------------------------------------------------------------------------------
@dataclass
class _SignedRequest:
    """The attributes oauthlib's HMAC verifier reads."""

    uri: str
    http_method: str
    params: list[tuple[str, str]]
    signature: str


@dataclass
class OAuthCheck:
    ok: bool
    reason: str = ""
    token: str = ""


def verify_oauth1(
    request: Request, *, consumers: dict[str, str], tokens: dict[str, str], seen_nonces: set[tuple[str, str]]
) -> OAuthCheck:
    """Verify an OAuth 1.0a HMAC-SHA1 header against known consumer and token secrets.

    The signed URI is rebuilt from the Host header, as X does behind its load balancers.
    """
    header = request.headers.get("authorization", "")
    if not header.startswith("OAuth "):
        return OAuthCheck(False, "no OAuth header")
    try:
        oauth = {k: oauth_utils.unescape(v) for k, v in oauth_utils.parse_authorization_header(header)}
    except (ValueError, IndexError):
        return OAuthCheck(False, "malformed OAuth header")
    consumer_key = oauth.get("oauth_consumer_key", "")
    token = oauth.get("oauth_token", "")
    if oauth.get("oauth_signature_method") != "HMAC-SHA1":
        return OAuthCheck(False, "unsupported signature method")
    if consumer_key not in consumers or token not in tokens:
        return OAuthCheck(False, "unknown consumer or token")
    nonce_key = (token, oauth.get("oauth_nonce", ""))
    if not nonce_key[1] or nonce_key in seen_nonces:
        return OAuthCheck(False, "nonce missing or replayed")
    query = request.raw_path.split("?", 1)[1] if "?" in request.raw_path else ""
    body = request.body.decode("utf-8") if request.form else None
    params = oauth_signature.collect_parameters(
        uri_query=query,
        body=body,
        headers={"Authorization": header},
        exclude_oauth_signature=True,
    )
    signed = _SignedRequest(
        uri="http://" + request.headers.get("host", "") + request.path,
        http_method=request.method,
        params=params,
        signature=oauth.get("oauth_signature", ""),
    )
    if not oauth_signature.verify_hmac_sha1(signed, consumers[consumer_key], tokens[token]):
        return OAuthCheck(False, "bad signature")
    seen_nonces.add(nonce_key)
    return OAuthCheck(True, token=token)


WINDOW = 15 * 60.0
HISTORY = dt.timedelta(days=30)  # DM lookup only returns the last 30 days
# Per-user 15-minute limits as X documents them (DM create 200, DM lookup 300, users 900).
DEFAULT_LIMITS = {
    "users_me": 75,
    "users_by": 900,
    "users_by_username": 900,
    "users": 900,
    "dm_events": 300,
    "dm_conversation_events": 300,
    "dm_create": 200,
}
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
USER_ID = re.compile(r"^[0-9]{1,19}$")
USER_FIELDS = frozenset(
    {
        "created_at",
        "description",
        "entities",
        "id",
        "location",
        "name",
        "profile_image_url",
        "protected",
        "public_metrics",
        "receives_your_dm",
        "url",
        "username",
        "verified",
        "withheld",
        "pinned_tweet_id",
    }
)


def user_fields(request: Request) -> set[str] | Response:
    """The `user.fields` a lookup asked for (plus the default ones), or the 400 for an unknown one."""
    raw = request.arg("user.fields")
    fields = set(raw.split(",")) if raw else set()
    unknown = fields - USER_FIELDS
    if unknown:
        bad = sorted(unknown)[0]
        return invalid_request(
            f"The `user.fields` query parameter value [{bad}] is not one of the allowed values",
            "user.fields",
            bad,
        )
    return fields | set(DEFAULT_USER_FIELDS)


def list_param(request: Request, name: str, pattern: re.Pattern[str]) -> list[str] | Response:
    """The comma-separated values of `name` (1 to 100, each matching `pattern`), or the 400."""
    values = [v for v in (request.arg(name) or "").split(",") if v]
    if not 1 <= len(values) <= 100:
        return invalid_request(f"The `{name}` query parameter needs between 1 and 100 values", name)
    bad = next((v for v in values if not pattern.match(v)), None)
    if bad is not None:
        return invalid_request(f"The `{name}` query parameter value [{bad}] is not valid", name, bad)
    return values
