"""Factories and database probes shared by the resident tests."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select, update

from alertsvc.clock import utcnow
from alertsvc.runtime import Runtime
from alertsvc.store.models import Contact, Resident

NDJSON = {"Content-Type": "application/x-ndjson"}
CSV = {"Content-Type": "text/csv"}


def resident(ref: str, **fields: Any) -> dict[str, Any]:
    """A valid resident row, with ``fields`` overriding or adding columns."""
    row: dict[str, Any] = {"ref": ref, "lat": 52.52, "lon": 13.405}
    row.update(fields)
    return row


def ndjson(rows: Iterable[Mapping[str, Any] | str]) -> bytes:
    """NDJSON of ``rows``; a ``str`` row is put in verbatim (for broken lines)."""
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows).encode()


def csv_body(header: list[str], rows: Iterable[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


async def contacts_of(runtime: Runtime, ref: str) -> list[Contact]:
    async with runtime.sessions() as session:
        return list(
            await session.scalars(
                select(Contact)
                .join(Resident, Resident.id == Contact.resident_id)
                .where(Resident.ref == ref)
                .order_by(Contact.id)
            )
        )


async def stored_resident(runtime: Runtime, ref: str) -> Resident | None:
    async with runtime.sessions() as session:
        return await session.scalar(select(Resident).where(Resident.ref == ref))


async def count(runtime: Runtime, model: type[Resident] | type[Contact]) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def opt_out(runtime: Runtime, channel: str, address: str) -> None:
    """What an SMS STOP or an unsubscribe link does to a contact."""
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(Contact).where(Contact.channel == channel, Contact.address == address).values(opted_out_at=utcnow())
        )
