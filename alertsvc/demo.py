"""``alertsvc demo``: a made-up city to click through: residents spread over its named zones, and two console users.

Residents get fictional contacts (555 numbers, ``example.org`` addresses, ntfy topics) that only the sandbox
providers ever see; ``alertsvc demo`` therefore always serves with ``ALERTSVC_SANDBOX=1``. They are stored the
way an import stores them (:func:`alertsvc.residents.service.upsert_residents`, after the same row checks), and
the console users the way ``alertsvc users create`` makes them (:func:`alertsvc.security.users.ensure_user`):
this module decides what the city looks like, never how rows are written.

Loading is idempotent: residents are ``demo-N``, each drawn from a seed of its own (so the city is the same however
many runs built it), and only the ones not there yet are added. The dispatcher and the approver are made the
first time, with generated passwords that are returned for the caller to show once; later runs leave them alone.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.residents.importer import validation_options
from alertsvc.residents.lookup import count_with_ref_prefix
from alertsvc.residents.service import BATCH_SIZE, NumberedRow, upsert_residents
from alertsvc.residents.validation import ResidentInput, RowProblem, validate_row
from alertsvc.security.scopes import Role
from alertsvc.security.users import ensure_user
from alertsvc.settings import Settings
from alertsvc.store.db import transaction

CITY_BOX = (45.47, -73.60, 45.52, -73.54)
"""(min_lat, min_lon, max_lat, max_lon) of config/zones/example-city.geojson."""
LANGUAGES = ("en", "en", "en", "fr", "fr", "es")
CATEGORIES = ("", "", "", "Safety,Fire", "Met,Env", "Health")
REF_PREFIX = "demo-"
ACTOR = "cli:demo"


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    role: Role
    name: str


DEMO_USERS = (
    DemoUser("dispatcher@demo.example", Role.DISPATCHER, "Alex Tremblay"),
    DemoUser("approver@demo.example", Role.APPROVER, "Sam Okafor"),
)
"""Two people, because an alert sent from the console needs a second person to approve it."""


@dataclass(slots=True)
class DemoLoad:
    """What a load did. ``passwords`` holds only the users made by this run: shown once, never logged."""

    added: int = 0
    existing: int = 0
    passwords: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        return f"demo city loaded: {self.added} residents added ({self.existing} were there already)"

    def sign_in_lines(self) -> list[str]:
        """How to sign in to the console as the demo's users: their passwords when this run made them."""
        if self.passwords:
            lines = ["Sign in to the console as the demo's users (passwords are shown this once only):"]
            for user in DEMO_USERS:
                password = self.passwords.get(user.email, "(made earlier; password not shown again)")
                lines.append(f"  {user.role.value:<11} {user.email:<24} {password}   ({user.name})")
            return lines
        people = " and ".join(f"{user.email} ({user.role.value}, {user.name})" for user in DEMO_USERS)
        return [
            f"The demo's console users exist already: {people};",
            "  their passwords were shown when they were made. To add someone:",
            '  alertsvc users create EMAIL --role dispatcher|approver|admin --name "Display Name"',
        ]


def demo_row(n: int) -> dict[str, Any]:
    """Resident ``demo-n`` as an import row, drawn from its own seed."""
    rng = random.Random(f"alertsvc-demo-{n}")
    row: dict[str, Any] = {
        "ref": f"{REF_PREFIX}{n}",
        "lat": round(rng.uniform(CITY_BOX[0], CITY_BOX[2]), 6),
        "lon": round(rng.uniform(CITY_BOX[1], CITY_BOX[3]), 6),
        "language": rng.choice(LANGUAGES),
        "categories": rng.choice(CATEGORIES),
        "test_recipient": n % 50 == 0,
        "sms": f"+1{514 + n // 10000}555{n % 10000:04d}",
    }
    if n % 2 == 0:
        row["email"] = f"resident{n}@example.org"
    if n % 5 == 0:
        row["push"] = f"ntfy://alertsvc-demo-{n}"
    return row


def _checked_rows(start: int, stop: int, settings: Settings) -> list[NumberedRow]:
    """The rows through the import's own checks; a refusal is a bug in this module, so it raises."""
    options = validation_options(settings)
    rows: list[NumberedRow] = []
    for n in range(start, stop):
        checked: ResidentInput | list[RowProblem] = validate_row(demo_row(n), options)
        if isinstance(checked, list):
            raise RuntimeError(f"demo resident {n} is refused: {checked}")
        rows.append(NumberedRow(n + 1, checked))
    return rows


async def load_demo(sessions: async_sessionmaker[AsyncSession], settings: Settings, residents: int = 3000) -> DemoLoad:
    """Add the demo residents not there yet (up to ``residents``), and the demo's console users once."""
    load = DemoLoad()
    async with transaction(sessions) as session:
        load.existing = await count_with_ref_prefix(session, REF_PREFIX)
    for start in range(load.existing, residents, BATCH_SIZE):
        stop = min(residents, start + BATCH_SIZE)
        rows = await asyncio.to_thread(_checked_rows, start, stop, settings)
        result = await upsert_residents(sessions, rows, ACTOR)
        if result.rejected:
            raise RuntimeError(f"demo residents refused by the store: {result.rejected[:3]}")
        load.added += result.created
    async with transaction(sessions) as session:
        for user in DEMO_USERS:
            password = await ensure_user(session, user.email, user.role, user.name, ACTOR)
            if password is not None:
                load.passwords[user.email] = password
    return load
