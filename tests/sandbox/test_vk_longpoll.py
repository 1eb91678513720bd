"""The VK sandbox's Bots Long Poll server behaves as VK documents it (sandbox/vk/longpoll.py), over real
HTTP; every a_check answer it gives is checked against contracts/vk-longpoll at the end of each test."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.vk import VkSandbox
from tests.contracts_vk import validate_error
from tests.contracts_vk import validate_response as validate_vk_response
from tests.contracts_vk_longpoll import (
    CONTRACTS,
    answer_errors,
    validate_answer,
    validate_query,
    validate_response,
)
from tests.fakes import FakeClock

LONG = 60  # a `wait` no test should ever sit out: answers must come from events, knobs or shutdown


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vk(clock: FakeClock) -> Iterator[VkSandbox]:
    with VkSandbox(clock=clock, rate_limit=None) as sandbox:
        yield sandbox
        for body in sandbox.longpoll.answers:  # every answer the server gave, not only those asserted on
            validate_answer(body)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=32) as executor:
        yield executor


def api(
    http: requests.Session, vk: VkSandbox, method: str, token: str | None = None, **params: Any
) -> dict[str, Any]:
    params.setdefault("v", "5.199")
    response = http.post(
        vk.url + method,
        data=params,
        timeout=10,
        headers={"Authorization": f"Bearer {token or vk.community_token}"},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def lp_server(http: requests.Session, vk: VkSandbox) -> dict[str, str]:
    body = api(http, vk, "groups.getLongPollServer", group_id=vk.group_id)
    validate_response("groups.getLongPollServer", body)
    server: dict[str, str] = body["response"]
    return server


def a_check(
    server: str, key: str, ts: str | int, wait: int = 0, session: requests.Session | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"act": "a_check", "key": key, "ts": str(ts)}
    if wait:  # the contract allows 1..90 or none; none answers at once here (a sandbox choice)
        params["wait"] = wait
    validate_query(params)
    response = (session or requests).get(server, params=params, timeout=wait + 30)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    validate_answer(body)
    return body


def until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def held(vk: VkSandbox, count: int = 1) -> None:
    until(lambda: vk.longpoll.waiting >= count, f"{count} held long poll(s)")


def poll_in_background(
    pool: ThreadPoolExecutor, lp: dict[str, str], ts: str | int, wait: int = LONG
) -> Future[dict[str, Any]]:
    return pool.submit(a_check, lp["server"], lp["key"], ts, wait)


def message_events(vk: VkSandbox) -> list[dict[str, Any]]:
    return [u for u in vk.longpoll.queued() if u["type"] in ("message_new", "message_reply")]


# --- groups.getLongPollServer / settings -------------------------------------------------------------
def test_community_token_gets_server_key_and_ts(vk: VkSandbox, http: requests.Session) -> None:
    first, second = lp_server(http, vk), lp_server(http, vk)
    assert first["server"] == f"{vk.base_url}/whp/{vk.group_id}"
    assert first["ts"] == second["ts"] and first["key"] != second["key"]
    vk.add_user("Ivan", "Petrov", user_id=500)
    vk.incoming(500, "hi")
    assert int(lp_server(http, vk)["ts"]) == int(first["ts"]) + 1  # ts = the number of the last event
    # a_check needs no token and no `v`, and is not an API method
    assert a_check(first["server"], first["key"], first["ts"])["updates"][0]["type"] == "message_new"
    assert vk.count("a_check") == 1


def test_user_tokens_wrong_group_and_disabled_server_get_vk_errors(
    vk: VkSandbox, http: requests.Session
) -> None:
    def code(method: str, token: str | None = None, **params: Any) -> int:
        body = api(http, vk, method, token, **params)
        validate_error(body)
        return int(body["error"]["error_code"])

    assert code("groups.getLongPollServer", vk.user_token, group_id=vk.group_id) == 15
    assert code("groups.getLongPollServer", group_id=vk.group_id + 1) == 15
    assert code("groups.getLongPollServer") == 100
    other = vk.add_community("other_shop")
    assert code("groups.getLongPollServer", vk.add_token("group", other, {"messages"}), group_id=other) == 15
    messages_only = vk.add_token("group", vk.group_id, {"messages"})
    assert "response" in api(http, vk, "groups.getLongPollServer", messages_only, group_id=vk.group_id)
    assert code("groups.setLongPollSettings", messages_only, group_id=vk.group_id, enabled=0) == 15
    admin = vk.add_token("user", 1, {"manage", "messages"})
    assert "response" in api(http, vk, "groups.getLongPollServer", admin, group_id=vk.group_id)

    assert api(http, vk, "groups.setLongPollSettings", group_id=vk.group_id, enabled=0) == {"response": 1}
    body = api(http, vk, "groups.getLongPollServer", group_id=vk.group_id)
    validate_error(body)
    assert body["error"]["error_code"] == 100
    assert "longpoll for this group is not enabled" in body["error"]["error_msg"]
    settings = api(http, vk, "groups.getLongPollSettings", group_id=vk.group_id)
    validate_response("groups.getLongPollSettings", settings)
    assert settings["response"]["is_enabled"] is False
    assert settings["response"]["events"]["message_new"] == 1
    assert code("groups.setLongPollSettings", group_id=vk.group_id, api_version="six") == 100


def test_only_enabled_event_types_are_queued(vk: VkSandbox, http: requests.Session) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    api(http, vk, "groups.setLongPollSettings", group_id=vk.group_id, message_reply=0)
    vk.incoming(uid, "question")
    api(http, vk, "messages.send", peer_id=uid, message="answer", random_id=1)
    body = a_check(lp["server"], lp["key"], lp["ts"])
    assert [u["type"] for u in body["updates"]] == ["message_new"]
    history = api(http, vk, "messages.getHistory", peer_id=uid)["response"]
    assert history["count"] == 2  # the reply is in the mailbox all the same


# --- holding open, ts ----------------------------------------------------------------------------
def test_held_poll_answers_as_soon_as_an_event_arrives(
    vk: VkSandbox, http: requests.Session, pool: ThreadPoolExecutor
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    started = time.monotonic()
    poll = poll_in_background(pool, lp, lp["ts"])
    held(vk)
    assert not poll.done()  # nothing to answer yet: the request is held open
    message_id = vk.incoming(uid, "Здравствуйте, хочу уточнить заказ")
    body = poll.result(timeout=30)
    assert time.monotonic() - started < LONG / 2  # answered by the event, not by `wait`
    assert int(body["ts"]) == int(lp["ts"]) + 1
    [update] = body["updates"]
    assert update["type"] == "message_new" and update["group_id"] == vk.group_id and update["v"] == "5.199"
    message = update["object"]["message"]
    assert (message["id"], message["from_id"], message["peer_id"], message["out"]) == (
        message_id,
        uid,
        uid,
        0,
    )
    assert message["text"] == "Здравствуйте, хочу уточнить заказ"
    assert update["object"]["client_info"]["keyboard"] is True


def test_held_poll_answers_empty_when_wait_runs_out(vk: VkSandbox, http: requests.Session) -> None:
    lp = lp_server(http, vk)
    started = time.monotonic()
    assert a_check(lp["server"], lp["key"], lp["ts"], wait=1) == {"ts": lp["ts"], "updates": []}
    assert time.monotonic() - started >= 0.9
    assert a_check(lp["server"], lp["key"], lp["ts"]) == {"ts": lp["ts"], "updates": []}


def test_ts_gives_the_events_after_it_and_the_queue_waits_for_the_client(
    vk: VkSandbox, http: requests.Session
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    ids = [vk.incoming(uid, f"m{n}") for n in range(5)]
    everything = a_check(lp["server"], lp["key"], lp["ts"])  # the client was away: nothing is lost
    assert [u["object"]["message"]["id"] for u in everything["updates"]] == ids
    assert int(everything["ts"]) == int(lp["ts"]) + 5
    tail = a_check(lp["server"], lp["key"], int(lp["ts"]) + 3)
    assert [u["object"]["message"]["id"] for u in tail["updates"]] == ids[3:]
    assert a_check(lp["server"], lp["key"], everything["ts"])["updates"] == []

    vk.world.longpoll.batch_limit = 2  # more events than one answer carries: the rest come next
    seen, ts = [], lp["ts"]
    for _ in range(3):
        body = a_check(lp["server"], lp["key"], ts)
        seen += [u["object"]["message"]["id"] for u in body["updates"]]
        ts = body["ts"]
    assert seen == ids


# --- event types and consistency with the mailbox -------------------------------------------------
def test_replies_allow_and_deny_are_events(vk: VkSandbox, http: requests.Session) -> None:
    uid = vk.add_user("Ivan", "Petrov", allows_messages=False)
    lp = lp_server(http, vk)
    vk.allow_messages(uid, key="crm-lead-77")
    sent = api(http, vk, "messages.send", peer_id=uid, message="Добрый день!", random_id=918273645)[
        "response"
    ]
    again = api(http, vk, "messages.send", peer_id=uid, message="Добрый день!", random_id=918273645)
    assert again["response"] == sent  # random_id repeat: no second message, so no second event
    outside = vk.outgoing_outside(uid, "written in VK's own UI")
    vk.deny_messages(uid)
    refused = api(http, vk, "messages.send", peer_id=uid, message="still there?", random_id=2)
    assert refused["error"]["error_code"] == 901
    allowed = api(http, vk, "messages.isMessagesFromGroupAllowed", group_id=vk.group_id, user_id=uid)
    assert allowed["response"]["is_allowed"] == 0

    updates = a_check(lp["server"], lp["key"], lp["ts"])["updates"]
    assert [u["type"] for u in updates] == ["message_allow", "message_reply", "message_reply", "message_deny"]
    assert updates[0]["object"] == {"user_id": uid, "key": "crm-lead-77"}
    reply = updates[1]["object"]
    assert (reply["id"], reply["out"], reply["from_id"], reply["random_id"]) == (
        sent,
        1,
        -vk.group_id,
        918273645,
    )
    assert updates[2]["object"]["id"] == outside
    assert updates[3]["object"] == {"user_id": uid}


def test_every_message_is_one_event_with_the_object_get_history_shows(
    vk: VkSandbox, http: requests.Session
) -> None:
    people = [vk.add_user(f"User{n}", "Test") for n in range(3)]
    lp = lp_server(http, vk)
    for n, uid in enumerate(people):
        vk.incoming(uid, f"question {n}")
        api(http, vk, "messages.send", peer_id=uid, message=f"answer {n}", random_id=100 + n)
    code = f'return [API.messages.send({{"peer_id": {people[0]}, "message": "batched", "random_id": 7}})];'
    assert api(http, vk, "execute", code=code)["response"][0] > 0
    vk.outgoing_outside(people[1], "from the UI")

    events, ts = [], lp["ts"]
    while True:
        body = a_check(lp["server"], lp["key"], ts)
        if not body["updates"]:
            break
        events += body["updates"]
        ts = body["ts"]
    objects = {}
    for update in events:
        message = update["object"]["message"] if update["type"] == "message_new" else update["object"]
        assert update["type"] == ("message_reply" if message["out"] else "message_new")
        objects[message["id"]] = message
    assert len(objects) == len(events) == len(vk.world.messages) == 8
    assert len({u["event_id"] for u in events}) == len(events)

    for uid in people:
        history = api(http, vk, "messages.getHistory", peer_id=uid, count=200)
        validate_vk_response("messages.getHistory", history)
        for item in history["response"]["items"]:
            assert objects.pop(item["id"]) == item
    assert objects == {}
    conversations = api(http, vk, "messages.getConversations", count=200)["response"]["items"]
    last_event_of = {}
    for update in events:
        message = update["object"].get("message", update["object"])
        last_event_of[message["peer_id"]] = message
    assert {c["conversation"]["peer"]["id"]: c["last_message"] for c in conversations} == last_event_of


def test_api_version_before_5_103_sends_a_bare_message_which_the_contract_rejects(
    vk: VkSandbox, http: requests.Session
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    api(http, vk, "groups.setLongPollSettings", group_id=vk.group_id, api_version="5.92")
    vk.incoming(uid, "old format")
    response = requests.get(
        lp["server"], params={"act": "a_check", "key": lp["key"], "ts": lp["ts"]}, timeout=30
    ).json()
    [update] = response["updates"]
    assert update["v"] == "5.92" and update["object"]["text"] == "old format"
    assert answer_errors(response)  # a wrong api_version in the settings is caught by the schema
    vk.longpoll.answers.clear()  # this one answer is meant to fail the contract


# --- failures ---------------------------------------------------------------------------------------
def test_failed_1_history_lost_continue_from_the_new_ts(
    vk: VkSandbox, http: requests.Session, clock: FakeClock
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    ids = [vk.incoming(uid, f"m{n}") for n in range(3)]
    vk.longpoll.lose_history(keep=1)
    lost = a_check(lp["server"], lp["key"], lp["ts"])
    assert lost == {"failed": 1, "ts": int(lp["ts"]) + 2}
    rest = a_check(lp["server"], lp["key"], lost["ts"])
    assert [u["object"]["message"]["id"] for u in rest["updates"]] == ids[2:]
    # the documented recovery for the gap: the mailbox still has every message
    history = api(http, vk, "messages.getHistory", peer_id=uid, rev=1)["response"]["items"]
    assert [m["id"] for m in history] == ids

    # events older than the retention are gone the same way (the key has expired by then too)
    clock.now += vk.world.longpoll.retention + 1
    lp = dict(lp, key=lp_server(http, vk)["key"])
    assert a_check(lp["server"], lp["key"], lp["ts"]) == {"failed": 1, "ts": int(rest["ts"])}
    # a ts the server never gave (ahead of it) gets the current one
    assert a_check(lp["server"], lp["key"], int(rest["ts"]) + 50) == {"failed": 1, "ts": int(rest["ts"])}
    assert a_check(lp["server"], lp["key"], "not-a-number")["failed"] == 1


def test_failed_2_key_expired_get_a_new_key_and_keep_ts(
    vk: VkSandbox, http: requests.Session, clock: FakeClock
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    vk.world.longpoll.key_lifetime = 60
    lp = lp_server(http, vk)
    clock.now += 61
    first = vk.incoming(uid, "written while the key expired")
    assert a_check(lp["server"], lp["key"], lp["ts"]) == {"failed": 2}
    fresh = lp_server(http, vk)
    body = a_check(fresh["server"], fresh["key"], lp["ts"])  # the old ts: nothing is lost
    assert [u["object"]["message"]["id"] for u in body["updates"]] == [first]

    vk.longpoll.expire_keys()
    assert a_check(fresh["server"], fresh["key"], body["ts"]) == {"failed": 2}
    assert a_check(fresh["server"], "made-up-key", body["ts"]) == {"failed": 2}
    other_server = fresh["server"].rsplit("/", 1)[0] + f"/{vk.group_id + 1}"
    newest = lp_server(http, vk)
    assert a_check(other_server, newest["key"], body["ts"]) == {"failed": 2}
    assert a_check(newest["server"], newest["key"], body["ts"]) == {"ts": body["ts"], "updates": []}


def test_failed_3_restart_loses_state_get_a_new_key_and_ts(
    vk: VkSandbox, http: requests.Session, pool: ThreadPoolExecutor
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    before = [vk.incoming(uid, f"before the restart {n}") for n in range(3)]
    seen = a_check(lp["server"], lp["key"], lp["ts"])
    poll = poll_in_background(pool, lp, seen["ts"])
    held(vk)
    vk.longpoll.restart()
    with pytest.raises(requests.ConnectionError):
        poll.result(timeout=30)  # the held request is cut by the restart
    assert a_check(lp["server"], lp["key"], seen["ts"]) == {"failed": 3}

    fresh = lp_server(http, vk)
    after = vk.incoming(uid, "after the restart")
    # keeping the old ts with the new key: the server numbers events afresh, so that ts is ahead of it
    # (a client that ignores failed:3 loses events; the mailbox below is the catch-up)
    stale = a_check(fresh["server"], fresh["key"], seen["ts"])
    assert stale == {"failed": 1, "ts": int(fresh["ts"]) + 1}
    body = a_check(fresh["server"], fresh["key"], fresh["ts"])
    assert [u["object"]["message"]["id"] for u in body["updates"]] == [after]
    history = api(http, vk, "messages.getHistory", peer_id=uid, rev=1)["response"]["items"]
    assert [m["id"] for m in history] == [*before, after]  # the mailbox lost nothing


def test_event_id_is_repeated_when_an_event_is_sent_again(
    vk: VkSandbox, http: requests.Session, pool: ThreadPoolExecutor
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    vk.incoming(uid, "one")
    vk.incoming(uid, "two")
    first = a_check(lp["server"], lp["key"], lp["ts"])
    assert len({u["event_id"] for u in first["updates"]}) == 2
    vk.longpoll.repeat(first["updates"][0]["event_id"])
    again = a_check(lp["server"], lp["key"], first["ts"])
    assert again["updates"] == [first["updates"][0]]  # same event_id, same object, a later ts
    assert int(again["ts"]) == int(first["ts"]) + 1

    # a dropped answer: the client asks again with the same ts and gets the same events
    vk.longpoll.drop_next()
    poll = poll_in_background(pool, lp, again["ts"])
    held(vk)
    vk.incoming(uid, "three")
    with pytest.raises(requests.ConnectionError):
        poll.result(timeout=30)
    retry = a_check(lp["server"], lp["key"], again["ts"])
    assert [u["object"]["message"]["text"] for u in retry["updates"]] == ["three"]
    assert retry["updates"] == vk.longpoll.queued()[-1:]


def test_shared_fault_knobs_slow_and_cut_long_polls(vk: VkSandbox, http: requests.Session) -> None:
    lp = lp_server(http, vk)
    vk.faults.slow(1.0, operation="a_check", after=True, times=1)
    started = time.monotonic()
    assert a_check(lp["server"], lp["key"], lp["ts"])["updates"] == []
    assert time.monotonic() - started >= 0.9
    vk.faults.drop(operation="a_check")
    with pytest.raises(requests.ConnectionError):
        requests.get(lp["server"], params={"act": "a_check", "key": lp["key"], "ts": lp["ts"]}, timeout=30)
    assert a_check(lp["server"], lp["key"], lp["ts"])["updates"] == []
    assert requests.get(lp["server"], params={"act": "nope"}, timeout=30).status_code == 400


# --- concurrency and shutdown ---------------------------------------------------------------------
def test_many_held_polls_do_not_block_the_api(
    vk: VkSandbox, http: requests.Session, pool: ThreadPoolExecutor
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    lp = lp_server(http, vk)
    polls = [poll_in_background(pool, lp, lp["ts"]) for _ in range(20)]
    held(vk, 20)
    started = time.monotonic()
    sent = api(
        http, vk, "messages.send", peer_id=uid, message="answered while 20 polls are held", random_id=5
    )["response"]
    assert api(http, vk, "users.get", user_ids=str(uid))["response"][0]["id"] == uid
    assert time.monotonic() - started < LONG / 4  # promptly: not after any held `wait`
    for poll in polls:
        [update] = poll.result(timeout=30)["updates"]
        assert update["type"] == "message_reply" and update["object"]["id"] == sent


def test_stopping_the_sandbox_cuts_a_held_poll_at_once(clock: FakeClock, pool: ThreadPoolExecutor) -> None:
    vk = VkSandbox(clock=clock, rate_limit=None).start()
    with requests.Session() as http:
        lp = lp_server(http, vk)
    poll = poll_in_background(pool, lp, lp["ts"], wait=90)
    held(vk)
    started = time.monotonic()
    stopper = threading.Thread(target=vk.stop)
    stopper.start()
    stopper.join(timeout=30)
    assert not stopper.is_alive()
    with pytest.raises(requests.ConnectionError):
        poll.result(timeout=30)
    assert time.monotonic() - started < 30  # well before the 90 s `wait`


def test_the_copied_contract_checks_itself() -> None:
    script = CONTRACTS / "vk-longpoll" / "check_longpoll.py"
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=Path(script).parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("FAILURES: 0")
