"""Security headers on every answer: a Content-Security-Policy, no MIME sniffing, no framing, and a referrer policy.

One pure ASGI middleware rather than headers set route by route, so a page added tomorrow (or an error page, a
redirect, a static file) carries them without anyone remembering to. A header a route set itself is left as it is.

- ``Content-Security-Policy``: scripts, styles, fonts and connections from this server only, and no inline script
  or style anywhere (every page's code is a file under ``/static``: the templates carry no ``<script>`` body, no
  ``on...=`` handler and no ``style=`` attribute). Images from this server, ``data:`` (Swagger UI's icons are
  ``data:`` URIs in its CSS) and exactly the origins the maps take tiles from
  (:func:`alertsvc.web.tiles.tile_origins`). Leaflet positions tiles and markers by setting ``element.style``
  properties from its script, which a policy without ``'unsafe-inline'`` allows (it governs ``style`` attributes
  in markup and ``<style>`` elements, not the CSS object model), so styles need no exception. ``object-src
  'none'`` (no plugins), ``base-uri 'none'`` (an injected ``<base>`` cannot re-point relative links),
  ``form-action 'self'`` (an injected form cannot post a password elsewhere), ``frame-ancestors 'none'``.
- ``X-Frame-Options: DENY`` as well, for browsers that predate ``frame-ancestors``: no page of this service is
  meant to be framed, and the console and the residents' pages (``/r/``, ``/a/``, ``/u/``) must not be, or a
  framing site could trick a click on "Approve and send" or "Unsubscribe".
- ``X-Content-Type-Options: nosniff``: a resident's uploaded text or an error body is never run as script.
- ``Referrer-Policy: strict-origin-when-cross-origin``: another site learns at most this service's origin, never
  a path (the links carry tokens); tile servers such as OpenStreetMap's refuse requests without a referrer, and the
  origin is what they need. (The residents' pages also say ``no-referrer`` in a meta element; their maps ask for
  the origin on the tile requests themselves.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alertsvc.settings import Settings
from alertsvc.web.tiles import tile_origins

__all__ = ["SecurityHeaders", "content_security_policy", "security_headers"]

REFERRER_POLICY = "strict-origin-when-cross-origin"


def content_security_policy(image_origins: Iterable[str] = ()) -> str:
    """The policy every answer carries; ``image_origins`` are where the maps' tiles come from."""
    images = ["'self'", "data:"]
    images += [origin for origin in image_origins if origin not in images]
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(images),
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(settings: Settings | None) -> list[tuple[bytes, bytes]]:
    """The headers for an app with these settings (None: no basemap known, so no tile origin allowed)."""
    origins = tile_origins(settings) if settings is not None else []
    return [
        (b"content-security-policy", content_security_policy(origins).encode("latin-1")),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", REFERRER_POLICY.encode("latin-1")),
    ]


def _settings_of(scope: Scope) -> Settings | None:
    app: Any = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    settings = getattr(runtime, "settings", None)
    return settings if isinstance(settings, Settings) else None


class SecurityHeaders:
    """Adds :func:`security_headers` to every HTTP answer that does not set the header itself.

    The headers are worked out at the first request (the settings live on the runtime, which the lifespan may
    open after the app is built) and kept: settings do not change while a process runs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers: list[tuple[bytes, bytes]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._headers is None:
            settings = _settings_of(scope)
            headers = security_headers(settings)
            if settings is None:
                await self.app(scope, receive, self._adding(send, headers))
                return
            self._headers = headers
        await self.app(scope, receive, self._adding(send, self._headers))

    @staticmethod
    def _adding(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = list(message.get("headers", ()))
                names = {name.lower() for name, _ in present}
                message = {**message, "headers": present + [h for h in headers if h[0] not in names]}
            await send(message)

        return send_with_headers
