"""The root of the application's error tree: what a domain package raises when a request cannot be served.

A domain package (``alerts``, ``residents``, ``security``, ``tracking`` ...) raises these and knows nothing of HTTP;
each entry side maps them once: :mod:`alertsvc.api.problems` to problem+json for other systems, the console's
route class (:mod:`alertsvc.web.console.route`) and the resident pages' (:mod:`alertsvc.web.pages`) to an HTML
page for people. So ``security`` no longer imports the API to refuse a request, and a page never answers JSON.

The tree as it stands (the errors not yet under :class:`AlertsvcError` are listed beside it, where they live today,
so the next ones to join are in sight)::

    AlertsvcError                base of the application's own errors
    ├── RateLimited              too many requests from one address; ``retry_after`` seconds (API 429 problem,
    │                            pages 429 page, both with ``Retry-After``)
    └── StartupRefused           a process must not start against what it found (a Redis that may evict keys,
        │                        a schema not its code's); the command line prints it on one line, exit code 2
        └── SchemaMismatch       (store.migrate) the database's schema is older or newer than the code

    not yet under the root:
    ValueError ── CapError (cap.errors), CapTimeError (cap.times), AreaError (geo.areas), BadToken (security.links),
                  AckRefused (tracking.acks), LifecycleError (alerts.service), WebhookUrlError (webhooks.targets)
    LookupError ── AlertNotFound (alerts.service)
    PermissionError ── CsrfError (security.csrf)
    Exception ── ImportFormatError (residents.formats); Problem (api.problems) and LoginRequired, ConsoleForbidden
                 (web.console.route), which are the entry sides' own answers rather than domain errors

The delivery adapters keep a tree of their own, drawn in :mod:`channels.base` (``ChannelError`` and its
``TransientError``, ``PermanentError`` and ``RateLimited``): ``channels`` imports nothing of ``alertsvc``.
"""

from __future__ import annotations

__all__ = ["AlertsvcError", "RateLimited", "StartupRefused"]


class AlertsvcError(Exception):
    """Base of the errors the application's domain packages raise; ``str()`` is safe to show to the caller."""


class RateLimited(AlertsvcError):
    """Too many requests from one client address; it may try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int, message: str = "too many requests; try again shortly") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StartupRefused(AlertsvcError):
    """A process must not start against what it found; ``str()`` is one line saying what and how to fix it."""
