"""The FastAPI application factory: routers, error handlers, and the lifespan that owns the runtime.

With the embedded defaults the lifespan also starts the arq worker inside the process, so one command gives a
working service; in production the API and ``alertsvc worker`` processes are separate.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from alertsvc import __version__
from alertsvc.api import (
    alerts,
    community,
    docs,
    health,
    hooks,
    metrics,
    priorities,
    problems,
    residents,
    sandbox,
    targeting,
    tips,
    webhooks,
)
from alertsvc.api.fast_callbacks import FastStatusCallbacks
from alertsvc.cap import Alert as CapAlert
from alertsvc.http.body_limit import BodyLimit
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.settings import Settings, get_settings
from alertsvc.web import console, feeds, landing, links, tiles, zones
from alertsvc.web import priorities as priority_pages
from alertsvc.web import residents as resident_pages
from alertsvc.web import tips as tip_pages
from alertsvc.web.headers import SecurityHeaders, security_headers
from alertsvc.web.too_large import too_large_page

log = logging.getLogger(__name__)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document: FastAPI's, completed with every answer each operation can give (problems, headers:
    ``alertsvc.api.openapi``), and the CAP JSON schema registered for the raw-body alert endpoint."""
    from alertsvc.api import openapi

    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    openapi.complete(schema, app.routes)
    cap_schema = CapAlert.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in cap_schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components["CapAlert"] = cap_schema
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the app. Tests pass a ready ``runtime``; ``serve`` lets the lifespan open one from settings."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_runtime = runtime is None
        active = runtime or await open_runtime(settings or get_settings())
        app.state.runtime = active
        worker_task: asyncio.Task[None] | None = None
        if own_runtime and active.settings.worker_in_process:
            from alertsvc.dispatch.worker import run_worker_in_process

            worker_task = asyncio.create_task(run_worker_in_process(active), name="arq-worker")
        # What exists once started (modules, routes, the runtime) lives as long as the process: out of the cycle
        # collector's sight, so that a full collection, triggered by a request that allocates much (a large area
        # parsed in a worker thread), walks only the new objects. It holds the GIL while it walks, and walking
        # everything stalled the event loop for a quarter of a second (docs/targeting.md, "Large areas").
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if worker_task is not None:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            if own_runtime:
                await active.close()

    app = FastAPI(
        title="alertsvc",
        version=__version__,
        description="Public-warning and community-safety alerts: CAP 1.2 in, geo-targeted SMS, e-mail and push out.",
        lifespan=lifespan,
        docs_url=None,  # alertsvc.api.docs serves /docs from vendored files (no CDN, no inline script)
        redoc_url=None,  # off: why in alertsvc.api.docs
    )
    if runtime is not None:
        app.state.runtime = runtime
    problems.install(app)
    app.add_middleware(BodyLimit, page=too_large_page)  # every body has a limit, counted as it is read (413)
    app.add_middleware(SecurityHeaders)  # CSP, nosniff, no framing, referrer policy on every answer
    # Outermost: signed Twilio status callbacks answered below FastAPI (their headers given here), the rest passed on
    app.add_middleware(FastStatusCallbacks, headers=security_headers)
    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(metrics.router)
    app.include_router(alerts.router)
    app.include_router(residents.router)
    app.include_router(targeting.router)
    app.include_router(community.router)
    app.include_router(priorities.router)
    app.include_router(tips.router)
    app.include_router(sandbox.router)
    app.include_router(hooks.router)
    app.include_router(webhooks.router)
    app.include_router(links.router)
    app.include_router(tiles.router)
    app.include_router(feeds.router)
    app.include_router(zones.router)
    app.include_router(priority_pages.router)
    app.include_router(tip_pages.router)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=console.STATIC_DIR), name="static")
    app.include_router(resident_pages.router)
    app.include_router(landing.router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
