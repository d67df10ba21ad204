"""The console in a real browser (Debian's Chromium via Playwright) against a real server: sign in, draw the
target area on the map, see the reach, confirm and submit an Actual alert; a second person approves; the live
counts reach 100 % through the sandbox providers; the alert is cancelled. No page of the flow reports a
Content-Security-Policy violation. Screenshots of each main page go to ``test-output/screenshots/``."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import async_playwright, expect

from alertsvc.app import create_app
from alertsvc.runtime import open_runtime
from tests.browser.csp import CspWatch
from tests.browser.helpers import BROWSER, CHROMIUM, SHOTS, snap
from tests.browser.helpers import sign_in as _sign_in
from tests.conftest import make_settings
from tests.console.helpers import make_user
from tests.factories import add_resident

__all__ = ["CHROMIUM", "SHOTS", "LiveServer", "_sign_in", "live_server", "snap"]  # the others' imports (D8)

pytestmark = BROWSER

# A box inside the example city's zones (config/zones), so the map opens on it.
BOX = [(45.485, -73.59), (45.485, -73.55), (45.497, -73.55), (45.497, -73.59)]
INSIDE = [(45.49, -73.58), (45.49, -73.56), (45.495, -73.57)]
OUTSIDE = (45.499, -73.599)
DRAWN_GEOJSON = re.compile(r'^\{"type":"FeatureCollection".*"Polygon"')
"""What the draw tool writes into the polygon field: GeoJSON ([lon, lat]), which the server converts."""


@dataclass
class LiveServer:
    url: str
    dispatcher: str
    approver: str
    admin: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def live_server(tmp_path: Path, clean_redis: str) -> AsyncIterator[LiveServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}",
        clean_redis,
        public_url=url,
        run_worker_in_process=True,
    )
    runtime = await open_runtime(settings)
    try:
        dispatcher = await make_user(runtime, "dispatcher", "dana.dispatch@city.example")
        approver = await make_user(runtime, "approver", "alex.approve@city.example")
        admin = await make_user(runtime, "admin", "ada.admin@city.example")
        for n, (lat, lon) in enumerate(INSIDE):
            await add_resident(  # test recipients too: the Exercise of the one-screen test reaches them (and only them)
                runtime.sessions, lat, lon, sms=f"+1514555070{n}", email=f"in{n}@example.org", test_recipient=True
            )
        await add_resident(runtime.sessions, *OUTSIDE, sms="+15145550799")
    finally:
        await runtime.close()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning", loop="asyncio")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "server did not start"
    try:
        yield LiveServer(url, dispatcher, approver, admin)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)


async def test_draw_submit_approve_watch_and_cancel(live_server: LiveServer) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        watch = CspWatch()
        try:
            author_context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            await watch.attach(author_context)
            author = await author_context.new_page()
            login_page = await author.goto(f"{base}/console/login")
            assert login_page is not None and "script-src 'self'" in login_page.headers["content-security-policy"]
            await snap(author, "01-login.png", full_page=False)
            await _sign_in(author, base, live_server.dispatcher)

            await author.goto(f"{base}/console/alerts/new")
            await author.check("#status-Actual")
            await expect(author.locator("#status-banner-slot")).to_contain_text("ACTUAL")
            await author.fill("#info0_event", "Gas leak")
            await author.fill("#info0_headline", "Gas leak on Mill Street: leave the area")
            await author.fill("#info0_description", "A gas main has ruptured near Mill Street.")
            await author.fill("#info0_instruction", "Leave the area now, on foot, away from Mill Street.")
            await author.fill("#area_desc", "Around Mill Street")

            await expect(author.locator("#map")).to_have_attribute("data-ready", "1")
            await author.locator("#map").scroll_into_view_if_needed()
            box = await author.locator("#map").bounding_box()
            assert box is not None
            points = await author.evaluate(
                "(pts) => pts.map(([lat, lon]) => { const p = consoleMap.map.latLngToContainerPoint([lat, lon]);"
                " return [p.x, p.y]; })",
                [list(p) for p in BOX],
            )
            await author.click(".leaflet-draw-draw-polygon")
            for x, y in [*points, points[0]]:
                await author.mouse.click(box["x"] + x, box["y"] + y)
                await asyncio.sleep(0.1)
            await expect(author.locator("#polygon")).to_have_value(DRAWN_GEOJSON)
            await expect(author.locator("#reach-residents")).to_have_text("3")
            await expect(author.locator("#sms-previews")).to_contain_text("Gas leak on Mill Street")
            await snap(author, "02-compose-drawn.png")

            await author.fill("#confirm_residents", "3")
            await author.click("#send-button")
            await author.wait_for_url(f"{base}/console/alerts/*")
            alert_url = author.url
            await expect(author.locator("#decision-title")).to_be_visible()
            await snap(author, "03-pending-author.png")

            approver_context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            await watch.attach(approver_context)
            approver = await approver_context.new_page()
            await _sign_in(approver, base, live_server.approver)
            await approver.goto(f"{base}/console/alerts")
            await snap(approver, "04-alert-list.png")
            await approver.goto(alert_url)
            await expect(approver.locator(".reach-now")).to_contain_text("3")
            await snap(approver, "05-approval.png")
            await approver.click("#approve-button")  # an Actual alert: the second step shows its reach
            await approver.wait_for_url(f"{alert_url}/approve")
            await expect(approver.locator("#confirm-reach")).to_contain_text("3")
            await snap(approver, "05b-approval-confirm.png")
            await approver.click("#confirm-approve-button")
            await approver.wait_for_url(alert_url)
            await expect(approver.locator("#percent-all")).to_have_text("100", timeout=20_000)
            await expect(approver.locator('tr[data-channel="sms"] [data-field="sent"]')).to_have_text("3")
            await expect(approver.locator("#ttw-done_100")).not_to_have_text("—")
            await snap(approver, "06-live-100.png")

            # The author's open page learns of the decision by itself (server-sent events), no reload by hand.
            await expect(author.locator(".decision.approved")).to_be_visible(timeout=15_000)

            await approver.click("#prepare-cancel")
            await snap(approver, "07-cancel-confirm.png")
            await approver.click("button.danger[type=submit]")
            # The confirmation page shows the CANCEL banner too: wait for the redirect to the new Cancel alert's
            # page before checking it, or the next goto races the navigation still in flight.
            cancel_page = re.compile(r"/console/alerts/[0-9a-f-]{36}$")
            await approver.wait_for_url(lambda url: bool(cancel_page.search(url)) and url != alert_url)
            await expect(approver.locator(".banner-type")).to_contain_text("CANCEL")
            # That page reloads itself at each change of the Cancel alert's state (live.js): leave it only once
            # it shows the final one, or the goto below races a reload.
            await expect(approver.locator("#alert-page")).to_have_attribute("data-state", "sent", timeout=20_000)
            await snap(approver, "08-cancel-sent.png")
            await approver.goto(alert_url)
            await expect(approver.locator("#alert-page")).to_have_attribute("data-state", "cancelled")
        finally:
            await browser.close()
    assert watch.violations == []
