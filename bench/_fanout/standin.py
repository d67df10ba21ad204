"""The stand-ins as the benchmark runs them: ``standins``' servers with a counter of delivered messages around
their handlers, each in a process of its own, and the handle the orchestrator holds to read and reset the count.

Messages are timed where they arrive, not where they are sent, so the pipeline and the bare clients are measured
by the same clock; only accepted messages count (a refused one did not reach anyone). Nothing in the client
libraries or in alertsvc is patched: the counter is a subclass of the stand-in.

The SMS stand-in can also post Twilio's status callbacks (``sent`` then ``delivered`` for each message, signed, to
the message's ``StatusCallback``), switched on and off between alerts (``bench/fanout.py --callbacks``); it counts
the callbacks the service answered with a 2xx and those it did not, and when the last ``delivered`` one was
answered (the fast path answers once the receipt is committed).

The child: ``python -m bench._fanout.standin CHANNEL`` prints ``listening PORT``, then answers each ``stats``,
``reset``, ``callbacks on`` or ``callbacks off`` line on stdin with one JSON line (count, first, last and the
callback counts) and stops at EOF.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench._fanout.children import Child, python_module


@dataclass
class Arrivals:
    """Messages a stand-in accepted: how many, first and last (wall clock, comparable across processes)."""

    count: int = 0
    first: float = 0.0
    last: float = 0.0

    def hit(self) -> None:
        now = time.time()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now


@dataclass
class Callbacks:
    """Status callbacks the SMS stand-in posted: answered with a 2xx, not (an error status or no answer), and when
    the last answered ``delivered`` one came back (wall clock)."""

    answered: int = 0
    failed: int = 0
    last_delivered: float = 0.0

    def answer(self, status: int | None, message_status: str) -> None:
        if status is not None and 200 <= status < 300:
            self.answered += 1
            if message_status == "delivered":
                self.last_delivered = time.time()
        else:
            self.failed += 1


def rate_of(arrivals: Arrivals) -> float:
    """Messages per second from the first arrival to the last (NaN with fewer than two)."""
    span = arrivals.last - arrivals.first
    return (arrivals.count - 1) / span if arrivals.count > 1 and span > 0 else float("nan")


COUNTED: dict[str, tuple[str, str, str, Callable[[Any], bool]]] = {
    "sms": ("standins.twilio_api", "TwilioStandin", "_create_message", lambda response: response.status == 201),
    "email": ("standins.smtp_server", "SmtpStandin", "handle_DATA", lambda answer: answer.startswith("250")),
    "push": ("standins.push_endpoint", "PushStandin", "_receive", lambda response: response.status == 200),
}
"""Per channel: the stand-in (module, class), the handler that takes one message, and what its answer is when the
message was accepted."""


def counting_standin(channel: str, arrivals: Arrivals, callbacks: Callbacks) -> Any:
    """The channel's stand-in (keeping nothing it receives) whose message handler counts into ``arrivals``, and
    for SMS whose status callbacks are counted into ``callbacks`` (posted only once ``send_callbacks`` is on)."""
    module, class_name, handler, accepted = COUNTED[channel]
    base = getattr(importlib.import_module(module), class_name)
    handle = getattr(base, handler)

    async def counted(self: Any, *args: Any) -> Any:
        answer = await handle(self, *args)
        if accepted(answer):
            arrivals.hit()
        return answer

    methods: dict[str, Any] = {handler: counted}
    if channel == "sms":
        post = base.post_status_callback

        async def counted_callback(self: Any, *args: Any, **kwargs: Any) -> Any:
            sent = await post(self, *args, **kwargs)
            callbacks.answer(sent.answer_status, sent.params["MessageStatus"])
            self.callbacks.clear()  # ``record=False`` keeps no messages; keep no callbacks either
            return sent

        methods["post_status_callback"] = counted_callback
    return type(f"Counting{class_name}", (base,), methods)(record=False)


async def serve(channel: str) -> None:
    """Serve; answer ``stats``, ``reset`` and ``callbacks on|off`` lines on stdin with one JSON line each; stop at
    EOF."""
    arrivals, callbacks = Arrivals(), Callbacks()
    standin = counting_standin(channel, arrivals, callbacks)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def commands() -> None:
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                arrivals.count, arrivals.first, arrivals.last = 0, 0.0, 0.0
                callbacks.answered, callbacks.failed, callbacks.last_delivered = 0, 0, 0.0
            elif command in ("callbacks on", "callbacks off"):
                standin.send_callbacks = command == "callbacks on"  # read when each message is created
            print(json.dumps({"count": arrivals.count, "first": arrivals.first, "last": arrivals.last,
                              "callbacks_answered": callbacks.answered, "callbacks_failed": callbacks.failed,
                              "last_delivered": callbacks.last_delivered}), flush=True)  # fmt: skip
        loop.call_soon_threadsafe(done.set)

    async with standin as running:
        print(f"listening {running.port}", flush=True)
        threading.Thread(target=commands, daemon=True).start()
        await done.wait()


class Standin(Child):
    """The orchestrator's handle on a counting stand-in process: its port, its count, a reset between runs."""

    def __init__(self, channel: str) -> None:
        super().__init__(python_module("bench._fanout.standin", channel))
        self.channel = channel
        self.port = int(self.line().rsplit(" ", 1)[1])

    def reset(self) -> None:
        self.ask("reset")

    def stats(self) -> Arrivals:
        data = self.ask("stats")
        return Arrivals(int(data["count"]), float(data["first"]), float(data["last"]))

    def callbacks(self) -> Callbacks:
        """The status callbacks posted since the last reset (SMS only; zero elsewhere)."""
        data = self.ask("stats")
        return Callbacks(int(data["callbacks_answered"]), int(data["callbacks_failed"]), float(data["last_delivered"]))

    def send_callbacks(self, on: bool) -> None:
        """Post status callbacks for the messages created from now on (SMS only), or stop posting them."""
        self.ask("callbacks on" if on else "callbacks off")


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
