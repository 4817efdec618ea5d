"""Engines and sessions: one async engine per process, built from a URL, never at import time.

Every wait on the database is bounded, so a database that stops answering (down, frozen, out of
connections) becomes a prompt error, an apology to the person and a 503 from /health, instead of
requests that hang until the process is restarted.
"""

from __future__ import annotations

import asyncio
import sys
import time
import weakref
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///maturity-bot.db"

# PostgreSQL: how long to wait for the server to accept a connection (TCP, TLS, authentication).
# A server on the same network does it in well under a second; asyncpg's own default of 60 s
# would hold every click for a minute while the server is down or frozen.
CONNECT_TIMEOUT = 5.0
# PostgreSQL: how long one statement may take before asyncpg gives up (and asks the server to
# cancel it). Every statement here reads or writes a few rows by key in milliseconds, or waits
# briefly for a row lock held by a racing click; 5 s is far beyond that, and puts the apology for
# a click on a frozen server about 7 s after the click (SQLAlchemy then spends up to 2 s more
# trying to close the dead connection politely). Migrations run without it (models/migrate.py).
STATEMENT_TIMEOUT = 5.0
# PostgreSQL: how long a request waits for a free pooled connection (SQLAlchemy's default is 30 s).
# Waiting longer than a statement may take means every connection is stuck; failing and
# apologising beats queueing behind them.
POOL_TIMEOUT = 5.0
# SQLite: how long a writer waits for another connection's lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 5.0
# SQLite: how long a request waits in line for the one shared connection. Queueing there is the
# normal path under load, so it is twice the busy timeout: a request queued behind one that waits
# out a whole busy timeout still gets its turn.
SQLITE_POOL_TIMEOUT = 10.0
# /health: how long the database has to answer `SELECT 1` on a fresh connection. A healthy one
# takes milliseconds; 1.5 s keeps the answer (503, not silence) inside the 2 s that probes and
# load balancers are commonly given.
PING_TIMEOUT = 1.5
# PostgreSQL: a pooled connection that has been idle at least this long is checked with a round trip
# before it is handed out (a server restart, an idle timeout or a middlebox may have closed it).
# SQLAlchemy's pool_pre_ping checks every checkout: on asyncpg, outside a transaction, that is
# BEGIN, an empty statement and ROLLBACK, three round trips before every click under load, for
# connections that were returned milliseconds ago. Pinging those proves nothing the next statement
# does not (a server can die between ping and use either way: the statement then fails, its
# connection is dropped from the pool and the person gets the apology), so only a connection idle
# this long is pinged; one the driver already saw closed is replaced without a trip.
PING_IDLE_AFTER = 1.0


def normalize_url(url: str) -> str:
    """Map the URLs hosting platforms hand out onto the async drivers this app uses.

    Heroku and others give ``postgres://`` or ``postgresql://``; a bare ``sqlite:///`` is embedded.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgresql+psycopg2", "postgresql+psycopg"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    # asyncpg spells libpq's sslmode differently; a Heroku URL often carries sslmode=require.
    if parsed.drivername == "postgresql+asyncpg" and "sslmode" in parsed.query:
        query = dict(parsed.query)
        query["ssl"] = query.pop("sslmode")
        parsed = parsed.set(query=query)
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed while one writer commits; busy_timeout makes a second writer wait
    # instead of failing at once; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(
    url: str,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    statement_timeout: float | None = STATEMENT_TIMEOUT,
    ping_idle_after: float = PING_IDLE_AFTER,
    **kwargs: Any,
) -> AsyncEngine:
    """Create the async engine for ``url`` (normalised), with every wait on the database bounded.

    ``connect_timeout``, ``statement_timeout`` (None: unbounded) and ``ping_idle_after`` apply to
    PostgreSQL; SQLite has no network, and its lock waits are bounded by its busy timeout. Other
    keyword arguments go to SQLAlchemy and win over the defaults here (``pool_timeout``, ...).
    """
    url = normalize_url(url)
    pooled = kwargs.get("poolclass") is None
    if is_sqlite(url):
        # An in-memory database lives in its one connection, which SQLAlchemy keeps (StaticPool).
        if pooled and make_url(url).database not in (None, "", ":memory:"):
            # SQLite has one writer at a time. One shared connection makes concurrent requests
            # queue in the event loop (cheap, fair) instead of in SQLite's busy handler, which
            # sleeps in growing steps and gave multi-second tails under load (bench/).
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", SQLITE_POOL_TIMEOUT)
            # Each use ends its own transaction (SQLAlchemy rolls back what it began; the one-trip
            # click path commits or rolls back itself), so the pool's extra rollback on every
            # return, a trip through the driver's thread while the one connection waits, is dropped.
            kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs["connect_args"] = {
        "timeout": connect_timeout,
        "command_timeout": statement_timeout,
        **kwargs.get("connect_args", {}),
    }
    if pooled:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
    engine = create_async_engine(url, **kwargs)
    if pooled and not kwargs.get("pool_pre_ping"):
        ping_when_idle(engine, ping_idle_after)
    return engine


async def open_pool(engine: AsyncEngine, count: int) -> int:
    """Open up to ``count`` pooled connections at once and hand them back to the pool, so the
    first crowd after start-up does not wait for PostgreSQL to accept each new connection (a
    server process is forked per connection). How many opened; a failure only means fewer (the
    pool opens them when needed, as before). Nothing to do for SQLite."""
    if engine.dialect.name == "sqlite":
        return 0
    opened = await asyncio.gather(*(engine.connect().start() for _ in range(count)), return_exceptions=True)
    for connection in opened:
        if isinstance(connection, AsyncConnection):
            await connection.close()
    return sum(isinstance(connection, AsyncConnection) for connection in opened)


def ping_when_idle(engine: AsyncEngine, idle_after: float) -> None:
    """At checkout, replace a pooled connection the driver knows is closed, and check one that sat
    idle ``idle_after`` seconds or more with a round trip (a dead one is replaced; SQLAlchemy tries
    up to 3 times)."""
    pool = engine.sync_engine.pool

    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if proxy.driver_connection.is_closed():  # the driver saw it end (server gone): no trip needed
            raise exc.DisconnectionError("a pooled connection was closed by the server")
        returned_at = record.info.pop("returned_at", None)
        if returned_at is None or time.monotonic() - returned_at < idle_after:
            return  # just connected, or in use moments ago
        try:
            dbapi_connection.ping()
        except Exception as error:  # any failure: hand out a new connection instead
            raise exc.DisconnectionError("a pooled connection failed its ping") from error

    event.listen(pool, "checkin", returned)
    event.listen(pool, "checkout", checked_out)


def is_autocommit(conn: AsyncConnection) -> bool:
    """Whether ``conn`` runs each statement as its own transaction (set by :func:`autocommit`)."""
    sync = conn.sync_connection
    return sync is not None and sync.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


async def autocommit(conn: AsyncConnection) -> AsyncConnection:
    """On PostgreSQL, the connection in autocommit mode: each statement is its own transaction, so a
    read or a one-statement write costs one round trip instead of BEGIN, the statement and COMMIT.
    SQLite is left as it is (its driver already runs a lone SELECT outside a transaction)."""
    if conn.dialect.name == "sqlite" or is_autocommit(conn):
        return conn
    return await conn.execution_options(isolation_level="AUTOCOMMIT")


async def release(conn: AsyncConnection) -> None:
    """Give ``conn`` back to its pool. With no transaction open, closing does no I/O (autocommit
    has nothing to end, and the pools here do not roll back on return), so it runs in this task:
    SQLAlchemy's ``async with`` closes in a task of its own, which waits a turn of a busy event loop
    while the connection stays taken. With one open, SQLAlchemy's own close (safe from a cancel)."""
    if conn.in_transaction():
        await conn.__aexit__(None, None, None)
    else:
        await conn.close()


class LazyConnection:
    """A connection from ``engine`` (in autocommit mode on PostgreSQL) checked out on first use, so
    work that turns out to need none takes none; released (:func:`release`) on the way out."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def get(self) -> AsyncConnection:
        if self._conn is None:
            self._conn = await self._engine.connect()  # kept first, so the way out returns it
            await autocommit(self._conn)  # the same connection, switched
        return self._conn

    async def __aenter__(self) -> LazyConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await release(self._conn)


READERS = 8  # SQLite: connections for the click path's reads, beside the one writer


def _reader_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")  # a reader can never write, whatever it is handed
    cursor.close()


def create_read_engine(engine: AsyncEngine) -> AsyncEngine:
    """Where the click path reads. On an SQLite file: a few read-only connections of their own (WAL
    lets them read while the one writer commits), so reads never queue for the writer. Anywhere
    else (PostgreSQL, an in-memory SQLite database): ``engine`` itself."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return engine
    reader = create_async_engine(
        url.render_as_string(hide_password=False),
        pool_size=READERS,
        max_overflow=0,
        pool_timeout=SQLITE_POOL_TIMEOUT,
        pool_reset_on_return=None,
    )
    event.listen(reader.sync_engine, "connect", _reader_pragmas)
    return reader


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_PROBES: weakref.WeakKeyDictionary[AsyncEngine, tuple[float, AsyncEngine]] = weakref.WeakKeyDictionary()
_ABANDONED: set[asyncio.Future[None]] = set()


def _probe_engine(engine: AsyncEngine, within: float) -> AsyncEngine:
    """An engine to ``engine``'s database that opens a fresh connection each time, kept per engine.

    Its own timeouts are ``within``, so a check given up on ends soon by itself.
    """
    found = _PROBES.get(engine)
    if found is not None and found[0] == within:
        return found[1]
    url = engine.url.render_as_string(hide_password=False)
    probe = create_engine(url, connect_timeout=within, statement_timeout=within, poolclass=NullPool)
    _PROBES[engine] = (within, probe)
    return probe


async def ping(engine: AsyncEngine, within: float = PING_TIMEOUT) -> None:
    """Run ``SELECT 1`` on a fresh connection; raise if it fails or takes longer than ``within`` s.

    A fresh connection rather than a pooled one: under load requests queue for the pool (on SQLite
    for its single connection), and a busy app is not an unhealthy one. A late check is left to
    finish by itself instead of being cancelled and awaited, because cancelling a query to a frozen
    server waits for its connection to close (SQLAlchemy gives that 2 s) and the answer must not.
    """

    async def select_one() -> None:
        async with _probe_engine(engine, within).connect() as connection:
            await connection.execute(text("SELECT 1"))

    check = asyncio.ensure_future(select_one())
    try:
        await asyncio.wait_for(asyncio.shield(check), within)
    except TimeoutError:
        # shield() collects the abandoned check's outcome, so nothing is reported twice.
        check.cancel()
        _ABANDONED.add(check)
        check.add_done_callback(_ABANDONED.discard)
        raise TimeoutError(f"the database did not answer within {within:g} s") from None


# Exceptions that mean the database cannot be reached or cannot serve, rather than a wrong query.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    exc.OperationalError,  # the DB-API's class for "connection failed", "database is locked", ...
    exc.InterfaceError,  # e.g. "connection is closed"
    exc.DisconnectionError,
    exc.TimeoutError,  # SQLAlchemy's: no pooled connection came free in time
)


def _unreachable() -> tuple[type[BaseException], ...]:
    """asyncpg's own classes join in once it is loaded (an app on SQLite never imports it)."""
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is None:
        return _UNREACHABLE
    return (
        *_UNREACHABLE,
        asyncpg.exceptions.PostgresConnectionError,  # refused, reset, closed
        asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, statement cancelled
        asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    )


# Where an OSError (a refused connection, a timeout) counts as the database's: raised by a driver,
# by SQLAlchemy, or by ping() above.
_DATABASE_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", __name__)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and what it was raised from (``raise ... from``), not what it was raised during."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def _raised_in(error: BaseException, modules: tuple[str, ...]) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if any(module == name or module.startswith(name + ".") for name in modules):
            return True
        traceback = traceback.tb_next
    return False


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` means the database is down, frozen or overloaded, not that a query is wrong.

    During such an outage every request fails the same way, so callers count these failures
    instead of logging each one's traceback.
    """
    for cause in _causes(error):
        if isinstance(cause, exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, _unreachable()):
            return True
        if isinstance(cause, OSError) and _raised_in(cause, _DATABASE_MODULES):
            return True
    return False
