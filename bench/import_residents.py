"""Import 100,000 residents into a fresh SQLite database and print rows/s and peak memory.

The rows are generated as a stream of NDJSON (or CSV) bytes and go through the same path as
``POST /api/v1/residents/import``: parse, validate (phone numbers, e-mail), store in batches. Run twice
over the same database, the second pass measures the update path (every ref exists). Peak memory is
tracemalloc's (Python allocations), measured in separate passes on a second database because tracing slows
Python several times over; it should stay flat whatever ``--rows`` is, since the input is never held whole.

    .venv/bin/python bench/import_residents.py [--rows 100000] [--format ndjson|csv] [--database URL]

``--database`` applies to the timed passes; the traced passes always use a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

from alertsvc.residents.formats import Format
from alertsvc.residents.importer import import_stream
from alertsvc.residents.validation import ValidationOptions
from alertsvc.store.db import create_engine, session_factory
from alertsvc.store.migrate import upgrade


def _row(i: int) -> dict[str, object]:
    return {
        "ref": f"bench-{i}",
        "lat": 52.3 + (i % 1000) / 5000,
        "lon": 13.1 + (i // 1000) / 500,
        "language": ("en", "de", "tr")[i % 3],
        "sms": f"+4915{i:09d}",
        "email": f"resident{i}@example.org",
        "categories": "Met;Fire" if i % 2 else "",
        "min_severity": "Moderate" if i % 5 == 0 else "",
    }


async def _stream(rows: int, fmt: Format, chunk_rows: int = 500) -> AsyncIterator[bytes]:
    """The body as a client would send it, in chunks of a few hundred rows."""
    columns = list(_row(0))
    if fmt is Format.CSV:
        yield (",".join(columns) + "\n").encode()
    for start in range(0, rows, chunk_rows):
        lines = []
        for i in range(start, min(rows, start + chunk_rows)):
            row = _row(i)
            if fmt is Format.CSV:
                lines.append(",".join(str(row[c]) for c in columns))
            else:
                lines.append(json.dumps(row))
        yield ("\n".join(lines) + "\n").encode()
        await asyncio.sleep(0)


async def _import(url: str, rows: int, fmt: Format, label: str, traced: bool) -> None:
    """One import pass; ``traced`` measures peak memory instead of speed (tracemalloc slows Python ~5x)."""
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    report = await import_stream(sessions, _stream(rows, fmt), fmt, "bench", ValidationOptions())
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else float("nan")
    tracemalloc.stop()
    await engine.dispose()
    rate = "-" if traced else f"{rows / elapsed:.0f}"
    print(
        f"{label:<14} {rows:>8} {report.created:>8} {report.updated:>8} {report.rejected_rows:>8} "
        f"{elapsed:>8.1f} {rate:>8} {peak:>9.1f}"
    )


async def _run(url: str, spare_url: str, rows: int, fmt: Format) -> None:
    print(f"{'pass':<14} {'rows':>8} {'created':>8} {'updated':>8} {'rejected':>8} {'seconds':>8} {'rows/s':>8} "
          f"{'peak MiB':>9}")  # fmt: skip
    await _import(url, rows, fmt, "insert", traced=False)
    await _import(url, rows, fmt, "update", traced=False)
    await _import(spare_url, rows, fmt, "insert, traced", traced=True)
    await _import(spare_url, rows, fmt, "update, traced", traced=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=[f.value for f in Format], default=Format.NDJSON.value)
    parser.add_argument("--database", help="SQLAlchemy async URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        spare = f"sqlite+aiosqlite:///{Path(tmp) / 'traced.sqlite3'}"
        asyncio.run(_run(url, spare, args.rows, Format(args.format)))


if __name__ == "__main__":
    main()
