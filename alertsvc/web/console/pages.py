"""Rendering console pages: one Jinja2 environment, and the context every page gets.

Every page knows its language (``<html lang>``), the signed-in user, the CSRF token for its forms, the helpers
that make Test, Exercise and Actual look different everywhere (:func:`status_class`, :data:`STATUS_WORDS`), and
``person(principal)``, which names whoever a ``user:ID`` or ``key:NAME`` is (from the ``people`` the route read).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from alertsvc.i18n import Translator
from alertsvc.resources import templates_dir
from alertsvc.security.names import Actor, actor_for
from alertsvc.security.sessions import ConsoleSession
from alertsvc.web.console import i18n
from alertsvc.web.console.audit_view import ACTION_WORDS, actor_words
from alertsvc.web.console.delivery_words import SUPPRESSION_WORDS
from alertsvc.web.tiles import basemap

templates = Jinja2Templates(directory=str(templates_dir()))

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "Actual": ("ACTUAL", "Real alert: it goes to the public."),
    "Exercise": ("EXERCISE", "Drill: it goes to test recipients only, marked EXERCISE."),
    "Test": ("TEST", "Technical test: it goes to test recipients only, marked TEST."),
    "System": ("SYSTEM", "System message: stored, sent to nobody."),
    "Draft": ("DRAFT", "Draft: stored, sent to nobody."),
}
"""The banner word and sentence for each CAP status (translated at render time)."""


def status_class(status: str | None) -> str:
    """The CSS class that colours a page, banner or row by CAP status."""
    return f"status-{(status or 'none').lower()}"


def person_words(people: dict[str, Actor], principal: str | None, translate: Translator) -> str:
    """Who a principal name stands for, as a page says it: a user's display name (else e-mail), "API key NAME",
    "the service"; ``people`` holds the names the route read (:func:`alertsvc.security.names.named`)."""
    if not principal:
        return ""
    return actor_words(people.get(principal) or actor_for(principal), translate)


def session_of(request: Request) -> ConsoleSession | None:
    found: ConsoleSession | None = getattr(request.state, "console_session", None)
    return found


def language_of(request: Request) -> str:
    """The page language: the dispatcher's choice (kept in the session), else the browser's preference."""
    session = session_of(request)
    return i18n.negotiate(request.headers.get("accept-language"), stored=session.lang if session else None)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render ``templates/console/<name>`` with the common context."""
    lang = language_of(request)
    session = session_of(request)
    translate = i18n.translator(lang)
    values: dict[str, Any] = {
        "lang": lang,
        "_": translate,
        "ngettext": translate.ngettext,
        "num": lambda value: i18n.number(value, lang),
        "when": i18n.moment,
        "csrf_token": session.csrf if session else "",
        "user": getattr(request.state, "console_user", None),
        "status_class": status_class,
        "status_words": STATUS_WORDS,
        "path": request.url.path,
        "basemap": basemap(request.app.state.runtime.settings),
        "action_words": ACTION_WORDS,
        "suppression_words": SUPPRESSION_WORDS,
    }
    values.update(context or {})
    people: dict[str, Actor] = values.get("people") or {}
    values["person"] = lambda principal: person_words(people, principal, translate)
    return templates.TemplateResponse(request, f"console/{name}", values, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)
