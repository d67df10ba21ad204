"""The console's counted strings take the form of their count, in English and in French (ngettext end to end)."""

from __future__ import annotations

import re

import httpx

from alertsvc.runtime import Runtime
from tests.console.helpers import compose
from tests.factories import add_resident


async def test_reach_and_sms_preview_agree_with_their_count(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550401", test_recipient=True)
    short = {"info0_headline": "Gas leak", "info0_description": "Gas.", "info0_instruction": "Leave."}
    preview = await compose(dispatcher, action="preview", **short)
    assert preview.status_code == 200
    assert re.search(r"SMS in [\w-]+: 1 segment, ", preview.text)
    long = await compose(dispatcher, action="preview")
    assert re.search(r"SMS in [\w-]+: [23] segments, ", long.text)
    sent = await compose(dispatcher)
    assert sent.status_code == 303
    page = await dispatcher.get(sent.headers["location"])
    assert "This alert reaches 1 resident now." in page.text
    french = await dispatcher.get(sent.headers["location"] + "?lang=fr")
    assert "Cette alerte atteint 1 résident en ce moment." in french.text
    await add_resident(runtime.sessions, 45.6, -72.6, sms="+15145550402", test_recipient=True)
    assert "Cette alerte atteint 2 résidents en ce moment." in (await dispatcher.get(sent.headers["location"])).text
    assert re.search(r"SMS en [\w-]+ : 1 segment, ", (await compose(dispatcher, action="preview", **short)).text)
