"""Prometheus metrics, served by `web` at `GET /metrics` (`prometheus-client`).

Every label is a kind, never a person or a customer: the way in (`command`, `dm`, `click`, …), an outcome, a
Capillary endpoint as a template (`v2/customers/{id}/coupons`), an HTTP status. With several processes on one host
(`WEB_CONCURRENCY`, workers beside `web`), set `PROMETHEUS_MULTIPROC_DIR` to an empty directory they share:
prometheus-client's multiprocess mode then adds up every process's figures in each scrape. `COUPONS_METRICS=0`
turns the endpoint off.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_ID = re.compile(r"/[0-9]+(?=/|$)")

REQUESTS = Counter("coupons_requests_total", "Requests answered, by the way in and how it ended", ["action", "outcome"])
ANSWER_SECONDS = Histogram(
    "coupons_answer_seconds", "From starting a lookup to its answer being ready", ["action"], buckets=_SECONDS
)
ACK_SECONDS = Histogram("coupons_ack_seconds", "Slack's request in → the ack out, in web", buckets=_SECONDS)
CACHE = Counter("coupons_cache_lookups_total", "Lookups served from the cache or fetched", ["result"])
CAPILLARY_CALLS = Counter(
    "coupons_capillary_requests_total", "Requests sent to Capillary, by endpoint and status", ["endpoint", "status"]
)
CAPILLARY_SECONDS = Histogram(
    "coupons_capillary_seconds", "Capillary's time to answer (headers)", ["endpoint"], buckets=_SECONDS
)
QUEUE_DEPTH = Gauge("coupons_queue_depth", "Jobs waiting in the task queue", multiprocess_mode="max")
LIVE_WORKERS = Gauge("coupons_live_workers", "Worker processes beating", multiprocess_mode="max")
LOG_LINES_DROPPED = Gauge(
    "coupons_log_lines_dropped", "Log and audit lines dropped while the output was blocked", multiprocess_mode="sum"
)


def endpoint(path: str) -> str:
    """A Capillary path as a label: customer IDs and other numbers replaced, so no label names a customer."""
    return _ID.sub("/{id}", "/" + path.split("?", 1)[0].lstrip("/"))[1:]


def observe_audit(action: str, outcome: str, *, cache: str | None, duration_ms: int | None) -> None:
    """One request answered (called with each audit line)."""
    REQUESTS.labels(action=action, outcome=outcome).inc()
    if cache is not None:
        CACHE.labels(result=cache).inc()
    if duration_ms is not None:
        ANSWER_SECONDS.labels(action=action).observe(duration_ms / 1000)


def observe_capillary(path: str, status: int | str, seconds: float | None) -> None:
    label = endpoint(path)
    CAPILLARY_CALLS.labels(endpoint=label, status=str(status)).inc()
    if seconds is not None:
        CAPILLARY_SECONDS.labels(endpoint=label).observe(seconds)


def scrape(before: Callable[[], None] | None = None) -> bytes:
    """The text a scrape gets: this process's figures, or every process's in multiprocess mode."""
    if before is not None:
        before()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
