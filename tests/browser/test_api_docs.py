"""``/docs`` in a real browser on a closed network: Swagger UI renders the operations from this server's own files,
under a Content-Security-Policy without inline scripts, and no request leaves 127.0.0.1. The screenshot goes to
``test-output/screenshots/docs.png``."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Request, Route, async_playwright, expect

from tests.browser.test_console_flow import CHROMIUM, LiveServer, pytestmark, snap  # noqa: F401

STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Stricter than anything the service will send: no inline script or style, nothing from another host."""


async def test_docs_render_offline_under_a_strict_policy(live_server: LiveServer) -> None:
    requested: list[str] = []
    refused: list[str] = []
    errors: list[str] = []

    async def with_policy(route: Route) -> None:
        response = await route.fetch()
        await route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    def on_request(request: Request) -> None:
        requested.append(request.url)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            context.on("request", on_request)
            page = await context.new_page()
            await page.route(f"{live_server.url}/docs", with_policy)
            page.on("console", on_console)
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{live_server.url}/docs")
            alerts = page.locator("#operations-tag-alerts")
            await expect(alerts).to_be_visible(timeout=20_000)
            submit = page.locator("#operations-alerts-submit_alert_api_v1_alerts_post")
            await expect(submit).to_contain_text("/api/v1/alerts")
            await expect(page.locator(".information-container .title")).to_contain_text("alertsvc")
            await page.wait_for_load_state("networkidle")
            await snap(page, "docs.png", full_page=False)
        finally:
            await browser.close()

    assert errors == [], errors
    assert refused == [], refused
    assert any(url.endswith("/openapi.json") for url in requested), requested
    elsewhere = [url for url in requested if urlsplit(url).scheme not in ("data", "blob")]
    elsewhere = [url for url in elsewhere if urlsplit(url).hostname != "127.0.0.1"]
    assert elsewhere == [], f"requests that left this server: {elsewhere}"
