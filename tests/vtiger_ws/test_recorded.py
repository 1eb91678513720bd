"""Every recorded real response under contracts/vtiger/ goes through the client's response parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import vtiger_ws
from vtiger_ws import ModuleDescription, parse_response
from vtiger_ws.errors import ERROR_CLASSES
from vtiger_ws.transport import OPERATION_METHODS, PRELOGIN_OPERATIONS

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "vtiger"
RECORDED = CONTRACTS / "recorded-salesplatform-7.2"
JAVANILE = CONTRACTS / "fixtures" / "javanile-vtiger-client"

TRANSCRIPT: list[dict[str, Any]] = json.loads((RECORDED / "transcript.json").read_text(encoding="utf-8"))


def _php7_body(payload: Any) -> bytes:
    # PHP json_encode as 7.x uses it: non-ASCII as \uXXXX and "/" escaped (6.x/7.x OperationManager.php)
    return json.dumps(payload, ensure_ascii=True).replace("/", "\\/").encode("ascii")


def _raw_body(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


EXPECTED_CLASSES = {
    "ERR bad session": vtiger_ws.VtigerSessionExpired,
    "ERR login wrong accessKey": vtiger_ws.VtigerCredentialsError,
    "ERR login unknown user": vtiger_ws.VtigerCredentialsError,
    "ERR retrieve bad id (nonexistent record)": vtiger_ws.VtigerAccessDenied,
    "ERR create missing mandatory (lastname)": vtiger_ws.VtigerInvalidRequest,
    "ERR query syntax error": vtiger_ws.VtigerInvalidRequest,
    "ERR query missing semicolon": vtiger_ws.VtigerInvalidRequest,
    "ERR query_related with trailing ; after module name": vtiger_ws.VtigerInvalidRequest,
    "logout": vtiger_ws.VtigerServerError,  # SalesPlatform's broken logout (Observed C.2)
}


@pytest.mark.parametrize("exchange", TRANSCRIPT, ids=[e["label"] for e in TRANSCRIPT])
@pytest.mark.parametrize("encode", [_php7_body, _raw_body], ids=["php7-escaped", "raw-utf8"])
def test_transcript_exchange_is_parsed(exchange: dict[str, Any], encode: Any) -> None:
    operation = exchange["request"]["params"]["operation"]
    response, status = exchange["response"], exchange["http_status"]
    if "_raw_text" in response:
        with pytest.raises(vtiger_ws.VtigerProtocolError) as info:
            parse_response(operation, status, response["_raw_text"].encode("utf-8"))
        assert info.value.status == status
        assert operation in str(info.value)
        return
    body = encode(response)
    if response["success"]:
        assert parse_response(operation, status, body) == response["result"]
        return
    with pytest.raises(vtiger_ws.VtigerError) as info:
        parse_response(operation, status, body, subject="X")
    assert type(info.value) is ERROR_CLASSES[response["error"]["code"]]
    assert info.value.server_message == response["error"]["message"]
    if exchange["label"] in EXPECTED_CLASSES:
        assert isinstance(info.value, EXPECTED_CLASSES[exchange["label"]])


def test_transcript_covers_the_cases_this_file_names() -> None:
    assert set(EXPECTED_CLASSES) <= {e["label"] for e in TRANSCRIPT}


@pytest.mark.parametrize("path", sorted(JAVANILE.glob("*.json")), ids=lambda p: p.name)
def test_javanile_fixture_bytes_are_parsed(path: Path) -> None:
    body = path.read_bytes()  # as recorded: pretty-printed, `\/` escapes
    payload = json.loads(body)
    if payload["success"]:
        assert parse_response("x", 200, body) == payload["result"]
    else:
        with pytest.raises(vtiger_ws.VtigerAccessDenied):
            parse_response("x", 200, body)


@pytest.mark.parametrize("path", sorted(RECORDED.glob("describe_*.json")), ids=lambda p: p.name)
def test_recorded_describe_becomes_a_module_description(path: Path) -> None:
    result = parse_response("describe", 200, path.read_bytes())
    description = ModuleDescription.from_json(result)
    assert description.name == path.name.split("_", 1)[1].split(".")[0]
    assert description.id_prefix.isdigit()
    assert "assigned_user_id" in description.mandatory_fields
    assert "id" in description.field_names
    assert "tags" in description.field_names and "tags" not in description.queryable_fields()
    if description.name == "SPSocialConnector":
        assert description.id_prefix == "34"
        assert description.mandatory_fields == ("message", "assigned_user_id")
        assert not description.has_field("modifiedtime")  # Observed E: no modifiedtime at all


def test_eight_x_raw_control_characters_are_tolerated() -> None:
    body = b'{"success":true,"result":[{"id":"12x1","description":"a\x01b\tc"}]}'
    assert parse_response("query", 200, body) == [{"id": "12x1", "description": "a\x01b\tc"}]


@pytest.mark.parametrize(
    ("status", "body", "what"),
    [
        (200, b"", "empty"),
        (200, b"   \n", "empty"),
        (200, b"<html><body><b>Fatal error</b></body></html>", "not JSON"),
        (200, b"There seems to be some problem with workflow <b>x</b>", "not JSON"),
        (200, b'{"success":true,"result":', "not JSON"),
        (200, b"[1,2]", "not a webservice envelope"),
        (200, b'{"result":1}', "not a webservice envelope"),
        (200, b'{"success":"yes"}', "non-boolean"),
        (500, b"", "HTTP error"),
        (502, b'{"success":true,"result":1}', "HTTP error"),
    ],
)
def test_protocol_errors(status: int, body: bytes, what: str) -> None:
    with pytest.raises(vtiger_ws.VtigerProtocolError, match=what) as info:
        parse_response("create", status, body, subject="Contacts")
    assert info.value.status == status
    assert "create Contacts" in str(info.value)
    assert info.value.body_excerpt == body.decode()[:200]


def test_protocol_error_excerpt_is_short_and_masks_secrets() -> None:
    body = ("<pre>sessionName=7e2c15e9564a1b3fb543d " + "x" * 1000 + "</pre>").encode()
    with pytest.raises(vtiger_ws.VtigerProtocolError) as info:
        parse_response("query", 200, body, secrets=("7e2c15e9564a1b3fb543d",))
    assert "7e2c15e9564a1b3fb543d" not in str(info.value)
    assert len(info.value.body_excerpt) <= 200


def test_operation_methods_match_the_transcribed_registry() -> None:
    registry = json.loads((CONTRACTS / "webservice_operations.vtiger-8.2.0.json").read_text(encoding="utf-8"))
    for op in registry["operations"]:
        name = op["name"].lower()
        if name in OPERATION_METHODS:
            assert OPERATION_METHODS[name] == op["http_method"], name
            assert (name in PRELOGIN_OPERATIONS) == op["prelogin"], name
    registered = {op["name"].lower() for op in registry["operations"]}
    assert set(OPERATION_METHODS) <= registered | {"extendsession"}
    # every transcript request used the method the table prescribes (except the deliberate wrong one)
    for exchange in TRANSCRIPT:
        op = exchange["request"]["params"]["operation"]
        if op in OPERATION_METHODS and "wrong HTTP method" not in exchange["label"]:
            assert exchange["request"]["method"] == OPERATION_METHODS[op], exchange["label"]
