"""Prometheus metrics on a private registry: what the bridge did, how deep the outbox is, how many
requests it made to vtiger and each network. Counters of requests are read from the clients' own
`stats` at scrape time, so nothing is counted twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bridge.store import KeyValues, Outbox


class _Live(Collector):
    def __init__(self, read: Callable[[], Iterator[Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Any]:
        yield from self._read()


SEND_COUNTER_PREFIX = "metrics.sends."


def count_send(kv: KeyValues, network: str, error: Exception | None) -> None:
    """Count one delivery attempt's outcome in the state store, so sends made by a CLI command show up in
    the daemon's /metrics too (both processes share the store; a process-local counter would not)."""
    outcome = "sent" if error is None else type(error).__name__
    kv.increment(f"{SEND_COUNTER_PREFIX}{network}.{outcome}")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.webhook_requests = Counter(
            "bridge_webhook_requests_total",
            "Calls to the webhook's events endpoint (and refused calls elsewhere) by outcome: accepted, "
            "duplicate, or the refusal's code (bad_signature, stale_timestamp, invalid_event, ...)",
            ["outcome"],
            registry=self.registry,
        )
        self.imports = Counter(
            "bridge_imported_messages_total",
            "Messages imported per network and outcome",
            ["network", "outcome"],
            registry=self.registry,
        )
        self.job_seconds = Histogram(
            "bridge_job_duration_seconds",
            "Duration of scheduled jobs",
            ["job"],
            registry=self.registry,
        )
        self.job_failures = Counter(
            "bridge_job_failures_total", "Scheduled jobs that raised", ["job"], registry=self.registry
        )

    def watch(
        self,
        *,
        outbox: Outbox,
        kv: KeyValues,
        vtiger_stats: Callable[[], Mapping[str, int]],
        provider_stats: Mapping[str, Callable[[], Mapping[str, int]]],
        now: Callable[[], dt.datetime],
        health: Callable[[], tuple[int, dict[str, Any]]] | None = None,
        streams: Callable[[], Mapping[str, Mapping[str, Any]]] | None = None,
    ) -> None:
        """Expose live values (outbox depth/age, send and request counters, health) read at scrape time."""

        def read() -> Iterator[Any]:
            sends = CounterMetricFamily(
                "bridge_sends",
                "Delivery attempts per network and outcome (daemon and CLI together)",
                labels=["network", "outcome"],
            )
            for key, count in sorted(kv.items(SEND_COUNTER_PREFIX).items()):
                network, _, outcome = key[len(SEND_COUNTER_PREFIX) :].partition(".")
                sends.add_metric([network, outcome], int(count))
            yield sends
            if health is not None:
                up = GaugeMetricFamily(
                    "bridge_component_healthy",
                    "1 when the component (vtiger, each network) works, 0 when it fails; `state` says how",
                    labels=["component", "state"],
                )
                for name, comp in health()[1]["components"].items():
                    up.add_metric([name, comp["state"]], 1.0 if comp["state"] in ("ok", "starting") else 0.0)
                yield up
            depth = GaugeMetricFamily("bridge_outbox_depth", "Sends not finished yet")
            depth.add_metric([], outbox.depth())
            yield depth
            age = outbox.oldest_pending_age(now())
            oldest = GaugeMetricFamily(
                "bridge_outbox_oldest_age_seconds", "Age of the oldest unfinished send"
            )
            oldest.add_metric([], age.total_seconds() if age else 0.0)
            yield oldest
            vt = CounterMetricFamily(
                "bridge_vtiger_requests", "HTTP requests to vtiger", labels=["operation"]
            )
            for operation, count in sorted(vtiger_stats().items()):
                vt.add_metric([operation], count)
            yield vt
            pr = CounterMetricFamily(
                "bridge_provider_requests", "HTTP requests to the networks", labels=["network", "method"]
            )
            for network, stats in sorted(provider_stats.items()):
                for method, count in sorted(stats().items()):
                    pr.add_metric([network, method], count)
            yield pr
            if streams is not None:
                yield from _stream_metrics(streams())

        self.registry.register(_Live(read))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _stream_metrics(streams: Mapping[str, Mapping[str, Any]]) -> Iterator[Any]:
    """The long-poll streams (bridge/services/stream.py): state, polls, messages, failures."""
    state = GaugeMetricFamily(
        "bridge_stream_state",
        "1 for the state each network's long-poll stream is in (polling, recording, backing off, conflict)",
        labels=["network", "state"],
    )
    counts = {
        "polls": "Long polls answered and stored",
        "messages": "Messages the stream handed to the intake (recorded, or known already)",
        "created": "CRM records the stream created",
        "failures": "Long polls or recordings that failed",
        "missed": "Times the network said updates may be lost (the scheduled import was woken)",
    }
    families = {
        key: CounterMetricFamily(f"bridge_stream_{key}", text, labels=["network"])
        for key, text in counts.items()
    }
    for network, snap in sorted(streams.items()):
        state.add_metric([network, str(snap["state"])], 1.0)
        for key, family in families.items():
            family.add_metric([network], float(snap[key]))
    yield state
    yield from families.values()
