"""The compose page's reach, timed: residents inside the area and their contacts per channel and language, for a
city of 1,000,000 residents, as the dispatcher's preview computes it (``alertsvc.alerts.reach.reach_of``). Target:
≤ 250 ms.

``reach_of`` answers from the process's reach index (``alertsvc.alerts.reach_index``) once it is of the database's
current generation; the first call after the load finds none, answers from the database path and starts the
build. The benchmark times that first call, waits for the build (its time and the arrays' size are printed),
checks that the index and the database path give the same reach, then times ``reach_of`` ``--repeat`` times (a
fresh session each, as a preview request has: each reads the generation marker first) and the database path
alone for comparison.

The population is ``bench/fanout.py``'s (``bench/_fanout/population.py``: 10 % inside a concave 200-vertex polygon,
every resident with an SMS number, every 5th an e-mail address, every 10th a push URL), with every third resident
switched to French so the count per language has two groups. The area is the same polygon.

    .venv/bin/python -m bench.reach [--residents 1000000] [--databases postgresql,sqlite] [--repeat 5]
        [--pg postgresql://root@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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


def _rss() -> int:
    """This process's resident memory now, in bytes (Linux ``/proc``), sampled while the index builds."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


async def measure(database: Database, repeat: int) -> dict[str, object]:
    """Each run's seconds (a fresh session each, as a preview request has), the build, and the last reach."""
    from alertsvc.alerts.reach import current_index, reach_from_database, reach_of
    from alertsvc.geo.targeting import TargetArea
    from alertsvc.store.db import session_factory

    area = [rounded_polygon()]
    target = TargetArea(area)
    times: list[float] = []
    database_times: list[float] = []
    found: object = None
    async with engine_of(database) as engine:
        sessions = session_factory(engine)
        rss_before = peak = _rss()
        async with sessions() as session:  # no index yet: the database path answers and the build starts
            started = time.perf_counter()
            first = await reach_of(session, area)
            first_seconds = time.perf_counter() - started
        while True:
            async with sessions() as session:
                arrays = await current_index(session)
            if arrays is not None:
                break
            peak = max(peak, _rss())
            await asyncio.sleep(0.02)
        peak_growth, kept = peak - rss_before, _rss() - rss_before
        for _ in range(repeat):
            async with sessions() as session:
                started = time.perf_counter()
                found = await reach_of(session, area)
                times.append(time.perf_counter() - started)
        for _ in range(max(1, repeat // 2)):
            async with sessions() as session:
                started = time.perf_counter()
                from_database = await reach_from_database(session, target)
                database_times.append(time.perf_counter() - started)
    if not found == first == from_database:
        raise SystemExit(f"the index and the database disagree: {found} against {from_database}")
    return {
        "times": times,
        "database": database_times,
        "first": first_seconds,
        "build": arrays.build_seconds,
        "mib": arrays.nbytes / 2**20,
        "peak_growth_mib": peak_growth / 2**20,
        "kept_mib": kept / 2**20,
        "reach": found,
    }


async def main(args: argparse.Namespace) -> None:
    population = build_population(args.residents, push_port=9, email_every=5, push_every=10)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases.split(","):
            database = await create_database(kind, Path(tmp), args.residents, args.pg)
            try:
                load = await migrate_and_load(database, population)
                await _french_third(database)
                result = await measure(database, args.repeat)
            finally:
                if kind == "postgresql":
                    await drop_database(database)
            rows.append((kind, load, result))
    print(f"\nreach of the compose page, {args.residents:,} residents, best/median/worst of {args.repeat}")
    print(
        "| database | load s | index build s | index MiB | best ms | median ms | worst ms "
        f"| ≤ {TARGET_SECONDS * 1000:.0f} ms | database path median ms | first call (no index) ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, load, result in rows:
        times = result["times"]
        assert isinstance(times, list) and isinstance(result["database"], list)
        median = statistics.median(times)
        verdict = "yes" if median <= TARGET_SECONDS else "NO"
        figures = f"{min(times) * 1000:.0f} | {median * 1000:.0f} | {max(times) * 1000:.0f}"
        slow = statistics.median(result["database"]) * 1000
        print(
            f"| {kind} | {load:.1f} | {result['build']:.2f} | {result['mib']:.1f} | {figures} | {verdict} "
            f"| {slow:.0f} | {float(result['first']) * 1000:.0f} |"  # type: ignore[arg-type]
        )
    for kind, _, result in rows:
        growth, kept = float(result["peak_growth_mib"]), float(result["kept_mib"])  # type: ignore[arg-type]
        print(f"{kind}: resident memory grew {growth:.0f} MiB at most during the build, {kept:.0f} MiB kept after")
        print(f"{kind}: {result['reach']}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1:5432", help="PostgreSQL server (no database)")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    cli()
