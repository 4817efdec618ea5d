"""Run Alembic migrations programmatically, from the command line or from the running app.

Alembic is imported only by the functions that migrate: an app whose database is already at the
latest revision (:func:`needs_upgrade` reads it without Alembic) never loads it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from models.db import create_engine, normalize_url

# PostgreSQL advisory lock key held while migrating (an arbitrary constant naming this app), so
# instances that start together migrate one after the other.
MIGRATION_LOCK = 0x6D617475

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # ConfigParser interpolates '%': a password containing it must be escaped.
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url``; call from synchronous code (it runs its own event loop)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


_REVISION = re.compile(r'^revision: str = "([^"]+)"', re.M)
_DOWN = re.compile(r'^down_revision: str \| None = (?:"([^"]+)"|None)', re.M)


@cache
def head_revision() -> str:
    """The newest revision of migrations/versions, read from the files (no Alembic needed)."""
    revisions, parents = set(), set()
    for file in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = file.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found:
            revisions.add(found.group(1))
        if down and down.group(1):
            parents.add(down.group(1))
    (head,) = revisions - parents  # migrations are one line of history
    return head


async def needs_upgrade(engine: AsyncEngine) -> bool:
    """Whether the database is not (known to be) at the newest revision."""
    try:
        async with engine.connect() as connection:
            current = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:  # no alembic_version table: a new database
        return True
    return [row[0] for row in current] != [head_revision()]


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database of ``engine`` from inside a running event loop.

    On PostgreSQL the upgrade gets a connection of its own without the engine's statement timeout:
    waiting for another instance's migration (the advisory lock in migrations/env.py) or rebuilding
    a large table may rightly take longer than any request should. SQLite migrates through the
    engine's own connection (an in-memory database exists only there).
    """
    from alembic import command

    config = alembic_config()

    def run(connection: object) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    migrating = engine
    if engine.dialect.name != "sqlite":
        url = engine.url.render_as_string(hide_password=False)
        migrating = create_engine(url, statement_timeout=None, poolclass=NullPool)
    try:
        async with migrating.begin() as connection:
            await connection.run_sync(run)
    finally:
        if migrating is not engine:
            await migrating.dispose()


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
