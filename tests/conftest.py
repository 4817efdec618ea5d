"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from models.db import create_engine, normalize_url
from models.migrate import upgrade_engine
from playground.slack_api import SlackDouble

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def _postgres_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if REQUIRE_POSTGRES:
        pytest.fail("REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set")
    pytest.skip("TEST_POSTGRES_URL is not set (scripts/test starts a throwaway PostgreSQL)")


async def _fresh_postgres_database() -> tuple[str, str, str]:
    """Create an empty database on the test server; returns (url, admin dsn, name)."""
    base = make_url(normalize_url(_postgres_or_skip()))
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return base.set(database=name).render_as_string(hide_password=False), admin, name


async def _drop_postgres_database(admin: str, name: str) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (not yet migrated) of each kind, dropped after the test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        return
    url, admin, name = await _fresh_postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(admin, name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database's engine."""
    eng = create_engine(database_url)
    await upgrade_engine(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database, for behaviour that only PostgreSQL deployments have."""
    url, admin, name = await _fresh_postgres_database()
    try:
        yield url
    finally:
        await _drop_postgres_database(admin, name)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the logging set-up back as it was after a test that reconfigures it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    """The loopback Slack double, started on a free port and stopped after the test."""
    slack = SlackDouble()
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()
