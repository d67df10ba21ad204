"""Bare ceilings per channel: how fast the client library alone can push messages into a local stand-in, and how
close our adapters come to that.

Each stand-in runs in its own process (``python -m standins.NAME``) so the server does not compete with the
client for one event loop. "bare" drives the same client library directly, with no classification, validation
or rendering: twilio's async client with its stock ``AsyncTwilioHttpClient``; aiosmtplib with N persistent
connections sending pre-built bytes; apprise's ``async_notify``. "adapter" sends through ``channels``. The bare
senders are ``bench/_bare_clients.py``'s, the ones ``bench/fanout.py`` measures its bare rows with as well.

    .venv/bin/python -m bench.ceilings [--messages 5000] [--concurrency 128] [--smtp-pool 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``python bench/ceilings.py`` as well as ``python -m bench.ceilings``
    sys.path.insert(0, str(ROOT))

from bench._bare_clients import FROM, SMS_FROM, apprise_sender, run, smtp_sender, twilio_sender  # noqa: E402
from channels.base import Message  # noqa: E402
from channels.email import SmtpEmail  # noqa: E402
from channels.email_mime import ACK_LINK, UNSUBSCRIBE_LINK, EmailTemplate, build_message  # noqa: E402
from channels.push import ApprisePush  # noqa: E402
from channels.sms import TwilioSms  # noqa: E402
from standins.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN  # noqa: E402

BODY = "Hochwasser: Pegel steigt. Bitte höher gelegene Orte aufsuchen. Bestätigen: https://a.example/a/tok"


@contextmanager
def standin(name: str) -> Iterator[int]:
    """Start ``standins.NAME`` in a child process; yield its port; stop it (SIGTERM) afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", f"standins.{name}", "--port", "0", "--no-record"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        yield int(line.rsplit(" ", 1)[1])
    finally:
        process.terminate()
        process.wait(timeout=10)


async def sms_rows(count: int, concurrency: int) -> list[tuple[str, float, float]]:
    with standin("twilio_api") as port:
        base = f"http://127.0.0.1:{port}"
        async with twilio_sender(base, BODY) as bare:
            await run(200, concurrency, bare)  # warm-up: connections, imports
            bare_rate = await run(count, concurrency, bare)

        adapter = TwilioSms(
            account_sid=DEFAULT_ACCOUNT_SID,
            auth_token=DEFAULT_AUTH_TOKEN,
            from_=SMS_FROM,
            base_url=base,
            max_connections=concurrency,
        )

        async def through_adapter(i: int) -> None:
            await adapter.send(Message("sms", f"+1555{i:07d}", BODY, f"d{i}"))

        await run(200, concurrency, through_adapter)
        adapter_rate = await run(count, concurrency, through_adapter)
        await adapter.aclose()
    return [("sms (twilio async client)", bare_rate, adapter_rate)]


async def email_rows(count: int, concurrency: int, pool: int) -> list[tuple[str, float, float]]:
    template = EmailTemplate.compile(
        from_addr=FROM,
        subject="Unwetterwarnung: Überflutung",
        text=f"{BODY}\n{ACK_LINK}\nAbmelden: {UNSUBSCRIBE_LINK}\n",
        html_body=f'<p>{BODY}</p>\n<p><a href="{ACK_LINK}">OK</a></p>\n<p><a href="{UNSUBSCRIBE_LINK}">x</a></p>\n',
    )
    prebuilt = template.render(
        to="r@example.net", reference="d", ack_link="https://a.example/a/t", unsubscribe_link="https://a.example/u/t"
    )
    with standin("smtp_server") as port:
        async with smtp_sender(port, pool, prebuilt) as bare:
            await run(200, concurrency, bare)
            bare_rate = await run(count, concurrency, bare)

        adapter = SmtpEmail(url=f"smtp://127.0.0.1:{port}", from_addr=FROM, pool_size=pool)

        async def patched(i: int) -> None:
            data = template.render(
                to=f"r{i}@example.net",
                reference=f"d{i}",
                ack_link=f"https://a.example/a/{i}",
                unsubscribe_link=f"https://a.example/u/{i}",
            )
            await adapter.send(Message("email", f"r{i}@example.net", BODY, f"d{i}", mime=data))

        async def built(i: int) -> None:
            data = build_message(
                from_addr=FROM,
                to=f"r{i}@example.net",
                reference=f"d{i}",
                subject="Unwetterwarnung: Überflutung",
                text=f"{BODY}\nhttps://a.example/a/{i}\n",
                html_body=f'<p>{BODY}</p><p><a href="https://a.example/a/{i}">OK</a></p>',
                list_unsubscribe=f"https://a.example/u/{i}",
            )
            await adapter.send(Message("email", f"r{i}@example.net", BODY, f"d{i}", mime=data))

        await run(200, concurrency, patched)
        patched_rate = await run(count, concurrency, patched)
        built_rate = await run(count, concurrency, built)
        await adapter.aclose()
    return [
        (f"email (aiosmtplib, {pool} conns, template patched)", bare_rate, patched_rate),
        (f"email (aiosmtplib, {pool} conns, EmailMessage each)", bare_rate, built_rate),
    ]


async def push_rows(count: int, concurrency: int) -> list[tuple[str, float, float]]:
    with standin("push_endpoint") as port:
        url = f"json://127.0.0.1:{port}/bench"
        async with apprise_sender(lambda i: url, "Flood", BODY) as bare:
            await run(100, concurrency, bare)
            bare_rate = await run(count, concurrency, bare)
        adapter = ApprisePush(allow_private=True, schemes={"json"})

        async def through_adapter(i: int) -> None:
            await adapter.send(Message("push", url, BODY, f"d{i}", subject="Flood"))

        await run(100, concurrency, through_adapter)
        adapter_rate = await run(count, concurrency, through_adapter)
        await adapter.aclose()
    return [("push (apprise json://, async_notify)", bare_rate, adapter_rate)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--push-messages", type=int, default=2000, help="apprise opens a connection per message")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--smtp-pool", type=int, default=8)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the stock twilio transport's aiohttp BasicAuth deprecation, in the bare run

    rows = await sms_rows(args.messages, args.concurrency)
    rows += await email_rows(args.messages, args.concurrency, args.smtp_pool)
    rows += await push_rows(args.push_messages, args.concurrency)

    print(
        f"\n{args.messages} messages (push: {args.push_messages}), concurrency {args.concurrency}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n"
    )
    header = f"| {'channel':<48} | {'bare msg/s':>10} | {'adapter msg/s':>13} | {'adapter/bare':>12} |"
    print(header)
    print(f"|{'-' * 50}|{'-' * 11}:|{'-' * 14}:|{'-' * 13}:|")
    for name, bare, adapter in rows:
        print(f"| {name:<48} | {bare:>10,.0f} | {adapter:>13,.0f} | {adapter / bare:>12.2f} |")


if __name__ == "__main__":
    asyncio.run(main())
