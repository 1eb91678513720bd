"""The Graph API sandbox: its parameters against Meta's codegen contract, its shapes, rules and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from providers.base import AccountId
from providers.facebook import FacebookProvider
from sandbox import facebook as fbs
from sandbox.facebook import FacebookSandbox

CONTRACT = (
    Path(__file__).resolve().parents[2] / "contracts" / "facebook" / "page_messaging_endpoints.extracted.json"
)


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CONTRACT.read_text(encoding="utf-8"))
    return data


def _edge(contract: dict[str, Any], method: str, endpoint: str) -> dict[str, str]:
    """{param name: type} of a Page edge, or of the UnifiedThread `messages` edge."""
    apis = contract["page_apis"] if endpoint != "thread_messages" else contract["UnifiedThread"]["apis"]
    name = "messages" if endpoint == "thread_messages" else endpoint
    api = next(a for a in apis if a["method"] == method and a.get("endpoint") == name)
    return {p["name"]: p["type"] for p in api["params"]}


def _enum(contract: dict[str, Any], type_name: str) -> frozenset[str]:
    return frozenset(next(e for e in contract["enums"] if e["name"] == type_name)["values"])


@pytest.fixture
def fb() -> Iterator[FacebookSandbox]:
    with FacebookSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def send(http: requests.Session, fb: FacebookSandbox, **params: str) -> requests.Response:
    data = {"access_token": fb.page_token, **params}
    return http.post(f"{fb.url}/{fb.page_id}/messages", data=data, timeout=5)


# --- the contract ---------------------------------------------------------------------------------
def test_sandbox_parameter_names_are_the_contracts(contract: dict[str, Any]) -> None:
    send_params = _edge(contract, "POST", "messages")
    assert send_params.keys() >= fbs.SEND_PARAMS
    assert _edge(contract, "GET", "conversations").keys() >= fbs.CONVERSATIONS_PARAMS
    assert _edge(contract, "GET", "thread_messages").keys() >= fbs.THREAD_MESSAGES_PARAMS
    send_api = next(a for a in contract["page_apis"] if a["endpoint"] == "messages" and a["method"] == "POST")
    required = {p["name"] for p in send_api["params"] if p["required"]}
    assert required == {"recipient"}


def test_sandbox_enums_are_the_contracts(contract: dict[str, Any]) -> None:
    assert _enum(contract, _edge(contract, "POST", "messages")["messaging_type"]) == fbs.MESSAGING_TYPES
    assert _enum(contract, _edge(contract, "POST", "messages")["notification_type"]) == fbs.NOTIFICATION_TYPES
    assert _enum(contract, _edge(contract, "GET", "conversations")["platform"]) == fbs.PLATFORMS
    assert _enum(contract, _edge(contract, "GET", "thread_messages")["source"]) == fbs.SOURCES


def test_every_request_the_provider_makes_fits_the_contract(
    contract: dict[str, Any], fb: FacebookSandbox
) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hi")
    provider = FacebookProvider(
        fb.page_token, fb.page_id, api_url=fb.url, now=fb.clock, use_human_agent_tag=True
    )
    try:
        provider.send_message(AccountId(psid), "reply", "k1")
        fb.advance(days=2)
        provider.send_message(AccountId(psid), "late reply", "k2")
        provider.fetch_messages(None, 10)
        provider.find_delivered(AccountId(psid), "reply", fb.clock())
        provider.fetch_profiles([AccountId(psid)])
    finally:
        provider.close()
    edges = {
        "send": ("POST", "messages"),
        "conversations": ("GET", "conversations"),
        "thread_messages": ("GET", "thread_messages"),
    }
    seen_ops = set()
    for request in fb.requests:
        params = {k: v[0] for k, v in {**request.query, **request.form}.items()}
        if request.operation not in edges:
            continue
        seen_ops.add(request.operation)
        declared = _edge(contract, *edges[request.operation])
        assert params.keys() <= declared.keys() | fbs.GRAPH_COMMON_PARAMS, request.operation
        for name, value in params.items():
            if declared.get(name, "").endswith("_enum_param"):
                assert value.upper() in _enum(contract, declared[name]), (name, value)
    assert seen_ops == set(edges)


def test_unknown_parameters_and_enum_values_are_refused(fb: FacebookSandbox, http: requests.Session) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hi")
    recipient, message = json.dumps({"id": psid}), json.dumps({"text": "x"})
    for extra in (
        {"messaging_type": "PROMOTION"},
        {"messaging_type": "RESPONSE", "priority": "high"},
        {"messaging_type": "RESPONSE", "tag": "HUMAN_AGENT"},
        {},
    ):
        answer = send(http, fb, recipient=recipient, message=message, **extra)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == 100, extra
    missing_recipient = send(http, fb, message=message, messaging_type="RESPONSE")
    assert missing_recipient.json()["error"]["code"] == 100
    assert fb.delivered_to(psid) == []


# --- shapes and rules -----------------------------------------------------------------------------
def test_send_answer_and_error_envelope_shapes(fb: FacebookSandbox, http: requests.Session) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hi")
    ok = send(
        http,
        fb,
        recipient=json.dumps({"id": psid}),
        message=json.dumps({"text": "hello"}),
        messaging_type="RESPONSE",
    )
    assert ok.status_code == 200 and set(ok.json()) == {"recipient_id", "message_id"}
    assert ok.json()["recipient_id"] == psid and ok.json()["message_id"].startswith("m_")
    unknown = send(
        http,
        fb,
        recipient=json.dumps({"id": "123"}),
        message=json.dumps({"text": "hello"}),
        messaging_type="RESPONSE",
    )
    error = unknown.json()["error"]
    assert set(error) == {"message", "type", "code", "error_subcode", "fbtrace_id"}
    assert (error["code"], error["error_subcode"], error["message"]) == (
        100,
        2018001,
        "(#100) No matching user found",
    )


def test_tokens_are_checked(fb: FacebookSandbox, http: requests.Session) -> None:
    missing = http.get(f"{fb.url}/{fb.page_id}/conversations", timeout=5)
    assert missing.json()["error"]["code"] == 104
    wrong = http.get(f"{fb.url}/{fb.page_id}/conversations", params={"access_token": "EAAwrong"}, timeout=5)
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 190


def test_window_and_human_agent_rules(fb: FacebookSandbox, http: requests.Session) -> None:
    psid = fb.add_person("Ann", "Lee")
    never_wrote = fb.add_person("Bob", "Ray")
    fb.incoming(psid, "hi")
    body = {"recipient": json.dumps({"id": psid}), "message": json.dumps({"text": "x"})}
    fb.advance(hours=24, seconds=1)
    closed = send(http, fb, messaging_type="RESPONSE", **body).json()["error"]
    assert (closed["code"], closed["error_subcode"]) == (10, 2018278)
    assert "outside of allowed window" in closed["message"]
    assert "message_id" in send(http, fb, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT", **body).json()
    fb.advance(days=6)
    too_late = send(http, fb, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT", **body).json()
    assert too_late["error"]["code"] == 10
    other = {"recipient": json.dumps({"id": never_wrote}), "message": json.dumps({"text": "x"})}
    assert send(http, fb, messaging_type="RESPONSE", **other).json()["error"]["code"] == 10
    assert len(fb.delivered_to(psid)) == 1 and fb.delivered_to(never_wrote) == []


def test_conversation_and_message_paging(fb: FacebookSandbox, http: requests.Session) -> None:
    people = [fb.add_person(f"P{i}", "X") for i in range(3)]
    for i, psid in enumerate(people):
        fb.incoming(psid, f"m{i}")
        fb.advance(seconds=1)
    auth = {"access_token": fb.page_token, "platform": "messenger", "fields": "id,updated_time,participants"}
    first = http.get(f"{fb.url}/{fb.page_id}/conversations", params={**auth, "limit": "2"}, timeout=5).json()
    assert [t["participants"]["data"][0]["id"] for t in first["data"]] == people[:0:-1]  # newest first
    assert set(first["paging"]["cursors"]) == {"before", "after"} and "next" in first["paging"]
    after = first["paging"]["cursors"]["after"]
    rest = http.get(
        f"{fb.url}/{fb.page_id}/conversations", params={**auth, "limit": "2", "after": after}, timeout=5
    ).json()
    assert [t["participants"]["data"][0]["id"] for t in rest["data"]] == [people[0]]
    assert "next" not in rest["paging"]
    thread = first["data"][0]["id"]
    fields = "id,created_time,from,to,message"
    msgs = http.get(
        f"{fb.url}/{thread}/messages", timeout=5, params={"access_token": fb.page_token, "fields": fields}
    ).json()
    row = msgs["data"][0]
    assert row["from"]["id"] == people[2] and row["to"]["data"][0]["id"] == fb.page_id
    assert row["message"] == "m2" and row["created_time"].endswith("+0000")
