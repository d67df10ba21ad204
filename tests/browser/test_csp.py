"""The Content-Security-Policy in a real browser: the watcher sees a violation when there is one (an inline style
and an inline script injected into a page), and the residents' pages, the landing page, the API reference and the
admin's console pages report none under the policy the service sends."""

from __future__ import annotations

from playwright.async_api import async_playwright, expect

from tests.browser.csp import CspWatch
from tests.browser.test_console_flow import CHROMIUM, LiveServer, _sign_in, pytestmark  # noqa: F401

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
RESIDENT_PAGES = ["/", "/r/subscribe", "/r/subscribe?lang=es", "/r/confirm", "/a/not-a-token", "/u/not-a-token",
                  "/r/manage/not-a-token", "/docs"]  # fmt: skip


async def test_the_watcher_sees_inline_code_refused(live_server: LiveServer) -> None:
    watch = CspWatch()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context()
            await watch.attach(context)
            page = await context.new_page()
            await page.goto(f"{live_server.url}/r/subscribe")
            await page.evaluate(
                """() => {
                  document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: red">x</p>');
                  const script = document.createElement("script");
                  script.textContent = "window.ranInline = true;";
                  document.body.appendChild(script);
                }"""
            )
            await expect(page.locator("#styled")).to_be_attached()
            assert await page.evaluate("() => window.ranInline === undefined")
            await page.wait_for_timeout(200)  # the report events are queued as tasks
        finally:
            await browser.close()
    assert any("style-src" in text for text in watch.violations), watch.violations
    assert any("script-src" in text for text in watch.violations), watch.violations


async def test_pages_report_no_violation(live_server: LiveServer) -> None:
    watch = CspWatch()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            await watch.attach(context)
            page = await context.new_page()
            for path in RESIDENT_PAGES:
                await page.goto(f"{live_server.url}{path}")
                await page.wait_for_load_state("networkidle")
            await expect(page.locator("#swagger-ui .information-container")).to_be_visible(timeout=20_000)
            await _sign_in(page, live_server.url, live_server.admin)
            for path in ("/console/alerts", "/console/alerts/new", "/console/users", "/console/keys",
                         "/console/audit", "/console/outbox", "/console/password"):  # fmt: skip
                await page.goto(f"{live_server.url}{path}")
                await page.wait_for_load_state("networkidle")
        finally:
            await browser.close()
    assert watch.violations == []
