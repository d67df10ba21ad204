"""The resident sign-up page in a real browser: with JavaScript on, a click on the map fills in the coordinates,
and the form then signs up as without JavaScript; neither page reports a Content-Security-Policy violation."""

from __future__ import annotations

from playwright.async_api import async_playwright, expect

from tests.browser.csp import CspWatch
from tests.browser.test_console_flow import CHROMIUM, LiveServer, pytestmark, snap  # noqa: F401


async def test_click_on_the_map_fills_the_coordinates(live_server: LiveServer) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        watch = CspWatch()
        try:
            context = await browser.new_context(viewport={"width": 900, "height": 1200})
            await watch.attach(context)
            page = await context.new_page()
            form = await page.goto(f"{live_server.url}/r/subscribe?lang=fr")
            assert form is not None and "frame-ancestors 'none'" in form.headers["content-security-policy"]
            picker = page.locator("#pick-map")
            await expect(picker).to_be_visible()
            await expect(page.locator("#pick-map path.leaflet-interactive").first).to_be_attached()
            box = await picker.bounding_box()
            assert box is not None
            await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            lat, lon = await page.input_value("#lat"), await page.input_value("#lon")
            assert 45.4 < float(lat) < 45.6 and -73.7 < float(lon) < -73.5
            await page.fill("#sms", "+15145558101")
            await snap(page, "09-resident-signup-fr.png")
            await page.click("button[type=submit]")
            await expect(page.locator("h1")).to_have_text("Consultez vos messages")
        finally:
            await browser.close()
    assert watch.violations == []
