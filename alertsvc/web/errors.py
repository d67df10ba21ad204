"""The application's errors as pages for people: one table from an error's kind to a page's status and text.

The console's route class (:mod:`alertsvc.web.console.route`) and the resident pages' (:mod:`alertsvc.web.pages`)
both answer an :class:`~alertsvc.errors.AlertsvcError` from below through :func:`page_error`, and each renders the
result in its own template and language; the API maps the same tree to problem+json in
:mod:`alertsvc.api.problems`. A route therefore does not catch a domain error to turn it into a page.

What a person reads is the error's ``message`` (the domain writes it to be shown; the page translates it through
its catalogue), unless the page's audience has words of its own for that class (``texts``: "No alert with that
id." on the console, "Too many requests came from your address" on the resident pages).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from alertsvc.errors import AlertsvcError, Kind

__all__ = ["PAGE_STATUS", "PageError", "page_error"]

PAGE_STATUS: dict[Kind, int | None] = {
    Kind.INVALID: 422,
    Kind.NOT_FOUND: 404,
    Kind.GONE: 410,
    Kind.CONFLICT: 409,
    Kind.FORBIDDEN: 403,
    Kind.RATE_LIMITED: 429,
    Kind.UNAVAILABLE: None,
}
"""The page status for each kind of application error.

``None``: not a page. A database or Redis that does not answer is answered on every route, pages included, by the
app-wide problem handler (503 with ``Retry-After``), as the drivers' own errors always were; an
:class:`~alertsvc.errors.Unavailable` raised below a page goes the same way rather than looking different.
"""


@dataclass(frozen=True, slots=True)
class PageError:
    """A page's answer to an application error: its status, the text a person reads (an English message the page
    translates), and headers (``Retry-After`` when waiting helps)."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)


def page_error(exc: AlertsvcError, texts: Mapping[type[AlertsvcError], str] | None = None) -> PageError | None:
    """The page answering ``exc``, or ``None`` when no page answers its kind (the caller re-raises it).

    ``texts`` gives the page's own words for an error class (and its subclasses, nearest first); the error's
    ``message`` otherwise.
    """
    status = PAGE_STATUS[exc.kind]
    if status is None:
        return None
    own = texts or {}
    nearest = [cls for cls in type(exc).__mro__ if issubclass(cls, AlertsvcError) and cls in own]
    text = own[nearest[0]] if nearest else exc.message
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else {}
    return PageError(status, text, headers)
