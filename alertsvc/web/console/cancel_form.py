"""The console's Cancel form: the all-clear in each language of the alert, prefilled, read back, errors at fields.

A Cancel is typed under pressure, so the form starts filled: from the notice template the alert was made from,
when one has an ``all_clear`` for that event and language (``templates/console/notices/*.json``, beside each
``info``: "Boil-water advisory lifted" says more than a generic all-clear), else from the default all-clear of the
``messages`` catalogue (:func:`alertsvc.alerts.all_clear.default_all_clear`). The checks are the domain's
(:func:`alertsvc.alerts.all_clear.problems`), so the console refuses what the API refuses, with the same words;
here each problem is placed at the field that produced it (``info[1].headline`` → ``info1_headline``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alertsvc.alerts.all_clear import (
    DESCRIPTION_MAX,
    HEADLINE_MAX,
    INSTRUCTION_MAX,
    MAX_LANGUAGES,
    AllClear,
    AllClearInput,
    Reason,
    default_all_clear,
    problems,
)
from alertsvc.alerts.queries import Alert
from alertsvc.alerts.states import AlertState
from alertsvc.i18n import N_, primary_tag
from alertsvc.web.console.prefill import notices

__all__ = ["LIMITS", "AllClearBlock", "errors_of", "given", "notice_all_clear", "prefill", "read", "sends_message"]

FIELDS = ("headline", "description", "instruction")
LIMITS = {"headline": HEADLINE_MAX, "description": DESCRIPTION_MAX, "instruction": INSTRUCTION_MAX}
"""Each field's length limit, the domain's, given to the form's ``maxlength``."""
REASONS = {
    Reason.BLANK: N_("Write a headline: residents read it first."),
    Reason.TOO_LONG: N_("Too long: shorten it."),
    Reason.BAD_CHARACTER: N_("Remove the invisible or control character."),
    Reason.NOT_A_TAG: N_("Not a language of this alert."),
    Reason.NOT_THE_ALERTS: N_("Not a language of this alert."),
    Reason.TWICE: N_("This language is given twice."),
    Reason.TOO_MANY: N_("Too many languages."),
}
"""What the form says of each refusal (English ids of the console catalogue; the template translates them)."""


@dataclass(frozen=True, slots=True)
class AllClearBlock:
    """One language's fields on the form, as typed."""

    language: str
    headline: str = ""
    description: str = ""
    instruction: str = ""


def sends_message(alert: Alert) -> bool:
    """Whether cancelling sends a Cancel (the alert went out), or only withdraws it (nothing to write then)."""
    return alert.state in {AlertState.DISPATCHING, AlertState.SENT}


def _same(a: object, b: object) -> bool:
    return " ".join(str(a or "").split()).casefold() == " ".join(str(b or "").split()).casefold()


def notice_all_clear(info: Mapping[str, Any]) -> AllClear | None:
    """The all-clear of the notice template whose info has this event in this language (by primary subtag)."""
    language = str(info.get("language") or "en-US")
    for notice in notices():
        for template in notice.fields.get("infos", []):
            words = template.get("all_clear")
            if (
                isinstance(words, dict)
                and _same(template.get("event"), info.get("event"))
                and primary_tag(str(template.get("language", ""))) == primary_tag(language)
            ):
                return AllClear(language, *(str(words.get(name) or "") for name in FIELDS))
    return None


def prefill(alert: Alert) -> list[AllClearBlock]:
    """One block per language of the alert, in its order, filled from a notice template or the default all-clear."""
    blocks: dict[str, AllClearBlock] = {}
    for info in alert.cap.get("info") or []:
        language = str(info.get("language") or "en-US")
        if language not in blocks:
            text = notice_all_clear(info) or default_all_clear(info)
            blocks[language] = AllClearBlock(language, text.headline, text.description, text.instruction)
    return list(blocks.values())


def read(data: Mapping[str, Any]) -> list[AllClearBlock]:
    """The blocks a submitted form holds (``info0_language``, ``info0_headline``, ...), in order; a form without
    them (an older page) holds none, and the Cancel then carries the default all-clear."""
    blocks = []
    for index in range(MAX_LANGUAGES + 1):
        language = data.get(f"info{index}_language")
        if not isinstance(language, str):
            break
        values = [data.get(f"info{index}_{name}") for name in FIELDS]
        blocks.append(AllClearBlock(language.strip(), *(value if isinstance(value, str) else "" for value in values)))
    return blocks


def given(blocks: Sequence[AllClearBlock]) -> list[AllClearInput]:
    """The blocks as the domain takes them: every field as typed (an emptied description or instruction is none)."""
    return [AllClearInput(b.language, b.headline, b.description, b.instruction) for b in blocks]


def errors_of(alert: Alert, blocks: Sequence[AllClearBlock]) -> dict[str, str]:
    """Form field name → what is wrong with it (an English id the template translates); empty when the all-clear
    may be sent."""
    fields: dict[str, str] = {}
    for problem in problems(alert.cap.get("info") or [], given(blocks), loc=("info",)):
        if len(problem.loc) >= 3 and isinstance(problem.loc[1], int):
            name = f"info{problem.loc[1]}_{problem.loc[2]}"
        else:
            name = "info0_headline"  # the list as a whole (too many blocks): shown at the first field
        fields.setdefault(name, REASONS[problem.reason])
    return fields
