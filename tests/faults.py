"""A database that stops answering or goes away, without touching the shared test server.

:class:`FreezingProxy` sits between the app and PostgreSQL on 127.0.0.1. ``freeze()`` makes it behave
as a server sent SIGSTOP does: connections stay open (new ones are even accepted, as the kernel's
backlog accepts them) but no byte goes either way; ``thaw()`` lets everything held back through.
``drop()`` is a server that crashed: every connection reset, new ones refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.engine import make_url

from models.db import normalize_url

CHUNK = 64 * 1024


class FreezingProxy:
    """A loopback TCP proxy to ``host:port`` that can stop passing bytes in both directions."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.target_port = port
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._sources: set[asyncio.StreamReader] = set()
        self._stranded: set[asyncio.StreamReader] = set()  # sources whose bytes are never passed on
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connected, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze(self) -> None:
        """Stop forwarding: every connection stays open and silent, as with a SIGSTOPped server."""
        self._flowing.clear()

    def thaw(self) -> None:
        """Forward again, starting with whatever was held back while frozen."""
        self._flowing.set()

    def strand(self) -> None:
        """Silence the connections open now, for good, while new ones pass: a connection a
        middlebox forgot, or one to a server that vanished without a word (no FIN, no RST)."""
        self._stranded.update(self._sources)

    def drop(self) -> None:
        """Close every connection and refuse new ones, as a server that crashed or was stopped."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by this proxy's."""
        parsed = make_url(normalize_url(database_url)).set(host="127.0.0.1", port=self.port)
        return parsed.render_as_string(hide_password=False)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connected(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(client_writer)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        self._sources.update((client_reader, upstream_reader))
        for source, sink in ((client_reader, upstream_writer), (upstream_reader, client_writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(CHUNK):
                # Held while frozen: the reader stops reading, so the sender's buffers fill as they
                # would in front of a stopped process.
                await self._flowing.wait()
                if source in self._stranded:
                    continue  # read and dropped: the other side never hears of it
                sink.write(data)
                await sink.drain()
            await self._flowing.wait()  # a close is news too, and a stopped server hears it late
        except OSError:  # either side reset: the other side is closed below
            pass
        finally:
            sink.transport.abort()
            self._writers.discard(sink)


@contextlib.asynccontextmanager
async def freezing_proxy(database_url: str) -> AsyncIterator[FreezingProxy]:
    """A started proxy in front of the server of ``database_url``, stopped on the way out."""
    parsed = make_url(normalize_url(database_url))
    proxy = FreezingProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
