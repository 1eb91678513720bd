"""Every error class over real HTTP; HTML, empty, 500 and dropped answers; no secret in any message."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

import vtiger_ws
from sandbox._http import Response
from vtiger_ws import VtigerClient

from .conftest import make_client


def _envelope(code: Any) -> Any:
    return lambda request: Response.json({"success": False, "error": {"code": code, "message": "m"}})


def test_access_denied_for_unknown_module_and_missing_record(client: VtigerClient) -> None:
    with pytest.raises(vtiger_ws.VtigerAccessDenied, match="describe contacts"):
        client.describe("contacts")  # module names are case-sensitive
    with pytest.raises(vtiger_ws.VtigerAccessDenied, match="retrieve 12x999999"):
        client.retrieve("12x999999")
    with pytest.raises(vtiger_ws.VtigerAccessDenied, match="create NoSuchModule"):
        client.create("NoSuchModule", {"lastname": "x"})


def test_invalid_request_errors(client: VtigerClient) -> None:
    with pytest.raises(vtiger_ws.VtigerInvalidRequest, match="MANDATORY_FIELDS_MISSING") as info:
        client.create("Contacts", {"firstname": "NoLast", "assigned_user_id": "19x1"})
    assert info.value.subject == "Contacts" and "lastname" in info.value.server_message
    with pytest.raises(vtiger_ws.VtigerInvalidRequest, match="QUERY_SYNTAX_ERROR"):
        client.query("SELEC * FROM Contacts;")


def test_server_error_for_what_vtql_cannot_lex(client: VtigerClient) -> None:
    # the builder refuses '' up front; sent raw, the server's lexer fails (VTQL_Lexer.php)
    with pytest.raises(vtiger_ws.VtigerServerError, match="INTERNAL_SERVER_ERROR"):
        client.query("SELECT id FROM Contacts WHERE vk_url = '';")


def test_duplicate_account_is_integer_code_zero(client: VtigerClient) -> None:
    client.create("Accounts", {"accountname": "ООО Ромашка", "assigned_user_id": "19x1"})
    with pytest.raises(vtiger_ws.VtigerDuplicate) as info:
        client.create("Accounts", {"accountname": "ооо ромашка ", "assigned_user_id": "19x1"})
    assert info.value.code == 0


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("RECORD_NOT_FOUND", vtiger_ws.VtigerNotFound),
        ("SOMETHING_NEW", vtiger_ws.VtigerUnknownError),
        ("INVALID_ID_ATTRIBUTE", vtiger_ws.VtigerInvalidRequest),
        ("DATABASE_QUERY_ERROR", vtiger_ws.VtigerServerError),
    ],
)
def test_envelope_codes_over_http(crm: Any, client: VtigerClient, code: str, cls: type) -> None:
    crm.faults.custom(_envelope(code), operation="retrieve")
    with pytest.raises(cls) as info:
        client.retrieve("12x5")
    assert info.value.code == code and "retrieve 12x5" in str(info.value)


@pytest.mark.parametrize("fault", ["html", "empty", "http500", "http502"])
def test_protocol_errors_over_http(crm: Any, client: VtigerClient, fault: str) -> None:
    client.listtypes()
    if fault == "html":
        crm.faults.html(operation="create")
    elif fault == "empty":
        crm.faults.custom(lambda r: Response(200, b"", {"Content-Type": "text/html"}), operation="create")
    else:
        crm.faults.http_error(int(fault[4:]), operation="create")
    with pytest.raises(vtiger_ws.VtigerProtocolError, match="create Contacts") as info:
        client.create("Contacts", {"lastname": "x", "assigned_user_id": "19x1"})
    assert info.value.status == (200 if fault in ("html", "empty") else int(fault[4:]))
    assert info.value.transient == (info.value.status >= 500)
    assert crm.count("create") == 1  # never retried: the record may have been saved
    assert client.listtypes()  # the client is still usable


def test_dropped_connection(crm: Any, client: VtigerClient) -> None:
    client.listtypes()
    crm.faults.drop(operation="revise")
    with pytest.raises(vtiger_ws.VtigerConnectionError, match="revise 12x2") as info:
        client.revise({"id": "12x2", "lastname": "x"})
    assert info.value.transient
    assert crm.count("revise") == 1
    assert client.listtypes()


def test_timeout_is_a_connection_error(crm: Any) -> None:
    with make_client(crm, timeout=0.2) as c:
        c.listtypes()
        crm.faults.latency = 0.5
        with pytest.raises(vtiger_ws.VtigerConnectionError, match="listtypes"):
            c.listtypes()
        crm.faults.latency = 0.0


def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with VtigerClient(f"http://127.0.0.1:{port}", "admin", "key", timeout=1) as c:
        with pytest.raises(vtiger_ws.VtigerConnectionError, match="getchallenge"):
            c.listtypes()


def test_no_message_or_log_line_contains_a_secret(crm: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[vtiger_ws.VtigerError] = []
    with make_client(crm) as c:
        c.listtypes()
        session_name = c._session_name
        assert session_name
        crm.faults.html(operation="query", text=f"<pre>sessionName={session_name} key={crm.access_key}</pre>")
        crm.faults.drop(operation="retrieve")
        crm.faults.custom(_envelope("INVALID_SESSIONID"), operation="describe", times=None)
        for call in (
            lambda: c.query("SELECT id FROM Contacts;"),
            lambda: c.retrieve("12x1"),
            lambda: c.describe("Contacts"),
            lambda: c.retrieve("12x999"),
        ):
            try:
                call()
            except vtiger_ws.VtigerError as exc:
                errors.append(exc)
        assert len(errors) == 4
        secrets = [session_name, c._session_name or session_name, crm.access_key]
    for exc in errors:
        text = f"{exc} {exc!r} {getattr(exc, 'body_excerpt', '')}"
        assert not any(s in text for s in secrets), text
    # Our own log lines only: GET operations must carry sessionName in the URL (OperationManager.php), which
    # urllib3 logs at DEBUG; that logger has to stay above DEBUG in production.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("vtiger_ws"))
    assert "logging in again" in ours
    assert not any(s in ours for s in secrets)
    assert crm.access_key not in repr(c)


def _success(result: Any) -> Any:
    return lambda request: Response.json({"success": True, "result": result})


@pytest.mark.parametrize(
    ("operation", "result", "call", "match"),
    [
        ("retrieve", ["not", "a", "record"], lambda c: c.retrieve("12x2"), "expected dict"),
        ("query", {"not": "a list"}, lambda c: c.query("SELECT id FROM Contacts;"), "expected list"),
        (
            "query",
            [{"lastname": "no id"}],
            lambda c: c.query_all("Contacts", fields=["lastname"]),
            "valid id",
        ),
        ("login", {"userId": "19x1"}, lambda c: c.listtypes(), "no sessionName"),
        ("getchallenge", "token", lambda c: c.listtypes(), "expected dict"),
    ],
)
def test_answers_of_the_wrong_shape_are_protocol_errors(
    crm: Any, client: VtigerClient, operation: str, result: Any, call: Any, match: str
) -> None:
    crm.faults.custom(_success(result), operation=operation)
    with pytest.raises(vtiger_ws.VtigerProtocolError, match=match):
        call(client)


def test_unknown_operations_are_refused_before_any_request(crm: Any, client: VtigerClient) -> None:
    with pytest.raises(ValueError, match="unknown vtiger operation"):
        client._transport.call("nosuchop", {})
    assert crm.count() == 0
