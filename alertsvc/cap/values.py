"""Field types for the CAP model: each states one CAP rule and enforces it where the value enters.

They are ``Annotated`` types so the model reads like the standard, and so a broken value is reported by pydantic
at the exact element (``info[0].area[1].polygon[0]``), next to every other problem of the document.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from alertsvc.cap.times import CapTimeError, format_cap_time, parse_cap_time
from alertsvc.cap.visible import hidden_character
from alertsvc.geo.areas import AreaError, parse_cap_circle, parse_cap_polygon

# Characters XML 1.0 cannot carry at all: a JSON alert holding one could never be written as CAP XML.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TOKEN_FORBIDDEN = re.compile(r"[\s,<&]")
_LANGUAGE = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def _xml_text(value: str) -> str:
    bad = _NOT_XML.search(value)
    if bad:
        raise PydanticCustomError(
            "cap_char", "contains a character XML cannot carry ({code})", {"code": f"U+{ord(bad.group()):04X}"}
        )
    return value


Text = Annotated[str, AfterValidator(_xml_text)]
"""Free text: any characters an XML document can hold, kept exactly (whitespace included)."""


def _reader_text(value: str) -> str:
    hidden = hidden_character(value)
    if hidden is not None:
        raise PydanticCustomError(
            "cap_hidden_char",
            "contains {character}, an invisible character that can change how the text reads: remove it",
            {"character": hidden},
        )
    return value


ReaderText = Annotated[Text, AfterValidator(_reader_text)]
"""Text residents read (headline, description, ...): as :data:`Text`, without bidirectional overrides, zero-width
spaces and other invisible format or control characters (:mod:`alertsvc.cap.visible` says which and why)."""


def _token(value: str) -> str:
    if not value:
        raise PydanticCustomError("cap_token", "must not be empty")
    if _TOKEN_FORBIDDEN.search(value):
        raise PydanticCustomError("cap_token", "must not contain spaces, commas, '<' or '&'")
    return value


Token = Annotated[Text, AfterValidator(_token)]
"""``identifier`` and ``sender``: CAP forbids spaces, commas and the XML-restricted ``<`` and ``&``, because
both are joined with commas and spaces in other alerts' ``references``."""


def _language(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise PydanticCustomError("cap_language", "'{value}' is not a language tag like en-US", {"value": value[:40]})
    return value


Language = Annotated[Text, AfterValidator(_language)]


def _decimal_in(value: Any) -> Any:
    """xs:decimal: a JSON number, or text in decimal notation (no exponent, no NaN or infinity)."""
    if isinstance(value, bool):
        raise PydanticCustomError("cap_decimal", "must be a decimal number")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise PydanticCustomError("cap_decimal", "must be a finite decimal number")
        return float(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return float(value.strip())
    raise PydanticCustomError(
        "cap_decimal",
        "{value} is not a decimal number: CAP 1.2 requires one here (feet, e.g. 1500.5)",
        {"value": repr(value)[:40]},
    )


def decimal_text(value: float) -> str:
    """A float written as xs:decimal allows: positional notation, never ``1e+20``; ``2.0`` as ``2``."""
    text = format(decimal.Decimal(repr(float(value))), "f")
    return text[:-2] if text.endswith(".0") else text


DecimalNumber = Annotated[float, BeforeValidator(_decimal_in)]
"""``altitude`` and ``ceiling`` (feet): a float, since JSON has numbers; written back without exponent."""


def _integer_in(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("cap_integer", "must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()) and len(value.strip()) < 20:
        return int(value.strip())
    raise PydanticCustomError("cap_integer", "{value} is not a whole number", {"value": repr(value)[:40]})


Size = Annotated[int, BeforeValidator(_integer_in)]
"""``resource.size``: bytes, a whole number."""


def _polygon(value: str) -> str:
    try:
        parse_cap_polygon(value)
    except AreaError as exc:
        raise PydanticCustomError("cap_polygon", "{reason}", {"reason": str(exc)}) from None
    return value


def _circle(value: str) -> str:
    try:
        parse_cap_circle(value)
    except AreaError as exc:
        raise PydanticCustomError("cap_circle", "{reason}", {"reason": str(exc)}) from None
    return value


PolygonText = Annotated[Text, AfterValidator(_polygon)]
"""A CAP polygon kept as written (so it round-trips exactly), checked by :mod:`alertsvc.geo.areas`."""

CircleText = Annotated[Text, AfterValidator(_circle)]
"""A CAP circle kept as written, checked by :mod:`alertsvc.geo.areas`."""


def split_reference(token: str) -> tuple[str, str, str] | None:
    """``sender,identifier,sent`` -> its three parts, or None when it is not that shape."""
    parts = token.split(",")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def _references(value: str) -> str:
    """Check every ``sender,identifier,sent`` triple, and write each ``sent`` in CAP form (UTC as ``-00:00``).

    The triples are joined by single spaces: CAP only says "separated by whitespace", and the canonical time
    makes the served ``references`` name an alert exactly as that alert's own ``sent`` is served.
    """
    tokens = value.split()
    if not tokens:  # only when :data:`OptionalReferences` is bypassed: a blank value is absent there
        raise PydanticCustomError(
            "cap_references", "must not be empty: list each earlier alert as sender,identifier,sent"
        )
    written: list[str] = []
    for number, token in enumerate(tokens, start=1):
        parts = split_reference(token)
        if parts is None:
            raise PydanticCustomError(
                "cap_references",
                "reference {number} ('{token}') is not sender,identifier,sent",
                {"number": number, "token": token[:80]},
            )
        try:
            sent = format_cap_time(parse_cap_time(parts[2]))
        except CapTimeError as exc:
            raise PydanticCustomError(
                "cap_references", "reference {number}: {reason}", {"number": number, "reason": str(exc)}
            ) from None
        written.append(f"{parts[0]},{parts[1]},{sent}")
    return " ".join(written)


References = Annotated[Text, AfterValidator(_references)]
"""Whitespace-separated ``sender,identifier,sent`` triples naming earlier alerts, written back canonically."""


def _blank_is_absent(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


OptionalReferences = Annotated[References | None, BeforeValidator(_blank_is_absent)]
"""``alert.references``: empty or whitespace-only means no references, as if the element were absent.

Environment Canada's NAAD feed writes ``<references/>`` on every new alert (msgType ``Alert``); an empty list of
earlier alerts names none, which is what an absent element says, so it is accepted and not written back. Whether
references are *required* (Update, Cancel, Ack, Error) is a rule of :mod:`alertsvc.cap.rules`, which treats a
blank value the same way and so still refuses an Update whose ``references`` is empty, at ``references``.
"""
