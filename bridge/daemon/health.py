"""Per-component health, in the spirit of mautrix's bridge states, shown on /healthz and by `status`.

Components: "vtiger" and one per enabled network. Each is OK, BAD_CREDENTIALS, RATE_LIMITED,
UNREACHABLE or ERROR, with the time of its last success and a short, secret-free reason.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bridge.config.secrets import mask
from bridge.crm import VtigerAuthError, VtigerConnectionError, VtigerError, VtigerProtocolError
from providers.errors import ProviderAuthError, ProviderError, ProviderRateLimited, ProviderUnavailable


class State(StrEnum):
    OK = "ok"
    STARTING = "starting"
    BAD_CREDENTIALS = "bad credentials"
    RATE_LIMITED = "rate limited"
    UNREACHABLE = "unreachable"
    ERROR = "error"


@dataclass
class ComponentHealth:
    state: State = State.STARTING
    reason: str = ""
    since: dt.datetime | None = None
    last_success: dt.datetime | None = None
    last_import: dt.datetime | None = None
    failures: int = 0  # how many failures were ever recorded (see `Health.ok(unless_failed_since=...)`)


def classify(exc: BaseException) -> State:
    """Which health state an error means."""
    if isinstance(exc, ProviderAuthError | VtigerAuthError):
        return State.BAD_CREDENTIALS
    if isinstance(exc, ProviderRateLimited):
        return State.RATE_LIMITED
    if isinstance(exc, ProviderUnavailable | VtigerConnectionError | VtigerProtocolError):
        return State.UNREACHABLE
    if isinstance(exc, ProviderError | VtigerError):
        return State.ERROR
    return State.ERROR


class Health:
    """Thread-safe registry of component states."""

    def __init__(
        self, secrets: list[str] | None = None, now: Callable[[], dt.datetime] | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._components: dict[str, ComponentHealth] = {}
        self._secrets = secrets or []
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.failed_jobs: dict[str, str] = {}
        # More parts of the body, shown as they are and not judged (e.g. "url_index": what the index does).
        self.sections: dict[str, Callable[[], dict[str, object]]] = {}
        # The long-poll streams' state (`StreamIntake.snapshot` per network), shown under "streams".
        self.streams: Callable[[], dict[str, dict[str, object]]] | None = None

    def add_secrets(self, secrets: list[str]) -> None:
        """Mask these too from now on (a reloaded configuration brought new tokens)."""
        with self._lock:
            self._secrets = sorted(set(self._secrets) | {s for s in secrets if s})

    def register(self, name: str) -> None:
        with self._lock:
            self._components.setdefault(name, ComponentHealth())

    def failure_count(self, name: str) -> int:
        with self._lock:
            return self._components.get(name, ComponentHealth()).failures

    def ok(self, name: str, *, imported: bool = False, unless_failed_since: int | None = None) -> None:
        """Mark `name` ok; with `unless_failed_since` (a `failure_count` taken earlier), only if no failure
        was recorded since: a job must not clear a failure another thread saw while it ran."""
        with self._lock:
            comp = self._components.setdefault(name, ComponentHealth())
            if unless_failed_since is not None and comp.failures != unless_failed_since:
                return
            now = self._now()
            if comp.state is not State.OK:
                comp.since = now
            comp.state, comp.reason, comp.last_success = State.OK, "", now
            if imported:
                comp.last_import = now

    def failed(self, name: str, exc: BaseException) -> State:
        state = classify(exc)
        with self._lock:
            comp = self._components.setdefault(name, ComponentHealth())
            if comp.state is not state:
                comp.since = self._now()
            comp.state = state
            comp.reason = mask(str(exc), self._secrets)[:300]
            comp.failures += 1
        return state

    def state(self, name: str) -> State:
        with self._lock:
            return self._components.get(name, ComponentHealth()).state

    def snapshot(self) -> tuple[int, dict[str, object]]:
        """(HTTP status, JSON body) for /healthz: 200 when every component is ok, else 503."""
        with self._lock:
            components = {
                name: {
                    "state": str(c.state),
                    "reason": c.reason,
                    "since": c.since.isoformat() if c.since else None,
                    "last_success": c.last_success.isoformat() if c.last_success else None,
                    "last_import": c.last_import.isoformat() if c.last_import else None,
                }
                for name, c in sorted(self._components.items())
            }
            # A component that has not been used since start-up is not a failure.
            healthy = all(c.state in (State.OK, State.STARTING) for c in self._components.values())
            jobs = dict(self.failed_jobs)
        body: dict[str, object] = {"status": "ok" if healthy else "degraded", "components": components}
        if jobs:
            body["failed_jobs"] = jobs
        for name, section in sorted(self.sections.items()):
            # Texts in a section may quote an error: no secret leaves through them either.
            body[name] = {
                k: mask(v, self._secrets) if isinstance(v, str) else v for k, v in section().items()
            }
        streams = self.streams() if self.streams is not None else {}
        if streams:
            # A stream's reason may quote an error: masked like the components.
            body["streams"] = {
                network: {k: mask(v, self._secrets) if isinstance(v, str) else v for k, v in state.items()}
                for network, state in streams.items()
            }
        return (200 if healthy else 503), body
