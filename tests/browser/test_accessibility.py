"""The pages an approver and a dispatcher use under stress, checked by axe-core (WCAG 2.1 A and AA rules, colour
contrast included) in Chromium against a real server: the approval box with every message, the second step of an
Actual approval, the need-help list on the alert's page and on its own page, and the compose page of a Test (whose
confirm box once faded its text to about 4:1). Screenshots go to ``test-output/`` for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from tests.browser.csp import CspWatch
from tests.browser.helpers import CHROMIUM, axe_violations, snap
from tests.browser.helpers import sign_in as _sign_in
from tests.browser.test_console_flow import BOX, LiveServer
from tests.console.helpers import compose, login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]

OUT = Path(__file__).resolve().parents[2] / "test-output"
POLYGON = " ".join(f"{lat},{lon}" for lat, lon in [*BOX, BOX[0]])
FRENCH = {
    "info1_event": "Fuite de gaz",
    "info1_headline": "Fuite de gaz rue Mill : quittez le secteur",
    "info1_description": "Une conduite de gaz s'est rompue près de la rue Mill.",
    "info1_instruction": "Quittez le secteur maintenant, à pied, en vous éloignant de la rue Mill.",
}
TOKEN = re.compile(r"/a/([0-9a-z]+\.[A-Za-z0-9_-]+)")


async def _client(live: LiveServer, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=live.url, timeout=30)
    assert (await login(client, email)).status_code == 303
    return client


async def _answer_help(live: LiveServer, how_many: int) -> None:
    """Residents press "I need help" on their message's link (read from the sandbox outbox, as a resident's phone)."""
    admin = await _client(live, live.admin)
    try:
        page = (await admin.get("/console/outbox")).text
    finally:
        await admin.aclose()
    sms_rows = [row for row in page.split("<tr>") if "<td>sms</td>" in row]  # one SMS a resident
    tokens = sorted({token for row in sms_rows for token in TOKEN.findall(row)})
    assert len(tokens) >= how_many, page
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as resident:
        for token in tokens[:how_many]:
            answered = await resident.post(f"/a/{token}", data={"answer": "help"})
            assert answered.status_code == 200, answered.text


async def test_approval_and_need_help_pages_pass_axe(live_server: LiveServer) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    author = await _client(live_server, live_server.dispatcher)
    try:
        created = await compose(author, status="Actual", polygon=POLYGON, confirm_residents="3", **FRENCH)
        assert created.status_code == 303, created.text
    finally:
        await author.aclose()
    alert_url = f"{base}{created.headers['location']}"
    violations: dict[str, list[str]] = {}

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        watch = CspWatch()
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await watch.attach(context)
            approver = await context.new_page()
            await _sign_in(approver, base, live_server.approver)

            await approver.goto(alert_url)
            await expect(approver.locator("#approval")).to_contain_text("Fuite de gaz rue Mill")
            violations["approval"] = await axe_violations(approver)
            await snap(approver, "../approval-page.png")

            await approver.click("#approve-button")
            await approver.wait_for_url(f"{alert_url}/approve")
            violations["approval-confirm"] = await axe_violations(approver)
            await snap(approver, "../approval-confirm.png")
            await approver.click("#confirm-approve-button")
            await approver.wait_for_url(alert_url)
            await expect(approver.locator("#percent-all")).to_have_text("100", timeout=20_000)

            await _answer_help(live_server, 2)
            dispatcher_context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await watch.attach(dispatcher_context)
            dispatcher = await dispatcher_context.new_page()
            await _sign_in(dispatcher, base, live_server.dispatcher)
            await dispatcher.goto(alert_url)
            await expect(dispatcher.locator("#need-help")).to_contain_text("2 waiting")
            violations["alert-need-help"] = await axe_violations(dispatcher)
            await snap(dispatcher, "../alert-need-help.png")
            await dispatcher.goto(f"{alert_url}/help")
            await expect(dispatcher.locator("#need-help")).to_contain_text("Mark handled")
            await dispatcher.locator("#need-help button.primary").first.click()
            await dispatcher.wait_for_url(f"{alert_url}/help")
            await expect(dispatcher.locator("#need-help")).to_contain_text("Handled by dana.dispatch@city.example")
            violations["need-help"] = await axe_violations(dispatcher)
            await snap(dispatcher, "../need-help-list.png")

            await dispatcher.goto(f"{base}/console/alerts/new")
            await dispatcher.check("#status-Test")
            await expect(dispatcher.locator("#status-banner-slot")).to_contain_text("TEST")
            violations["compose-test"] = await axe_violations(dispatcher)
            await dispatcher.locator("#confirm-box").scroll_into_view_if_needed()
            await snap(dispatcher, "../compose-test-confirm-box.png", full_page=False)
        finally:
            await browser.close()
    assert {page: found for page, found in violations.items() if found} == {}
    assert watch.violations == []
