"""The bare ceilings of the whole-pipeline benchmark: the same stand-in driven by the client library alone, from
as many processes as the pipeline has workers, timed the same way (first to last message at the stand-in).

A ratio to the pipeline only means something if both sides send the same bytes to the same server: the bare
clients send what the pipeline renders for the benchmark alert (``pipeline_payloads``: same templates, links signed
with the services' key, so the same length), through ``bench/_bare_clients.py``'s senders, which
``bench/ceilings.py`` measures with as well. Each bare client is a process of its own so that it has a core's
worth of event loop, as a worker has.

The child: ``python -m bench._fanout.bare CHANNEL --port P --count N [--concurrency C] [--pool S]`` warms up,
prints ``ready``, waits for a line on stdin, sends ``N`` messages and prints its rate and CPU seconds as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any

from bench._bare_clients import FROM, apprise_sender, run, smtp_sender, twilio_sender
from bench._fanout.children import Child, python_module
from bench._fanout.config import ALERT_WORDS, CHANNELS, CLIENT_CONCURRENCY, SECRET, SMTP_POOL
from bench._fanout.standin import Standin, rate_of


@dataclass(frozen=True)
class Payloads:
    """One message a channel, as the pipeline renders it for the benchmark alert."""

    sms: str
    email: bytes
    push_title: str
    push_body: str


def pipeline_payloads() -> Payloads:
    """What the pipeline sends for a benchmark alert on each channel, for the bare clients to send as well.

    Same templates, same links (a real signed token, so the same length), same size on the wire: the stand-ins
    (aiosmtpd reads a message line by line) then do the same work per message in the bare run as in ours, and
    only the client side differs.
    """
    from alertsvc.dispatch.render import personalise, render_info
    from alertsvc.security.links import LinkSigner
    from alertsvc.settings import Settings

    settings = Settings()  # the worker's defaults: public URL, SMS segment budget
    rendered = render_info(
        ALERT_WORDS,
        status="Actual",
        msg_type="Alert",
        sender_name="bench@city.example",
        public_url=settings.public_url,
        max_segments=settings.sms_max_segments,
        email_from=FROM,
    )
    links = {kind: LinkSigner(SECRET, kind) for kind in ("ack", "unsubscribe")}
    base = settings.public_url.rstrip("/")

    def one(channel: str, to: str) -> Any:
        return personalise(
            rendered,
            channel,
            to=to,
            reference="1234567",
            ack_url=f"{base}/a/{links['ack'].sign(1234567)}",
            unsubscribe_url=f"{base}/u/{links['unsubscribe'].sign(7654321)}",
        )

    email = one("email", "r1234567@example.net").mime
    push = one("push", "ntfy://127.0.0.1/t")
    assert email is not None
    return Payloads(one("sms", "+15550001234").body, email, push.subject or "", push.body)


async def send_bare(channel: str, port: int, count: int, concurrency: int, pool: int) -> None:
    """Warm up, print ``ready``, wait for a line on stdin, send ``count`` messages, print the client-side rate."""
    warnings.simplefilter("ignore")
    payloads = pipeline_payloads()
    if channel == "sms":
        sender = twilio_sender(f"http://127.0.0.1:{port}", payloads.sms)
    elif channel == "email":
        sender = smtp_sender(port, pool, payloads.email)
    else:
        sender = apprise_sender(lambda i: f"ntfy://127.0.0.1:{port}/t{i}", payloads.push_title, payloads.push_body)
    async with sender as send:
        await run(100, concurrency, send)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu_before = time.process_time()
        rate = await run(count, concurrency, send)
        print(json.dumps({"client_rate": rate, "cpu_s": time.process_time() - cpu_before}), flush=True)


@dataclass(frozen=True)
class Ceiling:
    """What the bare client library reached: the rate at the stand-in, and its CPU a message."""

    rate: float
    cpu_us: float
    """Client CPU microseconds per message, all bare processes together."""


NO_CEILING = Ceiling(float("nan"), float("nan"))


def bare_ceiling(standin: Standin, processes: int, count: int, pool: int) -> Ceiling:
    """Messages/s at the stand-in with ``processes`` bare clients sending ``count`` messages between them."""
    options = ["--count", str(count // processes), "--concurrency", str(CLIENT_CONCURRENCY), "--pool", str(pool)]
    command = python_module("bench._fanout.bare", standin.channel, "--port", str(standin.port), *options)
    children = [Child(command) for _ in range(processes)]
    try:
        for child in children:
            if child.line() != "ready":
                raise RuntimeError("bare client did not get ready")
        standin.reset()
        for child in children:
            child.say("go")
        cpu = sum(float(json.loads(child.line())["cpu_s"]) for child in children)
        return Ceiling(rate_of(standin.stats()), cpu / count * 1e6)
    finally:
        for child in children:
            child.stop()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="one bare client process of bench/fanout.py")
    parser.add_argument("channel", choices=CHANNELS)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=CLIENT_CONCURRENCY)
    parser.add_argument("--pool", type=int, default=SMTP_POOL)
    args = parser.parse_args(argv)
    asyncio.run(send_bare(args.channel, args.port, args.count, args.concurrency, args.pool))


if __name__ == "__main__":
    main(sys.argv[1:])
