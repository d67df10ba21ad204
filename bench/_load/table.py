"""The return path's result table: one Markdown row a scenario and database, as ``bench/README.md`` records it, and
under it what each row's refusals and checks were.

Columns:

* **requests**: every request the generators sent (a status callback message is two: ``sent``, ``delivered``);
* **seconds**: first request sent to last answer received, over every generator process;
* **rate/s**: requests answered 2xx per second (refused ones are not counted: a 429 costs the server little);
* **ratio**: rate/s ÷ the ``/healthz`` rate/s of the same database in the same run (same connections, same
  generator), the figure to compare across noisy runs;
* **p50 ms**, **p99 ms**: latency of the accepted requests, from when each was due (at a target rate) or sent
  (flat out) to its answer;
* **refused**: requests not answered 2xx (429s and any other status, timeouts, connection errors), broken down
  under the table;
* **lost**: accepted requests whose effect is not in the database afterwards (``bench/_load/verify.py``);
* **gen CPU %**: the generator processes' own CPU over the scenario's seconds (100 = one core);
* **server CPU %**: ``alertsvc serve``'s CPU over the same window (one process: 100 is all it can use);
* **server µs/req**: that CPU per request answered (refused ones included). Unlike the rates, it hardly moves
  when other work shares the machine, so it is the figure to compare between noisy runs: ``1e6 / µs`` is the
  rate one fully busy server process could reach on this kind of core.

Under each table, "some task waited for a CPU N % of the time" is Linux's pressure stall information
(``/proc/pressure/cpu``) over the scenario: near 0 on a quiet machine, near 100 when the cores are oversubscribed
and every rate above is the machine's, not the service's.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence

from bench._load.drive import Measured


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.1f}"


def healthz_rates(rows: Sequence[Measured]) -> dict[str, float]:
    """Each database's ``/healthz`` rate, the ratio's denominator."""
    return {r.database: r.rate for r in rows if r.scenario == "healthz"}


def print_table(rows: Sequence[Measured], header: str) -> None:
    """The table, ``header`` (how it was run) above it, then a note a row: refusals, checks, Redis CPU."""
    yardstick = healthz_rates(rows)
    print()
    print(header)
    print()
    print(
        f"| {'scenario':<9} | {'db':<10} | {'requests':>8} | {'seconds':>7} | {'rate/s':>7} | {'ratio':>5} "
        f"| {'p50 ms':>7} | {'p99 ms':>7} | {'refused':>7} | {'lost':>4} | {'gen CPU %':>9} | {'server CPU %':>12} "
        f"| {'server µs/req':>13} |"
    )
    print(f"|{'-' * 11}|{'-' * 12}|{'-' * 9}:|{'-' * 8}:|{'-' * 8}:|{'-' * 6}:|{'-' * 8}:|{'-' * 8}:|"
          f"{'-' * 8}:|{'-' * 5}:|{'-' * 10}:|{'-' * 13}:|{'-' * 14}:|")  # fmt: skip
    for r in rows:
        ratio = r.rate / yardstick[r.database] if yardstick.get(r.database) else math.nan
        lost = "-" if r.lost is None else f"{r.lost:,}"
        print(
            f"| {r.scenario:<9} | {r.database:<10} | {r.requests:>8,} | {r.seconds:>7.1f} | {r.rate:>7,.0f} "
            f"| {ratio:>5.2f} | {_ms(r.p50):>7} | {_ms(r.p99):>7} | {r.refused:>7,} | {lost:>4} "
            f"| {r.generator_cpu_pct:>9.0f} | {r.server_cpu_pct:>12.0f} | {r.server_us_per_request:>13,.0f} |"
        )
    print()
    for r in rows:
        notes = [f"refused: {r.refusals()}"] if r.refused else []
        notes += r.notes
        if r.exhausted:
            notes.append(f"all {r.items:,} items sent before the time was up")
        notes.append(f"Redis CPU {r.redis_cpu_pct:.0f} %; some task waited for a CPU {r.stall_pct:.0f} % of the time")
        print(f"* {r.scenario}, {r.database}: " + "; ".join(notes) + ".")
    print(f"\n{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; generator: asyncio + aiohttp in "
          f"{rows[0].processes if rows else 0} process(es), every request from 127.0.0.1.")  # fmt: skip
