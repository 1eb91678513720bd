"""Webhook over real HTTP: authentication, limits, validation, idempotency, store errors, pass-through."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from bridge.webhook.endpoint import EVENTS_PATH, MAX_BODY, make_app, store_acceptor
from bridge.webhook.events import Event
from bridge.webhook.server import WebhookServer
from bridge.webhook.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from tests.bridge.test_webhook_support import NOW, SECRET, Bridge, event, running_bridge

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    yield from running_bridge()


def _error(response: object) -> tuple[int, str, str]:
    status = response.status_code  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return status, body["error"]["code"], body["error"]["message"]


# --- authentication -------------------------------------------------------------------------------


def test_signed_event_is_accepted_and_handed_over_before_the_answer(bridge: Bridge) -> None:
    r = bridge.post_event(event(event_id="evt-1"))
    assert r.status_code == 202
    assert r.json() == {"accepted": True, "event_id": "evt-1"}
    [got] = bridge.recorder.events
    assert (got.event, got.module, got.record_id, got.crmid) == ("record_saved", "Contacts", "12x5", 5)
    assert got.data["lastname"] == "Иванов" and got.changed == ["cf_vk"] and got.ts == NOW


def test_missing_signature_headers_are_401(bridge: Bridge) -> None:
    body = json.dumps(event()).encode()
    headers = sign(SECRET, body, NOW)
    for drop in (TIMESTAMP_HEADER, SIGNATURE_HEADER):
        partial = {k: v for k, v in headers.items() if k != drop} | {"Content-Type": JSON}
        status, code, message = _error(bridge.post_raw(body, partial))
        assert (status, code) == (401, "missing_signature") and drop in message
    assert bridge.recorder.calls == 0


@pytest.mark.parametrize("tamper", ["wrong_secret", "body_changed", "ts_changed", "not_hex", "no_prefix"])
def test_wrong_signature_is_401_and_never_echoes_the_secret(bridge: Bridge, tamper: str) -> None:
    body = json.dumps(event()).encode()
    headers = sign("other-secret" if tamper == "wrong_secret" else SECRET, body, NOW)
    if tamper == "body_changed":
        body = body.replace(b"12x5", b"12x6")
    elif tamper == "ts_changed":
        headers[TIMESTAMP_HEADER] = str(int(NOW) + 1)
    elif tamper == "not_hex":
        headers[SIGNATURE_HEADER] = "sha256=" + "zz" * 32
    elif tamper == "no_prefix":
        headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].removeprefix("sha256=")
    r = bridge.post_raw(body, headers | {"Content-Type": JSON})
    status, code, _ = _error(r)
    assert (status, code) == (401, "bad_signature")
    assert SECRET not in r.text and SECRET not in str(r.headers)
    assert bridge.recorder.calls == 0


@pytest.mark.parametrize(
    ("offset", "ok"), [(-301, False), (-300, True), (300, True), (301, False), (86_400, False)]
)
def test_stale_and_future_timestamps_are_refused(bridge: Bridge, offset: int, ok: bool) -> None:
    r = bridge.post_signed(json.dumps(event()).encode(), ts=NOW + offset)
    if ok:
        assert r.status_code == 202
    else:
        assert _error(r)[:2] == (401, "stale_timestamp")


def test_non_numeric_timestamp_is_401(bridge: Bridge) -> None:
    body = json.dumps(event()).encode()
    headers = sign(SECRET, body, NOW) | {TIMESTAMP_HEADER: "+1800000000", "Content-Type": JSON}
    assert _error(bridge.post_raw(body, headers))[:2] == (401, "bad_timestamp")


def test_replayed_request_is_a_duplicate_not_a_second_event(bridge: Bridge) -> None:
    body = json.dumps(event(event_id="evt-replay")).encode()
    first = bridge.post_signed(body)
    again = bridge.post_signed(body)
    assert first.status_code == 202
    assert again.status_code == 200 and again.json() == {"duplicate": True, "event_id": "evt-replay"}
    assert len(bridge.recorder.events) == 1


def test_event_without_id_gets_a_stable_id_from_the_body(bridge: Bridge) -> None:
    body = json.dumps(event()).encode()
    first = bridge.post_signed(body).json()
    second = bridge.post_signed(body).json()
    other = bridge.post_signed(json.dumps(event(ts=NOW + 1)).encode()).json()
    assert first["event_id"].startswith("body-")
    assert second == {"duplicate": True, "event_id": first["event_id"]}
    assert other["accepted"] and other["event_id"] != first["event_id"]


def test_verify_is_exact_about_the_window() -> None:
    body = b"{}"
    headers = sign(SECRET, body, 1000)
    assert verify(SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], 1300) is None
    failure = verify(SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], 1301)
    assert failure is not None and failure.code == "stale_timestamp"
    assert sign(b"k", b"body", 7) == sign("k", b"body", 7.9)  # bytes or str secret, truncated seconds


# --- limits and content types ---------------------------------------------------------------------


def test_body_over_64_kib_is_413_by_content_length(bridge: Bridge) -> None:
    body = json.dumps(event(data={"x": "a" * MAX_BODY})).encode()
    status, code, _ = _error(bridge.post_signed(body))
    assert (status, code) == (413, "body_too_large") and bridge.recorder.calls == 0


def test_body_over_64_kib_is_413_when_chunked_without_content_length(bridge: Bridge) -> None:
    body = json.dumps(event(data={"x": "a" * MAX_BODY})).encode()
    headers = sign(SECRET, body, NOW) | {"Content-Type": JSON}
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))  # a generator makes requests chunk
    r = bridge.session.post(bridge.url + EVENTS_PATH, data=chunks, headers=headers, timeout=5)
    assert _error(r)[:2] == (413, "body_too_large") and bridge.recorder.calls == 0


def test_body_of_exactly_64_kib_is_accepted(bridge: Bridge) -> None:
    shell = json.dumps(event(data={"x": ""})).encode()
    body = json.dumps(event(data={"x": "a" * (MAX_BODY - len(shell))})).encode()
    assert len(body) == MAX_BODY
    assert bridge.post_signed(body).status_code == 202


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "",
    ],
)
def test_other_content_types_are_415(bridge: Bridge, content_type: str) -> None:
    status, code, _ = _error(bridge.post_signed(json.dumps(event()).encode(), content_type))
    assert (status, code) == (415, "unsupported_media_type") and bridge.recorder.calls == 0


def test_json_content_type_parameters_are_tolerated(bridge: Bridge) -> None:
    r = bridge.post_signed(json.dumps(event()).encode(), "Application/JSON; charset=UTF-8")
    assert r.status_code == 202


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"\xff\xfe{}", "body"),
        (b'{"event": NaN}', "body"),
        (b"[1, 2]", "object"),
        (json.dumps(event(event="delete")).encode(), "'event'"),
        (json.dumps(event(module="Potentials")).encode(), "'module'"),
        (json.dumps(event(id="5x")).encode(), "'id'"),
        (json.dumps(event(id=None)).encode(), "'id'"),
        (json.dumps(event(data=[1])).encode(), "'data'"),
        (json.dumps(event(changed=5)).encode(), "'changed'"),
        (json.dumps(event(ts="yesterday")).encode(), "'ts'"),
        (json.dumps(event(ts=True)).encode(), "'ts'"),
        (json.dumps(event(event_id="has space")).encode(), "'event_id'"),
        (json.dumps(event(event="send", networks=["vk", "myspace"])).encode(), "'networks'"),
        # networks name what to send to or invite to: not valid for a profile import
        (json.dumps(event(event="import_profile", networks=["telegram"])).encode(), "'networks'"),
        (json.dumps(event(event="send", text=42)).encode(), "'text'"),
        (json.dumps(event(text="hi")).encode(), "'text'"),
    ],
)
def test_malformed_or_wrongly_typed_events_are_422_naming_the_problem(
    bridge: Bridge, body: bytes, field: str
) -> None:
    status, _, message = _error(bridge.post_signed(body))
    assert status == 422 and field in message
    assert bridge.recorder.calls == 0


def test_send_event_with_text_and_networks(bridge: Bridge) -> None:
    r = bridge.post_event(event(event="send", text="Привет", networks=["vk", "x", "vk"], changed=None))
    assert r.status_code == 202
    [got] = bridge.recorder.events
    assert got.text == "Привет" and got.networks == ("vk", "x")
    assert got.to_payload()["networks"] == ["vk", "x"]


def test_form_with_json_payload_field(bridge: Bridge) -> None:
    payload = json.dumps(event(event="import_profile", module="Leads", id="10x7"))
    body = urlencode({"payload": payload}).encode()
    assert bridge.post_signed(body, FORM).status_code == 202
    assert bridge.recorder.events[0].record_id == "10x7"


def test_form_with_flat_fields(bridge: Bridge) -> None:
    fields = {
        "event": "send",
        "module": "Accounts",
        "id": "11x3",
        "networks": "vk,facebook",
        "text": "Hello",
        "ts": "1800000000",
        "data.accountname": "ACME",
        "phone": "+7 900",
    }
    assert bridge.post_signed(urlencode(fields).encode(), FORM).status_code == 202
    [got] = bridge.recorder.events
    assert got.networks == ("vk", "facebook") and got.ts == NOW
    assert got.data == {"accountname": "ACME", "phone": "+7 900"}


def test_form_with_repeated_field_is_422(bridge: Bridge) -> None:
    body = b"event=send&event=record_saved&module=Contacts&id=12x5"
    status, _, message = _error(bridge.post_signed(body, FORM))
    assert status == 422 and "event" in message


# --- Vtiger Cloud "Webhook" action shape ----------------------------------------------------------


def test_vtiger_cloud_flat_json_maps_onto_the_model(bridge: Bridge) -> None:
    # Cloud posts the administrator's parameter map as one flat JSON object (dot notation nests).
    cloud = {
        "event": "record_saved",
        "module": "Contacts",
        "record_id": "5",
        "firstname": "Anna",
        "lastname": "Smith",
        "cf_vk_url": "https://vk.com/anna",
        "changed": "cf_vk_url",
    }
    assert bridge.post_event(cloud).status_code == 202
    [got] = bridge.recorder.events
    assert got.record_id == "12x5"  # bare crmid + the module's webservice prefix
    assert got.data == {"firstname": "Anna", "lastname": "Smith", "cf_vk_url": "https://vk.com/anna"}
    assert got.changed == ["cf_vk_url"] and got.ts == NOW  # ts defaults to the signed timestamp


def test_cloud_nested_data_object_and_ws_id(bridge: Bridge) -> None:
    cloud = {
        "event": "import_profile",
        "module": "Leads",
        "recordId": "10x42",
        "data": {"email": "a@example.org"},
        "email": "ignored duplicate",
    }
    assert bridge.post_event(cloud).status_code == 202
    got = bridge.recorder.events[0]
    assert got.record_id == "10x42" and got.data == {"email": "a@example.org"}


def test_custom_id_prefixes_for_bare_crmids() -> None:
    recorder: list[Event] = []
    app = make_app(
        secret=SECRET,
        accept=lambda e: recorder.append(e) is None,
        health=lambda: (200, {}),
        metrics=lambda: (b"", "text/plain"),
        clock=lambda: NOW,
        id_prefixes={"Contacts": 4},
    )
    with WebhookServer(app) as server:
        import requests

        body = json.dumps({"event": "record_saved", "module": "Contacts", "crmid": 9}).encode()
        headers = sign(SECRET, body, NOW) | {"Content-Type": JSON}
        with requests.Session() as s:
            assert s.post(server.url + EVENTS_PATH, data=body, headers=headers, timeout=5).status_code == 202
    assert recorder[0].record_id == "4x9"


# --- the store boundary ---------------------------------------------------------------------------


def test_accept_raising_is_503_and_not_claimed_as_accepted(bridge: Bridge) -> None:
    bridge.recorder.fail = OSError(30, "Read-only file system")
    r = bridge.post_event(event(event_id="evt-ro"))
    status, code, _ = _error(r)
    assert (status, code) == (503, "store_unavailable") and "accepted" not in r.text
    bridge.recorder.fail = None
    assert bridge.post_event(event(event_id="evt-ro")).status_code == 202  # the retry is not a "duplicate"


def test_store_acceptor_uses_remember_event() -> None:
    calls: list[tuple[str, str, dict[str, object]]] = []

    class FakeStore:
        def remember(self, event_id: str, kind: str, payload: dict[str, object]) -> bool:
            calls.append((event_id, kind, payload))
            return len(calls) == 1

    accept = store_acceptor(FakeStore())
    ev = Event(event="send", module="Contacts", record_id="12x1", event_id="e1", ts=NOW, text="t")
    assert accept(ev) is True and accept(ev) is False
    assert calls[0] == ("e1", "send", ev.to_payload()) and calls[0][2]["text"] == "t"


# --- health, metrics, routing ---------------------------------------------------------------------


def test_health_and_metrics_pass_through_without_auth(bridge: Bridge) -> None:
    r = bridge.session.get(bridge.url + "/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok", "providers": {"vk": "CONNECTED"}}
    bridge.health["status"], bridge.health["body"] = 503, {"status": "degraded"}
    r = bridge.session.get(bridge.url + "/healthz", timeout=5)
    assert r.status_code == 503 and r.json() == {"status": "degraded"}
    m = bridge.session.get(bridge.url + "/metrics", timeout=5)
    assert m.status_code == 200 and m.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"bridge_events_total 3" in m.content
    for r in (m, bridge.session.get(bridge.url + "/healthz", timeout=5)):
        assert SECRET not in r.text


def test_unknown_path_and_wrong_method_are_json_errors(bridge: Bridge) -> None:
    assert _error(bridge.session.get(bridge.url + "/nope", timeout=5))[:2] == (404, "not_found")
    r = bridge.session.get(bridge.url + EVENTS_PATH, timeout=5)
    assert _error(r)[:2] == (405, "method_not_allowed") and r.headers["Allow"] == "POST"


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        make_app(secret="", accept=lambda e: True, health=lambda: (200, {}), metrics=lambda: (b"", "t/p"))


@pytest.fixture
def started() -> Iterator[WebhookServer]:
    app = make_app(
        secret=SECRET, accept=lambda e: True, health=lambda: (200, {}), metrics=lambda: (b"", "text/plain")
    )
    server = WebhookServer(app).start()
    yield server
    server.stop()


def test_stop_closes_the_port(started: WebhookServer) -> None:
    port = int(urlsplit(started.url).port or 0)
    assert port == started.port > 0
    started.stop()
    started.stop()  # idempotent
    with socket.socket() as sock, pytest.raises(OSError):
        sock.settimeout(1)
        sock.connect(("127.0.0.1", port))
