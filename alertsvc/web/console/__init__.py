"""The dispatcher console under ``/console/``: server-rendered pages (Jinja2) with as little JavaScript as each
page needs, and every page usable without it.

Sign-in with signed session cookies and lock-out (:mod:`alertsvc.security.users`,
:mod:`alertsvc.security.sessions`), CSRF on every form (:mod:`alertsvc.security.csrf`), composing through the
API's own validation and lifecycle (:mod:`alertsvc.web.console.drafting`), approval by a second person, the live
view of a sent alert (:mod:`alertsvc.tracking.live`), and admin pages. ``app.py`` includes :data:`router` and
mounts :data:`STATIC_DIR` at ``/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from alertsvc.web.console import (
    address_routes,
    admin_routes,
    alert_routes,
    auth_routes,
    community_routes,
    compose_routes,
    density_routes,
    help_routes,
    results_routes,
    tips_routes,
)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
"""CSS, the console's small scripts, and vendored Leaflet + leaflet-draw (no CDN: closed networks)."""

router = APIRouter(prefix="/console", include_in_schema=False)
router.include_router(auth_routes.router)
router.include_router(compose_routes.router)  # before alert_routes: /alerts/new must not match /alerts/{id}
router.include_router(address_routes.router)
router.include_router(density_routes.router)
router.include_router(alert_routes.router)
router.include_router(results_routes.router)
router.include_router(help_routes.router)
router.include_router(tips_routes.router)
router.include_router(community_routes.router)
router.include_router(admin_routes.router)

__all__ = ["STATIC_DIR", "router"]
