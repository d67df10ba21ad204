"""The compose page's reach, timed: residents inside the area and their contacts per channel and language, for a
city of 1,000,000 residents, as the dispatcher's preview computes it (``alertsvc.alerts.reach.reach_of``: the
bounding-box query, the exact test in a worker thread, one grouped count a chunk of ids). Target: ≤ 250 ms.

The population is ``bench/fanout.py``'s (``bench/_fanout/population.py``: 10 % inside a concave 200-vertex polygon,
every resident with an SMS number, every 5th an e-mail address, every 10th a push URL), with every third resident
switched to French so the count per language has two groups. The area is the same polygon.

    .venv/bin/python -m bench.reach [--residents 1000000] [--databases postgresql,sqlite] [--repeat 5]
        [--pg postgresql://root@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench._fanout.database import Database, create_database, drop_database, engine_of, migrate_and_load
from bench._fanout.population import build_population, rounded_polygon

TARGET_SECONDS = 0.250


async def _french_third(database: Database) -> None:
    from sqlalchemy import text

    async with engine_of(database) as engine, engine.begin() as conn:
        await conn.execute(text("UPDATE residents SET language = 'fr' WHERE id % 3 = 0"))
        if database.kind == "postgresql":
            await conn.execute(text("ANALYZE residents"))


async def measure(database: Database, repeat: int) -> tuple[list[float], object]:
    """Each run's seconds (a fresh session each, as a preview request has) and the last reach."""
    from alertsvc.alerts.reach import reach_of
    from alertsvc.store.db import session_factory

    area = [rounded_polygon()]
    times: list[float] = []
    found: object = None
    async with engine_of(database) as engine:
        sessions = session_factory(engine)
        async with sessions() as session:  # warm-up: connection, prepared statements, page cache
            await reach_of(session, area)
        for _ in range(repeat):
            async with sessions() as session:
                started = time.perf_counter()
                found = await reach_of(session, area)
                times.append(time.perf_counter() - started)
    return times, found


async def main(args: argparse.Namespace) -> None:
    population = build_population(args.residents, push_port=9, email_every=5, push_every=10)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases.split(","):
            database = await create_database(kind, Path(tmp), args.residents, args.pg)
            try:
                load = await migrate_and_load(database, population)
                await _french_third(database)
                times, reach = await measure(database, args.repeat)
            finally:
                if kind == "postgresql":
                    await drop_database(database)
            rows.append((kind, load, min(times), statistics.median(times), max(times), reach))
    print(f"\nreach of the compose page, {args.residents:,} residents, best/median/worst of {args.repeat}")
    print(f"| database | load s | best ms | median ms | worst ms | ≤ {TARGET_SECONDS * 1000:.0f} ms | reach |")
    print("|---|---|---|---|---|---|---|")
    for kind, load, best, median, worst, reach in rows:
        verdict = "yes" if median <= TARGET_SECONDS else "NO"
        figures = f"{best * 1000:.0f} | {median * 1000:.0f} | {worst * 1000:.0f}"
        print(f"| {kind} | {load:.1f} | {figures} | {verdict} | {reach} |")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1:5432", help="PostgreSQL server (no database)")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
