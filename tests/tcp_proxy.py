"""A TCP proxy a test can cut and restore, to take a server (PostgreSQL) away from processes that use it.

It runs its own event loop on a thread, so it keeps forwarding while the test's loop waits on a subprocess or
blocks in a synchronous call. :meth:`TcpProxy.cut` closes every forwarded connection (both ends see the socket
reset, as when the server's host goes away) and stops listening, so a new connection is refused at once;
:meth:`TcpProxy.restore` listens again on the same port. A refused connection is the common outage (a server
restarting, a failover): it lets the test assert what clients answer while the server is gone, quickly.
:meth:`TcpProxy.stall` is the nasty one, a black hole (a partition, a stalled host): connections stay open, new ones
are accepted, and nothing gets through in either direction, so only a client's own timeouts end its wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from alertsvc.embedded_redis import free_port

T = TypeVar("T")


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream``; :meth:`cut` and :meth:`restore` it."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._stalled = False

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cut()
        self._run(self._settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def restore(self) -> None:
        """Listen (again) on :attr:`port`: new connections reach the upstream server. After a :meth:`stall`, the
        connections it held are reset first (bytes were lost in them: no protocol could go on)."""
        self._run(self._restore())

    def stall(self) -> None:
        """Let nothing through, either way, on open and new connections, until :meth:`restore`."""
        self._stalled = True

    async def _restore(self) -> None:
        if self._stalled:
            self._stalled = False
            await self._cut()
        await self._listen()

    def cut(self) -> None:
        """Reset every forwarded connection and refuse new ones until :meth:`restore`."""
        self._run(self._cut())

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            _reset(writer)
        self._writers.clear()

    async def _settle(self) -> None:
        """Let every forwarding task end (their sockets were reset by :meth:`cut`) before the loop stops."""
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._stalled:  # a black hole: hold the connection, read and drop what comes
            self._writers.add(client_writer)
            await _pipe(client_reader, None, lambda: True)
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_writer)
            return
        pair = {client_writer, server_writer}
        self._writers |= pair
        try:
            stalled = lambda: self._stalled  # noqa: E731
            await asyncio.gather(
                _pipe(client_reader, server_writer, stalled), _pipe(server_reader, client_writer, stalled)
            )
        finally:
            for writer in pair:
                self._writers.discard(writer)
                writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, stalled: Callable[[], bool]) -> None:
    """Copy ``reader`` to ``writer`` until the end, dropping what comes while ``stalled()``."""
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(65536):
            if writer is None or stalled():
                continue
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError, RuntimeError):
        if writer is not None and writer.can_write_eof():
            writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a polite FIN: the peer's next read or write fails at once."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
