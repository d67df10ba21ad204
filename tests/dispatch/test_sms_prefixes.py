"""The Update and Cancel prefixes of an SMS: in the reader's language, spelled so that French and Spanish stay in
GSM-7 (160 characters a segment, not UCS-2's 70), counted in the segment budget, never doubled when the author
typed the word themselves, and a description the budget leaves out is reported for the console's preview."""

from __future__ import annotations

import pytest

from alertsvc.dispatch.render import ACK_PLACEHOLDER, LABELS, already_says, labels, render_info
from alertsvc.dispatch.sms_text import is_gsm7, sms_cost
from alertsvc.security.links import LONGEST_TOKEN

LINK = "https://alerts.example.org/a/" + "x" * LONGEST_TOKEN
"""The longest link the SMS budget keeps room for with this public URL (render.sms_link_room)."""


def _sms(headline: str, language: str, msg_type: str, description: str = "", segments: int = 2) -> tuple[str, bool]:
    info = {"language": language, "headline": headline, "description": description,
            "instruction": "Restez chez vous." if language.startswith("fr") else "Stay at home."}  # fmt: skip
    rendered = render_info(
        info, status="Actual", msg_type=msg_type, sender_name="Ville", public_url="https://alerts.example.org",
        max_segments=segments,
    )  # fmt: skip
    return rendered.sms.replace(ACK_PLACEHOLDER, LINK), "description" in rendered.sms_dropped


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_every_languages_prefixes_are_gsm7(language: str) -> None:
    words = labels(language)
    for key in ("update", "cancel", "test", "exercise"):
        assert is_gsm7(words[key]), (language, key, words[key])


def test_a_french_update_stays_gsm7_and_within_its_segments() -> None:
    description = "L'eau monte rapidement dans le quartier du vieux moulin et sur les berges. " * 3
    text, dropped = _sms("Inondation : l'eau monte", "fr-CA", "Update", description, segments=2)
    assert text.startswith("MISE A JOUR: Inondation")
    assert is_gsm7(text)
    assert sms_cost(text).segments <= 2
    assert dropped and text.split("\n")[2].endswith("...")  # the description was shortened to fit, and said so


@pytest.mark.parametrize(
    ("headline", "language"),
    [("UPDATE: the water is rising", "en"), ("Update - the water is rising", "en"),
     ("Mise à jour : l'eau monte", "fr"), ("MISE A JOUR: l'eau monte", "fr"), ("update: l'eau monte", "fr"),
     ("Actualización: el agua sube", "es")],
)  # fmt: skip
def test_a_prefix_the_author_typed_is_not_doubled(headline: str, language: str) -> None:
    text, _dropped = _sms(headline, language, "Update")
    first = text.split("\n", 1)[0]
    assert first == headline  # no second prefix
    assert "UPDATE: UPDATE" not in text.upper()


def test_a_word_that_merely_starts_alike_still_gets_the_prefix() -> None:
    assert not already_says("Updated maps of the area", LABELS["update"])
    text, _dropped = _sms("Updated maps of the area", "en", "Update")
    assert text.startswith("UPDATE: Updated maps")
    cancel, _dropped = _sms("Cancelled: the school closure", "en", "Cancel")
    assert cancel.startswith("Cancelled: the school closure")


def test_the_prefix_counts_in_the_budget_and_a_dropped_description_is_reported() -> None:
    headline = "Flood warning for the whole valley, river above the alert level"
    description = "Water is expected to rise by two metres over the night in low parts of the valley. " * 4
    text, dropped = _sms(headline, "en", "Update", description, segments=1)
    assert text.startswith("UPDATE: ") and sms_cost(text).segments == 1  # the prefix is inside the one segment
    assert dropped and description.strip() not in text
    whole, dropped_none = _sms("Short", "en", "Update", "Short description.", segments=2)
    assert not dropped_none and "Short description." in whole
