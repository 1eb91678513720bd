"""Bounded, seeded fuzzing over real HTTP: bad input is always a JSON 4xx and is never accepted."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.bridge.test_webhook_support import Bridge, event, running_bridge

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
bridge_server = contextmanager(running_bridge)

_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80).map(str.strip)
_content_types = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "application/json; charset=x",
        "application/x-www-form-urlencoded; charset=utf-8",
        "multipart/form-data",
    ]
)
_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_field_names = st.sampled_from(
    [
        "event",
        "module",
        "id",
        "record_id",
        "crmid",
        "data",
        "changed",
        "event_id",
        "ts",
        "text",
        "networks",
        "data.x",
        "other",
    ]
)


def _assert_error_shape(status: int, body: bytes) -> None:
    assert 400 <= status < 500, (status, body[:200])
    payload = json.loads(body)
    assert set(payload) == {"error"} and isinstance(payload["error"]["message"], str)


@seed(20261130)
@FUZZ
@given(body=st.binary(max_size=600), content_type=_content_types, ts=_header_text, sig=_header_text)
def _unauthenticated(b: Bridge, body: bytes, content_type: str, ts: str, sig: str) -> None:
    r = b.post_raw(body, {"Content-Type": content_type, "X-Bridge-Timestamp": ts, "X-Bridge-Signature": sig})
    _assert_error_shape(r.status_code, r.content)


def test_fuzz_unsigned_or_forged_requests_are_4xx_and_never_accepted() -> None:
    with bridge_server() as b:
        _unauthenticated(b)  # type: ignore[call-arg]
        assert b.recorder.calls == 0


@seed(20261130)
@FUZZ
@given(body=st.binary(max_size=600), content_type=_content_types)
def _signed_garbage(b: Bridge, body: bytes, content_type: str) -> None:
    r = b.post_signed(body, content_type)
    _assert_error_shape(r.status_code, r.content)


def test_fuzz_signed_garbage_bodies_are_4xx_and_never_accepted() -> None:
    with bridge_server() as b:
        _signed_garbage(b)  # type: ignore[call-arg]
        assert b.recorder.calls == 0


@seed(20261130)
@FUZZ
@given(changes=st.dictionaries(_field_names, _json_values, min_size=1, max_size=4))
def _mutated_events(b: Bridge, changes: dict[str, Any]) -> None:
    before = b.recorder.calls
    r = b.post_event(
        event(**{k: v for k, v in changes.items() if k.isidentifier()})
        | {k: v for k, v in changes.items() if not k.isidentifier()}
    )
    if r.status_code in (200, 202):
        assert b.recorder.calls == before + 1  # accepted means handed over
    else:
        assert r.status_code == 422, r.text
        _assert_error_shape(r.status_code, r.content)
        assert b.recorder.calls == before  # refused means nothing handed over


def test_fuzz_valid_events_with_random_field_values_are_2xx_or_422() -> None:
    with bridge_server() as b:
        _mutated_events(b)  # type: ignore[call-arg]
