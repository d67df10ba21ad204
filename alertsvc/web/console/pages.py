"""Rendering console pages: one Jinja2 environment, and the context every page gets.

Every page knows its language (``<html lang>``), the signed-in user, the CSRF token for its forms, and the helpers
that make Test, Exercise and Actual look different everywhere (:func:`status_class`, :data:`STATUS_WORDS`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from alertsvc.resources import templates_dir
from alertsvc.security.sessions import ConsoleSession
from alertsvc.web.console import i18n
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
    }
    values.update(context or {})
    return templates.TemplateResponse(request, f"console/{name}", values, status_code=status_code)


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status_code": status_code, "message": message}, status_code)
