"""The webhook takes exactly what it documents: every hex digit of the signature counts, the body must be
UTF-8, and only the exact endpoint path is the endpoint.

A comparison of part of the signature (a prefix, a suffix, every other digit) or of part of the signed
material passes tests that tamper in one place only; these tamper at every position.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bridge.webhook.signing import (
    SIGNATURE_HEADER,
    SIGNATURE_PREFIX,
    TIMESTAMP_HEADER,
    sign,
    signature,
    verify,
)
from tests.bridge.test_webhook_support import NOW, SECRET, Bridge, event, running_bridge

JSON = "application/json"
HEX = "0123456789abcdef"
BODY = json.dumps(event(event_id="exact-1")).encode()


@pytest.fixture(scope="module")
def bridge() -> Iterator[Bridge]:
    yield from running_bridge()


def _headers(digest: str, ts: str = str(int(NOW))) -> dict[str, str]:
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: SIGNATURE_PREFIX + digest, "Content-Type": JSON}


def _status(bridge: Bridge, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    r = bridge.post_raw(body, headers)
    return r.status_code, r.json().get("error", {}).get("code", "")


GOOD = signature(SECRET, BODY, int(NOW))


def _ok(digest: str, body: bytes = BODY, ts: str = str(int(NOW)), secret: str = SECRET) -> bool:
    return verify(secret, body, ts, SIGNATURE_PREFIX + digest, NOW) is None


def test_the_untampered_signature_is_accepted() -> None:
    assert _ok(GOOD)
    assert _ok(GOOD.upper())  # hex digits: the same number in either case


@pytest.mark.parametrize("position", range(64))
def test_every_other_digit_at_every_position_is_refused(position: int) -> None:
    for digit in HEX + HEX.upper():
        if digit.lower() == GOOD[position]:
            continue
        assert not _ok(GOOD[:position] + digit + GOOD[position + 1 :]), (position, digit)


def test_prefixes_suffixes_and_longer_signatures_are_refused() -> None:
    for n in range(64):
        assert not _ok(GOOD[:n]), f"first {n} digits"
        assert not _ok(GOOD[64 - n :]), f"last {n} digits"
        assert not _ok(GOOD[:n] + "0" * (64 - n)) or GOOD[n:] == "0" * (64 - n)
    for extra in ("0", GOOD[-1], "00", GOOD, " x"):
        assert not _ok(GOOD + extra), f"with {extra!r} appended"
    assert not _ok(GOOD[1:] + GOOD[0])  # rotated
    assert not _ok(GOOD[::-1])


def test_every_byte_of_the_body_timestamp_and_secret_is_signed() -> None:
    for i in range(len(BODY)):
        changed = BODY[:i] + bytes([BODY[i] ^ 0x01]) + BODY[i + 1 :]
        assert not _ok(GOOD, body=changed), f"body byte {i}"
    assert not _ok(GOOD, body=BODY + b" ") and not _ok(GOOD, body=BODY[:-1])
    ts = str(int(NOW))
    for i in range(len(ts)):
        for digit in "0123456789":
            if digit != ts[i]:
                other = ts[:i] + digit + ts[i + 1 :]
                # Keep the timestamp inside the window so only the signature can refuse it.
                assert verify(SECRET, BODY, other, SIGNATURE_PREFIX + GOOD, float(other)) is not None
    for i in range(len(SECRET)):
        assert not _ok(GOOD, secret=SECRET[:i] + chr(ord(SECRET[i]) ^ 0x01) + SECRET[i + 1 :]), f"secret {i}"
    assert not _ok(GOOD, secret=SECRET + "x") and not _ok(GOOD, secret=SECRET[:-1])


@pytest.mark.parametrize("position", [0, 1, 7, 8, 9, 31, 32, 62, 63])
def test_over_http_one_wrong_digit_anywhere_is_401(bridge: Bridge, position: int) -> None:
    before = bridge.recorder.calls
    digit = "0" if GOOD[position] != "0" else "1"
    tampered = GOOD[:position] + digit + GOOD[position + 1 :]
    assert _status(bridge, BODY, _headers(tampered)) == (401, "bad_signature")
    assert bridge.recorder.calls == before


def test_over_http_partial_and_padded_signatures_are_401(bridge: Bridge) -> None:
    before = bridge.recorder.calls
    for digest in (GOOD[:8], GOOD[:63], GOOD[1:], GOOD + "0", GOOD[:8] + "0" * 56, "0" * 56 + GOOD[56:]):
        assert _status(bridge, BODY, _headers(digest)) == (401, "bad_signature"), digest
    headers = _headers(GOOD) | {SIGNATURE_HEADER: "SHA256=" + GOOD}
    assert _status(bridge, BODY, headers) == (401, "bad_signature")
    assert bridge.recorder.calls == before
    assert bridge.post_raw(BODY, _headers(GOOD.upper())).status_code == 202


# --- UTF-8 only -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-8-sig"])
def test_json_in_another_encoding_is_422_even_when_signed(bridge: Bridge, encoding: str) -> None:
    before = bridge.recorder.calls
    body = json.dumps(
        event(event_id=f"enc-{encoding}", data={"lastname": "Иванов"}), ensure_ascii=False
    ).encode(encoding)
    r = bridge.post_signed(body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "malformed_json", r.text
    assert bridge.recorder.calls == before
    utf8 = json.dumps(event(event_id=f"enc-{encoding}", data={"lastname": "Иванов"}), ensure_ascii=False)
    assert bridge.post_signed(utf8.encode("utf-8")).status_code == 202


# --- the exact path -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//v1/vtiger/events",
        "/v1/vtiger/%65vents",
        "/v1/vtiger/events%2F",
        "http://elsewhere/v1/vtiger/events",
        "/v1/vtiger/events#x",
        "///v1/vtiger/events",
        "/v1//vtiger/events",
        "/./v1/vtiger/events",
    ],
)
def test_only_the_exact_path_reaches_the_endpoint(bridge: Bridge, target: str) -> None:
    import socket

    before = bridge.recorder.calls
    body = json.dumps(event(event_id="path-" + str(abs(hash(target))))).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in (sign(SECRET, body, NOW) | {"Content-Type": JSON}).items())
    host, port = bridge.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"404", (target, answer[:200])
    assert b'"not_found"' in answer and bridge.recorder.calls == before


def test_a_query_string_on_the_exact_path_is_still_the_endpoint(bridge: Bridge) -> None:
    body = json.dumps(event(event_id="path-query")).encode()
    r = bridge.session.post(
        bridge.url + "/v1/vtiger/events?from=vtiger",
        data=body,
        headers=sign(SECRET, body, NOW) | {"Content-Type": JSON},
        timeout=5,
    )
    assert r.status_code == 202
    assert bridge.session.get(bridge.url + "/healthz?probe=1", timeout=5).status_code == 200
