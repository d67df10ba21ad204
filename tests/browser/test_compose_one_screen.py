"""The compose page on one screen of a 1366×900 laptop: the map, the reach (per channel and language, with the
time-to-warn forecast) and the SMS preview are all inside the first viewport, without scrolling, and they follow
the area as it changes. The area is given here without a pointer (coordinates typed in the polygon field, then a
named zone ticked with the keyboard), which is also how a dispatcher without a mouse draws.
Screenshot: ``test-output/screenshots/compose-one-screen.png`` (the first viewport only)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser.test_console_flow import BOX, CHROMIUM, LiveServer, _sign_in, pytestmark, snap  # noqa: F401

VIEWPORT = {"width": 1366, "height": 900}
SMS_RATE = 2
"""Messages per second for the forecast: 3 SMS at 2/s take 1.5 s, shown rounded up as 2 s."""


@pytest.fixture
def provider_rates(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Configured SMS rate for the live server's settings (requested before ``live_server``, so it reads it)."""
    monkeypatch.setenv("ALERTSVC_SMS_RATE_PER_SECOND", str(SMS_RATE))
    yield


async def _inside_first_viewport(page: Page, selector: str) -> None:
    box = await page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not rendered"
    assert box["width"] > 0 and box["height"] > 0, f"{selector} is empty"
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"], f"{selector} is off screen: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], f"{selector} is below the fold: {box}"


async def test_map_reach_and_sms_are_on_the_first_screen(provider_rates: None, live_server: LiveServer) -> None:
    base = live_server.url
    polygon = " ".join(f"{lat},{lon}" for lat, lon in [*BOX, BOX[0]])
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = await (await browser.new_context(viewport=VIEWPORT)).new_page()
            await _sign_in(page, base, live_server.dispatcher)
            await page.goto(f"{base}/console/alerts/new")
            await expect(page.locator("#map")).to_have_attribute("data-ready", "1")
            await page.check("#status-Exercise")
            await page.fill("#info0_event", "Gas leak")
            await page.fill("#info0_headline", "Gas leak on Mill Street: leave the area")
            await page.fill("#info0_instruction", "Leave the area now, on foot, away from Mill Street.")
            await page.fill("#area_desc", "Around Mill Street")
            await page.fill("#polygon", polygon)  # no pointer: the coordinates box

            await expect(page.locator("#reach-residents")).to_have_text("3")
            await expect(page.locator("#reach-sms")).to_have_text("3")
            await expect(page.locator("#forecast-sms")).to_have_text("SMS: 3 messages at 2/s ≈ 2 s")
            await expect(page.locator("#forecast-email")).to_have_text("E-mail: 3 messages, no rate limit set")
            await expect(page.locator(".reach-table thead")).to_contain_text("en")
            await expect(page.locator("#sms-previews .sms")).to_contain_text("Gas leak on Mill Street")
            await expect(page.locator("#sms-previews .subject")).to_contain_text("Gas leak")
            await expect(page.locator("#reach-announce")).to_contain_text("3")
            # The drawn area is on the map, from the typed coordinates.
            await page.wait_for_function("consoleMap.area.getLayers().length > 0")

            await page.evaluate("window.scrollTo(0, 0)")
            assert await page.evaluate("window.scrollY") == 0
            await snap(page, "compose-one-screen.png", full_page=False)
            for selector in ("#map", "#reach-summary", ".reach-table", "#sms-previews .sms-preview"):
                await _inside_first_viewport(page, selector)

            # The reach follows the area: a zone ticked from the keyboard adds nobody here, clearing the
            # polygon leaves the zone alone, which holds none of the test residents.
            await page.fill("#polygon", "")
            await page.locator("#zones input[type=checkbox]").first.focus()
            await page.keyboard.press("Space")
            await expect(page.locator("#reach-residents")).not_to_have_text("3")
        finally:
            await browser.close()
