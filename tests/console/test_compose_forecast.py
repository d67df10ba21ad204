"""The compose page's reach per channel and language and its time-to-warn forecast, "SMS: 12,400 messages at 100/s
≈ 2 min 4 s", from the configured provider rates, in English and French, in the page and in preview.json; and the
alert page's forecast beside the measured time-to-warn."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from alertsvc.alerts.forecast import forecast, split_duration, whole_alert_seconds
from alertsvc.runtime import Runtime
from alertsvc.settings import Settings
from alertsvc.web.console.preview import duration_text, forecast_lines, whole_text
from tests.conftest import make_settings
from tests.console.helpers import compose, compose_data, csrf_of, post_form
from tests.console.test_compose import GEOJSON_SQUARE
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker


@pytest.fixture
def settings(tmp_path: Path, database_url: str, clean_redis: str) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        clean_redis,
        approval_required_statuses=["Actual", "Exercise", "Test"],
        sms_rate_per_second=100,
        email_rate_per_second=2.5,
    )


def test_the_forecast_is_the_messages_over_the_configured_rate(settings: Settings) -> None:
    found = {c.channel: c for c in forecast({"sms": 12_400, "email": 5, "push": 7}, settings)}
    assert found["sms"].seconds == 124.0 and found["sms"].rate == 100
    assert found["email"].seconds == 2.0
    assert found["push"].seconds is None and found["push"].rate is None  # no rate set: unknown, not guessed
    assert whole_alert_seconds(list(found.values())) is None
    assert whole_alert_seconds(forecast({"sms": 12_400, "email": 5}, settings)) == 124.0  # the slowest channel
    assert forecast({"sms": 0}, settings) == []


def test_durations_round_up_and_read_in_both_languages() -> None:
    assert split_duration(0.2) == (0, 0, 1)  # 3 messages at 100/s do not take "0 s"
    assert split_duration(3725) == (1, 2, 5)
    assert duration_text(124, "en") == "2 min 4 s"
    assert duration_text(3725, "fr") == "1 h 2 min"
    assert duration_text(59.1, "en") == "1 min 0 s"
    assert duration_text(45, "fr") == "45 s"


def test_forecast_sentences_in_english_and_french(settings: Settings) -> None:
    english = {line.channel: line.text for line in forecast_lines({"sms": 12_400, "push": 1}, settings, "en")}
    assert english == {
        "sms": "SMS: 12,400 messages at 100/s ≈ 2 min 4 s",
        "push": "Push: 1 message, no rate limit set",
    }
    french = {line.channel: line.text for line in forecast_lines({"sms": 12_400, "email": 3}, settings, "fr")}
    assert french["sms"] == "SMS : 12\u202f400 messages à 100/s ≈ 2 min 4 s"
    assert french["email"] == "Courriel : 3 messages à 2,5/s ≈ 2 s"
    assert whole_text({"sms": 12_400, "email": 3}, settings, "fr") == "2 min 4 s"


async def test_preview_gives_reach_per_language_and_the_forecast(
    dispatcher: httpx.AsyncClient, runtime: Runtime
) -> None:
    # Test recipients: the form's Exercise reaches them alone (tests/console/test_honest_figures.py).
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550401", email="a@example.org", test_recipient=True)
    await add_resident(runtime.sessions, 45.6, -72.6, language="fr-CA", sms="+15145550402", test_recipient=True)
    await add_resident(
        runtime.sessions, 45.7, -72.7, language="fr", email="c@example.org", confirmed=False, test_recipient=True
    )
    await add_resident(runtime.sessions, 44.0, -72.5, language="fr", sms="+15145550403", test_recipient=True)  # outside
    page = await dispatcher.get("/console/alerts/new")
    token = csrf_of(page.text)
    response = await dispatcher.post(
        "/console/compose/preview.json?lang=fr",
        data=compose_data(polygon=GEOJSON_SQUARE),
        headers={"X-CSRF-Token": token, "Accept": "application/json", "Accept-Language": "fr"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["residents"] == 3 and body["languages"] == {"en": 1, "fr": 2}
    assert body["contacts"] == {"sms": 2, "email": 1, "push": 0}  # the unconfirmed address is nobody's yet
    assert body["contacts_by_language"] == {"sms": {"en": 1, "fr": 1}, "email": {"en": 1}, "push": {}}
    assert [line["text"] for line in body["forecast"]] == [
        "SMS : 2 messages à 100/s ≈ 1 s",
        "Courriel : 1 message à 2,5/s ≈ 1 s",
    ]
    assert body["forecast_whole"] == "1 s"
    assert 'id="forecast-sms">SMS : 2 messages à 100/s ≈ 1 s<' in body["panel_html"]
    assert "E-mail subject:" not in body["panel_html"] and "Objet du courriel" in body["panel_html"]
    assert body["sms"][0]["subject"].startswith("[EXERCISE")
    no_js = await dispatcher.post(
        "/console/alerts/new", data={**compose_data(polygon=GEOJSON_SQUARE), "csrf_token": token, "action": "preview"}
    )
    # ?lang=fr above kept French as the dispatcher's choice: the page without JavaScript says the same.
    assert 'id="forecast-sms">SMS : 2 messages à 100/s ≈ 1 s<' in no_js.text
    assert "environ 1 s aux débits configurés" in no_js.text
    english = await dispatcher.post(
        "/console/compose/preview.json?lang=en",
        data=compose_data(polygon=GEOJSON_SQUARE),
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert english.json()["forecast"][0]["text"] == "SMS: 2 messages at 100/s ≈ 1 s"


async def test_the_alert_page_shows_the_forecast_beside_the_measured_time(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    for n in range(3):
        await add_resident(runtime.sessions, 45.5, -72.5 + n * 0.01, sms=f"+1514555050{n}", test_recipient=True)
    path = (await compose(dispatcher)).headers["location"]
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303
    await run_worker(runtime)
    page = await dispatcher.get(path)
    assert 'id="forecast-sms">SMS: 3 messages at 100/s ≈ 1 s<' in page.text
    assert 'id="ttw-forecast">≈ 1 s<' in page.text
    assert 'id="ttw-done_100">—<' not in page.text  # the measured time stands beside it
