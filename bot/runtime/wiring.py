"""Everything a running app holds, built once: engine, HTTP session, messenger, services, Bolt app."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from dataclasses import dataclass

import aiohttp
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.app import create_app
from bot.runtime.background import MAX_RUNNING, Background
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.scheduler import Scheduler
from bot.runtime.settings import Settings
from bot.services.assessments import CLICK_SLOTS, AssessmentService
from bot.services.checkins import CheckinService
from bot.services.commitments import CommitmentService
from bot.services.export import ExportService
from bot.services.home import HomeService
from bot.services.leaderboard import LeaderboardService
from bot.services.nudges import NudgeService
from bot.services.outbox import OutboxService
from bot.services.team import TeamService
from bot.slack.away import away_markers
from bot.slack.deps import Deps
from bot.slack.failures import reporter
from bot.slack.messenger import Messenger, build_web_client
from bot.slack.outbox import SlackOutbox
from flows.schema import Flow
from flows.simulate import questions_asked
from models.db import create_engine, create_read_engine, open_pool
from models.migrate import needs_upgrade, upgrade_engine  # Alembic itself loads only to migrate

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    http: aiohttp.ClientSession  # the Web API
    reply_http: aiohttp.ClientSession  # response_urls
    deps: Deps
    app: AsyncApp
    background: Background
    dispatcher: Dispatcher
    scheduler: Scheduler | None  # None when cron runs the check-ins (CHECKINS_IN_PROCESS=0)

    @property
    def assessments(self) -> AssessmentService:
        return self.deps.assessments

    async def close(self) -> None:
        # No new check-ins, then clicks (one may be delivering its own result), then the outbox.
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.background.drain()
        await self.dispatcher.stop()
        await self.http.close()
        await self.reply_http.close()
        if self.assessments.reads is not self.engine:
            await self.assessments.reads.dispose()
        await self.engine.dispose()
        reporter().flush()  # the last counts, so an outage that lasted until shutdown is in the log


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade the database before serving. In a child process (`python -m bot migrate`), so
    Alembic and all it imports never stay resident in the serving process; an in-memory SQLite
    database (tests) exists only in this process's connection, so it is upgraded here."""
    if not await needs_upgrade(engine):  # the usual restart: Alembic is not even imported
        return
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        await upgrade_engine(engine)
        return
    env = {**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"migrating the database failed:\n{errors.decode(errors='replace')[-3000:]}")


async def create_runtime(settings: Settings, flows: dict[str, Flow]) -> Runtime:
    """Open the database (upgrading it if configured) and build the app around one HTTP session."""
    engine = create_engine(settings.database_url)
    if settings.migrate_on_start:
        await migrate(engine)
    # How many questions each model asks (the picker and the intro say so): measured once, off the loop.
    await asyncio.to_thread(lambda: [questions_asked(flow) for flow in flows.values()])
    # PostgreSQL: the connections answer clicks use, open before the first crowd arrives.
    opened = await open_pool(engine, CLICK_SLOTS)
    if opened:
        logger.info("database_pool_opened", extra={"connections": opened})
    http, reply_http = web_api_session(), reply_session()
    client = build_web_client(settings.slack_bot_token, settings.slack_api_url, http)
    once = build_web_client(settings.slack_bot_token, settings.slack_api_url, http, retries=False)
    messenger = Messenger(client, reply_http, once)
    background = Background()
    outbox = OutboxService(engine, flows)
    dispatcher = Dispatcher(
        outbox,
        SlackOutbox(messenger, flows, away_markers(settings.away_statuses)),
        click_wait=settings.result_post_wait,
    )
    # Dispatchers leave a new result to its click a little longer than the click waits for it.
    assessments = AssessmentService(
        engine, flows, click_grace=settings.result_post_wait + 5, reads=create_read_engine(engine)
    )
    checkins = CheckinService(engine, flows)
    commitments = CommitmentService(engine, flows)
    leaderboard = LeaderboardService(engine, flows, min_members=settings.leaderboard_min_members)
    deps = Deps(
        assessments,
        checkins,
        commitments,
        NudgeService(engine),
        leaderboard,
        TeamService(engine, flows, min_members=settings.leaderboard_min_members),
        HomeService(engine, flows, min_members=settings.leaderboard_min_members),
        ExportService(engine, flows),
        outbox,
        dispatcher,
        messenger,
        background,
    )
    app = create_app(settings, client, deps)
    dispatcher.start()
    scheduler = Scheduler(checkins, dispatcher) if settings.checkins_in_process else None
    if scheduler is not None:
        scheduler.start()
    logger.info("runtime_ready", extra={"flows": sorted(flows), "socket_mode": settings.socket_mode})
    return Runtime(settings, engine, http, reply_http, deps, app, background, dispatcher, scheduler)


# Timeouts count only time on the wire (connecting, then waiting for bytes), never time spent
# waiting for a pooled connection: a queue is bounded by the pools and the background cap, and a
# slow endpoint must fail fast without making everyone behind it fail too.


def web_api_session() -> aiohttp.ClientSession:
    """The Web API's pool: one host (slack.com); a post can take a while, so reads get 15 s."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=200, limit_per_host=100),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=15),
    )


def reply_session() -> aiohttp.ClientSession:
    """The response_urls' pool, apart from the Web API's so neither can starve the other.

    Per host it allows more connections than background work can run at once, so replies never
    queue for a connection; a hanging endpoint gives up after 5 s (Slack's answer in milliseconds).
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=MAX_RUNNING + 100),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=3, sock_read=5),
    )
