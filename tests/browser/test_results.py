"""An alert's results in a real browser (Chromium): after sending, the live view shows the chart over time, the
after-action report renders and its CSV downloads. Screenshots: alert-results.png, report.png."""

from __future__ import annotations

import csv
import io

from playwright.async_api import async_playwright, expect

from tests.browser.test_console_flow import CHROMIUM, SHOTS, LiveServer, _sign_in, pytestmark, snap

__all__ = ["pytestmark"]

# The box of the console flow, as the coordinates box takes it (CAP polygon: "lat,lon" pairs, closed).
POLYGON = "45.485,-73.59 45.485,-73.55 45.497,-73.55 45.497,-73.59 45.485,-73.59"


async def test_chart_report_and_csv_after_sending(live_server: LiveServer) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            author = await (await browser.new_context(viewport={"width": 1280, "height": 1000})).new_page()
            await _sign_in(author, base, live_server.dispatcher)
            await author.goto(f"{base}/console/alerts/new")
            await author.check("#status-Actual")
            await author.fill("#info0_event", "Gas leak")
            await author.fill("#info0_headline", "Gas leak on Mill Street: leave the area")
            await author.fill("#info0_description", "A gas main has ruptured near Mill Street.")
            await author.fill("#info0_instruction", "Leave the area now, on foot, away from Mill Street.")
            await author.fill("#area_desc", "Around Mill Street")
            await author.fill("#polygon", POLYGON)
            await author.fill("#confirm_residents", "3")
            await author.click("#send-button")
            await author.wait_for_url(f"{base}/console/alerts/*")
            alert_url = author.url

            approver_context = await browser.new_context(
                viewport={"width": 1280, "height": 1000}, accept_downloads=True
            )
            approver = await approver_context.new_page()
            await _sign_in(approver, base, live_server.approver)
            await approver.goto(alert_url)
            await approver.click("#approve-button")  # an Actual alert: the second step shows its reach
            await expect(approver.locator("#confirm-reach")).to_contain_text("3")
            await approver.click("#confirm-approve-button")
            await approver.wait_for_url(alert_url)
            await expect(approver.locator("#percent-all")).to_have_text("100", timeout=20_000)
            chart = approver.locator("#results-chart-slot svg")
            await expect(chart).to_be_visible(timeout=15_000)
            await expect(approver.locator("#results-chart-slot title")).to_have_text(
                "Messages sent, delivered and answers received per minute"
            )
            await approver.locator("#over-time-title").scroll_into_view_if_needed()
            await snap(approver, "alert-results.png")

            await approver.click("#open-report")
            await approver.wait_for_url(f"{alert_url}/report")
            await expect(approver.locator("h1")).to_contain_text("Gas leak on Mill Street")
            await expect(approver.locator("#fig-total")).to_have_text("6")  # 3 residents x SMS and e-mail
            await expect(approver.locator("#report-timeline tr[data-what=approved]")).to_have_count(1)
            await expect(approver.locator(".results-chart svg")).to_be_visible()
            await snap(approver, "report.png")
            await approver.emulate_media(media="print")
            await expect(approver.locator(".topbar")).to_be_hidden()
            await expect(approver.locator("#report-csv")).to_be_hidden()
            await snap(approver, "report-print.png")
            await approver.emulate_media(media="screen")

            async with approver.expect_download() as info:
                await approver.click("#report-csv")
            download = await info.value
            assert download.suggested_filename.endswith("-report.csv")
            path = await download.path()
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            delivered_or_sent = sum(int(r["value"]) for r in rows if r["section"] == "deliveries")
            assert delivered_or_sent == 6
        finally:
            await browser.close()
