"""A consistent copy of what the reach reads, for the in-memory reach index (``alertsvc.alerts.reach_index``).

What the compose page's reach needs of a resident is small: position, language, test-recipient flag, and their
confirmed, not opted-out contacts per channel. :func:`load_snapshot` reads all of it, with the
``reach_generation`` marker (migration 0016), **in one read transaction**, so the arrays are exactly the
database at that generation: a change committed later moves the marker and is never folded into an index that
claims the older one.

It runs in a worker thread of its own, on a connection of its own (stdlib ``sqlite3`` on an SQLite file, a
private engine and event loop on PostgreSQL), never on the service's engine or event loop: reading a
million residents takes a second or two and nothing else may wait for it. On PostgreSQL the rows come back as
one row of packed binary columns (``string_agg`` of ``int8send``/``float8send``, as the fan-out's prefilter in
:mod:`alertsvc.store.audience` does), which numpy reads in place; on SQLite the cursor is read straight into a
structured array. SQLAlchemy compiles every statement (on SQLite with literal values: they hold no user input).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Select, SmallInteger, case, cast, func, literal_column, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.store.db import is_file_database
from alertsvc.store.models import Contact, ReachGeneration, Resident

Generation = tuple[str, int]
"""``(epoch, counter)`` of ``reach_generation``: equal generations mean equal residents and contacts."""


@dataclass(frozen=True, slots=True)
class ResidentSnapshot:
    """Residents and reachable contacts at one generation, as parallel arrays (ids in no particular order)."""

    generation: Generation
    ids: npt.NDArray[np.int64]
    lats: npt.NDArray[np.float64]
    lons: npt.NDArray[np.float64]
    language_codes: npt.NDArray[np.int16]
    """Index into ``languages`` (the stored tags, ``None`` for a resident stored without one)."""
    languages: tuple[str | None, ...]
    test_recipients: npt.NDArray[np.bool_]
    contact_resident_ids: npt.NDArray[np.int64]
    """One entry per confirmed, not opted-out contact: its resident and (``contact_channel_codes``) its channel."""
    contact_channel_codes: npt.NDArray[np.int16]
    channels: tuple[str, ...]


def supports_snapshots(url: str) -> bool:
    """Whether :func:`load_snapshot` can read ``url``: PostgreSQL, or SQLite in a file (a ``:memory:`` database
    is private to its connection, so another one cannot read it)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    return backend == "postgresql" or (backend == "sqlite" and is_file_database(parsed.database))


async def read_generation(session: AsyncSession) -> Generation | None:
    """The current marker, on the caller's session (a few rows summed: well under a millisecond)."""
    row = (await session.execute(_MARKER)).first()
    return None if row is None or row[0] is None else (str(row[0]), int(row[1]))


def _reachable() -> tuple[ColumnElement[bool], ...]:
    return Contact.confirmed_at.is_not(None), Contact.opted_out_at.is_(None)


def _code(column: Any, values: Sequence[str | None]) -> ColumnElement[int]:
    """The position of ``column``'s value in ``values`` (a ``NULL`` at the position of ``None``), as SQL."""
    whens = [(column == value, position) for position, value in enumerate(values) if value is not None]
    null = values.index(None) if None in values else -1
    if not whens:
        return cast(literal_column(str(null)), SmallInteger)
    return cast(case(*whens, else_=null), SmallInteger)


_MARKER = select(func.max(ReachGeneration.epoch), func.sum(ReachGeneration.counter))
"""``(epoch, counter)``: the seeded row's epoch, and the sum of every row's counter (migration 0016 says why)."""
_LANGUAGES = select(Resident.language).distinct()
_CHANNELS = select(Contact.channel).distinct().where(*_reachable())


def _residents_query(languages: Sequence[str | None]) -> Select[int, float, float, int, int]:
    return select(
        Resident.id, Resident.lat, Resident.lon, _code(Resident.language, languages),
        cast(case((Resident.test_recipient, 1), else_=0), SmallInteger),
    )  # fmt: skip


def _contacts_query(channels: Sequence[str]) -> Select[int, int]:
    return select(Contact.resident_id, _code(Contact.channel, channels)).where(*_reachable())


def _compiled(statement: Any, dialect: Any) -> str:
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


_RESIDENT_ROW = np.dtype([("id", np.int64), ("lat", np.float64), ("lon", np.float64), ("lang", np.int16),
                          ("test", np.int8)])  # fmt: skip
_CONTACT_ROW = np.dtype([("resident", np.int64), ("channel", np.int16)])


def _load_sqlite(path: str) -> ResidentSnapshot:
    dialect = sqlite.dialect()
    # read-only, by URI: the path quoted, so a "?" or "#" in a directory name stays part of the path
    connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN")  # one read transaction: under WAL, one snapshot for every read below
        epoch, counter = connection.execute(_compiled(_MARKER, dialect)).fetchone()
        languages = tuple(row[0] for row in connection.execute(_compiled(_LANGUAGES, dialect)))
        channels = tuple(row[0] for row in connection.execute(_compiled(_CHANNELS, dialect)))
        residents = np.fromiter(connection.execute(_compiled(_residents_query(languages), dialect)), _RESIDENT_ROW)
        contacts = np.fromiter(connection.execute(_compiled(_contacts_query(channels), dialect)), _CONTACT_ROW)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return ResidentSnapshot(
        generation=(str(epoch), int(counter)),
        ids=np.ascontiguousarray(residents["id"]),
        lats=np.ascontiguousarray(residents["lat"]),
        lons=np.ascontiguousarray(residents["lon"]),
        language_codes=np.ascontiguousarray(residents["lang"]),
        languages=languages,
        test_recipients=residents["test"].astype(np.bool_),
        contact_resident_ids=np.ascontiguousarray(contacts["resident"]),
        contact_channel_codes=np.ascontiguousarray(contacts["channel"]),
        channels=channels,
    )


def _packed(expression: Any, send: str) -> Any:
    """``string_agg(<send>(expression), ''::bytea)``: a column of the whole table as one big-endian buffer."""
    return func.string_agg(getattr(func, send)(expression), literal_column("''::bytea"))


async def _load_postgresql(url: str) -> ResidentSnapshot:
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 10})
    try:
        async with engine.connect() as plain:
            connection = await plain.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            async with connection.begin():
                marker = (await connection.execute(_MARKER)).one()
                languages = tuple((await connection.scalars(_LANGUAGES)).all())
                channels = tuple((await connection.scalars(_CHANNELS)).all())
                residents = _residents_query(languages).subquery()
                id_, lat, lon, lang, test = residents.c
                packed = (
                    await connection.execute(
                        select(_packed(id_, "int8send"), _packed(lat, "float8send"), _packed(lon, "float8send"),
                               _packed(lang, "int2send"), _packed(test, "int2send"))
                    )
                ).one()  # fmt: skip
                contacts = _contacts_query(channels).subquery()
                resident, channel = contacts.c
                packed_contacts = (
                    await connection.execute(select(_packed(resident, "int8send"), _packed(channel, "int2send")))
                ).one()
    finally:
        await engine.dispose()

    def column(buffer: bytes | None, kind: str, into: Any) -> Any:
        return np.frombuffer(buffer or b"", dtype=kind).astype(into)

    return ResidentSnapshot(
        generation=(str(marker[0]), int(marker[1])),
        ids=column(packed[0], ">i8", np.int64),
        lats=column(packed[1], ">f8", np.float64),
        lons=column(packed[2], ">f8", np.float64),
        language_codes=column(packed[3], ">i2", np.int16),
        languages=languages,
        test_recipients=column(packed[4], ">i2", np.bool_),
        contact_resident_ids=column(packed_contacts[0], ">i8", np.int64),
        contact_channel_codes=column(packed_contacts[1], ">i2", np.int16),
        channels=channels,
    )


def load_snapshot(url: str) -> ResidentSnapshot:
    """Everything the reach reads, at one generation. Blocking: call it from a worker thread."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not is_file_database(parsed.database):
            raise ValueError("an in-memory SQLite database cannot be read from another connection")
        return _load_sqlite(str(parsed.database))
    return asyncio.run(_load_postgresql(parsed.render_as_string(hide_password=False)))


__all__ = ["Generation", "ResidentSnapshot", "load_snapshot", "read_generation", "supports_snapshots"]
