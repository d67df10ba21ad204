"""The console's compose form refuses bidirectional controls and invisible characters as the API does (the same CAP
validation), with the error next to the field that holds one; nothing is stored."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from alertsvc.runtime import Runtime
from alertsvc.store.models import Alert
from tests.console.helpers import compose


async def _alert_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Alert)) or 0)


def _error_of(page: str, field: str) -> str:
    found = re.search(rf'id="{field}-error"[^>]*>(.*?)</p>', page, re.DOTALL)
    assert found, f"no error shown for {field}"
    return found.group(1)


async def test_a_hidden_character_is_refused_next_to_its_field(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await compose(
        dispatcher,
        info0_headline="Gas leak: see https://city.example/\u202eevac",
        info0_instruction="Call\u200b 911",
        area_desc="Old \u2066town\u2069",
    )
    assert response.status_code == 422
    page = response.text
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in _error_of(page, "info0_headline")
    assert "U+200B ZERO WIDTH SPACE" in _error_of(page, "info0_instruction")
    assert "U+2066 LEFT-TO-RIGHT ISOLATE" in _error_of(page, "area_desc")
    assert 'id="info0_description-error"' not in page
    assert await _alert_count(runtime) == 0


async def test_rtl_marks_and_emoji_sequences_are_accepted(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await compose(
        dispatcher,
        info0_headline="Parade cancelled 🏳\ufe0f\u200d🌈",
        info1_language="ar",
        info1_event="\u062a\u0633\u0631\u0628 \u063a\u0627\u0632",
        info1_headline="\u062a\u0633\u0631\u0628 \u063a\u0627\u0632 (A-12)\u200f.",
    )
    assert response.status_code == 303, response.text
    assert await _alert_count(runtime) == 1
