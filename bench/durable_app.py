"""The fair floor for bench.load: the bare Bolt app plus the least a bot that loses nothing must do.

Before each reply it reads the person's last stored row and inserts one row, committed, on ONE
connection: SQLite in WAL mode through aiosqlite (the bot's driver), or PostgreSQL through asyncpg,
whichever ``DATABASE_URL`` names (``sqlite+aiosqlite:///path`` or ``postgresql://...``). No flow
logic, no outbox, one small message, as the bare app sends. Run as ``python -m bench.durable_app``;
settings come from the environment (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, PORT,
HOST, DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Protocol

from bench import bare_app

TABLE = "durable_clicks"


class Store(Protocol):
    async def record(self, user_id: str, value: str) -> str | None: ...

    async def close(self) -> None: ...


class SqliteStore:
    """One aiosqlite connection in WAL mode; a read and an insert, committed, per request."""

    def __init__(self, connection: Any):
        self.connection = connection
        self.lock = asyncio.Lock()  # one transaction at a time on the one connection

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        import aiosqlite

        connection = await aiosqlite.connect(path)
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")  # the bot's setting in WAL mode
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, "
            "value TEXT NOT NULL, at REAL NOT NULL)"
        )
        await connection.execute(f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_user ON {TABLE} (user_id, id)")
        await connection.commit()
        return cls(connection)

    async def record(self, user_id: str, value: str) -> str | None:
        async with self.lock:
            cursor = await self.connection.execute(
                f"SELECT value FROM {TABLE} WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,)
            )
            row = await cursor.fetchone()
            await self.connection.execute(
                f"INSERT INTO {TABLE} (user_id, value, at) VALUES (?, ?, ?)", (user_id, value, time.time())
            )
            await self.connection.commit()
        return None if row is None else str(row[0])

    async def close(self) -> None:
        await self.connection.close()


class PostgresStore:
    """One asyncpg connection; a read and an insert in one transaction per request."""

    def __init__(self, connection: Any):
        self.connection = connection
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str) -> PostgresStore:
        import asyncpg

        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGSERIAL PRIMARY KEY, user_id TEXT NOT NULL, "
            "value TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"
        )
        await connection.execute(f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_user ON {TABLE} (user_id, id)")
        return cls(connection)

    async def record(self, user_id: str, value: str) -> str | None:
        async with self.lock, self.connection.transaction():
            last = await self.connection.fetchval(
                f"SELECT value FROM {TABLE} WHERE user_id = $1 ORDER BY id DESC LIMIT 1", user_id
            )
            await self.connection.execute(
                f"INSERT INTO {TABLE} (user_id, value, at) VALUES ($1, $2, $3)", user_id, value, time.time()
            )
        return None if last is None else str(last)

    async def close(self) -> None:
        await self.connection.close()


async def open_store(url: str) -> Store:
    if url.startswith("sqlite"):
        return await SqliteStore.open(url.split(":///", 1)[1])
    return await PostgresStore.open(url)


async def serve() -> None:
    await bare_app.serve(await open_store(os.environ["DATABASE_URL"]))


if __name__ == "__main__":
    asyncio.run(serve())
