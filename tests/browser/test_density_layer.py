"""The compose map's "Where residents are" layer in Chromium: residents in the live server's database, the
dispatcher ticks the box with the keyboard only (Tab order, Space), squares appear beneath the drawing with a
legend naming the minimum count, a cell of fewer residents stays blank, axe-core finds no WCAG 2.1 AA violation,
and Space again takes the layer away. Screenshot: ``density-layer.png`` in ``test-output/screenshots/``."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright, expect
from sqlalchemy import insert

from alertsvc.store.db import create_engine, session_factory
from alertsvc.store.models import Resident
from tests.browser.test_accessibility import axe_violations
from tests.browser.test_basemap import _launch
from tests.browser.test_console_flow import LiveServer, _sign_in, pytestmark, snap  # noqa: F401

CROWD = (45.5017, -73.5673)
"""Forty residents within a few metres of here (one cell); three more alone far enough to be a cell of their own."""


async def test_the_density_layer_is_toggled_by_keyboard_and_shows_only_full_cells(
    live_server: LiveServer, tmp_path: Path
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}")  # the live server's database
    try:
        async with session_factory(engine)() as session, session.begin():
            rows = [{"ref": f"crowd-{n}", "lat": CROWD[0] + n * 1e-6, "lon": CROWD[1]} for n in range(40)]
            rows += [{"ref": f"alone-{n}", "lat": CROWD[0] + 0.03, "lon": CROWD[1] + 0.03} for n in range(3)]
            await session.execute(insert(Resident), rows)
    finally:
        await engine.dispose()

    base = live_server.url
    async with async_playwright() as playwright:
        browser = await _launch(playwright)
        try:
            page = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            await _sign_in(page, base, live_server.dispatcher)
            await page.goto(f"{base}/console/alerts/new")
            await expect(page.locator("#map")).to_have_attribute("data-ready", "1")
            await page.evaluate(f"window.consoleMap.map.setView([{CROWD[0]}, {CROWD[1]}], 12)")
            toggle = page.get_by_label("Where residents are")
            await expect(page.locator("#map #density-control")).to_be_visible()  # on the map, as a control
            await page.locator("#address-q").focus()
            for _ in range(10):  # reachable with Tab from the address box
                if await toggle.evaluate("element => element === document.activeElement"):
                    break
                await page.keyboard.press("Tab")
            await expect(toggle).to_be_focused()
            await page.keyboard.press("Space")
            await expect(toggle).to_be_checked()
            squares = page.locator(".leaflet-density-pane path")
            await expect(squares).to_have_count(1, timeout=20_000)  # the crowd's cell; the three alone stay blank
            await expect(page.locator("#density-status")).to_have_text("Residents shown in 1 cells: 40.")
            await expect(page.locator("#density-minimum")).to_have_text(
                "Cells with fewer than 10 residents are not shown."
            )
            await expect(page.locator("#density-scale li")).to_have_count(5)
            await snap(page, "density-layer.png", full_page=False)
            assert await axe_violations(page) == []
            await page.keyboard.press("Space")
            await expect(toggle).not_to_be_checked()
            await expect(squares).to_have_count(0)
            await expect(page.locator("#density-legend")).to_be_hidden()
        finally:
            await browser.close()
