"""How a carrier sends an SMS text: GSM-7 or UCS-2, how many units, how many segments.

Why here, in ``channels``: the Twilio sandbox reports the encoding and segments of what it was given, as the real
provider bills them, and ``alertsvc.dispatch.sms_text`` fits notices into a segment budget with the same count;
``channels`` imports nothing of the service, so the one count lives here and the service imports it.

Carriers bill and deliver SMS by *segment*. A text of GSM 03.38 characters travels as 7-bit septets (160 in one
segment, 153 per segment once it is split, because the concatenation header takes room); one character outside
that alphabet turns the whole text into UCS-2 (70 in one segment, 67 per part), counted in UTF-16 code units so
an emoji costs 2. Characters of the GSM extension table (``€ [ ] { } \\ ^ ~ |`` and form feed) are sent as an
escape plus a septet and cost 2. A multi-part message never splits an escape pair or a surrogate pair between two
segments, so segmenting is a walk, not a division.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "GSM7_MULTI",
    "GSM7_SINGLE",
    "UCS2_MULTI",
    "UCS2_SINGLE",
    "Encoding",
    "SmsCost",
    "gsm7_septets",
    "is_gsm7",
    "sms_cost",
]

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True, slots=True)
class SmsCost:
    """``units``: septets (GSM-7) or UTF-16 code units (UCS-2); ``segments``: parts the carrier will bill."""

    encoding: Encoding
    units: int
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic or extension table."""
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text)


def _gsm7_cost(ch: str) -> int:
    return 2 if ch in _GSM7_EXTENSION else 1


def _ucs2_cost(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def gsm7_septets(text: str) -> int:
    """Septets the text needs in GSM-7 (extension characters count 2); the text must be GSM-7."""
    return sum(_gsm7_cost(ch) for ch in text)


def _count_segments(costs: list[int], single: int, multi: int) -> int:
    total = sum(costs)
    if total <= single:
        return 1 if total else 0
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:  # an escape or surrogate pair never straddles two parts
            segments += 1
            used = 0
        used += cost
    return segments


def sms_cost(text: str) -> SmsCost:
    """The encoding, size and segment count of ``text`` as a carrier would send it."""
    if is_gsm7(text):
        costs = [_gsm7_cost(ch) for ch in text]
        return SmsCost(Encoding.GSM7, sum(costs), _count_segments(costs, GSM7_SINGLE, GSM7_MULTI))
    costs = [_ucs2_cost(ch) for ch in text]
    return SmsCost(Encoding.UCS2, sum(costs), _count_segments(costs, UCS2_SINGLE, UCS2_MULTI))
