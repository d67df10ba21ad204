"""The community layer walked in Chromium against a real server, by a resident on a phone (in French) and an officer
at a desk (issue 22): the resident sends a tip by the public form; the officer reads it in the console, by alias and
without the resident's number, and replies (the reply reaches the resident's phone); the resident turns community
messages on from their manage link and supports a priority of their neighbourhood; the officer answers the priority,
holds a meeting and cancels it; the zone page shows the answer and the meeting marked cancelled. Every page passes
axe-core (WCAG 2.1 A and AA) with no Content-Security-Policy violation; screenshots go to
``test-output/screenshots/community-walk-*.png`` for a person to look at."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Page, async_playwright, expect

from alertsvc.clock import utcnow
from alertsvc.community.priorities import propose
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.residents.message_classes import community_choice
from alertsvc.runtime import Runtime, open_runtime
from alertsvc.security.manage_links import ManageLinkSigner
from tests.browser.csp import CspWatch
from tests.browser.helpers import BROWSER, axe_violations, launch, sign_in, snap
from tests.browser.test_console_flow import LiveServer
from tests.conftest import make_settings
from tests.factories import add_resident

pytestmark = BROWSER

PHONE = "+15145550650"
TIP = "Des voitures roulent très vite rue du Moulin le soir, près de l'école."
PHONE_VIEW = {"width": 390, "height": 844}
TORONTO = ZoneInfo("America/Toronto")


async def _seeded(tmp_path: Path, clean_redis: str) -> tuple[Runtime, int, str]:
    """In the live server's own database: a French-speaking resident of Old Mill (confirmed phone, community messages
    off, as an imported resident) and a priority a neighbour proposed; the runtime, the resident and their manage
    link's path."""
    settings = make_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}", clean_redis)
    runtime = await open_runtime(settings)
    resident = await add_resident(runtime.sessions, 45.49, -73.57, sms=PHONE, language="fr")
    neighbour = await add_resident(runtime.sessions, 45.491, -73.571, sms="+15145550651")
    await propose(runtime, neighbour.id, "Old Mill", "Excès de vitesse rue du Moulin")
    token = ManageLinkSigner(settings.signing_key()).sign(resident.id, 0, utcnow())
    return runtime, resident.id, f"/r/manage/{token}"


async def _check(page: Page, name: str, violations: dict[str, list[str]]) -> None:
    violations[name] = await axe_violations(page)
    await snap(page, f"community-walk-{name}.png")


async def _reply_reached(runtime: Runtime, text: str) -> bool:
    for _ in range(100):  # the live server's in-process worker relays it
        if any(text in item["body"] for item in await read_outbox(runtime.redis, channel="sms", to=PHONE)):
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_resident_and_an_officer_walk_the_community_layer(
    live_server: LiveServer, tmp_path: Path, clean_redis: str
) -> None:
    runtime, resident_id, manage = await _seeded(tmp_path, clean_redis)
    base = live_server.url
    violations: dict[str, list[str]] = {}
    starts = (utcnow() + timedelta(days=6)).astimezone(TORONTO).replace(hour=19, minute=0, second=0, microsecond=0)
    try:
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            watch = CspWatch()
            try:
                phone = await browser.new_context(
                    viewport=PHONE_VIEW, is_mobile=True, locale="fr-CA", timezone_id="America/Toronto"
                )
                desk = await browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="America/Toronto")
                await watch.attach(phone)
                await watch.attach(desk)
                resident = await phone.new_page()
                officer = await desk.new_page()

                # The resident sends a tip by the public form, in French.
                await resident.goto(f"{base}/r/tip?lang=fr")
                await expect(resident.locator("h1")).to_have_text("Envoyer un signalement anonyme")
                await resident.fill("#text", TIP)
                await resident.select_option("#zone", "Old Mill")
                await resident.fill("#contact", PHONE)
                await _check(resident, "1-tip-form", violations)
                await resident.click("form button[type=submit]")
                await expect(resident.locator("[role=status]")).to_contain_text("Votre signalement a été transmis")
                await _check(resident, "2-tip-sent", violations)

                # The officer reads it by alias, never the number, and replies.
                await sign_in(officer, base, live_server.approver)
                await officer.goto(f"{base}/console/tips")
                tip = officer.locator("section.tip").first
                await expect(tip).to_contain_text(TIP)
                assert "5550650" not in await officer.content()
                await tip.locator("textarea").fill("Merci, une patrouille passera cette semaine.")
                await tip.locator("form[action$='/reply'] button").click()
                await expect(officer.locator("section.tip").first.locator("ol.thread")).to_contain_text(
                    "Merci, une patrouille"
                )
                await _check(officer, "3-console-tips", violations)
                assert await _reply_reached(runtime, "Merci, une patrouille passera cette semaine.")

                # The resident opts into community messages and supports a priority, from their manage link.
                await resident.goto(f"{base}{manage}")
                await expect(resident.locator("h2#community")).to_have_text("Messages communautaires")
                await resident.get_by_label("Oui, envoyez-moi les messages communautaires").check()
                await _check(resident, "4-manage", violations)
                await resident.get_by_role("button", name="Enregistrer mon choix").click()
                await expect(resident.locator("[role=status]")).to_contain_text(
                    "vous recevrez les messages communautaires"
                )
                assert await community_choice(runtime, resident_id)
                await resident.get_by_role("link", name="Voir, proposer et soutenir").click()
                await resident.get_by_role("button", name="Soutenir : Excès de vitesse rue du Moulin").click()
                await expect(resident.locator("[role=status]")).to_contain_text("votre soutien est compté")
                await _check(resident, "5-priorities", violations)

                # The officer answers the priority, holds a meeting and cancels it.
                await officer.goto(f"{base}/console/priorities")
                section = officer.locator("section.priority").first
                await expect(section).to_contain_text("Excès de vitesse rue du Moulin")
                await section.locator("select").select_option("in_progress")
                await section.locator("textarea").fill("Un radar pédagogique sera installé en janvier.")
                await section.locator("button.primary").click()
                await expect(officer.locator("section.priority").first).to_contain_text("radar pédagogique")
                await _check(officer, "6-console-priorities", violations)
                await officer.goto(f"{base}/console/meetings")
                await officer.select_option("#m-zone", "Old Mill")
                await officer.fill("#m-title", "Marche de sécurité")
                await officer.fill("#m-starts", starts.strftime("%Y-%m-%dT%H:%M"))
                await officer.fill("#m-ends", (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
                await officer.fill("#m-place", "Salle communautaire, rue du Moulin")
                await officer.click(".meeting-form button.primary")
                await officer.locator("ul.meetings a").first.click()
                await expect(officer.locator("#m-title")).to_have_value("Marche de sécurité")
                await officer.get_by_role("button", name="Cancel this meeting").click()
                await expect(officer.locator("ul.meetings").first).to_contain_text("Cancelled:")
                await _check(officer, "7-console-meetings", violations)

                # The zone page, on the resident's phone, shows the answer and the meeting, cancelled.
                await resident.goto(f"{base}/z/Old Mill")
                main = resident.locator("main")
                await expect(main).to_contain_text("Un radar pédagogique sera installé en janvier.")
                await expect(main.locator("li.cancelled")).to_contain_text("Annulée :")
                await expect(main.locator("li.cancelled")).to_contain_text("Marche de sécurité")
                when = main.locator("li.cancelled [data-local-start]")  # in the phone's own zone, not UTC
                await expect(when).to_contain_text("19:00 – 21:00")  # the UTC words said 00:00 to 02:00
                await _check(resident, "8-zone-page", violations)
                width = await resident.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE_VIEW["width"], f"the zone page scrolls sideways on a phone ({width} px)"
            finally:
                await browser.close()
    finally:
        await runtime.close()
    assert {page: found for page, found in violations.items() if found} == {}
    assert watch.violations == []
