"""A job's report of vtiger's health: the shared request counter must not let one job clear a failure
another job saw while it ran (the start-up import used to flip a fresh CRM outage back to "ok")."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

from bridge.daemon.health import Health, State
from bridge.daemon.jobs import _vtiger_health
from vtiger_ws.errors import VtigerServerError


def _parts() -> Any:
    stats: Counter[str] = Counter()  # the vtiger client's request counter, which the gateway sums
    return SimpleNamespace(
        client=SimpleNamespace(stats=stats),
        health=Health(),
        crm=SimpleNamespace(requests_made=lambda: sum(stats.values())),
    )


def test_a_failure_seen_by_another_job_while_this_one_ran_is_kept() -> None:
    parts = _parts()
    parts.health.ok("vtiger")
    with _vtiger_health(parts, "x import"):  # makes no vtiger call itself
        parts.client.stats["retrieve"] += 1  # the event worker's call, which fails
        parts.health.failed("vtiger", VtigerServerError("vtiger retrieve 12x2: HTTP 500"))
    assert parts.health.state("vtiger") is State.ERROR


def test_a_job_started_after_the_failure_that_made_calls_clears_it() -> None:
    parts = _parts()
    parts.health.failed("vtiger", VtigerServerError("vtiger retrieve 12x2: HTTP 500"))
    with _vtiger_health(parts, "outbox"):
        parts.client.stats["create"] += 1  # this job's own successful call
    assert parts.health.state("vtiger") is State.OK
    with _vtiger_health(parts, "outbox"):
        pass  # no call: proves nothing either way
    assert parts.health.state("vtiger") is State.OK


def test_a_health_section_is_shown_as_given_and_never_shows_a_secret() -> None:
    health = Health(secrets=["tok-4f9a2b7c1d"])
    health.sections["url_index"] = lambda: {"state": "failed", "records": 3, "error": "401 tok-4f9a2b7c1d"}
    status, body = health.snapshot()
    assert status == 200  # what the index does is shown, not judged
    assert body["url_index"] == {"state": "failed", "records": 3, "error": "401 ***"}
