"""What an inbound SMS means: STOP, START, HELP, an acknowledgement, a request for help, a tip, or free text.

Keywords match ignoring case, surrounding spaces and punctuation ("stop.", " Stop! " and "STOP" are one).
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Intent(StrEnum):
    STOP = "stop"
    START = "start"
    INFO = "info"
    SAFE = "safe"
    NEED_HELP = "help"
    JOIN = "join"
    TIP = "tip"
    """``TIP <text>``: an anonymous tip (:mod:`alertsvc.community.tip_inbox`)."""
    TEXT = "text"


STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ARRET", "ARRÊT", "ALTO"}
)
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
INFO_WORDS = frozenset({"HELP", "INFO"})
SAFE_WORDS = frozenset({"SAFE", "OK", "1", "IM SAFE", "I AM SAFE"})
NEED_HELP_WORDS = frozenset({"HELP ME", "2", "SOS", "NEED HELP"})

_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalise(body: str) -> str:
    text = unicodedata.normalize("NFKC", body)
    text = _PUNCTUATION.sub("", text)
    return _SPACES.sub(" ", text).strip().upper()


def join_zone(body: str) -> str | None:
    """The zone of a ``JOIN <zone>`` message, or None."""
    word = normalise(body)
    if word.startswith("JOIN ") and len(word) > 5:
        return word[5:].strip()
    return None


_TIP = re.compile(r"^[^\w]*tip(?!\w)[^\w]*", re.IGNORECASE | re.UNICODE)
"""The first word ``TIP`` (any case, with the punctuation and spaces around it): ``tip: ...``, ``TIP - ...``."""


def tip_text(body: str) -> str | None:
    """The text of a ``TIP <text>`` message as the tipster wrote it (only the keyword taken off; empty when they
    sent the keyword alone), or None when the first word is not ``TIP``."""
    text = unicodedata.normalize("NFKC", body)
    match = _TIP.match(text)
    return None if match is None else text[match.end() :].strip()


def intent_of(body: str) -> Intent:
    word = normalise(body)
    if join_zone(body) is not None:
        return Intent.JOIN
    if tip_text(body) is not None:
        return Intent.TIP
    if word in STOP_WORDS:
        return Intent.STOP
    if word in START_WORDS:
        return Intent.START
    if word in NEED_HELP_WORDS:
        return Intent.NEED_HELP
    if word in INFO_WORDS:
        return Intent.INFO
    if word in SAFE_WORDS:
        return Intent.SAFE
    return Intent.TEXT
