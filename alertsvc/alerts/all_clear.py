"""The all-clear a Cancel carries: its own words in each language of the alert it cancels, never the original's.

A CAP Cancel used to be a copy of the original with ``msgType`` changed, so residents read "CANCELLED: ... Leave
now" (the original's headline, description and instruction) and could act on a warning that had ended. Here a
Cancel's every ``info`` gets all-clear text instead: what the caller wrote for that language (the API's optional
body, the console's Cancel form), or the default all-clear of the ``messages`` catalogue in that language. The
original's description and instruction are never carried over, whatever the caller leaves out.

The checks are the domain's (the API's schema states the shape, the console's form has no schema), so both edges
refuse the same things with the same words, each problem at its field: a language the alert has no message in, a
language given twice, an empty headline, text over its length, a character CAP XML cannot carry or an invisible
character that can change how the text reads (:mod:`alertsvc.cap.visible`, the rule of every text residents read).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from alertsvc.cap.visible import hidden_character
from alertsvc.errors import FieldError, InvalidInput, Loc
from alertsvc.i18n import primary_tag, translator

__all__ = [
    "DESCRIPTION_MAX",
    "HEADLINE_MAX",
    "INSTRUCTION_MAX",
    "LANGUAGE_MAX",
    "MAX_LANGUAGES",
    "AllClear",
    "AllClearInput",
    "Problem",
    "Reason",
    "all_clear_texts",
    "default_all_clear",
    "problems",
]

HEADLINE_MAX: Final = 160
"""A headline is read first and whole (it heads the SMS); CAP advises keeping it short."""
DESCRIPTION_MAX: Final = 2000
INSTRUCTION_MAX: Final = 1000
LANGUAGE_MAX: Final = 35
"""The longest language tag accepted (BCP 47 recommends supporting at least 35 characters)."""
MAX_LANGUAGES: Final = 20
"""At most this many languages in one all-clear: an alert carries an info per language, and no more are needed."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters an XML document cannot carry: the Cancel is stored and served as CAP XML too."""
_LANGUAGE = re.compile(r"[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*", re.ASCII)


@dataclass(frozen=True, slots=True)
class AllClear:
    """The words of one language of a Cancel."""

    language: str
    headline: str
    description: str
    instruction: str


@dataclass(frozen=True, slots=True)
class AllClearInput:
    """What a caller wrote for one language; a field left as None takes the default all-clear's words, an empty
    description or instruction is left out of the message."""

    language: str
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None


def _areas(info: Mapping[str, Any]) -> str:
    names = [str(area.get("areaDesc") or "").strip() for area in info.get("area") or []]
    return "; ".join(name for name in names if name)


def default_all_clear(info: Mapping[str, Any]) -> AllClear:
    """The all-clear of one original ``info`` (CAP JSON form), in its language (English when the ``messages``
    catalogue lacks it): named by the event, so a headline's call to action ("leave now") is not repeated."""
    language = str(info.get("language") or "en-US")
    _ = translator("messages", language)
    what = " ".join(str(info.get("event") or info.get("headline") or "").split())
    area = _areas(info)
    return AllClear(
        language=language,
        headline=_("All clear: {event}", event=what) if what else _("All clear"),
        description=(
            _("This cancels the earlier alert ({area}).", area=area) if area else _("This cancels the earlier alert.")
        ),
        instruction=_("The warning has ended. You can return to normal activity."),
    )


class Reason(StrEnum):
    """Why a field is refused: the console words each reason in the page's language, the API gives ``msg``."""

    BLANK = "blank"
    TOO_LONG = "too_long"
    BAD_CHARACTER = "bad_character"
    NOT_A_TAG = "not_a_tag"
    NOT_THE_ALERTS = "not_the_alerts"
    TWICE = "twice"
    TOO_MANY = "too_many"


@dataclass(frozen=True, slots=True)
class Problem:
    """One field refused: where, why (``reason``) and the sentence the API answers (``msg``)."""

    loc: Loc
    reason: Reason
    msg: str

    def field_error(self) -> FieldError:
        return FieldError(self.loc, self.msg)


def _text_problems(loc: Loc, value: str | None, limit: int, required: bool) -> list[Problem]:
    if value is None:
        return []
    if required and not value.strip():
        return [Problem(loc, Reason.BLANK, "the headline cannot be empty")]
    if len(value) > limit:
        return [Problem(loc, Reason.TOO_LONG, f"at most {limit} characters ({len(value)} given)")]
    bad = _NOT_XML.search(value)
    if bad:
        code = f"U+{ord(bad.group()):04X}"
        return [Problem(loc, Reason.BAD_CHARACTER, f"contains a character CAP XML cannot carry ({code})")]
    hidden = hidden_character(value)  # the rule of every text residents read (CAP's ReaderText)
    if hidden is not None:
        msg = f"contains {hidden}, an invisible character that can change how the text reads: remove it"
        return [Problem(loc, Reason.BAD_CHARACTER, msg)]
    return []


def _match(language: str, originals: Sequence[str]) -> str | None:
    """The original's language tag ``language`` names: the same tag (any case), or the same primary language when
    the original has exactly one tag of it (``fr`` for ``fr-CA``)."""
    for tag in originals:
        if tag.casefold() == language.casefold():
            return tag
    same = sorted({tag for tag in originals if primary_tag(tag) == primary_tag(language)})
    return same[0] if len(same) == 1 else None


def _languages(infos: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(info.get("language") or "en-US") for info in infos))


def _resolve(
    infos: Sequence[Mapping[str, Any]], given: Sequence[AllClearInput], loc: Loc
) -> tuple[dict[str, AllClearInput], list[Problem]]:
    """Each given entry under the original language it names, and every problem found, each at its field."""
    problems: list[Problem] = []
    if len(given) > MAX_LANGUAGES:
        return {}, [Problem(loc, Reason.TOO_MANY, f"at most {MAX_LANGUAGES} languages ({len(given)} given)")]
    originals = _languages(infos)
    chosen: dict[str, AllClearInput] = {}
    first_at: dict[str, int] = {}
    for index, entry in enumerate(given):
        at: Loc = [*loc, index]
        language = entry.language.strip()
        if not language or len(language) > LANGUAGE_MAX or not _LANGUAGE.fullmatch(language):
            msg = f"'{language[:40]}' is not a language tag like en-US"
            problems.append(Problem([*at, "language"], Reason.NOT_A_TAG, msg))
        else:
            tag = _match(language, originals)
            if tag is None:
                known = ", ".join(originals)
                msg = f"the alert has no message in '{language}' ({known})"
                problems.append(Problem([*at, "language"], Reason.NOT_THE_ALERTS, msg))
            elif tag in first_at:
                msg = f"'{tag}' is given twice (also at {first_at[tag]})"
                problems.append(Problem([*at, "language"], Reason.TWICE, msg))
            else:
                first_at[tag] = index
                chosen[tag] = entry
        problems += _text_problems([*at, "headline"], entry.headline, HEADLINE_MAX, required=True)
        problems += _text_problems([*at, "description"], entry.description, DESCRIPTION_MAX, required=False)
        problems += _text_problems([*at, "instruction"], entry.instruction, INSTRUCTION_MAX, required=False)
    return chosen, problems


def problems(
    infos: Sequence[Mapping[str, Any]], given: Sequence[AllClearInput], loc: Sequence[str | int] = ("body", "info")
) -> list[Problem]:
    """Everything wrong with ``given`` as the all-clear of an alert whose infos are ``infos``, each at ``loc`` +
    its index and field (none: it may be sent)."""
    return _resolve(infos, given, list(loc))[1]


def all_clear_texts(
    infos: Sequence[Mapping[str, Any]],
    given: Sequence[AllClearInput] = (),
    loc: Sequence[str | int] = ("body", "info"),
) -> list[AllClear]:
    """The all-clear of each original info, in order: the caller's words for its language where given (a field
    left as None from the default), else the default all-clear. Raises :class:`~alertsvc.errors.InvalidInput`
    naming every field at fault."""
    chosen, refused = _resolve(infos, given, list(loc))
    if refused:
        found = [problem.field_error() for problem in refused]
        count = len(found)
        raise InvalidInput(
            "; ".join(f"{error.path}: {error.msg}" for error in found),
            message=f"{count} problem{'s' if count != 1 else ''} in the all-clear",
            errors=found,
        )
    texts = []
    for info in infos:
        default = default_all_clear(info)
        entry = chosen.get(default.language)
        if entry is None:
            texts.append(default)
            continue
        texts.append(
            AllClear(
                language=default.language,
                headline=(entry.headline if entry.headline is not None else default.headline).strip(),
                description=(entry.description if entry.description is not None else default.description).strip(),
                instruction=(entry.instruction if entry.instruction is not None else default.instruction).strip(),
            )
        )
    return texts
