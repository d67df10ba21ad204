"""Console language: English and French, chosen by the dispatcher's switch or the browser's Accept-Language.

The catalogue is gettext-style: the English text is the message id, and ``i18n/fr.json`` maps each id to its
French text. Why not compiled ``.mo`` files: the console's few hundred strings are easier to review as one JSON
file, and a test checks that every string the templates use has a French entry. Numbers go through Babel, so a
French dispatcher reads ``12 345``; times are ISO-like UTC in both languages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alertsvc.web.i18n import negotiate_language

SUPPORTED = ("en", "fr")
DEFAULT = "en"
CATALOGUE_DIR = Path(__file__).resolve().parent / "i18n"

if TYPE_CHECKING:
    from babel.core import Locale

Translate = Callable[..., str]


@lru_cache(maxsize=len(SUPPORTED))
def catalogue(lang: str) -> dict[str, str]:
    """The id → text map for ``lang`` (empty for English: ids are the English text)."""
    path = CATALOGUE_DIR / f"{lang}.json"
    if lang == DEFAULT or not path.is_file():
        return {}
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def translator(lang: str) -> Translate:
    """``_("Reach: {n} residents", n=3)``: the text in ``lang`` (English when missing), then formatted."""
    table = catalogue(lang if lang in SUPPORTED else DEFAULT)

    def translate(message: str, **values: Any) -> str:
        text = table.get(message) or message
        return text.format(**values) if values else text

    return translate


def supported(lang: str | None) -> str | None:
    """``lang`` reduced to a supported primary tag, or None."""
    if not lang:
        return None
    primary = lang.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED else None


def negotiate(accept_language: str | None) -> str:
    """The best supported language for an ``Accept-Language`` header (quality values honoured)."""
    return negotiate_language(accept_language, SUPPORTED, DEFAULT)


def _locale(lang: str) -> Locale:
    # Deferred (here and in number): Babel loads with the first console page that needs it, not at import.
    from babel.core import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def number(value: int | float, lang: str) -> str:
    from babel.numbers import format_decimal  # deferred: see _locale

    return format_decimal(value, locale=_locale(lang))


def moment(value: datetime | None) -> str:
    """A timestamp as dispatchers read it (UTC, stated, so two offices never disagree about "14:05")."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + " UTC"
