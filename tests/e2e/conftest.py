"""The real HTTP app on a loopback port, wired to the Slack double, with a restart button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from bot.config import Settings
from bot.runtime import Runtime, create_runtime
from bot.server import EVENTS_PATH, build_web_app
from flows.loader import load_flows
from flows.schema import Flow
from tests.slack_double import BOT_TOKEN, SIGNING_SECRET, SlackClient, SlackDouble


@dataclass
class RunningBot:
    """The app serving HTTP on 127.0.0.1; ``restart`` stops everything and starts it afresh."""

    settings: Settings
    flows: dict[str, Flow]
    runtime: Runtime | None = None
    runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> None:
        self.runtime = await create_runtime(self.settings, self.flows)
        self.runner = web.AppRunner(build_web_app(self.runtime), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.runtime is not None:
            await self.runtime.close()
        self.runner = self.runtime = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    slack = SlackDouble()
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()


def bot_settings(database_url: str, double: SlackDouble) -> Settings:
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        database_url=database_url,
        slack_api_url=double.api_url,
        _env_file=None,  # type: ignore[call-arg]
    )


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
