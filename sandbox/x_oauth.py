"""The OAuth 1.0a PIN flow ("3-legged, out of band") of the X sandbox: how an app gets a user token.

As X runs it (`api.x.com/oauth/...`, formerly api.twitter.com):
1. `POST /oauth/request_token` signed with the consumer secret alone, `oauth_callback=oob`
   -> `oauth_token=...&oauth_token_secret=...&oauth_callback_confirmed=true` (form-encoded);
2. the user opens `GET /oauth/authorize?oauth_token=...`, clicks "Authorize app" and is shown a PIN
   (`XSandbox.authorize(request_token)` stands for that click and returns the PIN);
3. `POST /oauth/access_token` with `oauth_verifier=PIN`, signed with the consumer secret and the request
   token's secret -> `oauth_token=...&oauth_token_secret=...&user_id=...&screen_name=...`.

Signatures are HMAC-SHA1, verified for real by `verify_oauth1`. A bad signature or unknown consumer is
401 with X's v1.1 error document; a wrong verifier is 401 "Invalid oauth_verifier parameter"; a request
token is good for one access token only. Issued access tokens go into the `access_tokens` mapping the
sandbox checks API calls against, so they work at once.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from oauthlib.oauth1.rfc5849 import utils as oauth_utils  # type: ignore[import-untyped]

from sandbox._http import Request, Response
from sandbox.x_model import verify_oauth1

FORM_TYPE = "text/html; charset=utf-8"  # X labels these form-encoded answers text/html
APP_NAME = "vtiger social bridge"


@dataclass
class _RequestToken:
    secret: str
    callback: str
    verifier: str | None = None  # set once the user authorised the app


def _form(payload: dict[str, str], status: int = 200) -> Response:
    return Response(status, urlencode(payload).encode("ascii"), {"Content-Type": FORM_TYPE})


def _could_not_authenticate() -> Response:
    return Response.json({"errors": [{"code": 32, "message": "Could not authenticate you."}]}, 401)


def _oauth_param(request: Request, name: str) -> str | None:
    """An oauth_* parameter from the Authorization header, else the form body, else the query."""
    header = request.headers.get("authorization", "")
    if header.startswith("OAuth "):
        try:
            for key, value in oauth_utils.parse_authorization_header(header):
                if key == name:
                    return str(oauth_utils.unescape(value))
        except (ValueError, IndexError):
            return None
    return request.arg(name, source="form") or request.arg(name)


class PinFlow:
    """State and handlers of the three `/oauth/...` endpoints; thread-safe under the sandbox's lock."""

    def __init__(
        self,
        *,
        consumers: Callable[[], dict[str, str]],
        access_tokens: MutableMapping[str, str],
        nonces: set[tuple[str, str]],
        lock: threading.RLock,
        account: Callable[[], tuple[str, str]],
    ) -> None:
        self._consumers = consumers
        self._access_tokens = access_tokens
        self._nonces = nonces
        self._lock = lock
        self._account = account  # -> (user id, screen name) of the user who authorises
        self._pending: dict[str, _RequestToken] = {}

    def handle(self, request: Request, operation: str) -> Response:
        if operation == "oauth_request_token":
            return self._request_token(request)
        if operation == "oauth_authorize":
            return self._authorize_page(request)
        return self._access_token(request)

    def authorize(self, request_token: str) -> str:
        """The user clicks "Authorize app" for `request_token`: returns the PIN X shows them."""
        with self._lock:
            pending = self._pending.get(request_token)
            if pending is None:
                raise KeyError(f"unknown or already used request token {request_token!r}")
            pending.verifier = f"{secrets.randbelow(10_000_000):07d}"
            return pending.verifier

    def _request_token(self, request: Request) -> Response:
        callback = _oauth_param(request, "oauth_callback")
        with self._lock:
            check = verify_oauth1(
                request, consumers=self._consumers(), tokens={"": ""}, seen_nonces=self._nonces
            )
            if not check.ok or not callback or not (callback == "oob" or callback.startswith("http")):
                return _could_not_authenticate()
            token = secrets.token_urlsafe(20)
            secret = secrets.token_urlsafe(24)
            self._pending[token] = _RequestToken(secret, callback)
        return _form({"oauth_token": token, "oauth_token_secret": secret, "oauth_callback_confirmed": "true"})

    def _authorize_page(self, request: Request) -> Response:
        token = request.arg("oauth_token") or ""
        with self._lock:
            known = token in self._pending
        if not known:
            return Response.text(
                "<html><body><h1>This page is no longer valid.</h1><p>It looks like someone "
                "already used the token information you provided.</p></body></html>",
                200,
            )
        _, screen_name = self._account()
        return Response.text(
            f"<html><body><h1>Authorize {escape(APP_NAME)} to access your account?</h1>"
            f"<p>Signed in as @{escape(screen_name)}</p>"
            f'<form method="post"><input type="hidden" name="oauth_token" '
            f'value="{escape(token)}"><input type="submit" value="Authorize app">'
            "</form></body></html>"
        )

    def _access_token(self, request: Request) -> Response:
        token = _oauth_param(request, "oauth_token") or ""
        verifier = _oauth_param(request, "oauth_verifier") or ""
        with self._lock:
            pending = self._pending.get(token)
            if pending is None:
                return Response.text("Invalid request token.", 401, FORM_TYPE)
            check = verify_oauth1(
                request, consumers=self._consumers(), tokens={token: pending.secret}, seen_nonces=self._nonces
            )
            if not check.ok:
                return _could_not_authenticate()
            if pending.verifier is None or not secrets.compare_digest(verifier, pending.verifier):
                return Response.text(
                    "Error processing your OAuth request: Invalid oauth_verifier parameter", 401, FORM_TYPE
                )
            del self._pending[token]  # one access token per request token
            user_id, screen_name = self._account()
            access_token = f"{user_id}-{secrets.token_urlsafe(20)}"
            access_secret = secrets.token_urlsafe(32)
            self._access_tokens[access_token] = access_secret
        return _form(
            {
                "oauth_token": access_token,
                "oauth_token_secret": access_secret,
                "user_id": user_id,
                "screen_name": screen_name,
            }
        )
