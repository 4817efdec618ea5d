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

from models.db import create_engine
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


def _configure(connection: Connection) -> None:
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
    engine = create_engine(_url())
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
