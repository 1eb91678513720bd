"""Sessions: re-login on expiry, the once-only retry limit, and logins serialized across threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import vtiger_ws
from sandbox._http import Response
from vtiger_ws import VtigerClient
from vtiger_ws.client import LOGIN_ATTEMPTS, LOGIN_RETRY_PAUSE

from .conftest import make_client


def _envelope(code: str, message: str = "m") -> Any:
    return lambda request: Response.json({"success": False, "error": {"code": code, "message": message}})


def test_expired_session_is_renewed_and_the_call_retried(crm: Any, client: VtigerClient) -> None:
    client.listtypes()
    crm.expire_sessions()
    assert client.describe("Contacts").name == "Contacts"
    assert (crm.count("describe"), crm.count("login"), client.logins) == (2, 2, 2)
    # the re-login did not carry the stale session (webservice.php would refuse it)
    for request in crm.requests:
        if request.operation in ("getchallenge", "login"):
            assert "sessionName" not in request.query and "sessionName" not in request.form


@pytest.mark.parametrize(
    "code", ["INVALID_SESSIONID", "SESSION_EXPIRED", "SESSION_LEFT_IDLE", "AUTHENTICATION_REQUIRED"]
)
def test_each_session_code_triggers_one_relogin(crm: Any, client: VtigerClient, code: str) -> None:
    client.listtypes()
    crm.faults.custom(_envelope(code), operation="query", times=1)
    assert client.query("SELECT id FROM Contacts;") == []
    assert (crm.count("query"), client.logins) == (2, 2)


def test_retry_is_limited_to_once(crm: Any, client: VtigerClient) -> None:
    client.listtypes()
    # finite, so a client without the limit fails this test (the 6th query succeeds) instead of hanging
    crm.faults.custom(_envelope("INVALID_SESSIONID"), operation="query", times=5)
    with pytest.raises(vtiger_ws.VtigerSessionExpired, match="query"):
        client.query("SELECT id FROM Contacts;")
    assert (crm.count("query"), crm.count("login"), client.logins) == (2, 2, 2)


def test_no_loop_when_login_itself_fails_after_expiry(crm: Any) -> None:
    pauses: list[float] = []
    with make_client(crm, sleep=pauses.append) as client:
        client.listtypes()
        crm.expire_sessions()
        crm.faults.custom(_envelope("INVALID_USER_CREDENTIALS"), operation="login", times=None)
        with pytest.raises(vtiger_ws.VtigerCredentialsError, match="login"):
            client.listtypes()
    # One relogin for the expiry, made of LOGIN_ATTEMPTS challenge rounds (a refusal may be a concurrent
    # challenge), then raised: bounded, no loop.
    assert (crm.count("listtypes"), crm.count("login")) == (2, 1 + LOGIN_ATTEMPTS)
    assert len(pauses) == LOGIN_ATTEMPTS - 1


def test_a_login_refused_because_of_a_concurrent_challenge_is_repeated(crm: Any) -> None:
    """Another client's getchallenge for the same user replaced our token: the next round succeeds."""
    pauses: list[float] = []
    with make_client(crm, sleep=pauses.append) as client:

        def stolen_token(request: Any) -> Any:
            crm.auth.challenge(crm.username)  # what the other client's getchallenge does on the server
            return None  # and our login then goes on to the server

        crm.faults.custom(stolen_token, operation="login", times=1)
        assert client.listtypes()
        assert (client.logins, client.login_retries) == (1, 1)
        # stats count every request sent, the lost round included
        assert (client.stats["getchallenge"], client.stats["login"]) == (2, 2)
        assert (crm.count("getchallenge"), crm.count("login")) == (2, 2)
    assert len(pauses) == 1 and 0 <= pauses[0] <= LOGIN_RETRY_PAUSE


@pytest.mark.parametrize("code", ["ACCESSKEY_UNDEFINED", "AUTHENTICATION_FAILURE"])
def test_a_refusal_no_race_explains_is_not_repeated(crm: Any, code: str) -> None:
    pauses: list[float] = []
    with make_client(crm, sleep=pauses.append) as client:
        crm.faults.custom(_envelope(code), operation="login", times=None)
        with pytest.raises(vtiger_ws.VtigerCredentialsError):
            client.login()
    assert (crm.count("login"), pauses) == (1, [])


def test_login_answering_a_session_code_is_not_retried(crm: Any, client: VtigerClient) -> None:
    crm.faults.custom(_envelope("INVALID_SESSIONID"), operation="login", times=None)
    with pytest.raises(vtiger_ws.VtigerSessionExpired):
        client.listtypes()
    assert (crm.count("login"), crm.count("listtypes")) == (1, 0)


def test_wrong_access_key(crm: Any) -> None:
    pauses: list[float] = []
    with VtigerClient(crm.url, crm.username, "0" * 16, timeout=5, sleep=pauses.append) as c:
        with pytest.raises(vtiger_ws.VtigerCredentialsError) as info:
            c.listtypes()
    assert info.value.code == "INVALID_USER_CREDENTIALS"
    assert "0" * 16 not in str(info.value)
    # vtiger answers a replaced challenge token exactly like a wrong key, so the round is repeated (with
    # growing, jittered pauses) before the error is raised.
    assert crm.count("getchallenge") == crm.count("login") == LOGIN_ATTEMPTS
    assert (c.logins, c.login_retries) == (0, LOGIN_ATTEMPTS - 1)
    assert len(pauses) == LOGIN_ATTEMPTS - 1
    assert all(0 <= p <= LOGIN_RETRY_PAUSE * 2**n for n, p in enumerate(pauses))


def test_unknown_user(crm: Any) -> None:
    with VtigerClient(crm.url, "nosuchuser", crm.access_key, timeout=5) as c:
        with pytest.raises(vtiger_ws.VtigerError) as info:
            c.login()
    # 7.x+: getchallenge refuses unknown users with ACCESS_DENIED "username does not exists"
    assert info.value.operation == "getchallenge"


def test_eight_threads_share_one_client_while_sessions_expire(crm: Any) -> None:
    client = make_client(crm)
    ids = [crm.seed("Contacts", {"lastname": f"T{i}", "assigned_user_id": "19x1"}) for i in range(8)]
    expirations = 0
    stop = threading.Event()
    failures: list[BaseException] = []
    progress = [0] * 8  # calls finished per thread

    def work(n: int) -> int:
        done = 0
        try:
            while not stop.is_set() or done < 10:
                record = client.retrieve(ids[n])
                assert record["id"] == ids[n]
                client.revise({"id": ids[n], "mobile": str(done)})
                done += 1
                progress[n] = done
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)
        return done

    with client, ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(work, n) for n in range(8)]
        # Expire five times, each time only once every thread has finished two calls since the last
        # expiry: a call is promised one re-login, so a second expiry must not land inside its retry
        # (on a loaded 2-core machine a thread can sleep through many of the others' calls).
        deadline = time.monotonic() + 60
        for _ in range(5):
            marks = list(progress)
            while any(p < m + 2 for p, m in zip(progress, marks, strict=True)) and not failures:
                if time.monotonic() > deadline:
                    break
                threading.Event().wait(0.002)
            crm.expire_sessions()
            expirations += 1
        stop.set()
        total = sum(f.result() for f in futures)

    assert not failures, failures[:3]
    assert total >= 80
    logins = crm.count("login")
    # each expiry costs at most one login: threads that waited on the lock reuse the new session
    assert 2 <= logins <= expirations + 1
    assert crm.count("getchallenge") == logins
    prelogin = [r.operation for r in crm.requests if r.operation in ("getchallenge", "login")]
    assert prelogin == ["getchallenge", "login"] * logins  # serialized, never interleaved


def test_session_garbage_collected_after_idle_time_is_renewed(crm: Any, client: VtigerClient) -> None:
    crm.set_time(crm.clock())
    client.listtypes()
    crm.advance(1500)  # past PHP's session.gc_maxlifetime (1440 s): the id is now unknown
    assert client.retrieve(client.create("Contacts", {"lastname": "x", "assigned_user_id": "19x1"})["id"])
    assert (crm.count("create"), client.logins) == (2, 2)
