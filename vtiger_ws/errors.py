"""Errors raised by `vtiger_ws`; the client raises these and never returns a failure value.

    VtigerError
    ├── VtigerAuthError              we are not (or no longer) logged in
    │   ├── VtigerSessionExpired     INVALID_SESSIONID, SESSION_EXPIRED, SESSION_LEFT_IDLE,
    │   │                            AUTHENTICATION_REQUIRED: the client logs in again and retries once
    │   └── VtigerCredentialsError   INVALID_AUTH_TOKEN, INVALID_USER_CREDENTIALS, ACCESSKEY_UNDEFINED,
    │                                AUTHENTICATION_FAILURE: logging in again will not help
    ├── VtigerAccessDenied           ACCESS_DENIED (also what vtiger answers for missing/deleted records)
    ├── VtigerInvalidRequest         the request itself is wrong: MANDATORY_FIELDS_MISSING,
    │                                QUERY_SYNTAX_ERROR, INVALID_ID_ATTRIBUTE, REFERENCE_INVALID, ...
    ├── VtigerNotFound               RECORD_NOT_FOUND
    ├── VtigerDuplicate              integer code 0 (duplicate prevention)
    ├── VtigerServerError            INTERNAL_SERVER_ERROR, DATABASE_QUERY_ERROR, FAILED_TO_* ...
    ├── VtigerUnknownError           a code this library does not know; keeps the raw code
    ├── VtigerProtocolError          the answer is not a webservice envelope (HTML, empty, HTTP 5xx)
    └── VtigerConnectionError        transport failure: refused, reset, dropped, timed out

vtiger answers HTTP 200 with `{"success": false, "error": {"code", "message"}}`, so classes are chosen
from `error.code` through `ERROR_CLASSES`, never from the HTTP status (vtiger's WebServiceErrorCode.php).
Messages name the operation and the module or record involved; they never contain the access key or
the session id.
"""

from __future__ import annotations

from typing import Any


class VtigerError(Exception):
    """Base of every error raised by `vtiger_ws`.

    Attributes:
        code: vtiger's `error.code` (a string, or the integer 0 for duplicates); None when vtiger did not
            answer with an error envelope.
        server_message: vtiger's `error.message`, as sent.
        operation: the webservice operation that failed ("query", "create", ...), or "".
        subject: the module or record id the call was about, or "".
        transient: True when retrying the same call later may succeed.
    """

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        server_message: str = "",
        operation: str = "",
        subject: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.server_message = server_message
        self.operation = operation
        self.subject = subject

    def __str__(self) -> str:
        return self.message


class VtigerAuthError(VtigerError):
    """Authentication failed or the session is gone."""


class VtigerSessionExpired(VtigerAuthError):
    """INVALID_SESSIONID, SESSION_EXPIRED, SESSION_LEFT_IDLE, AUTHENTICATION_REQUIRED.

    In practice only INVALID_SESSIONID is observed (PHP garbage-collected the session; SessionManager.php's
    own expiry never trips); the client logs in again and retries the call once before letting this escape.
    """


class VtigerCredentialsError(VtigerAuthError):
    """INVALID_AUTH_TOKEN, INVALID_USER_CREDENTIALS, ACCESSKEY_UNDEFINED, AUTHENTICATION_FAILURE.

    The user name or access key is wrong or the user is inactive. (A challenge token replaced by a
    concurrent login of the same user gives the same codes; the client retries those a few times before
    raising this.)
    """


class VtigerAccessDenied(VtigerError):
    """ACCESS_DENIED: unknown or inaccessible module or field, missing permission.

    vtiger also answers ACCESS_DENIED for a record that does not exist or was deleted (vtiger's Retrieve.php,
    Update.php, Revise.php, Delete.php), so this is what a lookup of a missing id raises.
    """


class VtigerInvalidRequest(VtigerError):
    """The request is malformed: MANDATORY_FIELDS_MISSING, QUERY_SYNTAX_ERROR, INVALID_ID_ATTRIBUTE,
    REFERENCE_INVALID, UNKOWN_ENTITY, OPERATION_NOT_SUPPORTED, UNKNOWN_OPERATION, LEAD_ALREADY_CONVERTED,
    INVALID_POTENTIAL_FOR_CONVERTLEAD, POTENTIAL_ALREADY_CONVERTED, CURRENCY_INACTIVE, INVALID_OLD_PASSWORD,
    NEW_PASSWORD_MISMATCH, PASSWORD_NOT_STRONG."""


class VtigerNotFound(VtigerError):
    """RECORD_NOT_FOUND (rare: inactive Users, unknown attachments; see VtigerAccessDenied)."""


class VtigerDuplicate(VtigerError):
    """Integer code 0: duplicate prevention refused the record ("Duplicate(s) detected!")."""


class VtigerServerError(VtigerError):
    """The server failed while handling a well-formed envelope: INTERNAL_SERVER_ERROR,
    DATABASE_QUERY_ERROR, LEAD_RELATEDLIST_UPDATE_FAILED, FAILED_TO_CREATE_RELATION,
    FAILED_TO_MARK_LEAD_CONVERTED, FAILED_TO_MARK_POTENTIAL_CONVERTED, POTENTIAL_RELATEDLIST_UPDATE_FAILED,
    FAILED_TO_CREATE, FAILED_TO_UPDATE, CHANGE_PASSWORD_FAILURE.

    INTERNAL_SERVER_ERROR is also what a VTQL lexing failure (e.g. an empty literal) and SalesPlatform's
    broken `logout` answer.
    """


class VtigerUnknownError(VtigerError):
    """An error code this library does not know; `code` keeps it as vtiger sent it."""


class VtigerProtocolError(VtigerError):
    """The answer is not a webservice envelope: HTTP status other than 200, an empty or HTML body,
    invalid JSON, or JSON without `success`.

    Attributes:
        status: the HTTP status.
        body_excerpt: the first characters of the body (secrets removed), for diagnosis.
    """

    def __init__(
        self, message: str, *, status: int, body_excerpt: str, operation: str = "", subject: str = ""
    ) -> None:
        super().__init__(message, operation=operation, subject=subject)
        self.status = status
        self.body_excerpt = body_excerpt
        # PHP fatals (500) and proxies (502-504) are worth a later retry; an HTML answer with 200 is a
        # workflow that died after saving, which a blind retry would duplicate.
        self.transient = status >= 500


class VtigerConnectionError(VtigerError):
    """The HTTP exchange itself failed: connection refused or dropped, timeout, TLS error."""

    transient = True


_CODES: dict[type[VtigerError], tuple[str | int, ...]] = {
    VtigerSessionExpired: (
        "INVALID_SESSIONID",
        "SESSION_EXPIRED",
        "SESSION_LEFT_IDLE",
        "AUTHENTICATION_REQUIRED",
    ),
    VtigerCredentialsError: (
        "INVALID_AUTH_TOKEN",
        "INVALID_USER_CREDENTIALS",
        "ACCESSKEY_UNDEFINED",
        "AUTHENTICATION_FAILURE",
    ),
    VtigerAccessDenied: ("ACCESS_DENIED",),
    VtigerInvalidRequest: (
        "MANDATORY_FIELDS_MISSING",
        "QUERY_SYNTAX_ERROR",
        "INVALID_ID_ATTRIBUTE",
        "REFERENCE_INVALID",
        "UNKOWN_ENTITY",
        "OPERATION_NOT_SUPPORTED",
        "UNKNOWN_OPERATION",
        "LEAD_ALREADY_CONVERTED",
        "INVALID_POTENTIAL_FOR_CONVERTLEAD",
        "POTENTIAL_ALREADY_CONVERTED",
        "CURRENCY_INACTIVE",
        "INVALID_OLD_PASSWORD",
        "NEW_PASSWORD_MISMATCH",
        "PASSWORD_NOT_STRONG",
    ),
    VtigerNotFound: ("RECORD_NOT_FOUND",),
    VtigerDuplicate: (0,),
    VtigerServerError: (
        "INTERNAL_SERVER_ERROR",
        "DATABASE_QUERY_ERROR",
        "LEAD_RELATEDLIST_UPDATE_FAILED",
        "FAILED_TO_CREATE_RELATION",
        "FAILED_TO_MARK_LEAD_CONVERTED",
        "FAILED_TO_MARK_POTENTIAL_CONVERTED",
        "POTENTIAL_RELATEDLIST_UPDATE_FAILED",
        "FAILED_TO_CREATE",
        "FAILED_TO_UPDATE",
        "CHANGE_PASSWORD_FAILURE",
    ),
}

#: vtiger error code -> exception class (the registry; anything else is VtigerUnknownError).
ERROR_CLASSES: dict[str | int, type[VtigerError]] = {
    code: cls for cls, codes in _CODES.items() for code in codes
}


def _normalize_code(code: Any) -> str | int | None:
    # The duplicate handler sends the integer 0; tolerate "0" too, since a proxy or a PHP version may
    # stringify it, and never let a bool pass as an int.
    if isinstance(code, bool) or code is None:
        return None
    if isinstance(code, int):
        return code
    text = str(code)
    return 0 if text == "0" else text


def error_from_envelope(error: Any, *, operation: str, subject: str = "") -> VtigerError:
    """The exception for the `error` member of a `success: false` envelope.

    Args:
        error: the decoded `error` object (`{"code": ..., "message": ...}`); tolerated if malformed.
        operation: the webservice operation that was called.
        subject: the module or record id the call was about, for the message.

    Returns:
        An instance of the class registered for the code, or VtigerUnknownError.
    """
    raw_code = error.get("code") if isinstance(error, dict) else None
    server_message = str(error.get("message", "")) if isinstance(error, dict) else ""
    code = _normalize_code(raw_code)
    cls = ERROR_CLASSES.get(code, VtigerUnknownError) if code is not None else VtigerUnknownError
    about = f" {subject}" if subject else ""
    shown_code = "duplicate (code 0)" if code == 0 else str(code if code is not None else raw_code)
    message = f"vtiger {operation}{about} failed: {shown_code}: {server_message}".rstrip(": ")
    return cls(
        message,
        code=code if code is not None else raw_code,
        server_message=server_message,
        operation=operation,
        subject=subject,
    )
