"""The README's "First steps" and the files it uses cannot drift apart.

* The example files (``examples/``) go through the API as the README sends them: the CAP XML and its JSON form are
  accepted (and are the same alert), the residents CSV imports every row, and the alert reaches exactly the
  residents inside its area (an independent ray-casting oracle decides who that is), each in their language.
* The shell block of "First steps" names only files that exist, uses only ``alertsvc`` commands and options
  that the command line accepts, and calls only routes the app serves, at the port ``alertsvc serve`` listens on.
"""

from __future__ import annotations

import csv
import io
import re
import shlex
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Match

from alertsvc.app import create_app
from alertsvc.cap import Alert as CapAlert
from alertsvc.cap import parse_cap_json
from alertsvc.cap.xml import parse_cap_xml
from alertsvc.cli import build_parser
from alertsvc.demo import CITY_BOX
from alertsvc.dispatch.outbox import read_outbox
from alertsvc.dispatch.worker import build_worker
from alertsvc.runtime import Runtime
from alertsvc.security.scopes import parse_scopes
from alertsvc.settings import Settings
from tests.conftest import KeyMaker, auth
from tests.geo.oracles import point_in_ring

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
CHANNELS = ("sms", "email", "push")


def example_alert() -> CapAlert:
    return parse_cap_xml((EXAMPLES / "alert.xml").read_bytes())


def example_residents() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((EXAMPLES / "residents.csv").read_text(encoding="utf-8"))))


def rings(alert: CapAlert) -> list[list[tuple[float, float]]]:
    """Every polygon of the alert as ``(lat, lon)`` pairs, read from CAP's text here, not by alertsvc.geo."""
    texts = [str(text) for info in alert.info for area in info.area for text in area.polygon]
    return [[(float(lat), float(lon)) for lat, lon in (pair.split(",") for pair in text.split())] for text in texts]


def inside(resident: dict[str, str], alert: CapAlert) -> bool:
    point = (float(resident["lat"]), float(resident["lon"]))
    return any(point_in_ring(point, ring) for ring in rings(alert))


def test_the_examples_are_one_alert_for_the_demo_city() -> None:
    alert = example_alert()
    assert parse_cap_json((EXAMPLES / "alert.json").read_bytes()) == alert
    assert (str(alert.status), str(alert.msg_type)) == ("Actual", "Alert")
    assert all(info.expires is None for info in alert.info)  # never refused as expired, however late it is tried
    min_lat, min_lon, max_lat, max_lon = CITY_BOX
    points = [point for ring in rings(alert) for point in ring]
    points += [(float(row["lat"]), float(row["lon"])) for row in example_residents()]
    assert points and all(min_lat <= lat <= max_lat and min_lon <= lon <= max_lon for lat, lon in points)
    residents = example_residents()
    assert {row["language"] for row in residents if inside(row, alert)} == {"en", "fr", "es"}
    assert any(not inside(row, alert) for row in residents)


async def _run_worker(runtime: Runtime) -> None:
    worker = build_worker(runtime, burst=True, poll_delay=0.01, cron_jobs=[])
    try:
        await worker.main()
    finally:
        await worker.close()


def _info_for(alert: CapAlert, language: str) -> Any:
    """The info a resident reads: exact tag, then primary subtag (DESIGN.md); the examples need no fallback."""
    for match in (lambda tag: tag == language, lambda tag: tag.split("-")[0] == language.split("-")[0]):
        for info in alert.info:
            if match(str(info.language).lower()):
                return info
    raise AssertionError(f"no info in {language}")


async def test_readme_examples_through_the_api(client: httpx.AsyncClient, runtime: Runtime, make_key: KeyMaker) -> None:
    key = await make_key("alerts:read", "alerts:write", "alerts:send", "residents:write", "admin")
    residents = example_residents()
    imported = await client.post(
        "/api/v1/residents/import",
        content=(EXAMPLES / "residents.csv").read_bytes(),
        headers={**auth(key), "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert (report["created"], report["updated"], report["rejected"], report["errors"]) == (len(residents), 0, 0, [])

    xml = await client.post(
        "/api/v1/alerts",
        content=(EXAMPLES / "alert.xml").read_bytes(),
        headers={**auth(key), "Content-Type": "application/cap+xml"},
    )
    assert xml.status_code == 201, xml.text
    alert_id = xml.json()["id"]
    assert xml.json()["state"] in {"approved", "dispatching", "sent"}
    as_json = await client.post(
        "/api/v1/alerts",
        content=(EXAMPLES / "alert.json").read_bytes(),
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert as_json.status_code == 200, as_json.text  # validated, then recognised as the same alert: not sent twice
    assert as_json.json()["id"] == alert_id

    await _run_worker(runtime)
    alert = example_alert()
    expected = Counter(
        (channel, row[channel]) for row in residents if inside(row, alert) for channel in CHANNELS if row[channel]
    )
    sent = await read_outbox(runtime.redis, limit=10_000)
    assert Counter((entry["channel"], entry["to"]) for entry in sent) == expected
    language_of = {row[channel]: row["language"] for row in residents for channel in CHANNELS if row[channel]}
    for entry in sent:
        headline = _info_for(alert, language_of[entry["to"]]).headline
        assert headline in entry["body"] + (entry.get("subject") or ""), (entry["channel"], language_of[entry["to"]])
    stats = (await client.get(f"/api/v1/alerts/{alert_id}", headers=auth(key))).json()["stats"]
    assert sum(sum(states.values()) for states in stats.values()) == sum(expected.values())


# --- the README's shell block ------------------------------------------------------------------------------------


def first_steps_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## First steps\n(.*?)(?=^## )", text, re.MULTILINE | re.DOTALL)
    assert section, "README.md has no '## First steps' section"
    block = re.search(r"```sh\n(.*?)```", section.group(1), re.DOTALL)
    assert block, "'First steps' has no ```sh block"
    return block.group(1)


def commands(block: str) -> list[list[str]]:
    """Each simple command of the block as words (continuations joined; pipes, ``$( )`` and ``;`` split)."""
    logical = block.replace("\\\n", " ")
    found: list[list[str]] = []
    for line in logical.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        words: list[str] = []
        for token in lexer:
            if token and set(token) <= set(";&|()"):
                found.append(words)
                words = []
            elif token.endswith("=$") and not words:
                continue  # ``NAME=$(`` : the assignment of a command substitution
            else:
                words.append(token)
        found.append(words)
    return [words for words in found if words]


BLOCK = first_steps_block()
COMMANDS = commands(BLOCK)


def test_every_file_the_first_steps_name_exists_and_every_example_is_used() -> None:
    named = {word.lstrip("@") for words in COMMANDS for word in words if word.startswith(("@", "examples/"))}
    assert named, "no file named: the extraction is broken"
    assert [path for path in sorted(named) if not (ROOT / path).is_file()] == []
    shipped = {f"examples/{path.name}" for path in EXAMPLES.iterdir() if path.is_file()}
    assert shipped <= named, f"examples the README does not use: {sorted(shipped - named)}"


def test_every_alertsvc_command_in_the_first_steps_exists() -> None:
    used = [words[1:] for words in COMMANDS if Path(words[0]).name == "alertsvc"]
    assert {tuple(args[:2]) for args in used} >= {("keys", "create"), ("users", "create")}
    for args in used:
        try:
            parsed = build_parser().parse_args(args)  # unknown subcommands or options exit
        except SystemExit as exc:
            pytest.fail(f"alertsvc {shlex.join(args)}: refused by the command line ({exc})")
        if getattr(parsed, "scopes", None):
            parse_scopes(parsed.scopes)  # raises on an unknown scope


def test_every_url_in_the_first_steps_is_a_route_at_the_served_port() -> None:
    default_port = build_parser().parse_args(["serve"]).port
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    requests = []
    for words in COMMANDS:
        if words[0] != "curl":
            continue
        method = words[words.index("-X") + 1] if "-X" in words else "GET"
        for word in words:
            match = re.fullmatch(r"(?:https?://)?(localhost|127\.0\.0\.1):(\d+)(/[^?]*)(?:\?.*)?", word)
            if match:
                assert int(match.group(2)) == default_port, word
                requests.append((method, match.group(3).replace("$ID", str(uuid.uuid4()))))
    assert len(requests) >= 4, "no URL found: the extraction is broken"
    for method, path in requests:
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        assert any(route.matches(scope)[0] is Match.FULL for route in app.routes), f"{method} {path}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('ID=$(curl -s -X POST localhost:8000/x | python3 -c "print(1)")', [["curl", "-s", "-X", "POST",
          "localhost:8000/x"], ["python3", "-c", "print(1)"]]),
        ('KEY=$(.venv/bin/alertsvc keys create "a-$(date +%s)" \\\n  --scopes admin | tail -n 1)',
         [[".venv/bin/alertsvc", "keys", "create", "a-$(date +%s)", "--scopes", "admin"], ["tail", "-n", "1"]]),
        ("echo hi   # a comment; with | punctuation", [["echo", "hi"]]),
    ],
)  # fmt: skip
def test_the_block_is_split_into_commands_as_a_shell_would(line: str, expected: list[list[str]]) -> None:
    assert commands(line) == expected
