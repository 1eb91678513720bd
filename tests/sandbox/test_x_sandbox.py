"""The X sandbox over real HTTP with a plain OAuth1-signed requests session: auth, rules, windows, shapes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from requests_oauthlib import OAuth1

from sandbox.x import XSandbox
from tests.contracts_x import validate_request_body, validate_response, validate_schema
from tests.fakes import FakeClock
from tests.x_support import EPOCH_START, contract_violations


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH_START)


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XSandbox]:
    with XSandbox(clock=clock) as sandbox:
        yield sandbox
        assert contract_violations(sandbox) == []
        assert sandbox.tweets == []


@pytest.fixture
def http(x: XSandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = OAuth1(x.consumer_key, x.consumer_secret, x.access_token, x.access_token_secret)
        yield session


def test_signed_request_is_answered_like_the_recorded_cassette(x: XSandbox, http: requests.Session) -> None:
    response = http.get(x.url + "/2/users/me")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": x.me, "name": "CRM Bridge Desk", "username": "CrmBridgeDesk"}}
    assert response.headers["x-rate-limit-limit"] == "75"
    assert response.headers["x-rate-limit-remaining"] == "74"
    assert int(response.headers["x-rate-limit-reset"]) == int(EPOCH_START + 900)


@pytest.mark.parametrize("tamper", ["query", "secret", "token", "unsigned"])
def test_bad_oauth_is_refused_with_401(x: XSandbox, tamper: str) -> None:
    secret = "wrong" if tamper == "secret" else x.access_token_secret
    token = "1-unknown" if tamper == "token" else x.access_token
    with requests.Session() as session:
        if tamper != "unsigned":
            session.auth = OAuth1(x.consumer_key, x.consumer_secret, token, secret)
        prepared = session.prepare_request(
            requests.Request("GET", x.url + "/2/users/by", params={"usernames": "jack"})
        )
        if tamper == "query":  # signed for `jack`, sent for `ev`: the signature no longer matches
            prepared.url = prepared.url.replace("jack", "ev")
        response = session.send(prepared)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }


def test_replayed_nonce_is_refused(x: XSandbox, http: requests.Session) -> None:
    prepared = http.prepare_request(requests.Request("GET", x.url + "/2/users/me"))
    assert http.send(prepared).status_code == 200
    assert http.send(prepared).status_code == 401


def test_lookups_report_unknown_and_suspended_inside_200(x: XSandbox, http: requests.Session) -> None:
    jack = x.add_user("jack", "Jack Dorsey")
    x.add_user("gone", "Gone User", suspended=True)
    response = http.get(x.url + "/2/users/by", params={"usernames": "JACK,nobody,gone"})
    body = response.json()
    assert response.status_code == 200
    assert [u["id"] for u in body["data"]] == [jack]
    assert [(e["value"], e["title"]) for e in body["errors"]] == [
        ("nobody", "Not Found Error"),
        ("gone", "Forbidden"),
    ]
    assert body["errors"][0]["detail"] == "Could not find user with username: [nobody]."
    single = http.get(x.url + "/2/users/by/username/nobody").json()
    assert "data" not in single and single["errors"][0]["type"].endswith("/resource-not-found")


def test_user_fields_and_entities(x: XSandbox, http: requests.Session) -> None:
    uid = x.add_user("ann", "Ann Lee", url="https://ann.example", accepts_dms=False, location="Riga")
    body = http.get(
        x.url + "/2/users", params={"ids": uid, "user.fields": "entities,url,receives_your_dm,location"}
    ).json()
    user = body["data"][0]
    assert user["receives_your_dm"] is False and user["location"] == "Riga"
    assert user["url"].startswith("https://t.co/")
    assert user["entities"]["url"]["urls"][0]["expanded_url"] == "https://ann.example"
    bad = http.get(x.url + "/2/users", params={"ids": "12,abc"})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-request")


def test_dm_rules(x: XSandbox, http: requests.Session) -> None:
    open_ = x.add_user("open", "Open Person")
    closed = x.add_user("closed", "Closed Person", accepts_dms=False)
    blocker = x.add_user("blocker", "Blocker")
    x.block_us(blocker)

    def send(pid: str, text: str = "hello") -> requests.Response:
        return http.post(f"{x.url}/2/dm_conversations/with/{pid}/messages", json={"text": text})

    ok = send(open_)
    assert ok.status_code == 201
    low, high = sorted((open_, x.me), key=int)
    assert ok.json()["data"]["dm_conversation_id"] == f"{low}-{high}"
    refused = send(closed)
    assert refused.status_code == 403 and "not following you" in refused.json()["detail"]
    assert send(blocker).json()["detail"] == "You cannot send messages to this user."
    assert send("999999").status_code == 404
    assert send(open_, "").status_code == 400
    assert send(open_, "x" * 10_001).status_code == 400
    x.incoming_dm(closed, "hi, please answer here")  # a person who wrote to us may be answered
    assert send(closed, "answer").status_code == 201
    assert [d["text"] for d in x.delivered_to(open_)] == ["hello"]
    assert [d["text"] for d in x.delivered_to(closed)] == ["answer"]
    status = http.get(
        x.url + "/2/users", params={"ids": f"{open_},{closed},{blocker}", "user.fields": "receives_your_dm"}
    ).json()["data"]
    assert [u["receives_your_dm"] for u in status] == [True, True, False]


def test_rate_window_429_and_reset_on_the_injected_clock(
    x: XSandbox, http: requests.Session, clock: FakeClock
) -> None:
    x.limits["users_me"] = 2
    assert [http.get(x.url + "/2/users/me").status_code for _ in range(3)] == [200, 200, 429]
    limited = http.get(x.url + "/2/users/me")
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert limited.json()["title"] == "Too Many Requests"
    clock.now = float(limited.headers["x-rate-limit-reset"])
    assert http.get(x.url + "/2/users/me").status_code == 200


def test_dm_event_pages_newest_first_with_tokens(x: XSandbox, http: requests.Session) -> None:
    peer = x.add_user("peer", "Peer")
    ids = [x.incoming_dm(peer, f"m{i}") for i in range(5)]
    page1 = http.get(
        x.url + "/2/dm_events",
        params={"max_results": 2, "dm_event.fields": "sender_id,created_at", "expansions": "sender_id"},
    ).json()
    assert [e["id"] for e in page1["data"]] == [ids[4], ids[3]]
    assert page1["includes"]["users"][0]["id"] == peer
    assert len(page1["meta"]["next_token"]) >= 16
    page2 = http.get(
        x.url + "/2/dm_events", params={"max_results": 2, "pagination_token": page1["meta"]["next_token"]}
    ).json()
    assert [e["id"] for e in page2["data"]] == [ids[2], ids[1]]
    empty = http.get(f"{x.url}/2/dm_conversations/with/{x.add_user('other', 'Other')}/dm_events").json()
    assert empty == {"meta": {"result_count": 0}}
    assert http.get(x.url + "/2/dm_events", params={"pagination_token": "short"}).status_code == 400


def test_tweets_are_recorded_so_tests_can_prove_none_was_posted(x: XSandbox, http: requests.Session) -> None:
    assert http.post(x.url + "/2/tweets", json={"text": "@jack hi"}).status_code == 201
    assert x.tweets == [{"path": "/2/tweets", "body": '{"text": "@jack hi"}'}]
    x.tweets.clear()  # the fixture asserts it is empty at teardown


def test_validator_rejects_what_the_spec_forbids() -> None:
    # Negative controls: without them a validator that accepts everything would pass every test.
    assert validate_response("GET", "/2/users/me", 200, "application/json", {"data": {"id": "1"}})
    assert validate_response(
        "POST",
        "/2/dm_conversations/with/1/messages",
        201,
        "application/json",
        {"data": {"dm_conversation_id": "1-2"}},
    )
    assert validate_response("GET", "/2/dm_events", 200, "application/json", {"data": [{"id": "1"}]})
    assert validate_response("GET", "/2/users/me", 401, "application/problem+json", {"type": "nope"})
    assert validate_request_body("POST", "/2/dm_conversations/with/1/messages", {"text": "x", "extra": 1})
    assert not validate_schema(
        {"$ref": "#/components/schemas/UserEntities"}, {"description": {"urls": None}}
    )  # nullable handled
