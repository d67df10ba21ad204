"""Which invisible characters alert text may hold: the ones a language needs, never the ones that disguise text.

Why: a warning is read by residents and copied by people. A bidirectional override (U+202E) makes
``https://city.example/evac`` display as something else and a link read backwards; a zero-width space (U+200B)
or word joiner (U+2060) splits a word so that it looks whole but matches no filter or search; a byte-order mark
(U+FEFF) inside text is noise some providers refuse. None of them is ever needed to write a warning, so the text
residents read (``event``, ``headline``, ``description``, ``instruction``, ``senderName``, ``web``, ``contact``,
``audience``, ``areaDesc``) is refused with a 422 naming the element, instead of being silently changed: the sender
learns that their feed carries them, and every channel (e-mail, SMS, push, the pages) shows the same text.

Refused: every format character (Unicode category Cf) and every control character (Cc, which XML already limits
to tab, line feed and carriage return below U+0080; U+0085 and the other C1 controls included), except:

* U+200D ZERO WIDTH JOINER: emoji sequences need it (a family, a profession, a flag with a rainbow), and Indic
  scripts use it to choose a conjunct's form. It joins what is next to it; it cannot reorder or hide text.
* U+200C ZERO WIDTH NON-JOINER: Persian, Kurdish and Indic spelling need it (``می‌خواهم``).
* U+200E LEFT-TO-RIGHT MARK, U+200F RIGHT-TO-LEFT MARK, U+061C ARABIC LETTER MARK: right-to-left text uses them
  to place punctuation and numbers correctly (an Arabic sentence ending in a Latin word and a full stop). Unlike
  embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, all refused) they only act as one strong
  character: they can move a neutral character, never reverse a run of letters.
* Emoji tag characters U+E0020-U+E007F in a tag sequence, i.e. right after U+1F3F4 WAVING BLACK FLAG or another
  tag (the flags of England, Scotland, Wales).
* The visible prepended concatenation marks of Arabic and Syriac (U+0600-U+0605, U+06DD, U+070F, U+0890, U+0891,
  U+08E2): they are drawn, and belong to the writing of numbers.

Refused although occasionally seen in copied text: U+00AD SOFT HYPHEN (invisible unless a line breaks there; a
word with one looks whole and matches nothing) and U+FEFF anywhere in the text.
"""

from __future__ import annotations

import unicodedata

__all__ = ["ALLOWED_FORMAT", "hidden_character"]

ALLOWED_FORMAT = frozenset(
    "\u200c\u200d"  # zero-width non-joiner and joiner
    "\u200e\u200f\u061c"  # left-to-right, right-to-left and Arabic letter marks
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2"  # visible concatenation marks
)
"""Format (Cf) characters alert text may hold; see the module docstring for why each."""
ALLOWED_CONTROL = frozenset("\t\n\r")
_BLACK_FLAG = "\U0001f3f4"
_TAGS = range(0xE0020, 0xE0080)


def _in_tag_sequence(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ""
    return ord(text[index]) in _TAGS and (before == _BLACK_FLAG or (before != "" and ord(before) in _TAGS))


def hidden_character(text: str) -> str | None:
    """The first character of ``text`` that alert text may not hold, written ``U+202E RIGHT-TO-LEFT OVERRIDE``;
    None when there is none."""
    if text.isprintable():  # False for every Cf and Cc character (and for line breaks): most headlines stop here
        return None
    for index, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category == "Cc" and ch not in ALLOWED_CONTROL:
            return _named(ch)
        if category == "Cf" and ch not in ALLOWED_FORMAT and not _in_tag_sequence(text, index):
            return _named(ch)
    return None


def _named(ch: str) -> str:
    name = unicodedata.name(ch, "")
    if not name and unicodedata.category(ch) == "Cc":
        name = "control character"
    return f"U+{ord(ch):04X} {name}".rstrip()
