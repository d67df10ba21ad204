"""Issue 20's walk, in Chromium against a real server, as the people involved would do it: a dispatcher composes an
Actual alert in English and French; a second person reads every message in the approval box and confirms the
reach; the residents (one English, one French, each with SMS and e-mail) receive it in their own language and open
its answer page on a phone. The dispatcher then issues an Update (residents get it once, with the update word of
their language, and the original's link shows the newest text with a note that it changed) and a Cancel whose
all-clear is typed on the Cancel page (residents get the all-clear, never the original instruction; the answer
page says cancelled and offers no answer buttons). The console shows the thread and names people by their display
names. Every resident page in each state passes axe (no serious or critical WCAG 2.1 A/AA finding).

Screenshots go to ``test-output/walk-*.png`` for a person to look at."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser.csp import CspWatch
from tests.browser.helpers import CHROMIUM, axe_violations, sign_in, snap
from tests.browser.test_accessibility import TOKEN
from tests.browser.test_console_flow import BOX, LiveServer, pytestmark  # noqa: F401
from tests.conftest import auth
from tests.console.helpers import csrf_of, login

OUT = Path(__file__).resolve().parents[2] / "test-output"
POLYGON = " ".join(f"{lat},{lon}" for lat, lon in [*BOX, BOX[0]])
RESIDENTS = {
    "en": {"ref": "walk-en", "lat": 45.491, "lon": -73.575, "sms": "+15145550911", "email": "ellen@example.org"},
    "fr": {"ref": "walk-fr", "lat": 45.492, "lon": -73.565, "sms": "+15145550912", "email": "francois@example.org"},
}
ALERT = {
    "en": ("Flood warning on the river bank", "The river is rising fast.", "Leave now for higher ground."),
    "fr": ("Alerte inondation au bord de la rivière", "La rivière monte vite.", "Partez maintenant vers les hauteurs."),
}
UPDATE_INSTRUCTION = {
    "en": "Go to the shelter at Central School.",
    "fr": "Rendez-vous au refuge de l'école Centrale.",
}
ALL_CLEAR_EN = "All clear: the river is back within its banks. You may go home."
SERIOUS = ("(serious)", "(critical)")


async def _admin_setup(live: LiveServer) -> tuple[dict[str, str], str]:
    """What the city's administrator does before the day: two named console users (their generated passwords, as
    the users page shows them once), an API key, and two residents whose stored languages are English and French."""
    passwords: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as admin:
        assert (await login(admin, live.admin)).status_code == 303
        for email, role, name in (
            ("dana@city.example", "dispatcher", "Dana Dispatcher"),
            ("alex@city.example", "approver", "Alex Approver"),
        ):
            page = await admin.get("/console/users")
            created = await admin.post(
                "/console/users",
                data={"email": email, "role": role, "display_name": name, "csrf_token": csrf_of(page.text)},
            )
            found = re.search(r'<code class="secret">([^<]+)</code>', created.text)
            assert created.status_code == 200 and found, created.text
            passwords[email] = found.group(1)
        page = await admin.get("/console/keys")
        created = await admin.post(
            "/console/keys",
            data={"name": "walk", "scopes": ["admin", "residents:write"], "csrf_token": csrf_of(page.text)},
        )
        found = re.search(r'id="created-key">([^<]+)</code>', created.text)
        assert found, created.text
        key = found.group(1)
        for language, row in RESIDENTS.items():
            stored = await admin.post("/api/v1/residents", json={**row, "language": language}, headers=auth(key))
            assert stored.status_code == 201, stored.text
    return passwords, key


async def _received(live: LiveServer, key: str, seen: set[str], want: int = 2) -> dict[str, dict[str, Any]]:
    """The newest SMS and e-mail each walk resident received that was not ``seen`` before, keyed "en-sms" etc.;
    waits (up to 20 s) until both residents have both. Marks them seen."""
    addresses = {row["sms"]: f"{lang}-sms" for lang, row in RESIDENTS.items()}
    addresses |= {row["email"]: f"{lang}-email" for lang, row in RESIDENTS.items()}
    found: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        for _ in range(200):
            response = await client.get("/api/v1/sandbox/outbox", params={"limit": 500}, headers=auth(key))
            assert response.status_code == 200, response.text
            found = {}
            for item in response.json()["items"]:  # newest first
                label = addresses.get(item["to"])
                if label and label not in found and item["provider_id"] not in seen:
                    found[label] = item
            if len(found) == 2 * want:
                break
            await asyncio.sleep(0.1)
    assert len(found) == 2 * want, found
    seen.update(item["provider_id"] for item in found.values())
    return found


def _token(item: dict[str, Any]) -> str:
    found = TOKEN.search(item["body"])
    assert found, item["body"]
    return found.group(1)


async def _resident_page(browser: Browser, base: str, token: str, shot: str, language: str) -> Page:
    """The resident opens their link on a phone (the phone's language is theirs too); the page must pass axe."""
    context = await browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale={"en": "en-CA", "fr": "fr-CA"}[language],
    )
    page = await context.new_page()
    await page.goto(f"{base}/a/{token}")
    await snap(page, shot)
    bad = [v for v in await axe_violations(page) if v.split("\n")[0].endswith(SERIOUS) or any(s in v for s in SERIOUS)]
    assert bad == [], "\n".join(bad)
    return page


async def _approve(approver: Page, base: str, alert_url: str, shot: str) -> None:
    """The approver reads the messages, goes to the second step (the reach of an Actual alert) and confirms."""
    await approver.goto(alert_url)
    await expect(approver.locator("#approval")).to_be_visible()
    await snap(approver, f"{shot}-approval.png")
    await approver.click("#approve-button")
    await approver.wait_for_url(f"{alert_url}/approve")
    await expect(approver.locator("#confirm-reach")).to_contain_text("5")
    await snap(approver, f"{shot}-confirm.png")
    await approver.click("#confirm-approve-button")
    await approver.wait_for_url(alert_url)


async def _submit(author: Page, base: str, shot: str) -> str:
    """The dispatcher types the reach shown into the confirmation box and submits; returns the new alert's URL."""
    reach = author.locator("#reach-residents")
    await expect(reach).to_have_text("5", timeout=15_000)
    await author.fill("#confirm_residents", "5")
    # Nothing pushes the page wider than the window (a message's link once did): no sideways scrolling under stress.
    assert await author.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await snap(author, shot)
    await author.click("#send-button")
    await author.wait_for_url(re.compile(r"/console/alerts/[0-9a-f-]{36}$"))
    return author.url


async def test_actual_alert_update_and_all_clear_in_english_and_french(live_server: LiveServer) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    passwords, key = await _admin_setup(live_server)
    seen: set[str] = set()
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
            await sign_in(author, base, "dana@city.example", passwords["dana@city.example"])
            approver_context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            await watch.attach(approver_context)
            approver = await approver_context.new_page()
            await sign_in(approver, base, "alex@city.example", passwords["alex@city.example"])

            # 1. The dispatcher composes an Actual alert in English and French.
            await author.goto(f"{base}/console/alerts/new")
            await author.check("#status-Actual")
            for i, language in enumerate(("en", "fr")):
                headline, description, instruction = ALERT[language]
                await author.fill(f"#info{i}_language", f"{language}-CA")
                await author.fill(f"#info{i}_event", "Flood" if language == "en" else "Inondation")
                await author.fill(f"#info{i}_headline", headline)
                await author.fill(f"#info{i}_description", description)
                await author.fill(f"#info{i}_instruction", instruction)
            await author.fill("#area_desc", "River bank")
            await author.fill("#polygon", POLYGON)
            await author.locator("#polygon").dispatch_event("change")
            original_url = await _submit(author, base, "../walk-01-compose.png")

            # 2. The approver sees each message before approving: the French SMS is there, word for word.
            await approver.goto(original_url)
            french_sms = approver.locator("#preview-fr-CA pre[data-channel=sms]")
            await expect(french_sms).to_contain_text(ALERT["fr"][0])
            await expect(approver.locator("#preview-en-CA pre[data-channel=sms]")).to_contain_text(ALERT["en"][0])
            await _approve(approver, base, original_url, "../walk-02")

            # 3. What the residents receive, and the answer page on their phone.
            first = await _received(live_server, key, seen)
            for language in ("en", "fr"):
                for channel in ("sms", "email"):
                    body = first[f"{language}-{channel}"]["body"]
                    assert ALERT[language][0] in body or ALERT[language][0] in first[f"{language}-{channel}"].get(
                        "headers", ""
                    ), (language, channel, body)
                    other = ALERT["fr" if language == "en" else "en"][0]
                    assert other not in body, (language, channel, body)
            tokens = {language: _token(first[f"{language}-sms"]) for language in ("en", "fr")}
            for language, answers in (("en", ("I'm safe", "I need help")), ("fr", ("Je suis en sécurité",))):
                page = await _resident_page(
                    browser, base, tokens[language], f"../walk-03-resident-{language}.png", language
                )
                await expect(page.locator("h1")).to_have_text(ALERT[language][0])
                await expect(page.locator("button[name=answer]")).to_have_count(2)
                await expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{language}"))
                for answer in answers:
                    await expect(page.locator("button[name=answer]").filter(has_text=answer)).to_have_count(1)
                await page.context.close()

            # 4. An Update with a new instruction, approved with its confirmation.
            await author.goto(original_url)
            await author.click("#prepare-update")
            await author.wait_for_url(re.compile(r"/console/alerts/new\?update="))
            for i, language in enumerate(("en", "fr")):
                await expect(author.locator(f"#info{i}_headline")).to_have_value(ALERT[language][0])
                await author.fill(f"#info{i}_instruction", UPDATE_INSTRUCTION[language])
            update_url = await _submit(author, base, "../walk-04-update-compose.png")
            assert update_url != original_url
            await _approve(approver, base, update_url, "../walk-04-update")
            updated = await _received(live_server, key, seen)
            for language, word in (("en", "UPDATE"), ("fr", "MISE A JOUR")):
                sms = updated[f"{language}-sms"]["body"]
                assert sms.count(word) == 1, sms
                assert UPDATE_INSTRUCTION[language] in updated[f"{language}-email"]["body"]
            for language in ("en", "fr"):
                page = await _resident_page(
                    browser, base, tokens[language], f"../walk-04-resident-{language}.png", language
                )
                await expect(page.locator("p.note.updated")).to_be_visible()
                await expect(page.locator("main")).to_contain_text(UPDATE_INSTRUCTION[language])
                await expect(page.locator("main")).not_to_contain_text(ALERT[language][2])
                await page.context.close()

            # 5. A Cancel with an all-clear typed on the Cancel page, approved.
            await author.goto(original_url)
            await author.click("#prepare-cancel")
            english = author.locator("#info0_instruction")
            await expect(author.locator("#info1_headline")).not_to_have_value("")  # prefilled, in French
            await english.fill(ALL_CLEAR_EN)
            await snap(author, "../walk-05-cancel-form.png")
            await author.click("button.danger[type=submit]")
            await author.wait_for_url(lambda url: bool(re.search(r"/console/alerts/[0-9a-f-]{36}$", url)))
            cancel_url = author.url
            assert cancel_url not in (original_url, update_url)
            await _approve(approver, base, cancel_url, "../walk-05-cancel")
            cleared = await _received(live_server, key, seen)
            for language in ("en", "fr"):
                for channel in ("sms", "email"):
                    body = cleared[f"{language}-{channel}"]["body"]
                    assert ALERT[language][2] not in body and UPDATE_INSTRUCTION[language] not in body, body
            assert ALL_CLEAR_EN in cleared["en-email"]["body"]
            # The all-clear's link leads to a page without answer buttons: the e-mail does not ask for an answer.
            assert "safe or need help" not in cleared["en-email"]["body"]
            assert "Read the all-clear online" in cleared["en-email"]["body"]
            assert "en sécurité" not in cleared["fr-email"]["body"]
            assert "ANNUL" in cleared["fr-sms"]["body"], cleared["fr-sms"]["body"]
            for language, word in (("en", "Cancelled"), ("fr", "Annulé")):
                page = await _resident_page(
                    browser, base, tokens[language], f"../walk-05-resident-{language}.png", language
                )
                banner = page.locator(".banner.cancelled")
                await expect(banner).to_contain_text(word)
                # As visible as the alarm it ends: a coloured banner, not bare text.
                await expect(banner).not_to_have_css("background-color", "rgba(0, 0, 0, 0)")
                await expect(page.locator("button[name=answer]")).to_have_count(0)
                await expect(page.locator("main")).not_to_contain_text(ALERT[language][2])
                if language == "en":
                    await expect(page.locator("main")).to_contain_text(ALL_CLEAR_EN)
                else:  # the prefilled French all-clear, untouched
                    await expect(page.locator("main")).to_contain_text("Fin d'alerte")
                await page.context.close()
            # The links of the Update and of the all-clear itself say the same: cancelled, nothing to answer.
            async with httpx.AsyncClient(base_url=base, timeout=30) as phone:
                for received in (updated, cleared):
                    for language, word in (("en", "Cancelled"), ("fr", "Annulée")):
                        html = (await phone.get(f"/a/{_token(received[f'{language}-sms'])}")).text
                        assert 'class="banner cancelled"' in html and word in html, html
                        assert 'name="answer"' not in html and UPDATE_INSTRUCTION[language] not in html, html

            # 6. The console: the original names its Update and Cancel, the list groups the thread, names not ids.
            await author.goto(original_url)
            await expect(author.locator("#alert-page")).to_have_attribute("data-state", "cancelled", timeout=20_000)
            thread = author.locator(".thread-links")
            await expect(thread.locator(f'a[href="{update_url.removeprefix(base)}"]')).to_have_count(1)
            await expect(thread.locator(f'a[href="{cancel_url.removeprefix(base)}"]')).to_have_count(1)
            await expect(thread).to_contain_text("Updated by")
            await expect(thread).to_contain_text("Cancelled by")
            await expect(author.locator("main")).to_contain_text("Dana Dispatcher")
            await expect(author.locator("main")).to_contain_text("Alex Approver")
            await expect(author.locator("main")).not_to_contain_text("user:")
            await snap(author, "../walk-06-original.png")
            await author.goto(f"{base}/console/alerts")
            await expect(author.locator("main")).to_contain_text("Dana Dispatcher")
            await expect(author.locator("main")).not_to_contain_text("user:")
            await snap(author, "../walk-06-list.png")
        finally:
            await browser.close()
    assert watch.violations == []
