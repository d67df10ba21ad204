"""Twilio's status callbacks below FastAPI: a plain ASGI handler for ``POST /hooks/twilio/status`` in front of
the application, answering a signed, well-formed callback ``204`` once its receipt has committed.

Why: a large alert brings two or three callbacks a message, thousands a second from a few Twilio addresses, and
through FastAPI each cost the server 1,100-1,800 µs of CPU, three times ``/healthz``: routing and dependency
solving, the middleware chain, Starlette's request and response objects, for a form of a few hundred bytes and an
empty answer (bench/README.md, "The return path"). The receipt itself, group-committed by
:class:`alertsvc.tracking.callbacks.ReceiptBatcher`, costs a few tens of µs.

What it does is the route's, with the route's own pieces (:mod:`alertsvc.api.hooks`: :func:`form_media`,
:func:`parse_form`, :func:`signature_matches`, :func:`status_fields`, :func:`submit_twilio_status`), so the two
cannot drift apart:

* only ``POST`` to exactly ``/hooks/twilio/status`` with Twilio's form media type and a ``Content-Length`` within
  the path's body limit (:func:`alertsvc.http.body_limit.limit_for`: 64 KiB) is looked at; every other request
  goes to the application untouched, before anything is read;
* the body is read up to that limit, the form parsed, the signature checked over the public URL, the fields
  validated, the receipt submitted; ``204`` with the headers :class:`alertsvc.web.headers.SecurityHeaders` puts
  on every answer (given by the app: this layer imports no ``web/``), once its batch has committed;
* **anything it would refuse it hands over, body and all, to the application**: a body past the limit, a form
  that does not parse, a missing or wrong signature, a missing field, a receipt the database did not take. The
  documented route (still the one in ``/openapi.json``) then answers as it always has (413, 400, 403 with the
  per-address limit on forged requests, 422, 503), byte for byte, from one code path. A refusal costs what it
  did before; only the signed callbacks, nearly all of them, take the short way.

No per-address limit and no Redis on the signed path, as on the route. The access log's line for an answered
callback is dropped by :class:`alertsvc.logging_setup.QuietSuccess`; refusals are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alertsvc.api.hooks import form_media, parse_form, signature_matches, status_fields
from alertsvc.api.problems import Problem
from alertsvc.http.body_limit import limit_for
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.tracking.callbacks import submit_twilio_status

__all__ = ["STATUS_PATH", "FastPathCounts", "FastStatusCallbacks", "counts"]

log = logging.getLogger(__name__)

STATUS_PATH = "/hooks/twilio/status"
"""The one path served here (``alertsvc.api.hooks.router``'s ``/status``)."""

HeadersFor = Callable[[Settings | None], list[tuple[bytes, bytes]]]
"""Makes the headers every answer carries, from the app's settings (:func:`alertsvc.web.headers.security_headers`)."""


@dataclass
class FastPathCounts:
    """What the fast path did in this process: callbacks it answered itself, and requests it handed over to the
    application after reading them (refused ones, or a receipt that failed). Tests read it to prove which path
    answered."""

    served: int = 0
    handed_over: int = 0


counts = FastPathCounts()
"""This process's counts (every app of the process adds to them)."""


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` giving back the body messages already read, in order, then the connection's own."""
    pending = list(messages)

    async def replaying() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying


class FastStatusCallbacks:
    """Pure ASGI middleware, outermost: serves signed status callbacks itself, hands everything else over."""

    def __init__(self, app: ASGIApp, headers: HeadersFor) -> None:
        self.app = app
        self._headers_for = headers
        self._headers: list[tuple[bytes, bytes]] | None = None
        self._limit: int | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != STATUS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        runtime = _runtime_of(scope)
        signature, declared = _look_at_headers(scope["headers"])
        if runtime is None or signature is None or declared is None:
            await self.app(scope, receive, send)  # not Twilio's form, or no signature: the route says why
            return
        if self._limit is None:
            self._limit = limit_for(STATUS_PATH, runtime.settings.max_alert_bytes)
        if declared > self._limit:
            await self.app(scope, receive, send)  # the body limit answers 413 before anything is read
            return
        read: list[Message] = []
        body = await _read_within(receive, read, self._limit)
        if body is None or not await _recorded(runtime, scope, body, signature):
            counts.handed_over += 1
            await self.app(scope, _replay(read, receive), send)
            return
        counts.served += 1
        await send({"type": "http.response.start", "status": 204, "headers": self._answer_headers(runtime)})
        await send({"type": "http.response.body", "body": b""})

    def _answer_headers(self, runtime: Runtime) -> list[tuple[bytes, bytes]]:
        if self._headers is None:
            self._headers = self._headers_for(runtime.settings)
        return self._headers


async def _recorded(runtime: Runtime, scope: Scope, body: bytes, signature: str) -> bool:
    """Whether the callback in ``body`` was signed, well formed and recorded (committed); False leaves it to the
    route, which says what is wrong (or records it, if the database has come back meanwhile)."""
    try:
        form = parse_form(body)
        query = scope.get("query_string", b"").decode("latin-1")
        if not signature_matches(runtime.settings, STATUS_PATH, query, form, signature):
            return False
        sid, status, error_code = status_fields(form)
        await submit_twilio_status(runtime, sid, status, error_code)
    except Problem:
        return False  # the route answers it: 400, 422
    except Exception as exc:  # a receipt the database did not take
        # The class only, as the route's handlers log it: a driver's message can carry the parameters.
        log.warning("a status callback's receipt failed (%s): handed to the route", type(exc).__name__)
        return False
    return True


def _runtime_of(scope: Scope) -> Runtime | None:
    """The app's runtime, once its lifespan has opened one (before that, the application answers)."""
    app: Any = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    return runtime if isinstance(runtime, Runtime) else None


def _look_at_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, int | None]:
    """The signature and the declared length (0 when none is declared: the read still stops at the limit) of a
    request carrying Twilio's form; (None, None) for any other media type or a Content-Length that is not a number."""
    signature: str | None = None
    declared = 0
    is_form = False
    seen: set[bytes] = set()
    for name, value in headers:
        if name in seen:
            continue  # the first of a repeated header counts, as it does for Starlette and the body limit
        seen.add(name)
        if name == b"content-type":
            is_form = form_media(value.decode("latin-1"))
        elif name == b"x-twilio-signature":
            signature = value.decode("latin-1")
        elif name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit():
                return None, None
            declared = int(text)
    return (signature, declared) if is_form else (None, None)


async def _read_within(receive: Receive, read: list[Message], limit: int) -> bytes | None:
    """The whole body, each message kept in ``read`` (to be given back on a hand-over); None past ``limit`` (the
    application's body limit then answers 413) or when the client goes away."""
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return None
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in read)
