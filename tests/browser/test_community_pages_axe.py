"""The console's community pages in Chromium against a real server, checked by axe-core (WCAG 2.1 A and AA): an
approver answers a residents' priority, a dispatcher holds a meeting (the time zone filled in from the browser's,
a time in the past refused next to its field), and the public zone page shows both. Screenshots go to
``test-output/screenshots/`` for a person to look at."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import async_playwright, expect

from alertsvc.clock import utcnow
from alertsvc.community.priorities import propose
from alertsvc.runtime import open_runtime
from tests.browser.csp import CspWatch
from tests.browser.helpers import CHROMIUM, axe_violations, sign_in, snap
from tests.browser.test_console_flow import LiveServer
from tests.conftest import make_settings
from tests.factories import add_resident

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]

TORONTO = ZoneInfo("America/Toronto")


async def _a_priority(tmp_path: Path, clean_redis: str) -> None:
    """A resident of Old Mill proposes a priority, in the live server's own database."""
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}", clean_redis)
    runtime = await open_runtime(settings)
    try:
        resident = await add_resident(runtime.sessions, 45.49, -73.57, sms="+15145550601")
        await propose(runtime, resident.id, "Old Mill", "Lighting in Cedar lane")
    finally:
        await runtime.close()


async def test_priorities_and_meetings_pages_pass_axe(
    live_server: LiveServer, tmp_path: Path, clean_redis: str
) -> None:
    await _a_priority(tmp_path, clean_redis)
    base = live_server.url
    violations: dict[str, list[str]] = {}
    starts = (utcnow() + timedelta(days=4)).astimezone(TORONTO).replace(hour=19, minute=0, second=0, microsecond=0)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        watch = CspWatch()
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="America/Toronto")
            await watch.attach(context)
            approver = await context.new_page()
            await sign_in(approver, base, live_server.approver)
            await approver.goto(f"{base}/console/priorities")
            section = approver.locator("section.priority").first
            await expect(section).to_contain_text("Lighting in Cedar lane")
            await section.locator("select").select_option("in_progress")
            await section.locator("textarea").fill("New lamps are ordered for January.")
            await section.locator("button.primary").click()
            await expect(approver.locator("section.priority").first).to_contain_text("New lamps are ordered")
            violations["priorities"] = await axe_violations(approver)
            await snap(approver, "community-priorities.png")

            dispatcher_context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, timezone_id="America/Toronto"
            )
            await watch.attach(dispatcher_context)
            dispatcher = await dispatcher_context.new_page()
            await sign_in(dispatcher, base, live_server.dispatcher)
            await dispatcher.goto(f"{base}/console/meetings")
            await expect(dispatcher.locator("#m-timezone")).to_have_value("America/Toronto")
            await dispatcher.select_option("#m-zone", "Old Mill")
            await dispatcher.fill("#m-title", "Safety walk on Mill Road")
            await dispatcher.fill("#m-starts", (starts - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
            await dispatcher.fill("#m-ends", (starts - timedelta(days=30, hours=-2)).strftime("%Y-%m-%dT%H:%M"))
            await dispatcher.fill("#m-place", "Mill Road community hall")
            await dispatcher.click(".meeting-form button.primary")
            await expect(dispatcher.locator("#starts-error")).to_contain_text("must start in the future")
            violations["meetings-error"] = await axe_violations(dispatcher)
            await snap(dispatcher, "community-meeting-error.png")
            await dispatcher.fill("#m-starts", starts.strftime("%Y-%m-%dT%H:%M"))
            await dispatcher.fill("#m-ends", (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
            await dispatcher.click(".meeting-form button.primary")
            await expect(dispatcher.locator("ul.meetings").first).to_contain_text("Safety walk on Mill Road")
            violations["meetings"] = await axe_violations(dispatcher)
            await snap(dispatcher, "community-meetings.png")
            await dispatcher.locator("ul.meetings a").first.click()
            await expect(dispatcher.locator("#m-title")).to_have_value("Safety walk on Mill Road")
            violations["meeting-edit"] = await axe_violations(dispatcher)
            await snap(dispatcher, "community-meeting-edit.png")

            await dispatcher.goto(f"{base}/z/Old Mill?lang=en")
            await expect(dispatcher.locator("main")).to_contain_text("New lamps are ordered for January.")
            utc = starts.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")
            when = dispatcher.locator("main [data-local-start]")  # said in the reader's zone; UTC in its title
            await expect(when).to_have_attribute("title", re.compile(re.escape(utc)))
            await expect(when).to_contain_text("7:00")
            await snap(dispatcher, "community-zone-page.png")
        finally:
            await browser.close()
    assert {page: found for page, found in violations.items() if found} == {}
    assert watch.violations == []
