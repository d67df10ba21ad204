"""An HTTP endpoint for apprise's ``json://`` and ``ntfy://`` notifications, recording what it receives.

Any ``POST``/``PUT`` path is accepted with ``200``; the body is kept (parsed as JSON when it is JSON, as apprise's
``json://`` sends ``{"version", "title", "message", "type", "attachments"}``; ntfy sends its own JSON or text).

Magic paths (the last path segment, so ``json://127.0.0.1:PORT/ratelimit`` or
``ntfy://127.0.0.1:PORT/ratelimit``):
``ratelimit`` → 429, ``servererror`` → 500, ``unavailable`` → 503, ``gone`` → 410, ``forbidden`` → 403,
``slow`` → answers after ``slow_seconds``. ``fail_status`` makes every request answer that status.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

from standins._serve import serve_until_signalled, standalone_args, start_app

MAGIC_PATHS: dict[str, int] = {
    "ratelimit": 429,
    "servererror": 500,
    "unavailable": 503,
    "gone": 410,
    "forbidden": 403,
}


@dataclass(frozen=True)
class ReceivedPush:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class PushStandin:
    """``async with PushStandin() as push``: point apprise at ``json://127.0.0.1:{push.port}/anything``."""

    host: str = "127.0.0.1"
    port: int = 0
    record: bool = True
    slow_seconds: float = 5.0
    fail_status: int | None = None
    received: list[ReceivedPush] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> PushStandin:
        app = web.Application()
        app.router.add_route("POST", "/{path:.*}", self._receive)
        app.router.add_route("PUT", "/{path:.*}", self._receive)
        self._runner, self.port = await start_app(app, self.host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        last = request.path.rstrip("/").rpartition("/")[2]
        if self.fail_status is not None:
            return web.json_response({"error": "forced failure"}, status=self.fail_status)
        if last in MAGIC_PATHS:
            headers = {"Retry-After": "3"} if MAGIC_PATHS[last] == 429 else None
            return web.json_response({"error": last}, status=MAGIC_PATHS[last], headers=headers)
        if last == "slow":
            await asyncio.sleep(self.slow_seconds)
        if self.record:
            self.received.append(ReceivedPush(request.path, dict(request.headers), body))
        return web.json_response({"ok": True})


async def _main() -> None:
    args = standalone_args("push (apprise json:// / ntfy://) stand-in")
    standin = PushStandin(host=args.host, port=args.port, record=not args.no_record)
    await serve_until_signalled(standin, "push stand-in listening on port {port}")


if __name__ == "__main__":
    asyncio.run(_main())
