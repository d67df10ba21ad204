"""The whole pipeline, end to end: an alert through the HTTP API to messages arriving at the loopback stand-ins.

For each number of residents (10 % inside a 200-vertex polygon), database (SQLite file, PostgreSQL) and number of
``alertsvc worker`` processes, an alert is posted to ``alertsvc serve`` (``POST /api/v1/alerts``, a key holding
``alerts:send``, so it is sent at once) once per channel, and the stand-ins time what arrives. Every resident has
an SMS contact, a share also an e-mail address and a push URL (``ntfy://`` to the push stand-in); each channel is
measured on its own (only that channel's contacts of the targeted residents are confirmed during its alert).
Next to each row, the same stand-in driven by the bare client library from as many processes, in the same run.
With ``--callbacks on`` (or ``both``: without, then with, back to back on the same services) the SMS stand-in posts
``sent`` then ``delivered`` for each message to its ``StatusCallback`` (the API's ``/hooks/twilio/status``), as
Twilio does, and after the alert the benchmark waits (bounded) until every SMS delivery is ``delivered`` and prints
where each ended (row ``sms+cb`` and a line under the table); the bare ceiling stays the bare client without them.

This file is the command line and the order of the steps; each step is a module of ``bench/_fanout/``:

* ``population``: the residents and their contacts, generated (``bench/targeting.py``'s), and the alerts' areas;
* ``database``: the scratch database, migrated, bulk-loaded, its targeting timed, contacts confirmed per channel;
* ``services``: ``alertsvc serve`` and ``alertsvc worker`` processes, configured by environment only;
* ``worker_patches``: ``--worker-patch`` experiments applied inside the worker processes;
* ``alerts``: one alert posted through the API and awaited at the stand-ins;
* ``receipts``: with callbacks on, the wait until every SMS delivery is ``delivered``, and the database's count;
* ``standin``: the ``standins`` servers in child processes with a counter around their handlers;
* ``bare``: the bare-library ceilings (``bench/_bare_clients.py``'s senders, in child processes);
* ``sampling``: CPU seconds, peak RSS and sampled PSS of the processes under test;
* ``table``: the result table (its docstring explains the columns); ``children``, ``config``: shared plumbing.

Nothing is patched in the client libraries or in alertsvc; ``--worker-env`` adds to the workers' environment.

    .venv/bin/python -m bench.fanout [--quick] [--sizes 100000,1000000] [--databases sqlite,postgresql]
        [--workers 1,2] [--channels sms,email,push] [--callbacks off|on|both]
        [--worker-env ALERTSVC_DELIVERY_BATCH_SIZE=500 ...]
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``python bench/fanout.py`` as well as ``python -m bench.fanout``
    sys.path.insert(0, str(ROOT))

from bench._fanout.alerts import send_alert  # noqa: E402
from bench._fanout.bare import NO_CEILING, Ceiling, bare_ceiling  # noqa: E402
from bench._fanout.config import CHANNELS, SMTP_POOL  # noqa: E402
from bench._fanout.database import (  # noqa: E402
    Database,
    clear_deliveries,
    create_database,
    drop_database,
    migrate_and_load,
    set_confirmed,
    targeting_seconds,
)
from bench._fanout.population import WARMUP_RESIDENTS, Population, build_population, warmup_polygon  # noqa: E402
from bench._fanout.receipts import Receipts, await_delivered  # noqa: E402
from bench._fanout.sampling import PssSampler, cpu_seconds, peak_rss_mib  # noqa: E402
from bench._fanout.services import (  # noqa: E402
    create_key,
    flush_redis,
    service_env,
    start_api,
    start_logged,
    stop_service,
    wait_http,
    worker_command,
)
from bench._fanout.standin import Standin  # noqa: E402
from bench._fanout.table import Row, print_table  # noqa: E402
from bench._fanout.worker_patches import WORKER_PATCHES  # noqa: E402

Ceilings = dict[tuple[str, int], Ceiling]
"""The bare client's figures per (channel, number of processes)."""


async def confirm_only(database: Database, population: Population, active: str, channel: str) -> str:
    """Make ``channel``'s inside contacts the confirmed ones instead of ``active``'s; the channel now active.

    Every resident has an SMS contact, so with every channel confirmed each alert would send on all three at
    once; one channel at a time measures each on its own.
    """
    if channel != active:
        await set_confirmed(database, population.inside_contacts[active], False)
        await set_confirmed(database, population.inside_contacts[channel], True)
    return channel


def workers_cpu(processes: Sequence[subprocess.Popen[bytes]]) -> float:
    return sum(cpu_seconds(p.pid) for p in processes)


def memory_peaks(api_process: subprocess.Popen[bytes], processes: Sequence[subprocess.Popen[bytes]],
                 sampler: PssSampler) -> tuple[float, float]:  # fmt: skip
    """Summed ``VmHWM`` of the API and the workers, and the sampled summed PSS; both printed as well."""
    sampler.stop()
    worker_peaks = [peak_rss_mib(p.pid) for p in processes]
    api_peak = peak_rss_mib(api_process.pid)
    print(f"  peak RSS: API {api_peak:.0f} MiB, workers " + ", ".join(f"{m:.0f}" for m in worker_peaks)
          + f" MiB; summed PSS at most {sampler.peak:.0f} MiB", flush=True)  # fmt: skip
    return api_peak + sum(worker_peaks), sampler.peak


async def run_database(kind: str, population: Population, args: argparse.Namespace, tmp: Path,
                       standins: dict[str, Standin], ceilings: Ceilings) -> list[Row]:  # fmt: skip
    """Steps 1 to 4 on one database: load, time the targeting, start the API, then for each number of workers
    start them, warm them up and send one alert per channel; a row per channel and number of workers."""
    size = population.size
    database = await create_database(kind, tmp, size, args.pg)
    rows: list[Row] = []
    try:
        load_s = await migrate_and_load(database, population)
        targeting, found = await targeting_seconds(database)
        expected_inside = len(population.inside_contacts["sms"])
        print(f"  {kind}: loaded in {load_s:.1f}s; targeting {targeting:.3f}s, {found:,} inside "
              f"(expected {expected_inside:,})", flush=True)  # fmt: skip
        env = service_env(database, args.redis, standins, tmp, dict(args.worker_env))
        await flush_redis(args.redis)
        key = create_key(env)
        api_process, api = start_api(env, tmp / f"api-{kind}-{size}.log")
        try:
            await wait_http(f"{api}/healthz")
            active = "sms"  # the channel whose inside contacts are confirmed now (SMS from the load)
            for workers in args.workers:
                await flush_redis(args.redis)
                command = worker_command(args.worker_patch)
                processes = [
                    start_logged(command, env, tmp / f"worker-{kind}-{size}-{workers}-{n}.log") for n in range(workers)
                ]
                sampler = PssSampler([api_process.pid, *(p.pid for p in processes)]).start()
                these: list[Row] = []
                try:
                    warm = await send_alert(api, key, warmup_polygon(), "warmup", standins,
                                            {c: WARMUP_RESIDENTS for c in args.channels}, within=120)  # fmt: skip
                    if any(r.arrived < r.expected for r in warm.values()):
                        print(f"  warm-up incomplete: {warm}", flush=True)
                    await clear_deliveries(database)
                    for channel, callbacks in runs_of(args.channels, args.callbacks):
                        active = await confirm_only(database, population, active, channel)
                        expected = len(population.inside_contacts[channel])
                        standins["sms"].send_callbacks(callbacks)
                        standin_pid = standins[channel].process.pid
                        cpu_before, api_before = workers_cpu(processes), cpu_seconds(api_process.pid)
                        standin_before = cpu_seconds(standin_pid)
                        result = await send_alert(
                            api, key, population.polygon_cap, channel, standins, {channel: expected},
                            within=60 + expected / 100,
                        )  # fmt: skip
                        run_result = result[channel]
                        cpu_us = (workers_cpu(processes) - cpu_before) / expected * 1e6
                        receipts: Receipts | None = None
                        if callbacks:
                            receipts = await await_delivered(database, standins["sms"], expected,
                                                             within=60 + expected / 500)  # fmt: skip
                            standins["sms"].send_callbacks(False)
                        api_us = (cpu_seconds(api_process.pid) - api_before) / expected * 1e6
                        standin_us = (cpu_seconds(standin_pid) - standin_before) / expected * 1e6
                        bare = ceilings.get((channel, workers), NO_CEILING)
                        these.append(Row(size, kind, workers, channel, run_result, targeting, bare, cpu_us,
                                         load_s=load_s, receipts=receipts, api_cpu_us=api_us,
                                         standin_cpu_us=standin_us))  # fmt: skip
                        print(f"  {kind} workers={workers} {channel}{'+cb' if callbacks else ''}: {run_result}",
                              flush=True)  # fmt: skip
                        print(f"    CPU µs/msg: workers {cpu_us:.0f}, API {api_us:.0f}, stand-in {standin_us:.0f}",
                              flush=True)  # fmt: skip
                        if receipts:
                            print(f"    {receipts.summary()}", flush=True)
                        await clear_deliveries(database)
                    peak, pss = memory_peaks(api_process, processes, sampler)
                    for row in these:
                        row.peak_mib, row.peak_pss_mib = peak, pss
                    rows += these
                finally:
                    sampler.stop()
                    for process in processes:
                        stop_service(process)
        finally:
            stop_service(api_process)
    finally:
        await drop_database(database)
    return rows


def runs_of(channels: Sequence[str], callbacks: str) -> list[tuple[str, bool]]:
    """Each channel's alert, and for SMS with ``--callbacks both`` one without status callbacks then one with
    (the same services, back to back: the pair is compared in one run on a noisy machine)."""
    modes = {"off": [False], "on": [True], "both": [False, True]}[callbacks]
    return [(channel, on) for channel in channels for on in (modes if channel == "sms" else [False])]


def measure_ceilings(args: argparse.Namespace, standins: dict[str, Standin]) -> Ceilings:
    """Step 5, first: each channel's bare client from as many processes as each worker count."""
    ceilings: Ceilings = {}
    for workers in [] if args.skip_ceilings else args.workers:
        for channel in args.channels:
            count = args.push_ceiling_messages if channel == "push" else args.ceiling_messages
            ceilings[(channel, workers)] = ceiling = bare_ceiling(standins[channel], workers, count, SMTP_POOL)
            print(f"bare {channel} x{workers}: {ceiling.rate:,.0f} msg/s, {ceiling.cpu_us:.0f} µs CPU/msg",
                  flush=True)  # fmt: skip
    return ceilings


def copy_logs(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for log in source.glob("*.log"):
        (target / log.name).write_bytes(log.read_bytes())


def parse_env(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    if not name or not _:
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return name, value


def parse_patches(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in WORKER_PATCHES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown patch {', '.join(unknown)}; known: {', '.join(WORKER_PATCHES)}")
    return names


async def main(args: argparse.Namespace) -> None:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp_name:
        tmp = Path(tmp_name)
        standins = {channel: Standin(channel) for channel in CHANNELS}
        rows: list[Row] = []
        try:
            ceilings = measure_ceilings(args, standins)
            for size in args.sizes:
                started = time.perf_counter()
                population = build_population(size, standins["push"].port, args.email_every, args.push_every)
                print(f"{size:,} residents generated in {time.perf_counter() - started:.1f}s: "
                      + ", ".join(f"{c} {len(v):,} inside" for c, v in population.inside_contacts.items()),
                      flush=True)  # fmt: skip
                for kind in args.databases:
                    rows += await run_database(kind, population, args, tmp, standins, ceilings)
                del population
        finally:
            for standin in standins.values():
                standin.stop()
            if args.keep_logs:
                await asyncio.to_thread(copy_logs, tmp, Path(args.keep_logs))
        print_table(rows, args.ceiling_messages, args.push_ceiling_messages)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="100,000 residents only")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--channels", default="sms,email,push")
    parser.add_argument("--email-every", type=int, default=5, help="every Nth resident has an e-mail address")
    parser.add_argument("--push-every", type=int, default=10, help="every Nth resident has a push URL")
    parser.add_argument("--ceiling-messages", type=int, default=10_000)
    parser.add_argument("--push-ceiling-messages", type=int, default=2_000)
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1:5432", help="PostgreSQL server (no database)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="a Redis database this may flush")
    parser.add_argument("--worker-env", type=parse_env, action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--worker-patch",
        type=parse_patches,
        default=[],
        help=f"experiments applied inside the worker processes only: {', '.join(WORKER_PATCHES)}",
    )
    parser.add_argument(
        "--callbacks",
        choices=("off", "on", "both"),
        nargs="?",
        const="on",
        default="off",
        help="the SMS stand-in posts sent then delivered to each StatusCallback (both: SMS without, then with)",
    )
    parser.add_argument("--skip-ceilings", action="store_true", help="no bare runs (ratios left empty)")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the API and worker logs here")
    args = parser.parse_args()
    args.sizes = [100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    args.databases = args.databases.split(",")
    args.workers = [int(w) for w in args.workers.split(",")]
    args.channels = [c for c in CHANNELS if c in args.channels.split(",")]
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
