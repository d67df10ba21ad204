"""Prometheus metrics of the delivery pipeline: what an operator watches while a fan-out runs.

During an incident the questions are "is it going out, how fast, and is a provider failing us?": deliveries by
channel and result, how long each provider takes to accept a message, how long fan-outs take, and how much
work waits in the queue. Counted where the work is done, in the process that does it:

* the API process serves its own at ``GET /metrics`` (scope ``metrics:read``), with the queue's depth read from
  Redis at each scrape; on the embedded defaults its in-process worker counts into the same registry;
* an ``alertsvc worker`` process serves its own on ``ALERTSVC_WORKER_METRICS_ADDR`` (``host:port``), through
  ``prometheus_client``'s small HTTP server on a thread of its own, off the event loop.

Counts are added once per batch, not per message, and the send timer's labelled child is looked up once per
batch: the hot path pays one histogram observation a message (about a microsecond).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram, start_http_server

__all__ = [
    "DELIVERIES",
    "FANOUT_SECONDS",
    "PLANNED",
    "QUEUED_JOBS",
    "RECEIPTS_OVERDUE",
    "SEND_SECONDS",
    "count_deliveries",
    "parse_listen_address",
    "send_timer",
    "serve_worker_metrics",
]

DELIVERIES = Counter(
    "alertsvc_deliveries",
    "Delivery attempts recorded, by channel and result (sent, failed, undeliverable, retry).",
    ["channel", "result"],
)
SEND_SECONDS = Histogram(
    "alertsvc_send_seconds",
    "Time to render one message and have the provider accept or refuse it, by channel.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PLANNED = Counter(
    "alertsvc_deliveries_planned",
    "Deliveries planned by fan-outs, by channel (held and suppressed ones included).",
    ["channel"],
)
FANOUT_SECONDS = Histogram(
    "alertsvc_fanout_seconds",
    "Time one fan-out job took to target, plan and enqueue every delivery of an alert.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
QUEUED_JOBS = Gauge(
    "alertsvc_queued_jobs",
    "Jobs in the arq queue, read from Redis at scrape time: ready (due now) or deferred (retries, held work).",
    ["state"],
)

RECEIPTS_OVERDUE = Gauge(
    "alertsvc_receipts_overdue",
    "Deliveries sent longer than ALERTSVC_RECEIPT_OVERDUE_SECONDS ago without a final receipt from the provider, "
    "by channel, over the alerts of the last seven days; read from the database at scrape time (NaN: unreadable).",
    ["channel"],
)


def count_deliveries(channel: str, result: str, count: int) -> None:
    """Add ``count`` deliveries of one result (nothing for zero, so no empty series appear)."""
    if count:
        DELIVERIES.labels(channel, result).inc(count)


def send_timer(channel: str) -> Callable[[float], None]:
    """The ``observe`` of the channel's send histogram, resolved once for a batch."""
    return SEND_SECONDS.labels(channel).observe


def parse_listen_address(value: str) -> tuple[str, int]:
    """``host:port`` (``:port`` or ``[::1]:port`` too) → ``(host, port)``; ValueError if unusable."""
    host, colon, port_text = value.strip().rpartition(":")
    if not colon or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError("expected host:port with a port from 1 to 65535, e.g. 127.0.0.1:9101")
    host = host.removeprefix("[").removesuffix("]") or "0.0.0.0"  # noqa: S104 - ":port" means every interface
    return host, int(port_text)


def serve_worker_metrics(address: str) -> None:
    """Serve this process's metrics on ``address`` (``host:port``) from a daemon thread.

    ValueError (which the CLI prints as one line) when the address cannot be bound: a second worker on the same
    host given the same port must fail at start, plainly, not run without the metrics someone relies on.
    """
    host, port = parse_listen_address(address)
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        raise ValueError(f"cannot serve worker metrics on {address}: {exc.strerror or exc}") from exc
