"""The signed webhook endpoint that vtiger workflows post to, plus `/healthz` and `/metrics`.

    POST /v1/vtiger/events   signed event (see bridge.webhook.signing, bridge.webhook.events)
    GET  /v1/vtiger/status   signed like the events (empty body): status() for the CRM's settings page
                             (bridge.webhook.status); only when `status` is given
    GET  /healthz            health() pass-through, unauthenticated
    GET  /metrics            metrics() pass-through, unauthenticated

The endpoint only authenticates, validates and hands the event to `accept`, which stores it durably
(`WebhookEvents.remember`); processing happens later in a worker. The answer is sent only after `accept`
returned, so a 202 always means "stored". Every error is `{"error": {"code", "message"}}`; bad input is
always a 4xx.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bridge.crm.schema import DEFAULT_ID_PREFIXES
from bridge.store import WebhookEvents
from bridge.webhook.events import (
    Event,
    EventError,
    decode_form,
    decode_json,
    parse_event,
)
from bridge.webhook.server import WebhookServer as WebhookServer  # re-exported: the server of `make_app`
from bridge.webhook.signing import MAX_SKEW, verify
from bridge.webhook.status import STATUS_PATH

log = logging.getLogger(__name__)

EVENTS_PATH = "/v1/vtiger/events"
MAX_BODY = 64 * 1024

Accept = Callable[[Event], bool]
Health = Callable[[], tuple[int, dict[str, Any]]]
Metrics = Callable[[], tuple[bytes, str]]
Status = Callable[[], dict[str, Any]]
Observe = Callable[[str], None]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REASONS = {
    200: "OK",
    202: "Accepted",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_JSON = "application/json; charset=utf-8"
_TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class HttpError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def _respond(
    start_response: StartResponse,
    status: int,
    body: bytes,
    content_type: str,
    extra: Mapping[str, str] | None = None,
) -> list[bytes]:
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
    headers.extend((extra or {}).items())
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


def _json(
    start_response: StartResponse, status: int, payload: Any, extra: Mapping[str, str] | None = None
) -> list[bytes]:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _respond(start_response, status, body, _JSON, extra)


def _error(start_response: StartResponse, err: HttpError) -> list[bytes]:
    payload = {"error": {"code": err.code, "message": err.message}}
    return _json(start_response, err.status, payload, err.headers)


def _media_type(environ: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    raw = str(environ.get("CONTENT_TYPE") or "")
    main, *params = raw.split(";")
    options = {}
    for param in params:
        name, _, value = param.partition("=")
        options[name.strip().lower()] = value.strip().strip('"').lower()
    return main.strip().lower(), options


def _read_body(environ: Mapping[str, Any], max_body: int) -> bytes:
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length_text:
        if not length_text.isdigit():
            raise HttpError(422, "bad_content_length", "header Content-Length must be a number")
        if int(length_text) > max_body:
            raise HttpError(413, "body_too_large", f"body is larger than {max_body} bytes")
    stream = environ["wsgi.input"]
    # Read one byte past the limit whatever Content-Length said: a lying or absent header (chunked
    # upload) must not let a larger body through.
    body = bytes(stream.read(max_body + 1))
    if len(body) > max_body:
        raise HttpError(413, "body_too_large", f"body is larger than {max_body} bytes")
    return body


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def make_app(
    *,
    secret: str | bytes,
    accept: Accept,
    health: Health,
    metrics: Metrics,
    max_body: int = MAX_BODY,
    clock: Callable[[], float] = time.time,
    max_skew: int = MAX_SKEW,
    id_prefixes: Mapping[str, int] = DEFAULT_ID_PREFIXES,
    max_event_age: float | None = None,
    observe: Observe | None = None,
    status: Status | None = None,
) -> WSGIApp:
    """The WSGI callable of the webhook; collaborators are injected so tests and the daemon share it.

    `max_event_age` (seconds): an event whose own `ts` is older is refused (422 `event_too_old`), because
    the store forgets event ids after a while (`bridge/store/retention.py`) and a re-sent old event must
    not become a second one.

    `observe(outcome)` is told how each call to the events endpoint (and each refused call elsewhere)
    ended: "accepted", "duplicate", or the error code of the refusal ("bad_signature", ...).
    """
    if not secret:
        raise ValueError("the webhook secret must not be empty")
    seen = observe or (lambda outcome: None)

    def decode(environ: Mapping[str, Any], body: bytes) -> Any:
        media, options = _media_type(environ)
        charset = options.get("charset")
        if media not in ("application/json", "application/x-www-form-urlencoded") or (
            charset is not None and charset not in _TEXT_CHARSETS
        ):
            raise HttpError(
                415,
                "unsupported_media_type",
                "Content-Type must be application/json or application/x-www-form-urlencoded (UTF-8)",
            )
        return decode_json(body) if media == "application/json" else decode_form(body)

    def signed_body(environ: dict[str, Any]) -> bytes:
        """The request's body, once its signature is verified (401 otherwise)."""
        body = _read_body(environ, max_body)
        failure = verify(
            secret,
            body,
            environ.get("HTTP_X_BRIDGE_TIMESTAMP"),
            environ.get("HTTP_X_BRIDGE_SIGNATURE"),
            clock(),
            max_skew,
        )
        if failure is not None:
            raise HttpError(401, failure.code, failure.message)
        return body

    def events(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        body = signed_body(environ)
        try:
            signed_ts = float(str(environ["HTTP_X_BRIDGE_TIMESTAMP"]).strip())
            obj = decode(environ, body)
            event = parse_event(obj, body=body, default_ts=signed_ts, id_prefixes=id_prefixes)
        except EventError as exc:
            raise HttpError(422, exc.code, exc.message) from exc
        if max_event_age is not None and clock() - event.ts > max_event_age:
            log.warning(
                "webhook: refused %s %s %s from %s: older than the %d days event ids are kept",
                event.event,
                event.module,
                event.record_id,
                _day(event.ts),
                max_event_age // 86400,
            )
            raise HttpError(
                422,
                "event_too_old",
                f"the event was created {_day(event.ts)}, longer ago than the bridge keeps event"
                " ids (state.forget_after_days); it was not processed",
            )
        try:
            fresh = accept(event)
        except Exception as exc:
            # Never claim acceptance of what was not stored: the sender logs the 503 and vtiger keeps
            # the record; the event can be re-triggered. Log the type only, the message may hold data.
            log.error("webhook: storing event %s failed (%s)", event.event_id, type(exc).__name__)
            raise HttpError(
                503, "store_unavailable", "the event could not be stored; try again later"
            ) from exc
        if fresh:
            log.info(
                "webhook: accepted %s %s %s as %s", event.event, event.module, event.record_id, event.event_id
            )
            seen("accepted")
            return _json(start_response, 202, {"accepted": True, "event_id": event.event_id})
        seen("duplicate")
        return _json(start_response, 200, {"duplicate": True, "event_id": event.event_id})

    def healthz(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            status, payload = health()
            return _json(start_response, int(status), payload)
        except Exception as exc:
            log.error("webhook: health() failed (%s)", type(exc).__name__)
            raise HttpError(503, "health_unavailable", "health could not be determined") from exc

    def metrics_view(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        try:
            body, content_type = metrics()
        except Exception as exc:
            log.error("webhook: metrics() failed (%s)", type(exc).__name__)
            raise HttpError(503, "metrics_unavailable", "metrics could not be collected") from exc
        return _respond(start_response, 200, body, content_type)

    def status_view(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        signed_body(environ)
        assert status is not None
        try:
            payload = status()
        except Exception as exc:
            log.error("webhook: status() failed (%s)", type(exc).__name__)
            raise HttpError(503, "status_unavailable", "the status could not be read") from exc
        return _json(start_response, 200, payload)

    routes: dict[str, tuple[str, Callable[[dict[str, Any], StartResponse], list[bytes]]]] = {
        EVENTS_PATH: ("POST", events),
        "/healthz": ("GET", healthz),
        "/metrics": ("GET", metrics_view),
    }
    if status is not None:
        routes[STATUS_PATH] = ("GET", status_view)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            path = str(environ.get("PATH_INFO") or "")
            # The request target as sent, when the server tells it: "//v1/...", "/v1/%65vents" or an
            # absolute URL are decoded or collapsed into PATH_INFO, but are not this endpoint's address.
            raw = environ.get("REQUEST_URI")
            route = routes.get(path)
            if route is None or (raw is not None and str(raw).split("?", 1)[0] != path):
                raise HttpError(404, "not_found", "no such endpoint")
            method, view = route
            if str(environ.get("REQUEST_METHOD", "")).upper() != method:
                raise HttpError(405, "method_not_allowed", f"use {method}", {"Allow": method})
            return view(environ, start_response)
        except HttpError as err:
            _refused(environ, err)
            seen(err.code)
            return _error(start_response, err)
        except Exception:
            # A bug, not bad input: keep the JSON shape, log the traceback (it holds no secret).
            log.exception("webhook: unexpected error")
            seen("internal_error")
            return _error(start_response, HttpError(500, "internal_error", "unexpected server error"))

    return app


def _refused(environ: Mapping[str, Any], err: HttpError) -> None:
    """One line per refused call: why, and who called (the socket peer; no proxy header is trusted).

    The reason is the refusal's own message, which never echoes a header or the secret
    (`bridge.webhook.signing.verify`); 503s are logged where they happen, with their cause.
    """
    if err.status >= 500:
        return
    caller = str(environ.get("REMOTE_ADDR") or "unknown address")
    path = str(environ.get("PATH_INFO") or "")[:100]
    level = logging.WARNING if path in (EVENTS_PATH, STATUS_PATH) else logging.INFO
    log.log(
        level,
        "webhook: refused %s %r from %s: %s (%s)",
        environ.get("REQUEST_METHOD", "?"),
        path,
        caller,
        err.code,
        err.message,
    )


def store_acceptor(events: WebhookEvents) -> Accept:
    """`accept` backed by the state store: `WebhookEvents.remember` commits before the 2xx is sent."""

    def accept(event: Event) -> bool:
        return events.remember(event.event_id, event.event, event.to_payload())

    return accept
