"""The ``alertsvc`` command: serve, worker, db, users, keys, residents import, addresses import, demo.

Commands that print a secret (a generated password, a new API key) print it alone on their last line, so scripts
can take it with ``tail -n 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from alertsvc.errors import StartupRefused
from alertsvc.process import limit_malloc_arenas, tune_gc_for_throughput
from alertsvc.settings import Settings, configuration_error, get_settings

log = logging.getLogger("alertsvc")


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # arq logs every job at INFO: thousands of lines a second during a fan-out; keep its warnings and errors.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    # The twilio client logs each request at INFO (about 1 KB an SMS, with phone numbers): never ours to keep.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    from alertsvc.logging_setup import install

    install()  # no link tokens, phone numbers or e-mail addresses in any log line (serve adds its routes' paths)


async def _with_database(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    """Migrate, then run ``work(sessions)`` inside one transaction."""
    from alertsvc.store.db import create_engine, session_factory
    from alertsvc.store.migrate import upgrade

    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        return await work(sessions)
    finally:
        await engine.dispose()


def next_steps(settings: Settings, sign_in: Sequence[str] | None = None) -> str:
    """Where to go once the server is up: console, API docs, residents' sign-up, and how to sign in.

    Printed to stdout, not logged: the demo's sign-in lines carry passwords, and logs are kept.
    """
    base = settings.public_url.rstrip("/")
    lines = [
        f"{settings.service_name} is up: {base}/",
        f"  console (dispatchers):    {base}/console/",
        f"  API docs:                 {base}/docs",
        f"  residents sign up:        {base}/r/subscribe",
    ]
    if settings.sandbox:
        lines.append(f"  sandbox outbox (admins):  {base}/console/outbox  (nothing leaves this machine)")
    lines.extend(
        sign_in
        or [
            "To sign in to the console, make a user with:",
            '  alertsvc users create EMAIL --role dispatcher|approver|admin --name "Display Name"',
            "  (the password is printed on its last line)",
        ]
    )
    return "\n".join(lines)


def cmd_serve(args: argparse.Namespace, settings: Settings, sign_in: Sequence[str] | None = None) -> int:
    """Serve until stopped; once listening, print :func:`next_steps` (``sign_in`` replaces its sign-in hint)."""
    import uvicorn

    from alertsvc.app import create_app

    if "public_url" not in settings.model_fields_set:
        # Links in messages must point where this server really listens.
        settings.public_url = f"http://{args.host}:{args.port}"
    from alertsvc.runtime import check_startup

    try:  # serve migrates an older schema itself: only a newer one, or an evicting Redis, is refused
        asyncio.run(check_startup(settings, migrates=True))
    except StartupRefused:
        if sign_in:  # the demo's one-time passwords, made already
            print("\n".join(sign_in), flush=True)
        raise
    if settings.embedded_redis:
        log.info("no REDIS_URL: starting an embedded Redis and an in-process worker")
    if settings.sandbox:
        log.info("sandbox providers: nothing leaves this machine; see /api/v1/sandbox/outbox")
    app = create_app(settings)

    class AnnouncingServer(uvicorn.Server):
        """uvicorn's server, saying where to go next once it listens (not before: the port may be taken)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(next_steps(settings, sign_in), flush=True)

    proxies = settings.trusted_proxy_list
    server = AnnouncingServer(
        uvicorn.Config(
            app, host=args.host, port=args.port, log_level="info",
            # X-Forwarded-For is believed only from ALERTSVC_TRUSTED_PROXIES (none by default, loopback neither):
            # else any client could pick, header by header, the address its rate limits count against.
            proxy_headers=bool(proxies), forwarded_allow_ips=proxies,
        )
    )  # fmt: skip
    from alertsvc.logging_setup import install

    install(app)  # on the handlers uvicorn.Config has just set up: the access log shows /a/<redacted>
    # The app and its libraries are imported by now; with the embedded defaults this process also runs the worker.
    tune_gc_for_throughput()
    try:
        server.run()
    finally:
        if not server.started and sign_in:
            # The server never came up, so the sign-in lines (the demo's one-time passwords) were not shown.
            print("\n".join(sign_in), flush=True)
    return 0 if server.started else 3


def cmd_worker(_args: argparse.Namespace, settings: Settings) -> int:
    if settings.embedded_redis:
        print("alertsvc worker needs REDIS_URL (the embedded Redis lives inside 'alertsvc serve')", file=sys.stderr)
        return 2
    from alertsvc.dispatch.worker import run_standalone_worker
    from alertsvc.runtime import check_startup

    asyncio.run(check_startup(settings, migrates=False))  # a worker never migrates: the schema must be its own
    run_standalone_worker(settings)
    return 0


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    async def nothing(_sessions: Any) -> int:
        return 0

    code = asyncio.run(_with_database(settings, nothing))
    print("database is at the newest schema")
    return code


def cmd_users_create(args: argparse.Namespace, settings: Settings) -> int:
    from alertsvc.security.passwords import generate_password
    from alertsvc.security.scopes import Role
    from alertsvc.security.users import create_user

    password = args.password or generate_password()

    async def work(sessions: Any) -> int:
        async with sessions() as session, session.begin():
            user = await create_user(
                session, args.email, Role(args.role), password, actor="cli", display_name=args.name
            )
        named = f" ({user.display_name})" if user.display_name else ""
        print(f"created {args.role} {user.email}{named}")
        if not args.password:
            print("sign in to the console at /console/ with this e-mail and the password below (shown only once):")
        return 0

    code = asyncio.run(_with_database(settings, work))
    if not args.password:
        print(password)
    return code


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from alertsvc.security.api_keys import create_key
    from alertsvc.security.scopes import parse_scopes

    scopes = parse_scopes(args.scopes)

    async def work(sessions: Any) -> int:
        async with sessions() as session, session.begin():
            plain = await create_key(session, args.name, scopes, actor="cli")
        print(f"created API key {args.name!r} with scopes {','.join(sorted(scopes))}; it is shown only once:")
        print(plain)
        return 0

    return asyncio.run(_with_database(settings, work))


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from alertsvc.security.api_keys import revoke_key

    async def work(sessions: Any) -> int:
        async with sessions() as session, session.begin():
            revoked = await revoke_key(session, args.name, actor="cli")
        print(f"revoked {args.name!r}" if revoked else f"no active key named {args.name!r}")
        return 0 if revoked else 1

    return asyncio.run(_with_database(settings, work))


def cmd_residents_import(args: argparse.Namespace, settings: Settings) -> int:
    from alertsvc.residents.importer import import_file

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2

    async def work(sessions: Any) -> int:
        report = await import_file(sessions, path, actor="cli")
        print(report.summary())
        for problem in report.rejected[:50]:
            print(f"  line {problem.line}: {problem.field}: {problem.reason}")
        if len(report.rejected) > 50:
            print(f"  ... and {len(report.rejected) - 50} more")
        return 0 if not report.rejected else 1

    return asyncio.run(_with_database(settings, work))


def cmd_addresses_import(args: argparse.Namespace, settings: Settings) -> int:
    from alertsvc.residents.addresses import import_addresses

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2

    async def work(sessions: Any) -> int:
        report = await import_addresses(sessions, path)
        print(report.summary())
        for problem in report.problems[:50]:
            print(f"  line {problem.line}: {problem.reason}")
        if report.rejected > 50:
            print(f"  ... and {report.rejected - 50} more")
        return 0 if not report.rejected else 1

    return asyncio.run(_with_database(settings, work))


def cmd_tips_purge(args: argparse.Namespace, settings: Settings) -> int:
    from alertsvc.community.tips import purge_tips

    days = args.days if args.days is not None else settings.tip_retention_days
    if days < 1:
        print("--days must be at least 1", file=sys.stderr)
        return 2

    async def work(sessions: Any) -> int:
        deleted = await purge_tips(sessions, days)
        print(f"deleted {deleted} tip(s) whose last message is older than {days} day(s)")
        return 0

    return asyncio.run(_with_database(settings, work))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from alertsvc.demo import DemoLoad, load_demo

    loaded = DemoLoad()

    async def work(sessions: Any) -> int:
        nonlocal loaded
        loaded = await load_demo(sessions, settings, residents=args.residents)
        print(loaded.summary(), flush=True)
        return 0

    code = asyncio.run(_with_database(settings, work))
    if code != 0:
        return code
    if args.no_serve:
        print("\n".join(loaded.sign_in_lines()))
        return 0
    settings.sandbox = True
    ns = argparse.Namespace(host=args.host, port=args.port)
    return cmd_serve(ns, settings, sign_in=loaded.sign_in_lines())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alertsvc", description="Public-warning and community-safety alerts.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate the database and serve the API and console")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=cmd_serve)

    sub.add_parser("worker", help="run an arq worker against REDIS_URL").set_defaults(handler=cmd_worker)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="migrate to the newest schema").set_defaults(handler=cmd_db_upgrade)

    users = sub.add_parser("users", help="console users").add_subparsers(dest="users_command", required=True)
    users_create = users.add_parser("create", help="add a console user")
    users_create.add_argument("email")
    users_create.add_argument("--role", required=True, choices=["dispatcher", "approver", "admin"])
    users_create.add_argument("--password", help="omit to have one generated and printed on the last line")
    users_create.add_argument("--name", help='the name the console shows, e.g. --name "Alex Tremblay"')
    users_create.set_defaults(handler=cmd_users_create)

    keys = sub.add_parser("keys", help="API keys").add_subparsers(dest="keys_command", required=True)
    keys_create = keys.add_parser("create", help="make an API key; printed once, on the last line")
    keys_create.add_argument("name")
    keys_create.add_argument(
        "--scopes",
        required=True,
        help="comma-separated: alerts:read,alerts:write,alerts:send,residents:read,residents:write,community:write,"
        "tips:read,tips:write,metrics:read,admin",
    )
    keys_create.set_defaults(handler=cmd_keys_create)
    keys_revoke = keys.add_parser("revoke", help="revoke an API key by name")
    keys_revoke.add_argument("name")
    keys_revoke.set_defaults(handler=cmd_keys_revoke)

    residents = sub.add_parser("residents", help="residents").add_subparsers(dest="res_command", required=True)
    residents_import = residents.add_parser("import", help="import residents from CSV or NDJSON")
    residents_import.add_argument("file")
    residents_import.set_defaults(handler=cmd_residents_import)

    addresses = sub.add_parser("addresses", help="the address gazetteer the console searches").add_subparsers(
        dest="addresses_command", required=True
    )
    addresses_import = addresses.add_parser(
        "import", help="import address points from a CSV (OpenAddresses columns LON,LAT,NUMBER,STREET,...)"
    )
    addresses_import.add_argument("file")
    addresses_import.set_defaults(handler=cmd_addresses_import)

    tips = sub.add_parser("tips", help="anonymous tips").add_subparsers(dest="tips_command", required=True)
    tips_purge = tips.add_parser("purge", help="delete tips past their retention (ALERTSVC_TIP_RETENTION_DAYS)")
    tips_purge.add_argument("--days", type=int, help="delete tips older than this many days instead of the setting")
    tips_purge.set_defaults(handler=cmd_tips_purge)

    demo = sub.add_parser("demo", help="load a demo city and serve it with sandbox providers")
    demo.add_argument("--residents", type=int, default=3000)
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true", help="load the data only")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    limit_malloc_arenas()
    _configure_logging()
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"alertsvc: configuration error: {configuration_error(exc)}", file=sys.stderr)
        return 2
    try:
        code: int = args.handler(args, settings)
    except (ValueError, StartupRefused) as exc:
        print(f"alertsvc: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
