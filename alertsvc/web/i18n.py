"""Translations of the resident pages (English, French, Spanish) from gettext ``.po`` catalogues.

The catalogues are read with Babel at first use, so no compile step is needed to run from a checkout. The page
language is the first of ``?lang=``, the ``Accept-Language`` header's best match, then English.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALES_DIR = Path(__file__).with_name("locales")
LANGUAGES = ("en", "fr", "es")


@lru_cache(maxsize=8)
def _catalog(language: str) -> dict[str, str]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "resident.po"
    if not path.is_file():
        return {}
    # Deferred: Babel is only needed for a non-English resident page, not in every API process from import on.
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def gettext_for(language: str) -> Callable[[str], str]:
    table = _catalog(language) if language != "en" else {}

    def gettext(message: str) -> str:
        return table.get(message, message)

    return gettext


def negotiate_language(accept_language: str | None, supported: tuple[str, ...], default: str = "en") -> str:
    """The best of ``supported`` (primary tags) for an ``Accept-Language`` header, quality values honoured."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().replace("_", "-").split("-", 1)[0].lower()))
    for _quality, _position, primary in sorted(ranked):
        if primary in supported:
            return primary
    return default


def pick_language(query: str | None, accept_language: str | None) -> str:
    """``?lang=`` when supported, else the best match of ``Accept-Language``, else English."""
    if query and query[:2].lower() in LANGUAGES:
        return query[:2].lower()
    return negotiate_language(accept_language, LANGUAGES)
