"""One resident row (a JSON object, or a CSV record as a dict of strings) into a checked :class:`ResidentInput`.

The same rules serve ``POST /api/v1/residents``, the bulk import and the CLI, so a row is accepted or refused
identically whichever way it arrives. Every problem of a row is reported at once, as ``(field, reason)``,
because the person fixing a spreadsheet wants the whole list, not one error per attempt.

Two rules shape the result beyond the field checks:

* **Absent is not empty.** A field the row does not mention is left out of :attr:`ResidentInput.present`,
  so re-importing a file without a ``categories`` column keeps what residents chose for themselves; a field
  given empty (``""`` or ``null``) resets it to its default.
* **Contacts are optional.** A resident may be registered before any of their contacts is known (addresses
  are added later, or by the resident on the subscription pages); such a resident simply receives nothing.

Reasons never quote the address they refuse: problem reports end up in logs and in other systems' tickets.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict

from alertsvc.errors import InvalidInput

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "FIELDS",
    "SEVERITIES",
    "TOMBSTONE_PREFIX",
    "ResidentInput",
    "RowProblem",
    "ValidationOptions",
    "validate_row",
]

CATEGORIES: Final = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                     "CBRNE", "Other")  # fmt: skip
"""CAP 1.2 ``category`` values, in the standard's order (stored in this order, whatever order was given)."""
SEVERITIES: Final = ("Minor", "Moderate", "Severe", "Extreme")
CHANNELS: Final = ("sms", "email", "push")
FIELDS: Final = ("ref", "lat", "lon", "language", "sms", "email", "push", "categories", "min_severity",
                 "test_recipient", "quiet_start", "quiet_end", "timezone")  # fmt: skip
"""Every column a row may have; anything else is refused (a misspelt ``e-mail`` must not vanish silently)."""

TOMBSTONE_PREFIX: Final = "~deleted:"
"""Refs of this form mark a deleted resident kept only for its opt-outs (see ``residents.removal``)."""

_CATEGORY_BY_KEY = {name.lower(): name for name in CATEGORIES}
_SEVERITY_BY_KEY = {name.lower(): name for name in SEVERITIES}
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_MAX_EMAIL = 320


class ResidentInput(BaseModel):
    """A resident as the store receives it: every value checked and in its canonical form.

    ``present`` names the fields the row gave (``ref``, ``lat`` and ``lon`` always); the store updates only
    those on an existing resident. Contacts (``sms``, ``email``, ``push``) are ``None`` when not given.
    """

    model_config = ConfigDict(frozen=True)

    ref: str
    lat: float
    lon: float
    language: str = "en"
    sms: str | None = None
    email: str | None = None
    push: str | None = None
    categories: str | None = None
    """Comma-separated canonical CAP categories, or ``None`` for all (the column's convention)."""
    min_severity: str | None = None
    test_recipient: bool = False
    quiet_start: str | None = None
    quiet_end: str | None = None
    timezone: str = "UTC"
    present: frozenset[str] = frozenset({"ref", "lat", "lon"})

    def contacts(self) -> list[tuple[str, str]]:
        """The ``(channel, address)`` pairs this row gives."""
        given = (("sms", self.sms), ("email", self.email), ("push", self.push))
        return [(channel, address) for channel, address in given if address is not None]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One reason a row is refused; ``field`` is a column name, or ``"row"`` for the row as a whole."""

    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    """Deployment choices the rules depend on.

    ``sms_region`` lets national numbers (``030 1234567``) be read as that region's (ISO 3166 code); without
    it only the international ``+`` form is accepted, because guessing a country sends alerts abroad.
    """

    push_allow_private: bool = False
    sms_region: str | None = None


class _Refused(InvalidInput):
    """A field's value is not acceptable; the message is the reason shown to the caller."""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Refused("must be a string")
    return value.strip()


def _ref(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = _text(value)
    if not 1 <= len(text) <= 100:
        raise _Refused("must be 1 to 100 characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise _Refused("must not contain control characters")
    if text.startswith(TOMBSTONE_PREFIX):
        raise _Refused(f"must not start with '{TOMBSTONE_PREFIX}' (reserved)")
    return text


def _coordinate(limit: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise _Refused("must be a number")
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise _Refused("must be a number") from None
        if not isinstance(value, int | float):
            raise _Refused("must be a number")
        number = float(value)
        if not math.isfinite(number):
            raise _Refused("must be a finite number")
        if not -limit <= number <= limit:
            raise _Refused(f"must be between -{limit:g} and {limit:g}")
        return number

    return parse


def _language(value: Any) -> str:
    """A BCP 47-shaped tag in its usual casing (``en-GB``, ``sr-Latn``), so tag matching can be exact."""
    text = _text(value)
    if len(text) > 35 or not _LANGUAGE.match(text):
        raise _Refused("must be a language tag such as 'en' or 'pt-BR'")
    primary, *rest = text.split("-")
    parts = [primary.lower()]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())
        elif len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        else:
            parts.append(part.lower())
    return "-".join(parts)


def _sms(value: Any, options: ValidationOptions) -> str:
    text = _text(value)
    if not text.startswith("+") and options.sms_region is None:
        raise _Refused("must be in international form, starting with + and the country code")
    # Deferred: phonenumbers is ~60 modules that only the processes validating numbers need to keep.
    import phonenumbers

    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else options.sms_region)
    except phonenumbers.NumberParseException:
        raise _Refused("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise _Refused("is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _email(value: Any) -> str:
    text = _text(value)
    if len(text) > _MAX_EMAIL:
        raise _Refused("is too long for an e-mail address")
    # Deferred: email_validator (with idna) is only needed where addresses are checked, not in every worker.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise _Refused("is not a valid e-mail address") from None
    return str(checked.normalized)


def _push(value: Any, options: ValidationOptions) -> str:
    text = _text(value)
    from channels.push import validate_push_url  # the channel owns what a safe push address is

    try:
        return validate_push_url(text, options.push_allow_private)
    except ValueError as exc:
        raise _Refused(str(exc)) from None


def _categories(value: Any) -> str | None:
    if isinstance(value, str):
        items = [part.strip() for part in re.split(r"[,;]", value)]
    elif isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise _Refused("must be a list of category names")
        items = [item.strip() for item in value]
    else:
        raise _Refused("must be a list or a comma-separated string")
    chosen: set[str] = set()
    for item in filter(None, items):
        canonical = _CATEGORY_BY_KEY.get(item.lower())
        if canonical is None:
            raise _Refused(f"unknown category (allowed: {', '.join(CATEGORIES)})")
        chosen.add(canonical)
    return ",".join(name for name in CATEGORIES if name in chosen) or None


def _severity(value: Any) -> str:
    canonical = _SEVERITY_BY_KEY.get(_text(value).lower())
    if canonical is None:
        raise _Refused(f"must be one of {', '.join(SEVERITIES)}, or empty")
    return canonical


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    raise _Refused("must be true or false (true/false, 1/0, yes/no)")


def _hhmm(value: Any) -> str:
    text = _text(value)
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    if not _HHMM.match(text):
        raise _Refused("must be a time as HH:MM (00:00 to 23:59)")
    return text


def _timezone(value: Any) -> str:
    """An IANA zone name. Checked against the zone list rather than by opening it, because ``ZoneInfo`` also
    opens tzdata resources that are not zones (``posixrules``, ``Factory``) and would accept them."""
    text = _text(value)
    if text not in _zone_names():
        raise _Refused("must be an IANA time zone name such as 'Europe/Berlin'")
    return text


@functools.cache
def _zone_names() -> frozenset[str]:
    """The zone names known to this system, read once (``available_timezones`` walks the tz database)."""
    return frozenset(available_timezones() | {"UTC"})


def validate_row(row: Mapping[str, Any], options: ValidationOptions) -> ResidentInput | list[RowProblem]:
    """The row as a :class:`ResidentInput`, or every problem found in it (the push address is checked last,
    and only on an otherwise good row, because its check may resolve a host name).

    Empty strings and ``null`` count as "given, empty": a contact left empty changes nothing (an import
    cannot remove a contact), the other optional fields return to their defaults.
    """
    problems: list[RowProblem] = []
    values: dict[str, Any] = {}
    present: set[str] = {"ref", "lat", "lon"}

    for name in sorted(set(row) - set(FIELDS)):
        problems.append(RowProblem(str(name)[:50], "unknown field"))

    def check(name: str, parse: Callable[[Any], Any], required: bool = False) -> None:
        raw = row.get(name)
        if _blank(raw):
            if required:
                problems.append(RowProblem(name, "is required"))
            elif name in row and name not in CHANNELS:
                present.add(name)
            return
        try:
            values[name] = parse(raw)
        except _Refused as exc:
            problems.append(RowProblem(name, str(exc)))
            return
        present.add(name)

    check("ref", _ref, required=True)
    check("lat", _coordinate(90.0), required=True)
    check("lon", _coordinate(180.0), required=True)
    check("language", _language)
    check("sms", lambda value: _sms(value, options))
    check("email", _email)
    check("categories", _categories)
    check("min_severity", _severity)
    check("test_recipient", _flag)
    check("quiet_start", _hhmm)
    check("quiet_end", _hhmm)
    check("timezone", _timezone)
    if not problems:  # the push check may resolve DNS: only worth it for an otherwise good row
        check("push", lambda value: _push(value, options))

    has_start, has_end = "quiet_start" in values, "quiet_end" in values
    if has_start != has_end and not any(p.field in ("quiet_start", "quiet_end") for p in problems):
        missing = "quiet_end" if has_start else "quiet_start"
        problems.append(RowProblem(missing, "quiet hours need both quiet_start and quiet_end"))
    elif has_start and has_end and values["quiet_start"] == values["quiet_end"]:
        problems.append(RowProblem("quiet_end", "must differ from quiet_start"))

    if problems:
        return problems
    # A row that sets one quiet-hours bound empty clears both: half a quiet period means nothing.
    if {"quiet_start", "quiet_end"} & present:
        present |= {"quiet_start", "quiet_end"}
    return ResidentInput(**values, present=frozenset(present))
