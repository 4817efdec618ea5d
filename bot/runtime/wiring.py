"""Everything a running app holds, built once: engine, HTTP session, messenger, services, Bolt app."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.app import create_app
from bot.runtime.background import Background
from bot.runtime.settings import Settings
from bot.services.assessments import AssessmentService
from bot.slack.deps import Deps
from bot.slack.messenger import Messenger, build_web_client
from flows.schema import Flow
from models.db import create_engine
from models.migrate import upgrade_engine

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    http: aiohttp.ClientSession
    deps: Deps
    app: AsyncApp
    background: Background

    @property
    def assessments(self) -> AssessmentService:
        return self.deps.assessments

    async def close(self) -> None:
        await self.background.drain()
        await self.http.close()
        await self.engine.dispose()


async def create_runtime(settings: Settings, flows: dict[str, Flow]) -> Runtime:
    """Open the database (upgrading it if configured) and build the app around one HTTP session."""
    engine = create_engine(settings.database_url)
    if settings.migrate_on_start:
        await upgrade_engine(engine)
    # One connection pool for every Web API call and response_url reply.
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    client = build_web_client(settings.slack_bot_token, settings.slack_api_url, http)
    background = Background()
    deps = Deps(AssessmentService(engine, flows), Messenger(client, http), background)
    app = create_app(settings, client, deps)
    logger.info("runtime_ready", extra={"flows": sorted(flows), "socket_mode": settings.socket_mode})
    return Runtime(settings, engine, http, deps, app, background)
