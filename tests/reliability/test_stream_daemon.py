"""The daemon (a real process) reading VK by long polling: messages in the CRM as they arrive, kill -9 in a
burst loses and doubles nothing, SIGTERM does not wait for a held poll, and idling costs one VK request per
`wait` and no vtiger request."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import requests

from tests.daemon.helpers import SECRET, Daemon, wait_for
from tests.reliability.helpers import Boxes, Tripwire

GENEROUS = 60.0  # seconds: a deadline for conditions under a loaded machine, never a measurement


def config(tmp: Path, boxes: Boxes, *, wait: int = 25, import_minutes: float = 60) -> Path:
    crm, vk = boxes.crm, boxes.vk
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}", timeout: 5}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        rate_limit: 1000, longpoll_wait: {wait}, imports: {{interval_minutes: {import_minutes}, limit: 200}}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{tmp / "state.sqlite3"}"}}
jobs: {{outbox_interval_seconds: 1, shutdown_grace_seconds: 10}}
"""
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def senders(boxes: Boxes, count: int) -> list[int]:
    uids = []
    for n in range(count):
        uid = boxes.vk.add_user("Stream", f"s{n}", screen_name=f"stream_s{n}")
        boxes.crm.seed(
            "Contacts",
            {"lastname": f"s{n}", "assigned_user_id": "19x1", "vk_url": f"https://vk.com/stream_s{n}"},
        )
        uids.append(uid)
    return uids


def recorded(boxes: Boxes) -> Counter[int]:
    return Counter(
        int(r["vk_message_id"]) for r in boxes.crm.records("SPSocialConnector") if r.get("vk_message_id")
    )


def streaming(daemon: Daemon, boxes: Boxes) -> None:
    """The daemon's stream holds a poll open (its start-up work is done)."""
    assert wait_for(lambda: boxes.vk.longpoll.waiting >= 1, timeout=GENEROUS), daemon.log


def test_messages_are_recorded_as_they_arrive_and_health_shows_the_stream(
    tmp_path: Path, boxes: Boxes
) -> None:
    uids = senders(boxes, 3)
    with Daemon(config(tmp_path, boxes)) as daemon:
        streaming(daemon, boxes)
        imports = boxes.vk.count("messages.getConversations")
        written = [boxes.vk.incoming(uid, f"привет {n}") for n, uid in enumerate(uids)]
        assert wait_for(lambda: recorded(boxes) == Counter(written), timeout=GENEROUS), daemon.log
        assert boxes.vk.count("messages.getConversations") == imports  # not the hourly import's doing
        assert daemon.url is not None
        health = requests.get(f"{daemon.url}/healthz", timeout=10).json()
        stream = health["streams"]["vk"]
        assert stream["state"] in ("polling", "recording") and stream["created"] == 3
        metrics = requests.get(f"{daemon.url}/metrics", timeout=10).text
        assert 'bridge_stream_created_total{network="vk"} 3.0' in metrics
        assert 'bridge_provider_requests_total{method="a_check",network="vk"}' in metrics
        assert "long polling (held up to 25 s)" in daemon.log
        assert boxes.vk.community_token not in daemon.log
        daemon.terminate()


def test_sigterm_does_not_wait_for_a_held_poll(tmp_path: Path, boxes: Boxes) -> None:
    with Daemon(config(tmp_path, boxes, wait=90)) as daemon:
        streaming(daemon, boxes)
        started = time.monotonic()
        assert daemon.terminate() == 0
        took = time.monotonic() - started
    # the poll is held for up to 90 s; the daemon's own part of stopping is ~1 s, the bound is generous
    assert took < 15, f"stopping took {took:.1f} s"
    assert "stopped" in daemon.log


def test_idle_costs_one_vk_request_per_wait_and_no_vtiger_request(tmp_path: Path, boxes: Boxes) -> None:
    wait = 2
    with Daemon(config(tmp_path, boxes, wait=wait)) as daemon:
        streaming(daemon, boxes)
        assert wait_for(lambda: boxes.vk.count("a_check") >= 3, timeout=GENEROUS)  # settled into idling
        vk_before, crm_before = Counter(boxes.vk.counters), boxes.crm.count()
        periods = 4
        time.sleep(periods * wait)  # the measurement window itself, not a wait for a condition
        vk_during = Counter(boxes.vk.counters) - vk_before
        crm_during = boxes.crm.count() - crm_before
        daemon.terminate()
    assert set(vk_during) <= {"a_check"}, vk_during
    assert 1 <= vk_during["a_check"] <= periods + 1  # one held poll per `wait` (plus the one under way)
    assert crm_during == 0


def test_kill_9_during_a_burst_loses_nothing_and_records_nothing_twice(tmp_path: Path, boxes: Boxes) -> None:
    uids = senders(boxes, 10)
    tripwire = Tripwire(boxes)
    path = config(tmp_path, boxes)
    written: list[int] = []
    daemon = Daemon(path)
    try:
        for round_ in range(2):
            streaming(daemon, boxes)
            # killed right after vtiger created a record the daemon never hears of (the worst moment)
            fired = tripwire.arm(daemon.pid, 7, after=True, ops={"vtiger:create"})
            written += [boxes.vk.incoming(uids[n % 10], f"burst {round_}.{n}") for n in range(30)]
            assert fired.wait(GENEROUS), daemon.log
            daemon.proc.wait(timeout=GENEROUS)
            daemon.close()
            written += [boxes.vk.incoming(uids[n % 10], f"while down {round_}.{n}") for n in range(5)]
            daemon = Daemon(path)
        assert wait_for(lambda: set(recorded(boxes)) >= set(written), timeout=GENEROUS), daemon.log
        daemon.terminate()
    finally:
        daemon.close()
    counts = recorded(boxes)
    assert sorted(counts) == sorted(written)  # 0 lost
    assert [m for m, n in counts.items() if n > 1] == []  # 0 duplicates
