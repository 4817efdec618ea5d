"""The real HTTP app on a loopback port, wired to the Slack double, with a restart button."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.runtime.server import EVENTS_PATH, Server, start
from bot.runtime.settings import Settings
from bot.runtime.wiring import Runtime
from flows.loader import load_flows
from flows.schema import Flow
from models.db import create_engine
from models.migrate import needs_upgrade, upgrade_engine
from playground.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackClient, SlackDouble


@dataclass
class RunningBot:
    """The app serving on 127.0.0.1 as `python -m bot` would; ``restart`` stops it and starts afresh."""

    settings: Settings
    flows: dict[str, Flow]
    server: Server | None = None
    url: str = ""

    @property
    def runtime(self) -> Runtime | None:
        return self.server.runtime if self.server else None

    async def start(self) -> None:
        # Migrated here, in the test's process, as a deploy step would: the app then finds its
        # database at the newest revision and starts without Alembic (or a migrating child).
        engine = create_engine(self.settings.database_url)
        try:
            if await needs_upgrade(engine):
                await upgrade_engine(engine)
        finally:
            await engine.dispose()
        self.server = await start(self.settings, self.flows)
        self.url = f"http://127.0.0.1:{self.server.port}"

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        self.server = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


def bot_settings(database_url: str, double: SlackDouble) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        database_url=database_url,
        slack_api_url=double.api_url,
        host="127.0.0.1",
        port=0,
        _env_file=None,
    )


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str, double: SlackDouble, **settings: Any
) -> AsyncIterator[tuple[RunningBot, SlackClient]]:
    """A bot with some settings changed, and a client sending it signed requests."""
    running = RunningBot(bot_settings(database_url, double).model_copy(update=settings), load_flows())
    await running.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield running, SlackClient(lambda: running.url + EVENTS_PATH, double, session)
    finally:
        await running.stop()


@pytest.fixture
async def bot(database_url: str, double: SlackDouble) -> AsyncIterator[RunningBot]:
    running = RunningBot(bot_settings(database_url, double), load_flows())
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def slack(bot: RunningBot, double: SlackDouble) -> AsyncIterator[SlackClient]:
    async with aiohttp.ClientSession() as session:
        client = SlackClient(lambda: bot.url + EVENTS_PATH, double, session)
        yield client
