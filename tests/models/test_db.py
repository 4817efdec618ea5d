"""Engines whose every wait on the database is bounded, the /health ping, and telling outages from bugs.

PostgreSQL is frozen through a proxy (tests/faults.py) with the timeouts shortened; the bounds
asserted are generous on purpose: what is proven is "gives up", not "gives up fast".
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from models.db import POOL_TIMEOUT, SQLITE_POOL_TIMEOUT, create_engine, is_unreachable, open_pool, ping
from tests.faults import FreezingProxy, freezing_proxy

SHORT = 0.5  # the shortened timeout, in seconds
BOUND = 4.0  # what "did not hang" means here


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[FreezingProxy]:
    async with freezing_proxy(postgres_url) as running:
        yield running


@pytest.fixture
async def frozen_engine(postgres_url: str, proxy: FreezingProxy) -> AsyncIterator[AsyncEngine]:
    """An engine through the proxy with short timeouts and one live pooled connection."""
    engine = create_engine(proxy.url(postgres_url), connect_timeout=SHORT, statement_timeout=SHORT)
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    try:
        yield engine
    finally:
        proxy.thaw()
        await engine.dispose()


async def select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def failure_of(work: Awaitable[None]) -> tuple[Exception, float]:
    """The exception ``work`` ends with and how long it took (bounded at 30 s); fails if it succeeds."""
    started = time.monotonic()
    try:
        await asyncio.wait_for(work, 30)
    except Exception as error:
        return error, time.monotonic() - started
    raise AssertionError("expected a failure, it succeeded")


def test_engines_bound_every_wait_by_default(tmp_path: Path) -> None:
    """Without arguments, waiting for a pooled connection is bounded on both databases."""
    sqlite = create_engine(f"sqlite:///{tmp_path / 'x.db'}").sync_engine.pool
    postgres = create_engine("postgresql://u@127.0.0.1:1/db").sync_engine.pool  # engines are lazy
    assert isinstance(sqlite, QueuePool)
    assert isinstance(postgres, QueuePool)
    assert (sqlite.timeout(), postgres.timeout()) == (SQLITE_POOL_TIMEOUT, POOL_TIMEOUT)


@pytest.mark.postgres
async def test_a_statement_on_a_frozen_postgresql_gives_up_and_works_again_after_the_thaw(
    frozen_engine: AsyncEngine, proxy: FreezingProxy
) -> None:
    """A statement a frozen server never answers fails after the statement timeout; thawed, all is well."""
    proxy.freeze()
    error, took = await failure_of(select_one(frozen_engine))
    assert took < BOUND
    assert is_unreachable(error)
    proxy.thaw()
    await select_one(frozen_engine)


@pytest.mark.postgres
async def test_connecting_to_a_frozen_postgresql_gives_up_after_the_connect_timeout(
    postgres_url: str, proxy: FreezingProxy
) -> None:
    """A new connection to a frozen server (TCP accepted, no handshake) fails instead of waiting 60 s."""
    engine = create_engine(proxy.url(postgres_url), connect_timeout=SHORT)
    proxy.freeze()
    try:
        error, took = await failure_of(select_one(engine))
    finally:
        proxy.thaw()
        await engine.dispose()
    assert took < BOUND
    assert isinstance(error, TimeoutError)
    assert is_unreachable(error)


async def test_a_request_waits_for_a_pooled_connection_only_until_the_pool_timeout(database_url: str) -> None:
    """With every pooled connection taken, the next request fails after the pool timeout, as an outage."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=SHORT)
    try:
        async with engine.connect():
            error, took = await failure_of(select_one(engine))
    finally:
        await engine.dispose()
    assert took < BOUND
    assert isinstance(error, sqlalchemy.exc.TimeoutError)
    assert is_unreachable(error)


async def test_ping_uses_a_fresh_connection_so_a_busy_pool_is_still_healthy(database_url: str) -> None:
    """The health ping answers while a request holds the only pooled connection (SQLite's normal case)."""
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as busy:
            await busy.execute(text("SELECT 1"))
            await ping(engine)
    finally:
        await engine.dispose()


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(postgres_url: str, pid: int) -> None:
    """Close one server connection from the server's side, as a restart or an idle timeout would."""
    admin = create_engine(postgres_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


@pytest.mark.postgres
async def test_a_connection_the_server_closed_is_replaced_at_checkout_without_a_round_trip(
    postgres_url: str,
) -> None:
    """The driver saw the server close it (a restart, an idle timeout): replaced, however recent."""
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, ping_idle_after=60)
    try:
        before = await backend_pid(engine)
        await terminate(postgres_url, before)
        await asyncio.sleep(0.2)  # the server's goodbye reaches the driver
        assert await backend_pid(engine) != before
    finally:
        await engine.dispose()


async def test_the_pool_opens_its_connections_up_front_and_an_absent_server_only_means_later(
    database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL: open_pool leaves that many idle connections in the pool; SQLite has nothing to
    open; a server that refuses connections does not stop start-up (nothing opened, no error)."""
    engine = create_engine(database_url)
    try:
        opened = await open_pool(engine, 3)
        if engine.dialect.name == "sqlite":
            assert opened == 0
        else:
            assert opened == 3
            assert engine.sync_engine.pool.checkedin() == 3  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    absent = create_engine(f"postgresql://u@127.0.0.1:{port}/db", connect_timeout=SHORT)
    try:
        assert await open_pool(absent, 2) == 0
    finally:
        await absent.dispose()


async def _silently_dead_connection_then_select(
    postgres_url: str, proxy: FreezingProxy, ping_idle_after: float
) -> None:
    """A pooled connection nobody will ever answer again, idle a little; then a SELECT."""
    engine = create_engine(
        proxy.url(postgres_url), statement_timeout=SHORT, pool_size=1, max_overflow=0,
        ping_idle_after=ping_idle_after,
    )  # fmt: skip
    try:
        await select_one(engine)
        proxy.strand()
        await asyncio.sleep(0.3)
        await select_one(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_connection_idle_long_enough_is_pinged_and_a_silently_dead_one_replaced(
    postgres_url: str, proxy: FreezingProxy
) -> None:
    """Idle past the threshold, a connection whose peer vanished without a word fails its ping at
    checkout and a new one serves the statement."""
    await _silently_dead_connection_then_select(postgres_url, proxy, ping_idle_after=0.2)


@pytest.mark.postgres
async def test_a_connection_returned_moments_ago_is_used_without_a_ping(
    postgres_url: str, proxy: FreezingProxy
) -> None:
    """Below the threshold no round trip is spent: the statement itself meets the dead connection
    and fails as an outage (the person gets the apology; the next click gets a new connection)."""
    error, _ = await failure_of(
        _silently_dead_connection_then_select(postgres_url, proxy, ping_idle_after=60)
    )
    assert is_unreachable(error)


@pytest.mark.postgres
async def test_ping_gives_up_in_time_on_a_frozen_postgresql(
    frozen_engine: AsyncEngine, proxy: FreezingProxy
) -> None:
    """On a frozen server ping raises soon after its limit, not after the dead connection's cleanup."""
    await ping(frozen_engine, within=SHORT)
    proxy.freeze()
    for _ in range(2):
        error, took = await failure_of(ping(frozen_engine, within=SHORT))
        assert isinstance(error, TimeoutError)
        assert took < BOUND
        assert is_unreachable(error)
    proxy.thaw()
    await ping(frozen_engine, within=SHORT)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_outages_are_told_from_bugs_with_real_errors(tmp_path: Path) -> None:
    """Refused connections, unopenable files and pool timeouts are outages; a broken constraint is a bug."""
    refused = create_engine(f"postgresql://u@127.0.0.1:{closed_port()}/db", connect_timeout=SHORT)
    unopenable = create_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'ok.db'}")
    try:
        for broken in (refused, unopenable):
            error, _ = await failure_of(select_one(broken))
            assert is_unreachable(error), repr(error)
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(IntegrityError) as duplicate:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))
        assert not is_unreachable(duplicate.value)
        assert not is_unreachable(ValueError("a plain bug"))
    finally:
        for each in (refused, unopenable, engine):
            await each.dispose()


def fail_while_handling_an_outage(engine: sqlalchemy.Engine) -> None:
    """Connect, and while handling the failure make a mistake of our own."""
    try:
        engine.connect()
    except OperationalError:
        settings: dict[str, str] = {}
        _ = settings["missing"]


def wrap_the_outage(engine: sqlalchemy.Engine) -> None:
    """Connect, and raise our own error from the failure."""
    try:
        engine.connect()
    except OperationalError as error:
        raise RuntimeError("could not load the settings") from error


def test_a_bug_raised_while_handling_an_outage_is_still_a_bug(tmp_path: Path) -> None:
    """Only what an error was raised *from* counts: a KeyError in an except block is not an outage."""
    unopenable = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'no' / 'dir.db'}")
    with pytest.raises(KeyError) as bug:
        fail_while_handling_an_outage(unopenable)
    with pytest.raises(RuntimeError) as wrapped:
        wrap_the_outage(unopenable)
    assert not is_unreachable(bug.value)
    assert is_unreachable(wrapped.value)
