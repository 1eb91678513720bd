"""A job asked to run again while it runs (a wake-up during the run, e.g. the VK stream asking for a catch-up
import) must not make its executor worker wait on APScheduler's job store lock: shutdown holds that lock
while it waits for the workers, so the daemon hung at exit (seen with SIGTERM right after start)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from apscheduler.events import EVENT_JOB_EXECUTED

from bridge.daemon.health import Health
from bridge.daemon.metrics import Metrics
from bridge.daemon.scheduler import Scheduler


def test_the_rerun_of_a_woken_job_never_waits_on_the_job_store_lock() -> None:
    parts = SimpleNamespace(config=SimpleNamespace(jobs=SimpleNamespace(misfire_grace_seconds=30)))
    parts.health, parts.metrics = Health(), Metrics()
    scheduler = Scheduler(parts)  # type: ignore[arg-type]
    aps = scheduler._scheduler
    running, release, after_ours = threading.Event(), threading.Event(), threading.Event()

    def job() -> None:
        running.set()
        release.wait(30)

    aps.add_job(job, "interval", minutes=60, id="import_vk")
    aps.add_listener(lambda event: after_ours.set(), EVENT_JOB_EXECUTED)  # runs after the scheduler's own
    aps.start()
    try:
        scheduler.wake("import_vk")
        assert running.wait(30)
        scheduler.wake("import_vk")  # asked again while it runs: it runs once more when this run ends
        with aps._jobstores_lock:  # as APScheduler's shutdown holds it while it waits for the workers
            release.set()
            assert after_ours.wait(10), "the executor worker waits on the job store lock"
    finally:
        release.set()
        aps.shutdown(wait=True)
