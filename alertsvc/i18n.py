"""Translations for the console, the resident pages and the messages: gettext catalogues, one cached translator per
(domain, language), and the one language negotiation every caller shares.

A leaf module (it imports nothing from alertsvc), so ``web/`` and ``dispatch/`` both use it without a back-arrow.

Catalogues are ``alertsvc/locales/<lang>/LC_MESSAGES/<domain>.po``. The English text is the message id, so English
has no catalogue; a missing, fuzzy or empty entry falls back to English. The domains and their languages:

    console    en, fr        the dispatchers' console; a Spanish speaker reads it in English
    resident   en, fr, es    the resident pages (/r/, /a/, /u/)
    messages   en, fr, es    the fixed words of the SMS, e-mail and push messages

Why ``.po`` read with Babel at first use, not compiled ``.mo``: a checkout runs with no compile step, and there is no
second, generated copy of each catalogue that could fall out of date with the one translators edit. The cost is one
parse per (domain, language) per process, a few milliseconds; after that a lookup is a dict lookup, which is what
the fan-out needs (thousands of messages a second, no file I/O per message).

Placeholders are ``str.format`` fields: ``_("Cancelled by {who}.", who=name)`` looks up the text, then formats it
with the values given (a text without values is returned as it is, braces and all). Counts use :meth:`ngettext`,
which picks the form with the catalogue's ``Plural-Forms`` rule (gettext's two-form rules for French and Spanish,
not CLDR's third "many" form for exact millions) and offers the count as ``{n}``.

Extraction: ``babel.cfg`` at the top of the project; its header gives the ``pybabel extract`` command of each domain,
and ``tests/i18n`` runs exactly those commands and checks every extracted id against every catalogue. A string that
is translated from a variable (``_(state)``) is named once with :func:`N_` so that extraction finds it and
``pybabel update`` never retires its translations.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

DEFAULT: Final = "en"
DOMAINS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"console": ("en", "fr"), "resident": ("en", "fr", "es"), "messages": ("en", "fr", "es")}
)
"""Each domain and the languages it is translated into (English first: it is the text of the ids)."""
LOCALES_DIR: Final = Path(__file__).resolve().with_name("locales")


def N_(message: str) -> str:
    """Mark ``message`` for extraction only (gettext_noop): it is translated later, where it is shown."""
    return message


def primary_tag(tag: str | None) -> str | None:
    """The lower-case primary subtag of a language tag (``fr-CA``, ``fr_CA``, ``FR`` → ``fr``), None when empty."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary or None


def supported(tag: str | None, languages: tuple[str, ...]) -> str | None:
    """``tag`` reduced to one of ``languages`` (by primary subtag), or None."""
    primary = primary_tag(tag)
    return primary if primary in languages else None


def accept_language_order(header: str | None) -> list[str]:
    """The primary subtags of an ``Accept-Language`` header, best first (quality, then the order given; q=0 out)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = primary_tag(tag)
        if primary and quality > 0:
            ranked.append((-quality, position, primary))
    return [primary for _quality, _position, primary in sorted(ranked)]


def negotiate(
    languages: tuple[str, ...],
    *,
    stored: str | None = None,
    query: str | None = None,
    accept_language: str | None = None,
    default: str = DEFAULT,
) -> str:
    """The language to speak: the resident's (or dispatcher's) stored language, then ``?lang=``, then the best
    match of ``Accept-Language``, then ``default``; each taken only when it is one of ``languages``."""
    for candidate in (stored, query):
        chosen = supported(candidate, languages)
        if chosen:
            return chosen
    for primary in accept_language_order(accept_language):
        if primary in languages:
            return primary
    return default


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One domain in one language, as lookups: translated singular texts, plural forms, and the plural rule."""

    messages: Mapping[str, str] = field(default_factory=dict)
    plurals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Keyed by the singular id; every form is translated (an entry with an empty form is left out)."""
    plural: Callable[[int], int] = _english_plural


def catalogue_path(domain: str, language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=16)
def catalogue(domain: str, language: str) -> Catalogue:
    """The entries of ``<language>/LC_MESSAGES/<domain>.po`` that count: not fuzzy, not empty, not obsolete.

    Empty for English and for a language the domain is not translated into; read once per process."""
    if language == DEFAULT or language not in DOMAINS[domain]:
        return Catalogue()
    # Deferred: Babel loads with the first page or message that needs a translation, not with every import.
    from babel.messages.pofile import read_po

    with catalogue_path(domain, language).open("rb") as handle:
        parsed = read_po(handle, locale=language, domain=domain)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in parsed:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, str):
            if isinstance(message.string, str) and message.string:
                messages[message.id] = message.string
        elif isinstance(message.string, tuple | list) and all(message.string):
            plurals[str(message.id[0])] = tuple(str(form) for form in message.string)
    return Catalogue(messages, plurals, _gettext.c2py(parsed.plural_expr))


class Translator:
    """Texts of one domain in one language; call it as ``_`` (gettext) or use :meth:`ngettext` for counts.

    Built once per (domain, language) and shared: a lookup is one dict lookup."""

    __slots__ = ("_messages", "_plural", "_plurals", "domain", "language")

    def __init__(self, domain: str, language: str, table: Catalogue) -> None:
        self.domain = domain
        self.language = language
        self._messages = table.messages
        self._plurals = table.plurals
        self._plural = table.plural

    def gettext(self, message: str, /, **values: Any) -> str:
        """``message`` in this language (English when untranslated), formatted with ``values`` when given."""
        text = self._messages.get(message, message)
        return text.format(**values) if values else text

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The form for ``n`` of a text that counts, formatted with ``n`` (unless ``values`` gives its own ``n``,
        such as the number formatted for the language) and ``values``."""
        forms = self._plurals.get(singular)
        if forms is None:
            text = singular if _english_plural(n) == 0 else plural
        else:
            text = forms[min(self._plural(n), len(forms) - 1)]
        return text.format(**{"n": n, **values})


@lru_cache(maxsize=16)
def _translator(domain: str, language: str) -> Translator:
    return Translator(domain, language, catalogue(domain, language))


def translator(domain: str, language: str | None) -> Translator:
    """The translator of ``domain`` for a language tag (``fr-CA`` → French), English when the domain lacks it."""
    return _translator(domain, supported(language, DOMAINS[domain]) or DEFAULT)


if TYPE_CHECKING:
    from babel.core import Locale


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    from babel.core import Locale, UnknownLocaleError  # deferred: see catalogue()

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def format_number(value: float, language: str) -> str:
    """A number as readers of ``language`` write it (``12 345`` in French, ``12,345`` in English), via Babel."""
    from babel.numbers import format_decimal

    return format_decimal(value, locale=_locale(language))


def format_datetime(value: datetime, language: str) -> str:
    """A date and time as readers of ``language`` write them, with the zone (``Dec 4, 2026, 6:13:41 PM EST``), at
    the value's own offset, via Babel (loaded here on first use so that importing a page module does not load
    Babel). A time without its zone is ambiguous to anyone who is not where the server is."""
    from babel.dates import format_datetime as babel_format_datetime

    return babel_format_datetime(value, "medium", tzinfo=value.tzinfo, locale=_locale(language)) + " " + (
        babel_format_datetime(value, "z", tzinfo=value.tzinfo, locale=_locale(language))
    )
