"""Error mapping: every known vtiger code has a class, messages carry context and no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import vtiger_ws
from vtiger_ws import errors
from vtiger_ws.errors import ERROR_CLASSES, error_from_envelope

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "vtiger"

# Codes vtiger's WebServiceErrorCode.php and a real SalesPlatform 7.2 use besides the 8.2.0 registry.
REFERENCE_CODES = [
    "AUTHENTICATION_REQUIRED",
    "AUTHENTICATION_FAILURE",
    "INVALID_SESSIONID",
    "SESSION_EXPIRED",
    "SESSION_LEFT_IDLE",
    "INVALID_AUTH_TOKEN",
    "ACCESSKEY_UNDEFINED",
    "INVALID_USER_CREDENTIALS",
    "ACCESS_DENIED",
    "INVALID_ID_ATTRIBUTE",
    "REFERENCE_INVALID",
    "MANDATORY_FIELDS_MISSING",
    "RECORD_NOT_FOUND",
    "DATABASE_QUERY_ERROR",
    "QUERY_SYNTAX_ERROR",
    "UNKNOWN_OPERATION",
    "INTERNAL_SERVER_ERROR",
    "OPERATION_NOT_SUPPORTED",
    "UNKOWN_ENTITY",
    "CURRENCY_INACTIVE",
    "FAILED_TO_UPDATE",
    0,
]


def _contract_codes() -> list[str]:
    data = json.loads((CONTRACTS / "webservice_error_codes.vtiger-8.2.0.json").read_text(encoding="utf-8"))
    return [entry["code"] for entry in data["codes"]]


@pytest.mark.parametrize("code", [*_contract_codes(), *REFERENCE_CODES])
def test_every_known_code_maps_to_a_specific_class(code: str | int) -> None:
    assert code in ERROR_CLASSES
    exc = error_from_envelope({"code": code, "message": "m"}, operation="query")
    assert type(exc) is ERROR_CLASSES[code]
    assert not isinstance(exc, vtiger_ws.VtigerUnknownError)
    assert isinstance(exc, vtiger_ws.VtigerError)
    assert exc.code == code


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("INVALID_SESSIONID", vtiger_ws.VtigerSessionExpired),
        ("SESSION_EXPIRED", vtiger_ws.VtigerSessionExpired),
        ("SESSION_LEFT_IDLE", vtiger_ws.VtigerSessionExpired),
        ("AUTHENTICATION_REQUIRED", vtiger_ws.VtigerSessionExpired),
        ("INVALID_AUTH_TOKEN", vtiger_ws.VtigerCredentialsError),
        ("INVALID_USER_CREDENTIALS", vtiger_ws.VtigerCredentialsError),
        ("ACCESS_DENIED", vtiger_ws.VtigerAccessDenied),
        ("MANDATORY_FIELDS_MISSING", vtiger_ws.VtigerInvalidRequest),
        ("QUERY_SYNTAX_ERROR", vtiger_ws.VtigerInvalidRequest),
        ("INVALID_ID_ATTRIBUTE", vtiger_ws.VtigerInvalidRequest),
        ("RECORD_NOT_FOUND", vtiger_ws.VtigerNotFound),
        (0, vtiger_ws.VtigerDuplicate),
        ("0", vtiger_ws.VtigerDuplicate),
        ("INTERNAL_SERVER_ERROR", vtiger_ws.VtigerServerError),
        ("DATABASE_QUERY_ERROR", vtiger_ws.VtigerServerError),
    ],
)
def test_grouping(code: str | int, cls: type[vtiger_ws.VtigerError]) -> None:
    exc = error_from_envelope({"code": code, "message": "m"}, operation="create", subject="Contacts")
    assert isinstance(exc, cls)
    session_codes = {
        "INVALID_SESSIONID",
        "SESSION_EXPIRED",
        "SESSION_LEFT_IDLE",
        "AUTHENTICATION_REQUIRED",
        "INVALID_AUTH_TOKEN",
        "INVALID_USER_CREDENTIALS",
    }
    assert isinstance(exc, vtiger_ws.VtigerAuthError) == (code in session_codes)


def test_unknown_code_keeps_the_raw_code() -> None:
    exc = error_from_envelope({"code": "SOMETHING_NEW", "message": "new"}, operation="revise", subject="12x5")
    assert type(exc) is vtiger_ws.VtigerUnknownError
    assert exc.code == "SOMETHING_NEW"
    assert exc.server_message == "new"


@pytest.mark.parametrize("error", [None, "text", {"message": "no code"}, {"code": True, "message": "bool"}])
def test_malformed_error_objects_still_raise_a_vtiger_error(error: object) -> None:
    exc = error_from_envelope(error, operation="query")
    assert type(exc) is vtiger_ws.VtigerUnknownError


def test_message_names_operation_subject_code_and_server_text() -> None:
    text = "lastname does not have a value"
    exc = error_from_envelope(
        {"code": "MANDATORY_FIELDS_MISSING", "message": text}, operation="create", subject="Contacts"
    )
    assert str(exc) == f"vtiger create Contacts failed: MANDATORY_FIELDS_MISSING: {text}"
    assert (exc.operation, exc.subject) == ("create", "Contacts")
    dup = error_from_envelope(
        {"code": 0, "message": "Обнаружено дублирование!"}, operation="create", subject="Accounts"
    )
    assert "duplicate" in str(dup) and "Обнаружено дублирование!" in str(dup)


def test_transient_flags() -> None:
    assert vtiger_ws.VtigerConnectionError("x").transient
    assert vtiger_ws.VtigerProtocolError("x", status=500, body_excerpt="").transient
    # 200 + HTML is a workflow that died after the save: retrying would duplicate the record
    assert not vtiger_ws.VtigerProtocolError("x", status=200, body_excerpt="").transient
    assert not vtiger_ws.VtigerAccessDenied("x").transient


def test_the_tree_in_the_docstring_matches_the_classes() -> None:
    doc = errors.__doc__ or ""
    for name in dir(errors):
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.VtigerError):
            assert name in doc, name
            assert obj.__doc__, name
