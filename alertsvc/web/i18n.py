"""The resident pages' language and translator: the ``resident`` domain of :mod:`alertsvc.i18n`, chosen per request.

The language is the resident's stored language when the page knows the resident, then ``?lang=``, then the
``Accept-Language`` header's best match, then English (:func:`alertsvc.i18n.negotiate`).
"""

from __future__ import annotations

from typing import Final

from fastapi import Request

from alertsvc.i18n import DEFAULT, DOMAINS, N_, Translator, negotiate, translator

DOMAIN: Final = "resident"
LANGUAGES: Final = DOMAINS[DOMAIN]

RUNTIME_MSGIDS: Final = (
    # CAP categories and severities, shown with _(category) and _(severity) (alertsvc.residents.validation)
    N_("Geo"), N_("Met"), N_("Safety"), N_("Security"), N_("Rescue"), N_("Fire"), N_("Health"), N_("Env"),
    N_("Transport"), N_("Infra"), N_("CBRNE"), N_("Other"),
    N_("Minor"), N_("Moderate"), N_("Severe"), N_("Extreme"),
    # form fields named in error lists, shown with _(field)
    N_("lat"), N_("lon"), N_("sms"), N_("email"), N_("push"), N_("zone"),
    # texts the routes translate without an ``_`` name in sight
    N_("This form has expired. Please try again."), N_("choose a neighbourhood or give coordinates"),
)  # fmt: skip
"""Texts translated from a variable, named here so that ``pybabel extract`` keeps their translations."""


def gettext_for(language: str | None) -> Translator:
    """The resident pages' translator for ``language`` (English when it is not one of :data:`LANGUAGES`)."""
    return translator(DOMAIN, language)


def negotiate_language(accept_language: str | None, supported: tuple[str, ...], default: str = DEFAULT) -> str:
    """The best of ``supported`` (primary tags) for an ``Accept-Language`` header, quality values honoured."""
    return negotiate(supported, accept_language=accept_language, default=default)


def pick_language(query: str | None, accept_language: str | None, stored: str | None = None) -> str:
    """The resident's ``stored`` language when supported, else ``?lang=``, else ``Accept-Language``, else English."""
    return negotiate(LANGUAGES, stored=stored, query=query, accept_language=accept_language)


def language_of(request: Request, stored: str | None = None) -> str:
    """:func:`pick_language` for a request; ``stored`` is the resident's language when the page knows who it is."""
    return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"), stored)
