"""Every request body has a size limit, per family of paths, enforced while it is read: past it, 413 at once.

Why a middleware and not a check in each route: a route that lets FastAPI or Starlette parse its body (a pydantic
model, ``request.form()``) never sees the bytes arrive, so a streamed 200 MB form used to be read into memory
before the route could refuse it. This one wraps ``receive``: it counts the bytes the application is given and,
the moment they pass the limit, stops handing any more over and answers 413 itself, whatever the application does
with the refusal. A ``Content-Length`` over the limit is refused before the application is called at all; one that
lies (smaller than the body) changes nothing, since the count is of the bytes actually read.

The numbers live in one table, :data:`LIMITS` (docs/limits.md says the same in prose); the longest matching prefix
decides. :func:`alertsvc.http.body.read_limited` stays for routes that read a raw body themselves and want a
tighter limit than their family's (one resident: 64 KiB).

The answer is a problem document (``application/problem+json``, with ``detail``) for machine clients, under
``/api/`` and ``/hooks/``, and a short page for people elsewhere, in their language, made by the ``page`` callable
the app gives (the pages' words live with the pages, in ``web/``, and this layer imports no ``web/``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ALERT",
    "FORM_BYTES",
    "IMPORT_BYTES",
    "JSON_BYTES",
    "LIMITS",
    "BodyLimit",
    "PageMaker",
    "answers_as_problem",
    "limit_for",
]

KIB: Final = 1024
MIB: Final = 1024 * KIB

ALERT: Final = -1
"""In :data:`LIMITS`: the ``max_alert_bytes`` setting (1 MiB by default), the size of one alert however sent."""
FORM_BYTES: Final = 64 * KIB
"""A form a person fills in, or a provider's callback: a few hundred bytes; 64 KiB leaves room for any of them."""
JSON_BYTES: Final = 1 * MIB
"""An API request body (a resident, a meeting, an area to preview, an all-clear)."""
IMPORT_BYTES: Final = 256 * MIB
"""A resident import is streamed and stored a thousand rows at a time, so it may be large: about a million rows.
Larger files go through ``alertsvc residents import FILE`` or in parts."""


@dataclass(frozen=True, slots=True)
class Limit:
    """The body limit of the paths starting with ``prefix``; ``ALERT`` for the ``max_alert_bytes`` setting."""

    prefix: str
    bytes: int
    why: str


LIMITS: Final[tuple[Limit, ...]] = (
    Limit("/api/v1/residents/import", IMPORT_BYTES, "resident import, streamed (NDJSON or CSV)"),
    Limit("/api/v1/alerts", ALERT, "an alert (CAP XML or JSON), an all-clear"),
    Limit("/api/", JSON_BYTES, "other API bodies: JSON (a resident, an area to preview, a meeting ...)"),
    Limit("/hooks/", FORM_BYTES, "provider callbacks (Twilio forms)"),
    Limit("/console/alerts/new", ALERT, "the console's compose form carries a whole alert and its area"),
    Limit("/console/compose/", ALERT, "the compose page's reach preview carries the area"),
    Limit("/console/", FORM_BYTES, "other console forms"),
    Limit("/a/", FORM_BYTES, "acknowledgement form"),
    Limit("/u/", FORM_BYTES, "unsubscribe form"),
    Limit("/r/", FORM_BYTES, "resident forms (sign-up, confirm, manage, tips, priorities)"),
    Limit("/", FORM_BYTES, "anything else (no other route reads a body)"),
)
"""The one table of body limits; the longest prefix that starts the path decides ("/" matches every path)."""

PROBLEM_PREFIXES: Final = ("/api/", "/hooks/")
"""Paths whose clients are programs: they get a problem document; people elsewhere get a page."""

PageMaker = Callable[[Scope, int], tuple[str, bytes]]
"""Makes the page for people: (scope, limit) to (content type, body)."""


def limit_for(path: str, max_alert_bytes: int) -> int:
    """The body limit of ``path``, in bytes."""
    chosen = max((limit for limit in LIMITS if path.startswith(limit.prefix)), key=lambda limit: len(limit.prefix))
    return max_alert_bytes if chosen.bytes == ALERT else chosen.bytes


def answers_as_problem(path: str) -> bool:
    """Whether a refusal on ``path`` is a problem document (else a page for people)."""
    return path.startswith(PROBLEM_PREFIXES)


def _too_large(limit: int) -> HTTPException:
    """What the wrapped ``receive`` raises once the body passes its limit (and on every later call): an
    ``HTTPException``, so that FastAPI's body parsing lets it through as it is rather than calling it a 400; the
    middleware answers 413 itself whatever the application makes of it."""
    return HTTPException(413, f"the body is larger than the {limit}-byte limit of this address")


def _max_alert_bytes(scope: Scope) -> int:
    """The ``max_alert_bytes`` setting of the app's runtime (the default before there is one)."""
    app: Any = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    settings = getattr(runtime, "settings", None)
    value = getattr(settings, "max_alert_bytes", None)
    return value if isinstance(value, int) else 1 * MIB


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length the client declared; -1 when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


def _plain_page(_scope: Scope, limit: int) -> tuple[str, bytes]:
    return "text/plain; charset=utf-8", f"The body is larger than the {limit}-byte limit of this address.\n".encode()


class BodyLimit:
    """Pure ASGI middleware: counts the body as the application reads it and answers 413 past the path's limit."""

    def __init__(self, app: ASGIApp, page: PageMaker | None = None) -> None:
        self.app = app
        self.page = page or _plain_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"], _max_alert_bytes(scope))
        declared = _declared_length(scope)
        if declared is not None and declared < 0:
            await self._answer(scope, send, 400, "Content-Length is not a number", limit)
            return
        if declared is not None and declared > limit:
            await self._answer(scope, send, 413, _too_large(limit).detail, limit)
            return
        received = 0
        over = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, over
            if over:  # never read past the limit, however often the application asks
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _too_large(limit)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:  # the application's own answer to the refusal (a 400, a 500 ...) gives way to ours
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._answer(scope, send, 413, _too_large(limit).detail, limit)

    async def _answer(self, scope: Scope, send: Send, status: int, detail: str, limit: int) -> None:
        if answers_as_problem(scope["path"]):
            title = "Content Too Large" if status == 413 else "Bad Request"
            document = {"type": "about:blank", "title": title, "status": status, "detail": detail, "errors": []}
            content_type, body = "application/problem+json", json.dumps(document).encode()
        else:
            content_type, body = self.page(scope, limit)
        await _send(send, status, content_type, body)


async def _send(send: Callable[[Message], Awaitable[None]], status: int, content_type: str, body: bytes) -> None:
    """The whole answer; ``Connection: close``, since the rest of the body was never read."""
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
