"""The resident pages' route class: what the domain refuses is answered with a page, never with problem+json.

The resident pages (``/r/``) and the links in messages (``/a/``, ``/u/``) are read by people in a browser, so an
error from below (today :class:`alertsvc.errors.RateLimited`, raised by the rate-limit dependency) becomes an HTML
page in the reader's language here; the API maps the same errors to problem+json in :mod:`alertsvc.api.problems`.
The console has its own route class with the same job (:mod:`alertsvc.web.console.route`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from alertsvc.errors import RateLimited
from alertsvc.i18n import N_
from alertsvc.resources import templates_dir
from alertsvc.web.i18n import gettext_for, language_of

templates = Jinja2Templates(directory=str(templates_dir()))
TOO_MANY_TITLE = N_("Too many requests")
TOO_MANY_TEXT = N_("Too many requests came from your address. Please wait a minute and try again.")


def too_many_requests(request: Request, exc: RateLimited) -> HTMLResponse:
    """The 429 page, with ``Retry-After``."""
    lang = language_of(request)
    _ = gettext_for(lang)
    context = {"lang": lang, "title": _(TOO_MANY_TITLE), "text": _(TOO_MANY_TEXT)}
    response = templates.TemplateResponse(request, "pages/message.html", context, status_code=429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


class PageRoute(APIRoute):
    """An APIRoute whose refusals from below (the domain's errors) are pages for people."""

    page_answers = frozenset({429})
    """The statuses answered here as pages, which the OpenAPI document (``alertsvc.api.openapi``) lists as HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RateLimited as exc:
                return too_many_requests(request, exc)

        return page_handler
