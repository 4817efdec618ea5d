"""Handlers called directly: real Bolt ack objects, a real service on a real database, the double."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.background import Background
from bot.runtime.dispatcher import Dispatcher
from bot.services.assessments import AssessmentService
from bot.services.checkins import CheckinService
from bot.services.commitments import CommitmentService
from bot.services.export import ExportService
from bot.services.home import HomeService
from bot.services.leaderboard import LeaderboardService
from bot.services.nudges import NudgeService
from bot.services.outbox import OutboxService
from bot.services.team import TeamService
from bot.slack.deps import CONTEXT_KEY, Deps
from bot.slack.messenger import Messenger, build_web_client
from bot.slack.outbox import SlackOutbox
from flows.loader import load_flows
from playground.slack_api import BOT_TOKEN, SlackDouble

FLOWS = load_flows()


@pytest.fixture
async def deps(engine: AsyncEngine, double: SlackDouble) -> AsyncIterator[Deps]:
    """What the wiring builds at start-up, pointed at the test database and the double."""
    async with aiohttp.ClientSession() as http:
        deps = build_deps(engine, double, http)
        assert isinstance(deps.posts, Dispatcher)
        deps.posts.start()
        yield deps
        assert isinstance(deps.tasks, Background)
        await deps.tasks.drain()
        await deps.posts.stop()


def build_deps(engine: AsyncEngine, double: SlackDouble, http: aiohttp.ClientSession) -> Deps:
    """Deps as bot/runtime/wiring.py builds them (the dispatcher not yet started)."""
    messenger = Messenger(
        build_web_client(BOT_TOKEN, double.api_url, http),
        http,
        build_web_client(BOT_TOKEN, double.api_url, http, retries=False),
    )
    outbox = OutboxService(engine, FLOWS)
    dispatcher = Dispatcher(outbox, SlackOutbox(messenger, FLOWS))
    return Deps(
        AssessmentService(engine, FLOWS),
        CheckinService(engine, FLOWS),
        CommitmentService(engine, FLOWS),
        NudgeService(engine),
        LeaderboardService(engine, FLOWS),
        TeamService(engine, FLOWS),
        HomeService(engine, FLOWS),
        ExportService(engine, FLOWS),
        outbox,
        dispatcher,
        messenger,
        Background(),
    )


def new_ack() -> AsyncAck:
    """Bolt's own ack object, as a listener receives it (records the response it was given)."""
    return AsyncAck()  # type: ignore[no-untyped-call]  # Bolt's AsyncAck.__init__ has no annotations


def context_with(deps: Deps) -> AsyncBoltContext:
    """A request context as the wiring's middleware leaves it."""
    context = AsyncBoltContext()
    context[CONTEXT_KEY] = deps
    return context


def command_payload(text: str, response_url: str | None, user: str = "U111") -> dict[str, Any]:
    """The fields of a `/maturity` slash command, as Bolt hands them to a listener."""
    payload = {
        "team_id": "T111",
        "channel_id": "C111",
        "channel_name": "ml-platform",
        "user_id": user,
        "user_name": "ana",
        "command": "/maturity",
        "text": text,
    }
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def click_payload(
    button: dict[str, Any], response_url: str, user: str = "U111"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(body, action) of a block_actions click on ``button``, as Bolt hands them to a listener."""
    action = {"type": "button", "action_id": button["action_id"], "value": button.get("value", "")}
    body = {
        "type": "block_actions",
        "user": {"id": user, "username": "ana", "team_id": "T111"},
        "team": {"id": "T111"},
        "channel": {"id": "C111", "name": "ml-platform"},
        "container": {"type": "message", "channel_id": "C111", "is_ephemeral": True},
        "response_url": response_url,
        "actions": [action],
    }
    return body, action
