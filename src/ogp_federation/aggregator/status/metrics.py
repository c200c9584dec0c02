"""Prometheus metrics of this aggregator process (each process exposes its own at /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """The aggregator's metrics in their own registry (no global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter("ogp_polls", "Polls by outcome.", ["outcome"], registry=self.registry)
        self.duration = Histogram(
            "ogp_poll_duration_seconds",
            "Duration of one poll.",
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.bytes = Counter("ogp_poll_bytes", "Bytes received from nodes.", registry=self.registry)
        self.queue_lag = Gauge("ogp_queue_lag_seconds", "How late the most overdue poll is.", registry=self.registry)
        self.pushes = Counter("ogp_pushes", "Push notices by outcome.", ["outcome"], registry=self.registry)
