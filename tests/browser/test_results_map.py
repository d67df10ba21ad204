"""Issue 21's results map and zone search in Chromium, against a real server with a loopback tile server.

After an Actual alert goes out to sixteen residents (two clusters and three lone residents; one number the provider
refuses) and residents answer (one "I need help", two "safe"), the dispatcher's live view shows the results map:
cells coloured and counted, the help request as a marker reached with the keyboard whose popup names the resident,
the same figures as a table, and the chart over time; axe-core finds no WCAG 2.1 AA violation. On the compose page
(1366x900) an address search and a zone search centre the map, and the zone is ticked as the target area from the
search box. Screenshots: results-map.png, results-map-popup.png, zone-search-list.png, zone-search-used.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import Page, async_playwright, expect

from alertsvc.residents.addresses import import_addresses
from alertsvc.store.db import create_engine, session_factory
from tests.browser.test_accessibility import axe_violations
from tests.browser.test_basemap import _launch
from tests.browser.test_console_flow import BOX, LiveServer, _sign_in, pytestmark, snap
from tests.console.helpers import login
from tests.factories import add_resident

__all__ = ["pytestmark"]

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "addresses.csv"
POLYGON = " ".join(f"{lat},{lon}" for lat, lon in [*BOX, BOX[0]])
NORTH = (45.4935, -73.5805)
SOUTH = (45.4875, -73.5612)
HELP_NUMBER = "+15145550811"
SAFE_NUMBERS = ("+15145550812", "+15145550813")
REACH = 16  # the live server's three residents inside the box, and the thirteen added here
TOKEN = re.compile(r"/a/([0-9a-z]+\.[A-Za-z0-9_-]+)")


async def _add_people(tmp_path: Path) -> None:
    """Seven residents in a north cluster, six in a south one (one number the SMS provider refuses), and the
    sample gazetteer, straight into the live server's database."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}")
    try:
        sessions = session_factory(engine)
        for n in range(7):
            await add_resident(sessions, NORTH[0] + n * 2e-5, NORTH[1], ref=f"north-{n + 1}", sms=f"+151455508{n + 11}")
        for n in range(6):
            number = "+15005550001" if n == 0 else f"+151455509{n + 11}"
            await add_resident(sessions, SOUTH[0], SOUTH[1] + n * 2e-5, ref=f"south-{n + 1}", sms=number)
        assert (await import_addresses(sessions, SAMPLE)).rejected == 0
    finally:
        await engine.dispose()


async def _answer(live: LiveServer) -> None:
    """Residents answer on their message's link (read from the sandbox outbox, as their phones would)."""
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as admin:
        assert (await login(admin, live.admin)).status_code == 303
        page = (await admin.get("/console/outbox")).text
    token = {}
    for row in page.split("<tr>"):
        for number in (HELP_NUMBER, *SAFE_NUMBERS):
            if f"<td>{number}</td>" in row and TOKEN.search(row):
                token[number] = TOKEN.findall(row)[0]
    assert set(token) == {HELP_NUMBER, *SAFE_NUMBERS}, page[:2000]
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as phone:
        for number, answer in ((HELP_NUMBER, "help"), *((n, "safe") for n in SAFE_NUMBERS)):
            assert (await phone.post(f"/a/{token[number]}", data={"answer": answer})).status_code == 200


async def _send_and_approve(author: Page, approver: Page, base: str) -> str:
    await author.goto(f"{base}/console/alerts/new")
    await author.check("#status-Actual")
    await author.fill("#info0_event", "Gas leak")
    await author.fill("#info0_headline", "Gas leak on Mill Street: leave the area")
    await author.fill("#info0_description", "A gas main has ruptured near Mill Street.")
    await author.fill("#info0_instruction", "Leave the area now, on foot, away from Mill Street.")
    await author.fill("#area_desc", "Around Mill Street")
    await author.fill("#polygon", POLYGON)
    await author.fill("#confirm_residents", str(REACH))
    await author.click("#send-button")
    await author.wait_for_url(f"{base}/console/alerts/*")
    alert_url = author.url
    await approver.goto(alert_url)
    await approver.click("#approve-button")
    await expect(approver.locator("#confirm-reach")).to_contain_text(str(REACH))
    await approver.click("#confirm-approve-button")
    await approver.wait_for_url(alert_url)
    return alert_url


async def test_results_map_and_zone_search(live_server: LiveServer, tmp_path: Path) -> None:
    await _add_people(tmp_path)
    base = live_server.url
    async with async_playwright() as playwright:
        browser = await _launch(playwright)
        try:
            author = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            approver = await (await browser.new_context(viewport={"width": 1366, "height": 900})).new_page()
            await _sign_in(author, base, live_server.dispatcher)
            await _sign_in(approver, base, live_server.approver)
            alert_url = await _send_and_approve(author, approver, base)

            await author.goto(alert_url)
            await expect(author.locator("#percent-all")).to_have_text("100", timeout=20_000)
            await _answer(live_server)
            results = author.locator("#map")
            await expect(results).to_have_attribute("data-help-markers", "1", timeout=20_000)  # live, no reload
            cells = int(await results.get_attribute("data-cells") or "0")
            assert cells >= 2, cells
            await expect(author.locator("#map path.result-cell")).to_have_count(cells)
            await expect(author.locator("#map path.result-cell.has-failed")).to_have_count(1)  # the refused number
            rows = author.locator("#results-cells tbody tr")
            residents = [
                int(t.replace("\u202f", "").replace(",", ""))
                for t in await rows.locator("td:nth-child(2)").all_text_contents()
            ]
            assert sum(residents) == REACH, residents  # drawn cells and the row of those not drawn
            assert all(n >= 5 for n in residents[:cells]), residents
            await expect(author.locator("#results-map-summary")).to_contain_text("Cells of about")
            await expect(author.locator("#results-chart-slot svg")).to_be_visible(timeout=15_000)

            marker = author.locator("#map .leaflet-marker-icon.help-marker")
            await expect(marker).to_have_count(1)
            await expect(marker).to_have_attribute("role", "button")
            await expect(marker).to_contain_text("Asked for help: north-1 (waiting)")
            await author.evaluate("document.getElementById('results-map-title').scrollIntoView()")
            await snap(author, "results-map.png", full_page=False)
            await marker.focus()
            await author.keyboard.press("Enter")
            popup = author.locator(".leaflet-popup .help-popup")
            await expect(popup).to_contain_text("north-1")
            await expect(author.locator(".leaflet-popup")).to_have_css("opacity", "1")  # faded in: for the picture
            # Asked after the page loaded, so not in this page's list: the link goes to the list's own page.
            await expect(popup.get_by_role("link", name="Open the request in the list")).to_have_attribute(
                "href", re.compile(r"^/console/alerts/[^/]+/help#help-\d+$")
            )
            await snap(author, "results-map-popup.png", full_page=False)
            await expect(popup.get_by_role("link")).to_be_focused()
            await author.keyboard.press("Escape")
            await expect(popup).to_have_count(0)
            await expect(marker).to_be_focused()
            await expect(author.locator("#map .cell-label")).to_have_count(0)  # small cells: no label over them
            for _ in range(2):
                await author.locator("#map .leaflet-control-zoom-in").click()
            await expect(author.locator("#map .cell-label")).to_have_count(cells, timeout=10_000)
            await expect(author.locator("#map .cell-label").filter(has_text="⚠")).to_have_count(1)
            await snap(author, "results-map-zoomed.png", full_page=False)
            await author.locator("#results-table-box summary").click()
            assert await axe_violations(author) == []

            # Compose: an address, then a zone, from the same box; the zone becomes the target area from there.
            await author.goto(f"{base}/console/alerts/new")
            await expect(author.locator("#map")).to_have_attribute("data-ready", "1")
            search = author.get_by_label("Find an address or zone")
            await search.focus()
            await author.keyboard.type("12 riv", delay=30)
            await expect(author.locator("#address-results button").first).to_have_text(re.compile("^12 River Road"))
            await author.keyboard.press("Enter")
            await expect(author.locator("#address-search")).to_have_attribute("data-centred", "45.4905,-73.5841")
            await search.fill("")
            await author.keyboard.type("old mi", delay=30)
            first = author.locator("#address-results button").first
            await expect(first).to_have_text("Zone: Old Mill")
            await expect(author.locator("#address-status")).to_contain_text("Zones found: 1")
            await snap(author, "zone-search-list.png", full_page=False)
            assert await axe_violations(author) == []
            await author.keyboard.press("Enter")
            use = author.locator("#use-zone")
            await expect(use).to_be_focused()
            await expect(use).to_have_text("Use zone Old Mill as the target area")
            inside = await author.evaluate(
                "(() => { const m = window.consoleMap.map, z = window.consoleMap.zones;"
                " let box = null;"
                " z.eachLayer(l => { if (l.feature.properties.name === 'Old Mill') box = l.getBounds(); });"
                " return m.getBounds().contains(box) && m.getBounds().pad(-0.3).contains(box.getCenter()); })()"
            )
            assert inside, "the map does not show the whole zone in its middle"
            await author.keyboard.press("Enter")
            await expect(author.locator('input[name=zones][value="Old Mill"]')).to_be_checked()
            await expect(author.locator("#address-status")).to_have_text("Zone Old Mill is ticked as the target area.")
            await expect(author.locator("#compose")).to_have_attribute("data-previewed", re.compile(r"^\d+$"))
            await snap(author, "zone-search-used.png", full_page=False)
        finally:
            await browser.close()
