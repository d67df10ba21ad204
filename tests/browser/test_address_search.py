"""The compose page's address search in Chromium: the sample gazetteer (``examples/addresses.csv``) imported, the
dispatcher types "12 riv" with the keyboard only, moves to "12 River Road" with Arrow Down, picks it with Enter,
and the map is centred on it (not the alert submitted). axe-core finds no WCAG 2.1 AA violation with the list
open. Screenshots: ``address-search-list.png`` and ``address-search-centred.png`` in ``test-output/screenshots/``."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect

from alertsvc.residents.addresses import import_addresses
from alertsvc.store.db import create_engine, session_factory
from tests.browser.test_accessibility import axe_violations
from tests.browser.test_basemap import _launch
from tests.browser.test_console_flow import LiveServer, _sign_in, pytestmark, snap  # noqa: F401

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "addresses.csv"
RIVER_12 = (45.4905, -73.5841)
"""12 River Road in the sample file: latitude, longitude."""


async def test_typing_an_address_and_picking_it_centres_the_map(live_server: LiveServer, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}")  # the live server's database
    try:
        report = await import_addresses(session_factory(engine), SAMPLE)
    finally:
        await engine.dispose()
    assert (report.added, report.rejected) == (42, 0)

    base = live_server.url
    async with async_playwright() as playwright:
        browser = await _launch(playwright)
        try:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            await _sign_in(page, base, live_server.dispatcher)
            await page.goto(f"{base}/console/alerts/new")
            await expect(page.locator("#map")).to_have_attribute("data-ready", "1")
            search = page.get_by_label("Find an address")
            await expect(search).to_be_visible()
            await expect(page.locator("#map #address-search")).to_be_visible()  # on the map: takes no room beside it
            await search.focus()
            await page.keyboard.type("12 riv", delay=30)
            choices = page.locator("#address-results button")
            await expect(choices.first).to_have_text("12 River Road, Example City, H2X 1Y4")
            await expect(page.locator("#address-status")).to_have_text("Addresses found: 1")
            await snap(page, "address-search-list.png", full_page=False)
            assert await axe_violations(page) == []

            await page.keyboard.press("ArrowDown")
            await expect(choices.first).to_be_focused()
            await page.keyboard.press("Enter")
            await expect(page.locator("#address-search")).to_have_attribute("data-centred", "45.4905,-73.5841")
            await expect(search).to_have_value("12 River Road, Example City, H2X 1Y4")
            await expect(search).to_be_focused()
            await expect(page.locator("#address-status")).to_contain_text("Map centred on: 12 River Road")
            lat, lon, zoom = await page.evaluate(
                "(() => { const c = window.consoleMap.map.getCenter();"
                " return [c.lat, c.lng, window.consoleMap.map.getZoom()]; })()"
            )
            assert abs(lat - RIVER_12[0]) < 1e-4 and abs(lon - RIVER_12[1]) < 1e-4, (lat, lon)
            assert zoom >= 17
            assert page.url == f"{base}/console/alerts/new"  # Enter picked the address; it submitted nothing

            await search.fill("")
            await page.keyboard.type("zzz", delay=30)
            await expect(page.locator("#address-status")).to_have_text("No address found.")
            await expect(choices).to_have_count(0)
            await search.fill("")
            await page.keyboard.type("12 riv", delay=30)
            await expect(choices.first).to_be_visible()
            await page.keyboard.press("Enter")  # Enter in the box picks the first match
            await expect(page.locator("#address-status")).to_contain_text("Map centred on: 12 River Road")
            await snap(page, "address-search-centred.png", full_page=False)
        finally:
            await browser.close()
