"""vtiger's answer shapes: the JSON envelope in PHP 7's `json_encode` dialect, errors, and PHP fatals."""

from __future__ import annotations

import json
from typing import Any

from .._http import Response

# Exact source texts (typos included: clients match on them).
PERMISSION_DENIED = "Permission to perform the operation is denied"
UNKNOWN_ERROR = "Unknown Error while processing request"
AUTH_REQUIRED = "Authencation required"
INVALID_SESSION = "Session Identifier provided is Invalid"
INVALID_TOKEN = "Specified token is invalid or expired"
INVALID_CREDENTIALS = "Invalid username or password"
INVALID_ID = "Id specified is incorrect"


class WsError(Exception):
    """A handled webservice error: HTTP 200 with `{"success":false,"error":{...}}`."""

    def __init__(self, code: str | int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PhpDie(WsError):
    """vtiger printed a page and called `die()`: HTTP 200 with that text, not an envelope."""

    def __init__(self, page: str) -> None:
        super().__init__("", page)
        self.page = page


class PhpFatal(Exception):
    """An uncaught PHP Error/exception: HTTP 500 with an empty body (display_errors is off)."""


def access_denied(message: str = PERMISSION_DENIED) -> WsError:
    return WsError("ACCESS_DENIED", message)


def _php_arrays(value: Any) -> Any:
    # A PHP array is a list or a map; an empty one is always encoded as [].
    if isinstance(value, dict):
        return {k: _php_arrays(v) for k, v in value.items()} if value else []
    if isinstance(value, list):
        return [_php_arrays(v) for v in value]
    return value


def _php_json(payload: Any) -> bytes:
    # PHP 7's json_encode: non-ASCII as \uXXXX and "/" escaped as "\/" (vtiger 6.x/7.x never switch on
    # their own encoder: OperationManager::setBuiltIn sets an instance flag, not the static one).
    text = json.dumps(_php_arrays(payload), ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def ok(result: Any) -> Response:
    return Response(200, _php_json({"success": True, "result": result}), {"Content-Type": "application/json"})


def error(err: WsError) -> Response:
    if isinstance(err, PhpDie):
        return Response.text(err.page, content_type="text/html; charset=UTF-8")
    body = {"success": False, "error": {"code": err.code, "message": err.message}}
    return Response(200, _php_json(body), {"Content-Type": "application/json"})


def fatal() -> Response:
    return Response(500, b"", {"Content-Type": "text/html; charset=UTF-8"})
