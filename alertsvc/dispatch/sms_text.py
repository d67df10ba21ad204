"""SMS text budgets: GSM-7 or UCS-2, how many segments a text costs, and fitting a notice into a budget.

The count itself is :mod:`channels.sms_encoding` (the sandbox reports it too), re-exported here. Why this matters:
carriers bill and deliver SMS by *segment*. A text of GSM 03.38 characters travels as 7-bit
septets (160 in one segment, 153 per segment once it is split, because the concatenation header takes room);
one character outside that alphabet turns the whole text into UCS-2 (70 in one segment, 67 per part), counted
in UTF-16 code units so an emoji costs 2. Characters of the GSM extension table (``€ [ ] { } \\ ^ ~ |`` and form
feed) are sent as an escape plus a septet and cost 2. A multi-part message never splits an escape pair or a
surrogate pair between two segments, so segmenting is a walk, not a division.

:func:`fit_sms` keeps what a resident must read whole (headline, instruction, link) and shortens only the
description, cutting at a character boundary that never separates a base letter from its combining marks or an
emoji from its modifiers.
"""

from __future__ import annotations

import unicodedata

from channels.sms_encoding import Encoding, SmsCost, gsm7_septets, is_gsm7, sms_cost

__all__ = [
    "Encoding",
    "SmsCost",
    "fit_sms",
    "gsm7_septets",
    "is_gsm7",
    "sms_cost",
    "within_characters",
]

_ZWJ = "\u200d"


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _can_cut_before(text: str, index: int) -> bool:
    """Whether ``text[:index]`` ends on a (good enough) grapheme boundary.

    Not full UAX #29, but it never separates what a reader sees as one character: combining marks, variation
    selectors, emoji skin-tone modifiers, zero-width-joiner sequences and regional-indicator (flag) pairs.
    """
    if index <= 0 or index >= len(text):
        return True
    ch, before = text[index], text[index - 1]
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Mc"):
        return False
    code = ord(ch)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0x1F3FB <= code <= 0x1F3FF:
        return False
    if 0xE0020 <= code <= 0xE007F:  # emoji tag sequences (subdivision flags)
        return False
    if ch == _ZWJ or before == _ZWJ:
        return False
    if _is_regional_indicator(ch) and _is_regional_indicator(before):
        run = 0
        i = index - 1
        while i >= 0 and _is_regional_indicator(text[i]):
            run += 1
            i -= 1
        return run % 2 == 0
    return True


def _ellipsis_for(text: str) -> str:
    """``...`` keeps a GSM-7 text GSM-7 (U+2026 is not in the alphabet and would halve the budget)."""
    return "..." if is_gsm7(text) else "…"


def _compose(parts: list[str]) -> str:
    return "\n".join(part for part in parts if part)


def _shortened(text: str, keep: int) -> str:
    """``text`` cut to at most ``keep`` characters at a grapheme boundary, with an ellipsis (within ``keep``)."""
    if len(text) <= keep:
        return text
    cut = max(0, keep - 3)
    while cut > 0 and not _can_cut_before(text, cut):
        cut -= 1
    return (text[:cut].rstrip() + _ellipsis_for(text))[: max(keep, 0)] if keep > 0 else ""


def within_characters(headline: str, instruction: str, link: str, max_characters: int) -> tuple[str, str]:
    """``headline`` and ``instruction`` shortened so that they, the link and the line breaks between them hold at
    most ``max_characters`` characters; unchanged when they already do. Each keeps at least half of the room when
    it needs it, so neither a long headline nor a long instruction pushes the other out.

    Why: Twilio refuses a body longer than 1,600 characters outright (21617): every SMS of the alert would fail.
    A shortened text is the lesser harm; the e-mail and push messages carry both whole.
    """
    room = max_characters - len(link) - 2
    if len(headline) + 1 + len(instruction) <= room:
        return headline, instruction
    if not instruction:
        return _shortened(headline, room), instruction
    for_headline = min(len(headline), max(room - len(instruction) - 1, room // 2))
    return _shortened(headline, for_headline), _shortened(instruction, room - for_headline - 1)


def fit_sms(
    headline: str, instruction: str, description: str, link: str, max_segments: int, max_characters: int | None = None
) -> str:
    """``headline``, ``instruction``, ``description`` and ``link`` on separate lines, within ``max_segments``.

    Headline, instruction and link are not shortened for the segment budget (if they alone exceed it they are
    returned whole, without description: a notice missing its instruction would be worse than one more segment),
    only to stay within ``max_characters`` (:func:`within_characters`), past which the provider refuses the
    message. The description is cut at a grapheme boundary, preferably at a word, and marked with an ellipsis; if
    not even a word of it fits, it is left out.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    headline, instruction, link = headline.strip(), instruction.strip(), link.strip()
    if max_characters is not None:
        headline, instruction = within_characters(headline, instruction, link, max_characters)
    description = " ".join(description.split())

    def fits(text: str) -> bool:
        return sms_cost(text).segments <= max_segments and (max_characters is None or len(text) <= max_characters)

    full = _compose([headline, instruction, description, link])
    if fits(full):
        return full

    def candidate(cut: int) -> str:
        kept = description[:cut].rstrip(" ,;:-")
        if not kept:
            return _compose([headline, instruction, link])
        trial = _compose([headline, instruction, kept, link])
        return _compose([headline, instruction, kept + _ellipsis_for(trial), link])

    # Segment count never decreases as the kept prefix grows (more characters, and an encoding that can only
    # move from GSM-7 to UCS-2), so the longest prefix that fits is found by bisection.
    low, high = 0, len(description)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(candidate(middle)):
            low = middle
        else:
            high = middle - 1
    cut = low
    while cut > 0 and not _can_cut_before(description, cut):
        cut -= 1
    word_cut = description.rfind(" ", 0, cut + 1)
    if cut < len(description) and word_cut > 0 and cut - word_cut <= 20:
        cut = word_cut  # prefer a whole word when that costs only a little of the budget
    return candidate(cut)
