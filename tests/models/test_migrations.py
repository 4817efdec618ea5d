"""Alembic migrations on SQLite and PostgreSQL, URL normalisation, and SQLite's tuning."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from models import repository as repo
from models.db import SQLITE_BUSY_TIMEOUT, create_engine, normalize_url
from models.migrate import (
    MIGRATION_LOCK,
    alembic_config,
    current_revision,
    downgrade,
    upgrade,
    upgrade_engine,
)
from models.tables import Base

ROOT = Path(__file__).resolve().parents[2]

HEAD = "0007"  # the newest revision in migrations/versions
APP_TABLES = set(Base.metadata.tables)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_table_names()))


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade_round_trip(database_url: str) -> None:
    """Upgrading to head creates every table, downgrading to base drops them all, and it upgrades again."""
    engine = create_engine(database_url)
    try:
        await asyncio.to_thread(upgrade, database_url)
        assert await _tables(engine) == APP_TABLES | {"alembic_version"}
        assert await current_revision(engine) == HEAD

        await asyncio.to_thread(downgrade, database_url, "base")
        assert await _tables(engine) == {"alembic_version"}
        assert await current_revision(engine) is None

        await asyncio.to_thread(upgrade, database_url)
        assert await _tables(engine) == APP_TABLES | {"alembic_version"}
        assert await current_revision(engine) == HEAD
    finally:
        await engine.dispose()


async def test_upgrade_engine_creates_the_tables_from_a_running_loop(database_url: str) -> None:
    """`upgrade_engine` migrates an empty database through a live engine inside the event loop."""
    engine = create_engine(database_url)
    try:
        assert await _tables(engine) == set()
        await upgrade_engine(engine)
        assert await _tables(engine) == APP_TABLES | {"alembic_version"}
        # A second upgrade is a no-op, as when every instance migrates at start-up.
        await upgrade_engine(engine)
        assert await current_revision(engine) == HEAD
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    """Autogenerate finds no difference between the migrated database and `Base.metadata`."""
    async with engine.connect() as conn:
        differences = await conn.run_sync(_schema_differences)
    assert differences == []


async def test_migrated_schema_has_the_partial_unique_index(engine: AsyncEngine) -> None:
    """The one-in-progress index exists after migration and is unique."""
    async with engine.connect() as conn:
        indexes = await conn.run_sync(lambda c: sqlalchemy.inspect(c).get_indexes("assessments"))
    by_name = {i["name"]: i for i in indexes}
    assert by_name["uq_assessments_one_in_progress"]["unique"]
    assert by_name["uq_assessments_one_in_progress"]["column_names"] == ["person_id", "channel_id"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "postgres://u:p@h:5432/db?sslmode=require",
            "postgresql+asyncpg://u:p@h:5432/db?ssl=require",
        ),
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql+asyncpg://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    """Hosting-platform URLs map onto the async drivers, with libpq's sslmode renamed for asyncpg."""
    assert normalize_url(given) == expected


def test_normalize_url_keeps_the_password() -> None:
    """The normalised URL still carries the real password, not a masked one."""
    assert normalize_url("postgres://u:s3cr%40t@h/db") == "postgresql+asyncpg://u:s3cr%40t@h/db"


async def test_sqlite_engine_runs_in_wal_mode(tmp_path: Path) -> None:
    """Every SQLite connection the app opens uses write-ahead logging and enforces foreign keys."""
    engine = create_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_migration_waits_for_another_instances_migration(postgres_url: str) -> None:
    """While one instance holds the migration lock, `python -m bot migrate` waits, then succeeds.

    (SQLite serves one instance, so concurrent start-ups are a PostgreSQL concern.)
    """
    database_url = postgres_url
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url}
    engine = create_engine(database_url)
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "migrate", env=env, cwd=ROOT,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.shield(process.wait()), 3)
            assert await current_revision(engine) is None
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()[-500:]
        assert await current_revision(engine) == HEAD
    finally:
        await engine.dispose()


def _newest_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


MIGRATE_ROUNDS = 4  # a race showed in about half of the rounds of 8 before the fix
MIGRATE_TOGETHER = 8


def _start_migrate(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`python -m bot migrate` with only ``env``, so no real .env leaks in."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "migrate"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_migrate_runs_on_one_sqlite_file_all_succeed(tmp_path: Path) -> None:
    """Eight `python -m bot migrate` started at once on a fresh SQLite file all succeed, round after round."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    for round_ in range(MIGRATE_ROUNDS):
        db = tmp_path / f"round{round_}.db"
        env = {**base, "DATABASE_URL": f"sqlite:///{db}"}
        processes = [_start_migrate(env, tmp_path) for _ in range(MIGRATE_TOGETHER)]
        try:
            errors = [process.communicate(timeout=60)[1] for process in processes]
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
        failed = [err[-2000:] for process, err in zip(processes, errors, strict=True) if process.returncode]
        assert failed == [], f"round {round_}"
        with sqlite3.connect(db) as connection:
            versions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
            tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert versions == [(_newest_revision(),)]
        assert tables == APP_TABLES | {"alembic_version"}


async def test_the_apps_sqlite_connection_keeps_its_busy_timeout_after_migrating(tmp_path: Path) -> None:
    """Migrating waits longer for another migration's lock, then gives the app's connection its usual wait."""
    engine = create_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        await upgrade_engine(engine)
        async with engine.connect() as connection:
            busy_timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert busy_timeout == SQLITE_BUSY_TIMEOUT * 1000
        assert await current_revision(engine) == _newest_revision()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_the_apps_upgrade_waits_for_another_migration_beyond_the_statement_timeout(
    postgres_url: str,
) -> None:
    """An app whose statements time out after 0.5 s still waits for another instance's migration lock."""
    engine = create_engine(postgres_url, statement_timeout=0.5)
    holder_engine = create_engine(postgres_url)
    upgrading: asyncio.Task[None] | None = None
    try:
        async with holder_engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            upgrading = asyncio.create_task(upgrade_engine(engine))
            done, _ = await asyncio.wait({upgrading}, timeout=1.5)  # three statement timeouts
            assert not done
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        await asyncio.wait_for(upgrading, 30)
        assert await current_revision(engine) == _newest_revision()
    finally:
        if upgrading is not None and not upgrading.done():
            upgrading.cancel()
        await engine.dispose()
        await holder_engine.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
async def test_an_in_memory_sqlite_database_migrates_through_its_engine(url: str) -> None:
    """An in-memory database (which lives in its engine's one connection) can be created and migrated."""
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
        assert await _tables(engine) == APP_TABLES | {"alembic_version"}
    finally:
        await engine.dispose()


async def test_team_levels_are_backfilled_from_the_results_already_stored(database_url: str) -> None:
    """Results stored before 0006 get their teams' current levels and history when it runs."""
    day = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    engine = create_engine(database_url)
    try:
        await upgrade_engine(engine, "0005")
        async with engine.begin() as conn:
            await conn.execute(repo.workspaces.insert().values(id=1, slack_team_id="T1", created_at=day))
            await conn.execute(
                repo.channels.insert().values(id=1, workspace_id=1, slack_channel_id="C1", created_at=day)
            )
            for n, (level, score) in enumerate([(0, 0.4), (2, 2.6), (1, 1.5)], start=1):
                at = day + timedelta(days=n)
                await conn.execute(
                    repo.people.insert().values(id=n, workspace_id=1, slack_user_id=f"U{n}", created_at=at)
                )
                await conn.execute(
                    repo.assessments.insert().values(
                        id=n, person_id=n, channel_id=1, flow_id="google", flow_version="1",
                        status="completed", revision=13, started_at=at, updated_at=at, completed_at=at,
                    )
                )  # fmt: skip
                await conn.execute(
                    repo.results.insert().values(assessment_id=n, level=level, score=score, created_at=at)
                )
        await upgrade_engine(engine)
        async with engine.connect() as conn:
            current = (await conn.execute(text("SELECT members, level, score FROM team_levels"))).all()
            history = (
                await conn.execute(text("SELECT members, level, score FROM team_level_history ORDER BY at"))
            ).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in current] == [(3, 1, 1.5)]
    assert [tuple(r) for r in history] == [(1, 0, 0.4), (2, 0, 1.5), (3, 1, 1.5)]
