"""The console's route class: HTML answers for the console's errors (its own, and the domain's from
:mod:`alertsvc.errors` through the one mapping, :func:`alertsvc.web.errors.page_error`), and the session cookie
written back.

Why a route class rather than app-wide exception handlers and middleware: the API's handlers answer problem+json,
which is right for other systems and wrong for a person in a browser; wrapping only the console's routes keeps
both without either knowing of the other, and leaves ``app.py`` one ``include_router`` away from the console.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from alertsvc.alerts.service import AlertNotFound
from alertsvc.errors import AlertsvcError, RateLimited
from alertsvc.i18n import N_
from alertsvc.security.sessions import SessionCodec, cookie_options
from alertsvc.web.console.pages import error_page, session_of
from alertsvc.web.errors import page_error

LOGIN_PATH = "/console/login"
TOO_MANY_ATTEMPTS = N_("Too many attempts from your address. Please wait a minute and try again.")
NO_SUCH_ALERT = N_("No alert with that id.")
TEXTS: dict[type[AlertsvcError], str] = {RateLimited: TOO_MANY_ATTEMPTS, AlertNotFound: NO_SUCH_ALERT}
"""The console's own words for some errors (a dispatcher's rate limit is on sign-in attempts); every other error
shows its message, translated by the console's catalogue."""


class LoginRequired(Exception):
    """No signed-in user: pages redirect to the sign-in form, JSON endpoints answer 401."""

    def __init__(self, next_path: str, wants_json: bool = False) -> None:
        super().__init__("sign-in required")
        self.next_path = next_path
        self.wants_json = wants_json


class ConsoleForbidden(Exception):
    """The user may not do this (role, or a lifecycle rule); ``message`` is shown to them."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def codec_for(request: Request) -> SessionCodec:
    """One codec per app (the signing key may be read from a file the first time)."""
    state: Any = request.app.state
    codec: SessionCodec | None = getattr(state, "console_codec", None)
    if codec is None:
        codec = SessionCodec.from_settings(state.runtime.settings)
        state.console_codec = codec
    return codec


def write_session(request: Request, response: Response) -> None:
    """Put the (touched) session back into its cookie, which slides the idle timeout forward."""
    session = session_of(request)
    if session is None:
        return
    if session.user_id is not None:
        session = session.touched(time.time())
    options = cookie_options(request.app.state.runtime.settings)
    response.set_cookie(value=codec_for(request).dumps(session), **options)


def _invalid_parameters(exc: RequestValidationError) -> str:
    """A refused parameter (an id past what the database holds, say) as a person reads it: its name, then why."""
    parts = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if part not in ("path", "query", "body")]
        parts.append(f"{'.'.join(loc) or 'request'}: {error.get('msg', 'not valid')}")
    return "; ".join(parts) or "request: not valid"


def _login_redirect(exc: LoginRequired) -> Response:
    if exc.wants_json:
        return JSONResponse({"detail": "sign-in required"}, status_code=401)
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(exc.next_path, safe='/')}", status_code=303)


class ConsoleRoute(APIRoute):
    """An APIRoute that turns console errors into pages and always writes the session cookie back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                response = _login_redirect(exc)
            except ConsoleForbidden as exc:
                response = error_page(request, exc.status_code, exc.message)
            except AlertsvcError as exc:
                page = page_error(exc, TEXTS)
                if page is None:
                    raise
                response = error_page(request, page.status, page.text)
                response.headers.update(page.headers)
            except RequestValidationError as exc:
                response = error_page(request, 422, _invalid_parameters(exc))
            # Framing, sniffing and the referrer are every page's (alertsvc.web.headers), not only the console's.
            response.headers.setdefault("Cache-Control", "no-store")
            write_session(request, response)
            return response

        return console_handler
