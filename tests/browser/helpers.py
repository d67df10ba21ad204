"""What every browser test shares, in one place (duplicates D8): where Chromium is and how it is launched, where
screenshots go, signing a console user in, and axe-core's WCAG 2.1 A/AA check of a page.

The tests imported these from one another (``_sign_in`` from the console flow, ``axe_violations`` from the
accessibility test) and two kept copies of their own; they now come from here. ``test_console_flow`` still
re-exports ``CHROMIUM``, ``SHOTS``, ``snap`` and ``_sign_in`` for the tests that import them from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Browser, Page, Playwright
from playwright.async_api import Error as PlaywrightError

from tests.console.helpers import PASSWORD

__all__ = ["BROWSER", "CHROMIUM", "CHROMIUM_ARGS", "SHOTS", "WCAG_AA", "axe_violations", "launch", "sign_in", "snap"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium (apt install chromium)"
    ),
]
"""A browser test module's ``pytestmark``."""


async def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with no background traffic (nothing leaves the machine)."""
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


async def snap(page: Page, name: str, full_page: bool = True) -> None:
    """Save a screenshot for reviewers. A screenshot is an artifact, not an assertion: Chromium occasionally stalls
    taking one on a loaded machine (seen on a page that refreshes itself), so a failed one is retried once and
    then reported, never failing the flow it illustrates."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        try:
            await page.screenshot(path=str(SHOTS / name), full_page=full_page, timeout=15_000)
            return
        except PlaywrightError as exc:
            print(f"screenshot {name} failed (attempt {attempt}): {exc}")


async def sign_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign a console user in through the login form; returns on the alerts list, where sign-in lands."""
    await page.goto(f"{base}/console/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit].primary")
    await page.wait_for_url(f"{base}/console/alerts")


async def axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is, one line each (rule, impact, the elements)."""
    results = await Axe().run(page, options=WCAG_AA)
    found: list[dict[str, Any]] = results.response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        + "".join(f"\n    {n.get('failureSummary', '')}" for n in v["nodes"][:2])
        for v in found
    ]
