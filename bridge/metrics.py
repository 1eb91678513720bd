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


class _Live(Collector):
    def __init__(self, read: Callable[[], Iterator[Any]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Any]:
        yield from self._read()


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sends = Counter(
            "bridge_sends_total",
            "Messages sent per network and outcome",
            ["network", "outcome"],
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
        store: Any,
        vtiger_stats: Callable[[], Mapping[str, int]],
        provider_stats: Mapping[str, Callable[[], Mapping[str, int]]],
        now: Callable[[], dt.datetime],
    ) -> None:
        """Expose live values (outbox depth/age, request counters) read at scrape time."""

        def read() -> Iterator[Any]:
            depth = GaugeMetricFamily("bridge_outbox_depth", "Sends not finished yet")
            depth.add_metric([], store.outbox_depth())
            yield depth
            age = store.oldest_pending_age(now())
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

        self.registry.register(_Live(read))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
