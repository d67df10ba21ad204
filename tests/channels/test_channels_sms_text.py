"""SMS text budgets: encodings, segment counts, and fitting a notice into a budget (property-based)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alertsvc.dispatch.sms_text import Encoding, fit_sms, is_gsm7, sms_cost


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", Encoding.GSM7, 0, 0),
        ("a" * 160, Encoding.GSM7, 160, 1),
        ("a" * 161, Encoding.GSM7, 161, 2),
        ("a" * 306, Encoding.GSM7, 306, 2),
        ("a" * 307, Encoding.GSM7, 307, 3),
        ("€" * 80, Encoding.GSM7, 160, 1),
        ("€" * 81, Encoding.GSM7, 162, 2),
        ("a" * 152 + "€", Encoding.GSM7, 154, 1),  # fits one segment: 154 <= 160
        ("a" * 152 + "€" + "a" * 7, Encoding.GSM7, 161, 2),
        ("a" * 152 + "€" + "a" * 8, Encoding.GSM7, 162, 2),  # the escape pair moves to part two: 152 | 2+8
        ("é ü ñ Ä ß", Encoding.GSM7, 9, 1),
        ("ç", Encoding.UCS2, 1, 1),  # only capital Ç is in GSM-7
        ("я" * 70, Encoding.UCS2, 70, 1),
        ("я" * 71, Encoding.UCS2, 71, 2),
        ("🌊" * 35, Encoding.UCS2, 70, 1),
        ("🌊" * 36, Encoding.UCS2, 72, 2),
        ("a" * 66 + "🌊", Encoding.UCS2, 68, 1),
        ("a" * 66 + "🌊" + "a" * 3, Encoding.UCS2, 71, 2),  # the surrogate pair is not split: 66 | 2+3
    ],
)
def test_costs(text: str, encoding: Encoding, units: int, segments: int) -> None:
    cost = sms_cost(text)
    assert (cost.encoding, cost.units, cost.segments) == (encoding, units, segments)


def test_escape_pairs_never_straddle_parts() -> None:
    # 153 septets per part; 152 'a' then '€' (2 septets) must start part two.
    assert sms_cost("a" * 152 + "€" + "a" * 152).segments == 3
    assert sms_cost("a" * 153 + "a" * 153).segments == 2


def test_short_notice_is_unchanged() -> None:
    assert fit_sms("Flood warning", "Move to higher ground", "River rising.", "https://a.example/x", 1) == (
        "Flood warning\nMove to higher ground\nRiver rising.\nhttps://a.example/x"
    )


def test_description_is_shortened_with_a_gsm_ellipsis() -> None:
    text = fit_sms("Flood warning", "Move to higher ground now", "word " * 60, "https://a.example/x", 1)
    assert sms_cost(text).segments == 1 and is_gsm7(text)
    assert "...\nhttps://a.example/x" in text


def test_ucs2_text_uses_the_single_character_ellipsis() -> None:
    text = fit_sms("Наводнение", "Поднимитесь выше", "вода " * 40, "https://a.example/x", 2)
    assert sms_cost(text).segments <= 2
    assert "…\nhttps://a.example/x" in text


def test_description_left_out_when_nothing_fits() -> None:
    text = fit_sms("H" * 100, "I" * 40, "description", "https://a.example/x", 1)
    assert text == "H" * 100 + "\n" + "I" * 40 + "\nhttps://a.example/x"


@pytest.mark.parametrize("unit", ["👨\u200d👩\u200d👧", "🇫🇷", "e\u0301", "👍🏽", "☔\ufe0f"])
def test_grapheme_clusters_are_not_split(unit: str) -> None:
    text = fit_sms("Alerte", "Abritez-vous", unit * 60, "https://a.example/x", 1)
    kept = text.split("\n")[2].removesuffix("…") if text.count("\n") == 3 else ""
    assert kept and kept == unit * (len(kept) // len(unit))


texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=300)
mostly_gsm = st.text(st.sampled_from("abcdefghij ABC.,!?-€[]{}éüñ\n"), max_size=300)
parts = st.one_of(texts, mostly_gsm)


@settings(max_examples=300, deadline=None)
@given(
    headline=parts,
    instruction=parts,
    description=parts,
    link=st.from_regex(r"https://a\.example/[a-z0-9]{1,40}", fullmatch=True),
    budget=st.integers(1, 6),
)
def test_fit_never_exceeds_the_budget_when_the_fixed_parts_fit(
    headline: str, instruction: str, description: str, link: str, budget: int
) -> None:
    fixed = "\n".join(p for p in (headline.strip(), instruction.strip(), link) if p)
    assume(sms_cost(fixed).segments <= budget)
    text = fit_sms(headline, instruction, description, link, budget)
    assert sms_cost(text).segments <= budget


@settings(max_examples=300, deadline=None)
@given(
    headline=parts,
    instruction=parts,
    description=parts,
    link=st.from_regex(r"https://a\.example/[a-z0-9]{1,40}", fullmatch=True),
    budget=st.integers(1, 6),
)
def test_headline_instruction_and_link_always_present(
    headline: str, instruction: str, description: str, link: str, budget: int
) -> None:
    text = fit_sms(headline, instruction, description, link, budget)
    lines = text.split("\n")
    assert text.startswith(headline.strip())
    assert instruction.strip() in text
    assert text.endswith(link)
    assert lines[-1] == link
