"""The click path's statements in one trip each: SQLite through its thread, PostgreSQL on asyncpg.

SQLAlchemy's aiosqlite adapter sends each statement through aiosqlite's worker thread several times
(a cursor, the execute, the fetch, the close), and every trip back waits for its turn on the busy
event loop while the app's one SQLite connection stays taken. :func:`run` hands aiosqlite one
function that does a whole unit of work with the sqlite3 connection in that thread, the way
SQLAlchemy's own adapter queues work there, and :class:`SqliteSql` is a Core statement compiled once
for SQLite with SQLAlchemy's own bind and result processing (so values are stored and read exactly
as the rest of the app stores and reads them). On PostgreSQL, :class:`PgSql` runs a statement
compiled once for asyncpg straight on the pooled connection's asyncpg connection: one round trip,
without the adapter's greenlet hand-offs (asyncpg takes and returns the values SQLAlchemy would).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import exc
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.db import is_autocommit

T = TypeVar("T")
_DIALECT = sqlite.dialect()
_PG_DIALECT = postgresql_asyncpg.dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class SqliteSql:
    """A Core statement compiled once for SQLite: its SQL, and how to bind and read its values."""

    sql: str
    names: tuple[str, ...]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]
    compiled: Any

    @classmethod
    def of(cls, statement: Any) -> SqliteSql:
        compiled: Any = statement.compile(dialect=_DIALECT)  # an SQLCompiler
        names = tuple(compiled.positiontup or ())
        binds = tuple(
            compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for name in names
        )
        columns = list(getattr(statement, "selected_columns", None) or [])
        if not columns and getattr(statement, "_returning", None):
            columns = list(statement._returning)  # UPDATE/INSERT ... RETURNING
        results = tuple(c.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None) for c in columns)
        return cls(compiled.string, names, binds, results, compiled)

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        merged = self.compiled.construct_params(dict(values))  # literals in the statement included
        return tuple(
            bind(merged[name]) if bind is not None else merged[name]
            for name, bind in zip(self.names, self.binds, strict=True)
        )

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        if not any(self.results):
            return [tuple(row) for row in raw]
        reads = self.results
        return [
            tuple(read(value) if read is not None else value for read, value in zip(reads, row, strict=True))
            for row in raw
        ]


async def run(conn: AsyncConnection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work(connection)`` in aiosqlite's thread for this pooled connection; one trip.

    ``work`` owns what it starts: it commits or rolls back any transaction it begins.
    """
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection  # the aiosqlite.Connection behind SQLAlchemy's adapter
    result: T = await driver._execute(lambda: work(driver._conn))
    return result


def is_sqlite(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "sqlite"


@dataclass(frozen=True)
class PgSql:
    """A Core statement compiled once for asyncpg: its SQL and its parameters' order."""

    sql: str
    names: tuple[str, ...]
    compiled: Any

    @classmethod
    def of(cls, statement: Any) -> PgSql:
        compiled: Any = statement.compile(dialect=_PG_DIALECT)
        return cls(compiled.string, tuple(compiled.positiontup or ()), compiled)

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        merged = self.compiled.construct_params(dict(values))
        return [merged[name] for name in self.names]

    async def fetch(self, conn: AsyncConnection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run on ``conn``'s asyncpg connection (which must be in autocommit mode); the rows."""
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection  # the asyncpg.Connection behind SQLAlchemy's adapter
        try:
            rows = await driver.fetch(self.sql, *self.params(values))
        except Exception as error:
            if driver.is_closed():
                # Lost under us, with asyncpg's own error that SQLAlchemy never saw: the pool must
                # not hand this connection out again, and the caller gets an outage, not a bug.
                await conn.invalidate()
                raise exc.DisconnectionError("the database connection was lost") from error
            raise
        return [tuple(row) for row in rows]


class Query:
    """A read of the click path, compiled once for each way it can run: in one trip to SQLite's
    thread, straight on asyncpg for a PostgreSQL connection in autocommit mode, or (a session, or a
    connection inside a transaction) through SQLAlchemy as usual."""

    def __init__(self, statement: Any):
        self.statement = statement
        self.sqlite = SqliteSql.of(statement)
        self.pg = PgSql.of(statement)

    async def all(self, db: AsyncConnection | AsyncSession, values: Mapping[str, Any]) -> Sequence[Any]:
        if isinstance(db, AsyncConnection) and is_sqlite(db):
            sql, params, read = self.sqlite.sql, self.sqlite.params(values), self.sqlite.rows
            return await run(db, lambda c: read(c.execute(sql, params).fetchall()))
        if isinstance(db, AsyncConnection) and is_autocommit(db):
            return await self.pg.fetch(db, values)
        return (await db.execute(self.statement, dict(values))).all()
