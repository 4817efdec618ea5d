"""Socket Mode end to end: the app dials the double's WebSocket and serves commands over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.runtime.server import EVENTS_PATH
from flows.loader import load_flows
from playground.drive import answer_buttons
from playground.slack_api import SlackDouble, all_text
from tests.e2e.conftest import RunningBot, bot_settings


@pytest.fixture
async def socket_bot(database_url: str, double: SlackDouble) -> AsyncIterator[RunningBot]:
    settings = bot_settings(database_url, double).model_copy(
        update={"slack_app_token": "xapp-1-test", "slack_signing_secret": None}
    )
    running = RunningBot(settings, load_flows())
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def test_commands_and_clicks_arrive_over_the_socket(
    socket_bot: RunningBot, double: SlackDouble
) -> None:
    """With SLACK_APP_TOKEN set, a command and a click over the socket are acked and answered."""
    command = {
        "team_id": "T111",
        "channel_id": "C111",
        "user_id": "U111",
        "user_name": "ana",
        "command": "/maturity",
        "text": "start google",
        "api_app_id": "A111",
        "response_url": double.response_url("s1"),
        "trigger_id": "1.2.abc",
    }
    envelope = await double.send_envelope("slash_commands", command)
    question = await double.wait_for_reply("s1")
    assert "Question 1 of" in all_text(question)
    assert any(ack["envelope_id"] == envelope for ack in double.socket_acks)
    answer = answer_buttons(question)[-1]  # fully met: the next question of its level follows
    await double.send_envelope(
        "interactive",
        {
            "type": "block_actions",
            "api_app_id": "A111",
            "user": {"id": "U111", "username": "ana", "team_id": "T111"},
            "team": {"id": "T111"},
            "channel": {"id": "C111"},
            "container": {"type": "message", "is_ephemeral": True},
            "response_url": double.response_url("s2"),
            "actions": [{**answer, "type": "button", "block_id": "b", "action_ts": "1.0"}],
        },
    )
    assert "Question 2 of" in all_text(await double.wait_for_reply("s2"))
    async with aiohttp.ClientSession() as session:
        async with session.get(socket_bot.url + "/health") as health:
            assert health.status == 200
        async with session.post(socket_bot.url + EVENTS_PATH, data="x") as events:
            assert events.status == 404  # no HTTP endpoint for Slack in Socket Mode
