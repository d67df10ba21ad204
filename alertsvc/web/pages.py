"""The resident pages' route class: what the domain refuses is answered with a page, never with problem+json.

The resident pages (``/r/``) and the links in messages (``/a/``, ``/u/``) are read by people in a browser, so an
error from below (an :class:`alertsvc.errors.AlertsvcError`: the rate limit's :class:`~alertsvc.errors.RateLimited`,
a link the domain refuses ...) becomes an HTML page in the reader's language here, through the one mapping of the
tree to pages (:func:`alertsvc.web.errors.page_error`); the API maps the same errors to problem+json in
:mod:`alertsvc.api.problems`. The console has its own route class with the same job
(:mod:`alertsvc.web.console.route`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from alertsvc.errors import AlertsvcError, RateLimited
from alertsvc.i18n import N_
from alertsvc.resources import templates_dir
from alertsvc.web.errors import PageError, page_error
from alertsvc.web.i18n import gettext_for, language_of

templates = Jinja2Templates(directory=str(templates_dir()))
TOO_MANY_TITLE = N_("Too many requests")
TOO_MANY_TEXT = N_("Too many requests came from your address. Please wait a minute and try again.")
TEXTS: dict[type[AlertsvcError], str] = {RateLimited: TOO_MANY_TEXT}
"""The resident pages' own words for some errors; every other error shows its message, translated."""
TITLES: dict[int, str] = {429: TOO_MANY_TITLE}
"""A page's title by status; the status itself otherwise (as the pages' own "404" and "403" pages have it)."""


def message_page(request: Request, page: PageError) -> HTMLResponse:
    """The page for an error (``pages/message.html``), in the reader's language, with the answer's headers."""
    lang = language_of(request)
    _ = gettext_for(lang)
    title = _(TITLES[page.status]) if page.status in TITLES else str(page.status)
    context = {"lang": lang, "title": title, "text": _(page.text)}
    response = templates.TemplateResponse(request, "pages/message.html", context, status_code=page.status)
    response.headers.update(page.headers)
    return response


class PageRoute(APIRoute):
    """An APIRoute whose refusals from below (the domain's errors) are pages for people."""

    page_answers = frozenset({429})
    """The statuses a dependency's refusal is answered with as a page (the rate limit's), which the OpenAPI
    document (``alertsvc.api.openapi``) lists as HTML; a handler's own pages declare their content themselves."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except AlertsvcError as exc:
                page = page_error(exc, TEXTS)
                if page is None:  # the database or Redis not answering: the app-wide problem, as on every route
                    raise
                return message_page(request, page)

        return page_handler
