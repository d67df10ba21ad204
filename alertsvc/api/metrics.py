"""``GET /metrics``: this process's Prometheus metrics, for a scraper holding a ``metrics:read`` key.

Why behind a key: the API also serves residents' public pages, and alert volumes during an incident are not for
everyone; Prometheus sends the key as a bearer token (``authorization: {credentials: ...}`` in its scrape
config). What is served is counts and timings only, never an address.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from arq.constants import default_queue_name
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import generate_latest

from alertsvc.api.deps import require
from alertsvc.api.routing import ApiRoute
from alertsvc.http.deps import RuntimeDep
from alertsvc.metrics import QUEUED_JOBS, RECEIPTS_OVERDUE
from alertsvc.runtime import Runtime
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.tracking.pending import overdue_receipts

router = APIRouter(tags=["health"], route_class=ApiRoute)
QUEUE_READ_TIMEOUT = 2.0
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
"""What ``generate_latest`` writes: the text format every Prometheus reads (the library's own default answer)."""


async def _read_queue_depth(runtime: Runtime) -> None:
    """Set the queue gauges from Redis; NaN when Redis does not answer (the scrape itself still succeeds)."""
    ready_series, deferred_series = QUEUED_JOBS.labels("ready"), QUEUED_JOBS.labels("deferred")
    try:
        async with asyncio.timeout(QUEUE_READ_TIMEOUT):
            now_ms = int(time.time() * 1000)  # arq scores a job by the epoch milliseconds it is due at
            async with runtime.redis.pipeline(transaction=True) as pipe:  # one round trip, one consistent view
                pipe.zcount(default_queue_name, "-inf", now_ms)
                pipe.zcard(default_queue_name)
                ready, total = await pipe.execute()
    except Exception:
        ready_series.set(float("nan"))
        deferred_series.set(float("nan"))
        return
    ready_series.set(ready)
    deferred_series.set(total - ready)


async def _read_overdue_receipts(runtime: Runtime) -> None:
    """Set the overdue-receipt gauges from the database (every channel seen so far: 0 once none is overdue); NaN
    when the database does not answer in time (the scrape itself still succeeds)."""
    try:
        async with asyncio.timeout(QUEUE_READ_TIMEOUT):
            overdue = await overdue_receipts(runtime)
    except Exception:
        for channel in ("sms", "email", "push"):
            RECEIPTS_OVERDUE.labels(channel).set(float("nan"))
        return
    for channel in {"sms", "email", "push", *overdue}:
        RECEIPTS_OVERDUE.labels(channel).set(overdue.get(channel, 0))


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process: deliveries, send times, fan-outs, queue depth",
    response_class=Response,
    responses={
        200: {"content": {TEXT_FORMAT: {"schema": {"type": "string"}}}, "description": "Prometheus text format 0.0.4"}
    },
)
async def metrics(
    runtime: RuntimeDep, _principal: Annotated[Principal, Depends(require(Scope.METRICS_READ))]
) -> Response:
    await _read_queue_depth(runtime)
    await _read_overdue_receipts(runtime)
    return Response(generate_latest(), media_type=TEXT_FORMAT)
