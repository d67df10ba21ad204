"""The page a person reads when a form they sent is over its size limit (413, made for :mod:`alertsvc.http.body_limit`).

A short page, not the site's template: it is answered by a middleware before any route runs, with no runtime, no
resident and no CSRF cookie in reach. It is in the reader's language (``?lang=``, then ``Accept-Language``), from
the resident pages' catalogue, and carries nothing but text (the security headers forbid inline style anyway).
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from starlette.types import Scope

from alertsvc.i18n import format_number
from alertsvc.web.i18n import gettext_for, pick_language

__all__ = ["too_large_page"]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def too_large_page(scope: Scope, limit: int) -> tuple[str, bytes]:
    """(content type, body) of the 413 page for ``scope``'s reader."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    lang = pick_language((query.get("lang") or [None])[0], _header(scope, b"accept-language"))
    _ = gettext_for(lang)
    title = _("Too large")
    text = _("What you sent is larger than this page accepts ({size} KiB). Please send less.",
             size=format_number(limit // 1024, lang))  # fmt: skip
    page = (
        f'<!doctype html>\n<html lang="{escape(lang)}"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"</head><body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>\n"
    )
    return "text/html; charset=utf-8", page.encode()
