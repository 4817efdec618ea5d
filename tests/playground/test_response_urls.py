"""The Slack double's response_urls (through slack_sdk's AsyncWebhookClient) and its Socket Mode socket."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from slack_sdk.webhook.async_client import AsyncWebhookClient

from playground.slack_api import SlackDouble

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}
MESSAGE = {"response_type": "ephemeral", "text": "hi", "blocks": [SECTION]}


def webhook(double: SlackDouble, key: str, session: aiohttp.ClientSession) -> AsyncWebhookClient:
    # No retry handlers: each test counts exactly the attempts it makes.
    return AsyncWebhookClient(double.response_url(key), session=session, retry_handlers=[])


async def test_replies_are_recorded_and_first_reply_stamps_arrival(
    double: SlackDouble, session: aiohttp.ClientSession
) -> None:
    """Accepted bodies are kept in order; first_reply returns the first one and when it arrived."""
    before = time.perf_counter()
    response = await webhook(double, "k1", session).send_dict(MESSAGE)
    assert (response.status_code, response.body) == (200, "ok")
    await webhook(double, "k1", session).send_dict({**MESSAGE, "text": "second"})
    body, arrived = await double.first_reply("k1", timeout=1)
    assert body == MESSAGE
    assert before <= arrived <= time.perf_counter()
    assert [r["text"] for r in double.replies["k1"]] == ["hi", "second"]
    assert (await double.wait_for_reply("k1", count=2, timeout=1))["text"] == "second"


async def test_first_reply_wakes_every_waiter_of_its_key_and_times_out_alone(
    double: SlackDouble, session: aiohttp.ClientSession
) -> None:
    """Every waiter of a key gets its reply; one waiter timing out does not spoil the others."""
    early = asyncio.create_task(double.first_reply("k2", timeout=2))
    late = asyncio.create_task(double.first_reply("k2", timeout=2))
    with pytest.raises(TimeoutError):
        await double.first_reply("k2", timeout=0.05)
    await webhook(double, "k2", session).send_dict(MESSAGE)
    (body1, at1), (body2, at2) = await asyncio.gather(early, late)
    assert body1 == body2 == MESSAGE
    assert at1 == at2 == double.arrived["k2"]
    with pytest.raises(TimeoutError):
        await double.first_reply("never", timeout=0.05)


async def test_a_failing_response_url_answers_its_status(
    double: SlackDouble, session: aiohttp.ClientSession
) -> None:
    """fail_response_url answers its status for that many bodies, and those are not recorded as replies."""
    double.fail_response_url("k3", status=500, times=2)
    for _ in range(2):
        assert (await webhook(double, "k3", session).send_dict(MESSAGE)).status_code == 500
    assert "k3" not in double.replies
    assert (await webhook(double, "k3", session).send_dict(MESSAGE)).status_code == 200
    assert len(double.replies["k3"]) == 1
    assert len(double.reply_attempts["k3"]) == 3
    double.fail_response_url("k3", status=404)
    assert (await webhook(double, "k3", session).send_dict(MESSAGE)).status_code == 404
    double.heal_response_url("k3")
    assert (await webhook(double, "k3", session).send_dict(MESSAGE)).status_code == 200


async def test_a_hanging_response_url_never_answers_until_the_double_stops(
    session: aiohttp.ClientSession,
) -> None:
    """hang_response_url keeps the request open until a client timeout fires; stopping the double ends it."""
    double = SlackDouble()
    await double.start()
    try:
        double.hang_response_url("k4")
        quick = aiohttp.ClientTimeout(total=0.2)
        with pytest.raises(TimeoutError):
            async with session.post(double.response_url("k4"), json=MESSAGE, timeout=quick) as response:
                await response.read()
        assert double.reply_attempts["k4"] == [MESSAGE]
        assert "k4" not in double.replies
    finally:
        async with asyncio.timeout(3):  # a hung handler must not hold up shutdown
            await double.stop()


async def test_bad_response_url_bodies_are_refused_as_slack_does(
    double: SlackDouble, session: aiohttp.ClientSession
) -> None:
    """Invalid blocks, no content or non-JSON get HTTP 400 and a bare error code; a delete needs no text."""
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    bad = await webhook(double, "k5", session).send_dict({"text": "t", "blocks": [header]})
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    empty = await webhook(double, "k5", session).send_dict({"replace_original": True})
    assert (empty.status_code, empty.body) == (400, "no_text")
    async with session.post(double.response_url("k5"), data=b"{not json") as response:
        assert (response.status, await response.text()) == (400, "invalid_payload")
    assert "k5" not in double.replies
    deleted = await webhook(double, "k5", session).send_dict({"delete_original": True})
    assert deleted.status_code == 200
    assert double.replies["k5"] == [{"delete_original": True}]


async def test_socket_mode_says_hello_and_collects_acks(
    double: SlackDouble, session: aiohttp.ClientSession
) -> None:
    """An app-level token opens the socket, which greets, delivers an envelope and records the ack."""
    headers = {"Authorization": "Bearer xapp-1-test"}
    async with session.post(double.api_url + "apps.connections.open", headers=headers) as response:
        url = (await response.json())["url"]
    async with session.ws_connect(url) as ws:
        assert (await ws.receive_json(timeout=2))["type"] == "hello"
        envelope_id = await double.send_envelope("slash_commands", {"command": "/maturity", "text": "help"})
        envelope = await ws.receive_json(timeout=2)
        assert (envelope["envelope_id"], envelope["payload"]["text"]) == (envelope_id, "help")
        await ws.send_json({"envelope_id": envelope_id})
        await double.wait_until(lambda: bool(double.socket_acks), timeout=2)
    assert double.socket_acks == [{"envelope_id": envelope_id}]
    bot_token = {"Authorization": "Bearer xoxb-test-token-not-real"}
    async with session.post(double.api_url + "apps.connections.open", headers=bot_token) as response:
        assert (await response.json())["error"] == "not_allowed_token_type"
