"""Alembic environment: async engines, URL from the database settings, metadata from models/.

Called two ways: by `alembic` / `python -m bot migrate` (no connection given: an async engine is
made here) or from inside the running app, which passes a live connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from models.db import SQLITE_BUSY_TIMEOUT, create_engine
from models.migrate import MIGRATION_LOCK
from models.settings import DatabaseSettings
from models.tables import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return DatabaseSettings().database_url


# SQLite: how long a migration waits for another process's migration of the same file before
# failing with "database is locked". Far above the few hundred milliseconds this schema takes, to
# leave room for a future migration that copies a large table.
SQLITE_MIGRATION_WAIT = 60.0


def _configure(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        _configure_sqlite(connection)
        return
    _migrate(connection)


def _configure_sqlite(connection: Connection) -> None:
    """Migrate in one exclusive transaction, so concurrent `migrate` runs on one file take turns.

    Python's sqlite3 runs DDL outside any transaction unless one is open, so two processes could
    both read "no version", both create the tables, and the second fail with "table already
    exists". BEGIN EXCLUSIVE before Alembic reads the version makes "read the version, change the
    schema, write the version" one transaction that a second process waits for (busy timeout) and
    then finds nothing left to do; a migration that fails halfway is rolled back whole.
    """
    connection.exec_driver_sql(f"PRAGMA busy_timeout={int(SQLITE_MIGRATION_WAIT * 1000)}")
    try:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")
        _migrate(connection)
    finally:
        # From the app, this is the engine's only connection: give it back with its usual wait.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several instances may start (and upgrade) at once: one migrates, the others wait
            # here and then find nothing left to do. The lock ends with the transaction.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_async() -> None:
    # No statement timeout: waiting for another instance's migration, or changing a large table,
    # may take longer than any request should (the app's engine bounds its statements).
    engine = create_engine(_url(), statement_timeout=None)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    _configure(given)
else:
    asyncio.run(_run_async())
