"""The compose preview warns, per language, when the SMS will leave out or cut short part of the message (the
description that does not fit the segment budget), in the page's language; nothing is dropped silently, an Update's
French prefix included, and a message that fits gets no warning."""

from __future__ import annotations

import re
from typing import Any

import httpx

from alertsvc.dispatch.sms_text import sms_cost
from alertsvc.settings import Settings
from alertsvc.web.console.preview import sms_previews
from tests.console.helpers import compose_data, csrf_of
from tests.console.test_compose import GEOJSON_SQUARE

LONG_FR = "L'eau monte rapidement dans le quartier du Vieux-Moulin et sur les berges de la rivière. " * 6
WARNING = re.compile(r'<p class="warning sms-dropped" id="sms-dropped-(\d)">(.*?)</p>', re.S)


async def _panel(client: httpx.AsyncClient, lang: str, **fields: Any) -> str:
    page = await client.get("/console/alerts/new")
    response = await client.post(
        f"/console/compose/preview.json?lang={lang}",
        data=compose_data(polygon=GEOJSON_SQUARE, **fields),
        headers={"X-CSRF-Token": csrf_of(page.text), "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    panel: str = response.json()["panel_html"]
    return panel


FRENCH = {
    "info1_language": "fr-CA", "info1_event": "Inondation", "info1_headline": "Inondation : l'eau monte",
    "info1_description": LONG_FR, "info1_instruction": "Quittez le secteur par la rue Principale.",
}  # fmt: skip


async def test_the_preview_warns_of_the_french_sms_leaving_out_its_description(dispatcher: httpx.AsyncClient) -> None:
    english = await _panel(dispatcher, "en", **FRENCH)
    warnings = WARNING.findall(english)
    assert [index for index, _text in warnings] == ["1"]  # the English message fits: no warning for it
    text = warnings[0][1]
    assert "Warning:" in text and "The SMS in French will leave out or cut short: the description." in text
    french = await _panel(dispatcher, "fr", **FRENCH)
    assert "Le SMS en français laissera de côté ou raccourcira : la description." in french
    assert "will leave out" not in french


async def test_a_message_that_fits_gets_no_warning(dispatcher: httpx.AsyncClient) -> None:
    panel = await _panel(dispatcher, "en", **{**FRENCH, "info1_description": "L'eau monte."})
    assert 'class="warning sms-dropped"' not in panel and "leave out" not in panel


def test_an_update_in_french_never_drops_its_description_without_the_warning(settings: Settings) -> None:
    """The issue's case: "MISE À JOUR:" (typed by the author, À forcing UCS-2) left the description out silently."""
    for headline in ("Inondation : l'eau monte", "MISE À JOUR : l'eau monte encore"):
        info = {"language": "fr-CA", "event": "Inondation", "headline": headline, "description": LONG_FR,
                "instruction": "Quittez le secteur."}  # fmt: skip
        document = {"status": "Actual", "msgType": "Update", "info": [info]}
        (preview,) = sms_previews(document, settings)
        assert preview.text.count("MISE A JOUR") + preview.text.count("MISE À JOUR") == 1  # never doubled
        whole = " ".join(LONG_FR.split())
        assert (whole not in preview.text) == bool(preview.dropped), headline
        assert preview.dropped == ("description",) and preview.dropped_parts == ("the description",)
        assert preview.dropped_warning == "The SMS in French will leave out or cut short:"


def test_the_sms_with_its_real_link_stays_within_the_segment_budget(settings: Settings) -> None:
    info = {"language": "fr-CA", "event": "Inondation", "headline": "Inondation : l'eau monte",
            "description": LONG_FR, "instruction": "Quittez le secteur."}  # fmt: skip
    (preview,) = sms_previews({"status": "Actual", "msgType": "Update", "info": [info]}, settings)
    assert preview.dropped  # cut to fit the budget...
    assert sms_cost(preview.text).segments <= settings.sms_max_segments  # ...and yet over it, once the link is in
