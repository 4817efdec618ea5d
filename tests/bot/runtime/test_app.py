"""The Bolt app factory: listeners wired with their dependencies, and no 500 for our own errors."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.app import create_app
from bot.runtime.settings import Settings
from bot.slack.messenger import build_web_client
from playground.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackDouble, sign
from tests.bot.slack.listeners.conftest import build_deps


async def test_an_error_escaping_a_listener_is_answered_200_with_an_apology(
    engine: AsyncEngine, double: SlackDouble
) -> None:
    """A listener that raises before acking gets Slack a 200 with an apology, never Bolt's 500."""
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=double.api_url,
        _env_file=None,
    )
    async with aiohttp.ClientSession() as http:
        app = create_app(
            settings, build_web_client(BOT_TOKEN, double.api_url, http), build_deps(engine, double, http)
        )

        @app.command("/boom")
        async def explode(ack: Any) -> None:
            raise RuntimeError("a bug of ours")

        body = urlencode(
            {"command": "/boom", "text": "", "team_id": "T111", "user_id": "U111", "channel_id": "C111"}
        )
        response = await app.async_dispatch(
            AsyncBoltRequest(
                body=body, headers={"content-type": "application/x-www-form-urlencoded", **sign(body)}
            )
        )
    assert response.status == 200
    assert "something went wrong on my side" in json.loads(response.body)["text"]
