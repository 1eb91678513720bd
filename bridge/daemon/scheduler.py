"""APScheduler 3.x jobs, registered from config at every start with explicit ids.

`coalesce=True` and `max_instances=1` keep a slow CRM from stacking runs; a deliberate misfire grace
lets a late job still run. A job's failure is logged and shown in health; it never stops the daemon.
A network whose token is rejected gets its import job paused and a token-check job instead, which
resumes the import once the (renewed) token works.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.background import BackgroundScheduler

from bridge.daemon import jobs
from bridge.daemon.health import State
from bridge.daemon.wiring import Parts

log = logging.getLogger(__name__)

TOKEN_CHECK_MINUTES = 5.0


def import_job_id(network: str) -> str:
    return f"import_{network}"


class Scheduler:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        cfg = parts.config.jobs
        self._scheduler = BackgroundScheduler(
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": cfg.misfire_grace_seconds,
            },
            timezone="UTC",
        )
        self._scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_EXECUTED)
        self._scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self._lock = threading.Lock()
        # A wake-up for a job that is running would be skipped (max_instances=1): remember it and run
        # the job again as soon as the current run ends.
        self._running: set[str] = set()
        self._rerun: set[str] = set()

    def register(self) -> None:
        """(Re-)register every job from config; explicit ids + replace_existing make restarts idempotent."""
        parts, cfg = self.parts, self.parts.config
        add = self._scheduler.add_job
        for network in parts.providers:
            minutes = getattr(cfg.networks, network).imports.interval_minutes
            add(
                jobs.import_messages,
                "interval",
                minutes=minutes,
                args=[parts, network],
                id=import_job_id(network),
                name=f"import {network} messages",
                replace_existing=True,
            )
        add(
            jobs.refresh_index,
            "interval",
            minutes=cfg.jobs.index_refresh_minutes,
            args=[parts],
            id="index",
            name="URL index refresh",
            replace_existing=True,
        )
        add(
            jobs.prune_state,
            "interval",
            hours=1,
            args=[parts],
            id="prune",
            name="state file retention",
            replace_existing=True,
        )
        add(
            jobs.refresh_index,
            "interval",
            hours=24,
            args=[parts, True],
            id="index_full",
            name="URL index rebuild",
            replace_existing=True,
        )

    def start(self) -> None:
        self.register()
        self._scheduler.start()

    def wake(self, job_id: str) -> None:
        """Run a job now (e.g. an import right after start); if it is running, once more after it."""
        with self._lock:
            if job_id in self._running:
                self._rerun.add(job_id)
                return
        self._run_now(job_id)

    def _run_now(self, job_id: str) -> None:
        if not self._scheduler.running:  # stopping: APScheduler's shutdown holds its job store lock
            return
        job = self._scheduler.get_job(job_id)
        if job is not None and job.next_run_time is not None:  # None: paused
            job.modify(next_run_time=datetime.now(UTC))
            self._scheduler.wakeup()

    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        with self._lock:
            self._running.add(event.job_id)

    def shutdown(self, wait: bool) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)

    def set_interval(self, job_id: str, **interval: float) -> None:
        """Change an interval job's period (configuration reload); a paused job stays paused."""
        from apscheduler.triggers.interval import IntervalTrigger

        job = self._scheduler.get_job(job_id)
        if job is None:
            return
        trigger = IntervalTrigger(timezone=UTC, **interval)
        if job.next_run_time is None:
            job.modify(trigger=trigger)
        else:
            job.reschedule(trigger)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def is_paused(self, job_id: str) -> bool:
        job = self._scheduler.get_job(job_id)
        return job is not None and job.next_run_time is None

    # --- failures ----------------------------------------------------------------------------------
    def _on_event(self, event: JobExecutionEvent) -> None:
        job_id = event.job_id
        with self._lock:
            self._running.discard(job_id)
            again = job_id in self._rerun
            self._rerun.discard(job_id)
        if again:
            # Not on this thread: it is an executor worker, and APScheduler's shutdown holds the job store
            # lock (which `get_job` needs) while it waits for the workers to finish: a deadlock otherwise.
            threading.Thread(
                target=self._run_now, args=(job_id,), name=f"rerun-{job_id}", daemon=True
            ).start()
        health = self.parts.health
        if event.exception is None:
            health.failed_jobs.pop(job_id, None)
            return
        self.parts.metrics.job_failures.labels(job_id).inc()
        health.failed_jobs[job_id] = type(event.exception).__name__
        network = job_id.removeprefix("import_") if job_id.startswith("import_") else None
        if network and health.state(network) is State.BAD_CREDENTIALS:
            self._pause_for_token(network)
        elif event.exception is not None and not _expected(event.exception):
            log.error(
                "job %s crashed; it will run again at its next time",
                job_id,
                exc_info=(type(event.exception), event.exception, event.traceback),
            )

    def _pause_for_token(self, network: str) -> None:
        with self._lock:
            if self.is_paused(import_job_id(network)):
                return
            self._scheduler.pause_job(import_job_id(network))
            self._scheduler.add_job(
                self._check_token,
                "interval",
                minutes=TOKEN_CHECK_MINUTES,
                args=[network],
                id=f"token_check_{network}",
                replace_existing=True,
            )

    def _check_token(self, network: str) -> None:
        if jobs.check_token(self.parts, network):
            with self._lock:
                self._scheduler.remove_job(f"token_check_{network}")
                self._scheduler.resume_job(import_job_id(network))
            self.wake(import_job_id(network))  # takes the lock itself


def _expected(exc: Any) -> bool:
    from bridge.crm import VtigerError
    from providers.errors import ProviderError

    return isinstance(exc, ProviderError | VtigerError)
