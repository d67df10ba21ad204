"""The return path at load: status callbacks, acknowledgement answers and alert creates against a real
``alertsvc serve``, each next to ``GET /healthz`` measured the same way in the same run (issue 19).

For each database (SQLite on the embedded defaults, a scratch PostgreSQL database), on a Redis server of its own:

1. **Services**: ``alertsvc serve`` alone (no in-process worker) on a free loopback port, configured by
   environment only, with the real Twilio adapter pointed at the Twilio stand-in;
2. **Seed**: N residents imported through the API and one Severe alert sent to them by ``alertsvc worker`` through
   the stand-in, so there are N ``sent`` SMS deliveries with real provider ids (the worker then stops);
3. **Scenarios**, one after another, each by generator processes of their own (asyncio + aiohttp, every request
   from 127.0.0.1; ``bench/_load/generator.py`` says why not locust), flat out or at ``--rate``, for ``--duration``:
   ``healthz`` (the yardstick), ``callbacks`` (Twilio's signed ``sent`` then ``delivered`` for each message),
   ``acks`` (``POST /a/{token}``, one answer per resident), ``creates`` (``POST /api/v1/alerts``, distinct CAP
   identifiers, a key with ``alerts:write`` only, so they wait for approval and nothing is sent);
4. **Checks**: the database afterwards (every accepted callback visible, each answer recorded once, every created
   alert stored): the LOST column.

The parts are modules of ``bench/_load/`` (``services``, ``seed``, ``traffic``, ``generator``, ``drive``,
``verify``, ``profile``, ``table``; the package docstring maps them).

    .venv/bin/python -m bench.load [--duration 60] [--databases sqlite,postgresql]
        [--scenarios healthz,callbacks,acks,creates] [--concurrency 32] [--generators 1] [--servers 1]
        [--rate callbacks=3000 --rate acks=1000 ...] [--messages N] [--cap json|xml] [--spread-addresses N]
        [--profile DIR] [--keep-logs DIR] [--pg postgresql://root@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``python bench/load.py`` as well as ``python -m bench.load``
    sys.path.insert(0, str(ROOT))

from bench._fanout.services import stop_service  # noqa: E402
from bench._fanout.standin import Standin  # noqa: E402
from bench._load.drive import Measured, run_scenario, split  # noqa: E402
from bench._load.seed import Message, Seeded, seed  # noqa: E402
from bench._load.services import (  # noqa: E402
    SECRET,
    SMS_FROM,
    RedisServer,
    create_database,
    create_key,
    drop_database,
    service_env,
    start_api,
)
from bench._load.table import print_table  # noqa: E402
from bench._load.traffic import identifier  # noqa: E402
from bench._load.verify import check_acks, check_callbacks, check_creates  # noqa: E402

SCENARIOS = ("healthz", "callbacks", "acks", "creates")
TARGETS = {"callbacks": 3000.0, "acks": 1000.0, "creates": 300.0}
"""Issue 19's targets (a second), which size the seed and the request lists when no ``--rate`` is given."""
BOUND_PER_SECOND = {"healthz": 20_000, "creates": 1_000}
"""Flat out, the ``healthz`` and ``creates`` request lists hold this many a second of ``--duration`` (a count bound
well above what one server process answers; each create is a ~1 KB document built before the start)."""
HELP_EVERY = 10
"""Every 10th resident answers ``help``, the others ``safe``."""


class Run:
    """One database's services and seed, and the scenarios measured on them."""

    def __init__(self, args: argparse.Namespace, kind: str, apis: list[str], database_url: str, seeded: Seeded,
                 write_key: str, tmp: Path, server_pids: list[int], redis_pid: int) -> None:  # fmt: skip
        self.args, self.kind, self.apis, self.database_url = args, kind, apis, database_url
        self.api = apis[0]
        """The public URL every server signs and checks callbacks against (``ALERTSVC_PUBLIC_URL``)."""
        self.seeded, self.write_key, self.tmp = seeded, write_key, tmp
        self.server_pids, self.redis_pid = server_pids, redis_pid

    def specs(self, scenario: str, items: list[Any] | int, **extra: Any) -> list[dict[str, Any]]:
        """One spec a generator process: its share of ``items`` (a list, or a count), connections and rate."""
        args, processes = self.args, self.args.generators
        rate = args.rate.get(scenario)
        if isinstance(items, list):
            shares: list[Any] = split(items, processes)
        else:
            shares = [len(range(items)[p::processes]) for p in range(processes)]
        return [
            {
                "base": self.apis[p % len(self.apis)],  # generator p drives server p mod N (--servers)
                "scenario": scenario,
                "concurrency": math.ceil(args.concurrency / processes),
                "duration": args.duration,
                "rate": rate / processes if rate else None,
                "timeout": args.timeout,
                "spread": args.spread_addresses if scenario in ("callbacks", "acks") else 0,
                "items": share,
                **{k: (v[p] if isinstance(v, list) else v) for k, v in extra.items()},
            }
            for p, share in enumerate(shares)
        ]

    def bound(self, scenario: str) -> int:
        rate = self.args.rate.get(scenario)
        return int(self.args.duration * (rate if rate else BOUND_PER_SECOND[scenario])) + 1

    async def measure(self, scenario: str) -> Measured:
        profile = self.args.profile / f"{self.kind}-{scenario}.txt" if self.args.profile else None
        messages = self.seeded.messages

        async def run(specs: list[dict[str, Any]]) -> Measured:
            return await run_scenario(
                scenario, self.kind, specs, self.tmp, self.server_pids, self.redis_pid, profile
            )

        if scenario == "healthz":
            return await run(self.specs(scenario, self.bound(scenario)))
        if scenario == "callbacks":
            from standins.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

            items = [[m.sid, m.to, SMS_FROM] for m in messages]
            measured = await run(self.specs(scenario, items, public_url=self.api, twilio_auth_token=DEFAULT_AUTH_TOKEN,
                                            twilio_account_sid=DEFAULT_ACCOUNT_SID))  # fmt: skip
            await check_callbacks(self.database_url, self.seeded.alert_id, messages, measured, self.args.settle)
            return measured
        if scenario == "acks":
            from alertsvc.security.links import LinkSigner
            from alertsvc.settings import Settings

            settings = Settings(_env_file=None, secret_key=SECRET)
            signer = LinkSigner(settings.signing_key(), "ack")
            answers: list[tuple[Message, str]] = [
                (m, "help" if i % HELP_EVERY == 0 else "safe") for i, m in enumerate(messages)
            ]
            items = [[signer.sign(m.delivery_id), answer] for m, answer in answers]
            measured = await run(self.specs(scenario, items))
            await check_acks(self.database_url, self.seeded.alert_id, answers, measured)
            return measured
        if scenario == "creates":
            count, processes = self.bound(scenario), self.args.generators
            prefix = f"LOAD-{self.kind}-{time.time_ns()}"
            labels = [f"{prefix}-p{p}" for p in range(processes)]
            identifiers = [identifier(labels[g % processes], g // processes) for g in range(count)]
            measured = await run(self.specs(scenario, count, key=self.write_key, cap_format=self.args.cap,
                                            label=labels))  # fmt: skip
            await check_creates(self.database_url, prefix, identifiers, measured)
            return measured
        raise ValueError(scenario)


async def measure_database(kind: str, args: argparse.Namespace, tmp: Path, redis: RedisServer,
                           standin: Standin) -> list[Measured]:  # fmt: skip
    """Steps 1 to 4 on one database; a row a scenario."""
    from alertsvc.embedded_redis import free_port

    database = await create_database(kind, tmp, args.pg)
    logs = tmp / f"logs-{kind}"
    logs.mkdir(parents=True, exist_ok=True)
    rows: list[Measured] = []
    try:
        await redis.flush()
        ports = [free_port() for _ in range(args.servers)]
        apis = [f"http://127.0.0.1:{port}" for port in ports]
        api = apis[0]
        env = service_env(database, redis.url, api, standin.port)
        seed_key = create_key(env, "residents:write,alerts:send,alerts:read")
        write_key = create_key(env, "alerts:write")
        servers = []
        try:
            # Every server has the first one's public URL (what a load balancer in front would be): the callbacks'
            # signatures and the links are made over it, whichever server answers.
            for n, port in enumerate(ports):
                servers.append(await start_api(env, port, logs / f"api-{n}.log"))
            seeded = await seed(api, seed_key, env, database.url, args.messages, logs)
            print(f"{kind}: {len(seeded.messages):,} residents and sent SMS seeded in {seeded.seconds:.0f} s",
                  flush=True)  # fmt: skip
            run = Run(args, kind, apis, database.url, seeded, write_key, tmp, [s.pid for s in servers],
                      redis.process.pid)  # fmt: skip
            for scenario in args.scenarios:
                measured = await run.measure(scenario)
                if args.spread_addresses and scenario in ("callbacks", "acks"):
                    measured.notes.insert(0, f"from {args.spread_addresses:,} client addresses (X-Forwarded-For)")
                rows.append(measured)
                print(f"  {scenario}: {measured.requests:,} requests, {measured.rate:,.0f}/s accepted, p99 "
                      f"{measured.p99:.1f} ms, refused {measured.refused:,}, lost {measured.lost}", flush=True)
                if args.profile:
                    summary = args.profile / f"{kind}-{scenario}.summary.txt"
                    if summary.exists():
                        print("    " + summary.read_text().replace("\n", "\n    ").rstrip(), flush=True)
        finally:
            for server in servers:
                stop_service(server)
    finally:
        if args.keep_logs:
            shutil.copytree(logs, args.keep_logs / f"logs-{kind}", dirs_exist_ok=True)
        await drop_database(database)
    return rows


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as name:
        tmp = Path(name)
        redis = await RedisServer.start(tmp)
        standin = Standin("sms")
        rows: list[Measured] = []
        try:
            for kind in args.databases:
                rows += await measure_database(kind, args, tmp, redis, standin)
        finally:
            standin.stop()
            redis.stop()
        rates = ", ".join(f"{k} {v:,.0f}/s" for k, v in args.rate.items()) or "none (flat out)"
        print_table(rows, f"`{' '.join(['bench/load.py', *sys.argv[1:]])}` at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
                          f": {args.duration:g} s a scenario, {args.concurrency} connections, target rates {rates}, "
                          f"{args.messages:,} seeded messages")  # fmt: skip


def parse_rate(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if name not in SCENARIOS or not value:
        raise argparse.ArgumentTypeError(f"expected SCENARIO=PER_SECOND, SCENARIO one of {', '.join(SCENARIOS)}")
    rate = float(value)
    if not 0 < rate <= 100_000:
        raise argparse.ArgumentTypeError("a rate is between 0 and 100,000 a second")
    return name, rate


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds a scenario (default 60)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--concurrency", type=int, default=32, help="connections, over all generator processes")
    parser.add_argument("--generators", type=int, default=1, help="generator processes")
    parser.add_argument("--servers", type=int, default=1,
                        help="alertsvc serve processes (own ports); generator p drives server p mod N")  # fmt: skip
    parser.add_argument("--rate", type=parse_rate, action="append", default=[], metavar="SCENARIO=PER_SECOND",
                        help="a target rate (requests a second) instead of flat out")  # fmt: skip
    parser.add_argument("--messages", type=int, help="seeded residents and SMS (default: enough for the targets)")
    parser.add_argument("--cap", choices=("json", "xml"), default="json", help="the created alerts' form")
    parser.add_argument("--spread-addresses", type=int, default=0, metavar="N",
                        help="callbacks and acks from N client addresses (X-Forwarded-For) instead of one")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a request may take")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for callbacks to show")
    parser.add_argument("--pg", default="postgresql://root@127.0.0.1:5432", help="PostgreSQL server (no database)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="py-spy the server during each scenario")
    parser.add_argument("--keep-logs", type=Path, metavar="DIR", help="copy the API, worker and Redis logs here")
    args = parser.parse_args()
    args.databases = [d for d in args.databases.split(",") if d]
    args.scenarios = [s for s in SCENARIOS if s in args.scenarios.split(",")]
    args.rate = dict(args.rate)
    unknown = set(args.databases) - {"sqlite", "postgresql"}
    if unknown or not args.databases:
        parser.error(f"databases are sqlite and postgresql, not {', '.join(sorted(unknown))}")
    if not 0 < args.duration <= 3600 or not 1 <= args.concurrency <= 1024 or not 1 <= args.generators <= 16:
        parser.error("--duration 0-3600 s, --concurrency 1-1024, --generators 1-16")
    if not 1 <= args.servers <= args.generators:
        parser.error("--servers 1 to --generators (each generator process drives one server)")
    if not 0 <= args.spread_addresses <= 131_072:
        parser.error("--spread-addresses 0-131072 (the 198.18.0.0/15 benchmarking range)")
    if args.messages is None:
        callbacks = args.rate.get("callbacks", TARGETS["callbacks"])
        acks = args.rate.get("acks", TARGETS["acks"])
        args.messages = math.ceil(args.duration * max(callbacks / 2, acks) * 1.1)
    if not 1 <= args.messages <= 2_000_000:
        parser.error("--messages 1-2,000,000")
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
