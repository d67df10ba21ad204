"""Bidirectional controls and invisible characters in the text residents read are refused with a 422 naming the
element, the same way for CAP XML and CAP JSON (the console's compose form: tests/console); the characters some
languages and emoji need are accepted (``alertsvc/cap/visible.py`` says which and why)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from alertsvc.cap import CapError, alert_to_xml, parse_cap_json
from alertsvc.cap.visible import hidden_character
from tests.conftest import KeyMaker, auth
from tests.factories import cap_alert

REFUSED = {
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
    "\u200b": "ZERO WIDTH SPACE",
    "\u2060": "WORD JOINER",
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE",
    "\u00ad": "SOFT HYPHEN",
    "\u2061": "FUNCTION APPLICATION",
    "\ufff9": "INTERLINEAR ANNOTATION ANCHOR",
    "\u0085": "control character",
    "\u007f": "control character",
    "\U000e0041": "TAG LATIN CAPITAL LETTER A",  # a tag outside an emoji flag sequence
}
ACCEPTED = [
    "Évacuez 👨\u200d👩\u200d👧 now",  # ZWJ in an emoji sequence
    "🏳\ufe0f\u200d🌈 march cancelled",  # ZWJ + variation selector
    "\u0627\u062e\u0644\u0648\u0627 \u0627\u0644\u0645\u0646\u0637\u0642\u0629 (A-12)\u200f.",  # RLM in Arabic
    "Hello \u200eworld\u061c",  # LRM, ALM
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # ZWNJ in Persian
    "Match abandoned 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England's flag (tags)
    "Line one\nLine two\r\n\ttabbed\u2028and\u00a0spaces",  # breaks and spaces are the renderer's to fold
    "\u0600\u0661\u0662",  # Arabic number sign, visible
]


@pytest.mark.parametrize("character", REFUSED, ids=[f"U+{ord(c):04X}" for c in REFUSED])
def test_each_hidden_character_is_named(character: str) -> None:
    found = hidden_character(f"Leave {character}now")
    assert found is not None and found.startswith(f"U+{ord(character):04X}") and REFUSED[character] in found


@pytest.mark.parametrize("text", ACCEPTED)
def test_what_languages_and_emoji_need_is_accepted(text: str) -> None:
    assert hidden_character(text) is None
    document = cap_alert()
    document["info"][0]["headline"] = text
    parse_cap_json(document)


@pytest.mark.parametrize(
    ("where", "loc"),
    [
        (("info", 0, "headline"), ["info", 0, "headline"]),
        (("info", 0, "description"), ["info", 0, "description"]),
        (("info", 0, "instruction"), ["info", 0, "instruction"]),
        (("info", 0, "event"), ["info", 0, "event"]),
        (("info", 0, "senderName"), ["info", 0, "senderName"]),
        (("info", 0, "web"), ["info", 0, "web"]),
        (("info", 0, "contact"), ["info", 0, "contact"]),
        (("info", 0, "area", 0, "areaDesc"), ["info", 0, "area", 0, "areaDesc"]),
    ],
)
def test_every_text_residents_read_is_checked(where: tuple[str | int, ...], loc: list[str | int]) -> None:
    document = cap_alert()
    target: Any = document
    for part in where[:-1]:
        target = target[part]
    target[where[-1]] = "https://city.example/\u202eevac"
    with pytest.raises(CapError) as caught:
        parse_cap_json(document)
    assert [error.loc for error in caught.value.errors] == [loc]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in caught.value.errors[0].msg


def _xml_with_headline(headline_xml: str) -> bytes:
    document = cap_alert()
    document["info"][0]["headline"] = "PLACEHOLDER-HEADLINE"
    xml = alert_to_xml(parse_cap_json(document))
    text = xml.decode() if isinstance(xml, bytes) else xml
    return text.replace("PLACEHOLDER-HEADLINE", headline_xml).encode()


async def _problem(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("written", ["\u202e", "&#x202E;", "&#8238;"])
async def test_cap_xml_is_refused_naming_the_field(client: httpx.AsyncClient, make_key: KeyMaker, written: str) -> None:
    key = await make_key("alerts:write")
    response = await client.post(
        "/api/v1/alerts",
        content=_xml_with_headline(f"Gas leak {written}aera eht evael"),
        headers={**auth(key), "Content-Type": "application/cap+xml"},
    )
    body = await _problem(response)
    assert [error["loc"] for error in body["errors"]] == [["info", 0, "headline"]]
    assert "U+202E" in body["errors"][0]["msg"]


async def test_cap_json_is_refused_naming_the_field(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    key = await make_key("alerts:write")
    document = cap_alert()
    document["info"][0]["description"] = "Call\u200b 911"
    response = await client.post("/api/v1/alerts", json=document, headers=auth(key))
    body = await _problem(response)
    assert [error["loc"] for error in body["errors"]] == [["info", 0, "description"]]
    assert "U+200B ZERO WIDTH SPACE" in body["errors"][0]["msg"]


async def test_xml_and_json_accept_an_emoji_sequence_and_rtl_marks(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:write")
    document = cap_alert()
    document["info"][0]["headline"] = ACCEPTED[0] + " " + ACCEPTED[2]
    answered = await client.post("/api/v1/alerts", json=document, headers=auth(key))
    assert answered.status_code == 201, answered.text
    xml = await client.post(
        "/api/v1/alerts",
        content=_xml_with_headline(ACCEPTED[5]),
        headers={**auth(key), "Content-Type": "application/cap+xml"},
    )
    assert xml.status_code == 201, xml.text
