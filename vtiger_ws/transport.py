"""HTTP exchange with `webservice.php` and parsing of its answers.

Each operation is registered as GET or POST and the server reads its parameters from exactly one place:
the query string for GET operations, the form body for POST operations (vtiger's
OperationManager::getOperationInput). Parameters in the wrong place are silently ignored, so the method table
here is the single source of truth.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from .errors import VtigerConnectionError, VtigerError, VtigerProtocolError, error_from_envelope

log = logging.getLogger(__name__)

#: operation -> HTTP method, as registered in `vtiger_ws_operation` (vtiger's DefaultDataPopulator.php and
#: the migrations).
OPERATION_METHODS: Mapping[str, str] = {
    "getchallenge": "GET",
    "login": "POST",
    "logout": "POST",
    "extendsession": "POST",
    "listtypes": "GET",
    "describe": "GET",
    "create": "POST",
    "retrieve": "GET",
    "update": "POST",
    "revise": "POST",
    "delete": "POST",
    "query": "GET",
    "sync": "GET",
    "convertlead": "POST",
    "retrieve_inventory": "GET",
    "relatedtypes": "GET",
    "retrieve_related": "GET",
    "query_related": "GET",
    "add_related": "POST",
    "files_retrieve": "GET",
}

#: Operations that run without a session; sending a stale `sessionName` with them would make the server
#: answer INVALID_SESSIONID and lock the client out (webservice.php resumes it before its prelogin check).
PRELOGIN_OPERATIONS = frozenset({"getchallenge", "login", "extendsession"})

_EXCERPT_CHARS = 200

Timeout = float | tuple[float, float]


def endpoint_url(url: str) -> str:
    """The `webservice.php` URL for a CRM base URL or for the full endpoint URL."""
    base = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if base.lower().endswith("/webservice.php"):
        return base
    return f"{base}/webservice.php"


def encode_element(element: Mapping[str, Any]) -> str:
    """`element` as vtiger wants it: compact JSON with raw UTF-8.

    8.x's decoder corrupts `\\uXXXX` surrogate pairs and chokes on escaped quotes written as `\\u0022`,
    so non-ASCII is sent raw (8.x's Zend_Json_Decoder).
    """
    return json.dumps(dict(element), ensure_ascii=False, separators=(",", ":"))


def _excerpt(text: str, secrets: Iterable[str]) -> str:
    short = text[:_EXCERPT_CHARS]
    for secret in secrets:
        if secret:
            short = short.replace(secret, "***")
    return short


def parse_response(
    operation: str, status: int, body: bytes, *, subject: str = "", secrets: Iterable[str] = ()
) -> Any:
    """The `result` of a webservice answer, or the matching VtigerError.

    Args:
        operation: the operation that was called (for messages).
        status: HTTP status of the answer.
        body: raw body bytes.
        subject: module or record id the call was about (for messages).
        secrets: strings (session id, access key) to blank out of body excerpts.

    Returns:
        The decoded `result` member of a `success: true` envelope.

    Raises:
        VtigerProtocolError: not HTTP 200 or not a JSON envelope (empty, HTML, truncated).
        VtigerError: the subclass registered for `error.code` of a `success: false` envelope.
    """
    # Lenient on purpose: 8.x emits raw control characters inside strings (strict=False) and a broken
    # byte must not hide an otherwise readable envelope.
    text = body.decode("utf-8", errors="replace")
    about = f" {subject}" if subject else ""

    def protocol_error(what: str) -> VtigerProtocolError:
        excerpt = _excerpt(text, secrets)
        return VtigerProtocolError(
            f"vtiger {operation}{about}: {what} (HTTP {status}, body {excerpt!r})",
            status=status,
            body_excerpt=excerpt,
            operation=operation,
            subject=subject,
        )

    if status != 200:
        # vtiger answers handled errors with 200; anything else is a PHP fatal or a proxy (webservice.php)
        raise protocol_error("HTTP error instead of a webservice answer")
    if not text.strip():
        raise protocol_error("empty answer")
    try:
        payload = json.loads(text, strict=False)
    except ValueError:
        raise protocol_error("answer is not JSON") from None
    if not isinstance(payload, dict) or "success" not in payload:
        raise protocol_error("JSON answer is not a webservice envelope")
    if payload["success"] is True:
        return payload.get("result")
    if payload["success"] is False:
        raise error_from_envelope(payload.get("error"), operation=operation, subject=subject)
    raise protocol_error("envelope has a non-boolean 'success'")


def _redirect_error(
    operation: str, response: requests.Response, *, subject: str, secrets: Iterable[str]
) -> VtigerProtocolError:
    """The error for a 3xx answer, naming only the scheme and host it pointed to.

    The rest of the Location is left out: a redirected GET usually echoes its query string, which holds
    the session id. The usual cause is a CRM URL configured with http:// while the server wants https://.
    """
    about = f" {subject}" if subject else ""
    where = ""
    try:
        target = urlsplit(response.headers.get("Location", ""))
        if target.scheme in ("http", "https") and target.hostname:
            where = f" to {target.scheme}://{target.hostname}"
            if target.port is not None:
                where += f":{target.port}"
    except ValueError:  # a malformed Location (bad port, bad IPv6): the status alone is reported
        where = ""
    excerpt = _excerpt(response.content.decode("utf-8", errors="replace"), secrets)
    return VtigerProtocolError(
        f"vtiger {operation}{about}: the server answered with a redirect (HTTP {response.status_code})"
        f"{where} instead of a webservice answer; it was not followed. Check that the configured CRM URL "
        "is the one the server actually serves (e.g. https:// instead of http://)",
        status=response.status_code,
        body_excerpt=excerpt,
        operation=operation,
        subject=subject,
    )


class Transport:
    """One `requests.Session` (connection pooling) talking to one endpoint, counting requests.

    Thread-safe as far as `requests` is: one session may be shared by threads for plain calls.
    """

    def __init__(self, url: str, *, timeout: Timeout, session: requests.Session | None = None) -> None:
        self.url = endpoint_url(url)
        self.timeout = timeout
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            # Room for several threads sharing one client without discarding pooled connections.
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self.session = session
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def call(
        self, operation: str, params: Mapping[str, str], *, subject: str = "", secrets: Iterable[str] = ()
    ) -> Any:
        """Send `operation` with `params` (placed per OPERATION_METHODS) and return its `result`.

        Raises:
            VtigerConnectionError: the HTTP exchange failed.
            VtigerProtocolError, VtigerError: see `parse_response`.
        """
        method = OPERATION_METHODS.get(operation)
        if method is None:
            # An unknown operation is an HTTP 500 on the server (webservice.php: outside its try); fail early
            # instead.
            raise ValueError(f"unknown vtiger operation {operation!r}")
        fields = {"operation": operation, **params}
        with self._stats_lock:
            self.stats[operation] += 1
        try:
            # Redirects are not followed: the Location comes from the network and may name any host, and
            # following it would send the session id (in a GET's query) there; requests would also turn a
            # POST into a GET on 302. A 3xx is reported as a protocol error below.
            if method == "GET":
                response = self.session.get(
                    self.url, params=fields, timeout=self.timeout, allow_redirects=False
                )
            else:
                response = self.session.post(
                    self.url, data=fields, timeout=self.timeout, allow_redirects=False
                )
        except requests.RequestException as exc:
            about = f" {subject}" if subject else ""
            # The exception text of requests can contain the URL with the query string (and thus the
            # session id of a GET); only its class name is kept.
            raise VtigerConnectionError(
                f"vtiger {operation}{about}: connection failed ({type(exc).__name__})",
                operation=operation,
                subject=subject,
            ) from None
        try:
            if 300 <= response.status_code < 400:
                raise _redirect_error(operation, response, subject=subject, secrets=secrets)
            return parse_response(
                operation, response.status_code, response.content, subject=subject, secrets=secrets
            )
        except VtigerError:
            log.debug("vtiger %s failed with HTTP %s", operation, response.status_code)
            raise
        finally:
            response.close()
