"""The messenger, the one door out, against the Slack double through the real slack_sdk client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.slack.messenger import CONNECTION_ERROR, Messenger, ReplyTarget, build_web_client
from playground.slack_api import BOT_TOKEN, SlackDouble

SECTION: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}
HELLO: dict[str, Any] = {"text": "hello", "blocks": [SECTION]}


@pytest.fixture
async def messenger(double: SlackDouble) -> AsyncIterator[Messenger]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        yield Messenger(build_web_client(BOT_TOKEN, double.api_url, http), http)


async def test_a_reply_goes_to_the_response_url_and_can_replace(
    messenger: Messenger, double: SlackDouble
) -> None:
    """With a response_url, a reply is an ephemeral body there, replacing the clicked message if asked."""
    await messenger.reply(ReplyTarget("C111", "U111", double.response_url("k")), HELLO, replace=True)
    body = await double.wait_for_reply("k")
    assert (body["response_type"], body["replace_original"], body["text"]) == ("ephemeral", True, "hello")
    assert double.api_calls("chat.postEphemeral") == []


async def test_a_reply_without_response_url_is_posted_ephemerally(
    messenger: Messenger, double: SlackDouble
) -> None:
    """Without a response_url, the reply is a chat.postEphemeral only that person sees."""
    await messenger.reply(ReplyTarget("C111", "U222"), HELLO)
    (shown,) = double.ephemerals("C111", "U222")
    assert shown["text"] == "hello"
    assert double.replies == {}


async def test_a_failing_response_url_is_logged_not_raised(
    messenger: Messenger, double: SlackDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """A response_url answering 500 (after retries) is logged; the caller carries on."""
    double.fail_response_url("bad", status=404)
    await messenger.reply(ReplyTarget("C111", "U111", double.response_url("bad")), HELLO)
    assert any(r.getMessage() == "reply_rejected" for r in caplog.records)
    assert double.replies["bad"] == []


async def test_posting_to_a_channel_returns_its_ts_or_slacks_reason(
    messenger: Messenger, double: SlackDouble
) -> None:
    """A post gives the message ts; a channel the bot left, an archived or unknown one give Slack's code."""
    sent = await messenger.post_message("C111", HELLO)
    assert sent.error is None
    assert [m["ts"] for m in double.messages("C111")] == [sent.ts]
    reply = await messenger.post_message("C111", {"text": "in thread"}, thread_ts=sent.ts)
    assert double.messages("C111")[-1]["thread_ts"] == sent.ts
    assert reply.ts != sent.ts
    double.leave_channel("C222")
    assert (await messenger.post_message("C222", HELLO)).error == "not_in_channel"
    double.archive_channel("C222")
    assert (await messenger.post_message("C222", HELLO)).error == "is_archived"
    assert (await messenger.post_message("C404", HELLO)).error == "channel_not_found"


async def test_a_rate_limited_post_waits_out_retry_after(messenger: Messenger, double: SlackDouble) -> None:
    """Past the channel's burst Slack answers 429; the retry handler waits Retry-After and posts once each."""
    sent = [await messenger.post_message("C111", {"text": f"n{n}"}) for n in range(6)]
    assert all(s.error is None for s in sent)
    assert [m["text"] for m in double.messages("C111")] == [f"n{n}" for n in range(6)]
    assert len(double.api_calls("chat.postMessage")) > 6  # some were refused with 429 and retried


async def test_the_app_home_is_published(messenger: Messenger, double: SlackDouble) -> None:
    """views.publish shows a Home view for that person; an over-long one is refused with Slack's code."""
    view = {"type": "home", "blocks": [SECTION]}
    sent = await messenger.publish_home("U111", view)
    assert sent.error is None
    assert double.home_views["U111"]["blocks"] == view["blocks"]
    too_big = {"type": "home", "blocks": [SECTION] * 101}
    assert (await messenger.publish_home("U111", too_big)).error == "invalid_arguments"


async def test_a_file_is_uploaded_to_a_channel(messenger: Messenger, double: SlackDouble) -> None:
    """files_upload_v2 sends the bytes, title and alt text, and shares the file in the channel."""
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
    sent = await messenger.upload_file(
        "C111", content=png, filename="radar.png", title="Radar", alt_text="Levels per category"
    )
    assert sent.error is None
    assert sent.ts is not None
    uploaded = double.files[sent.ts]
    assert (uploaded.content, uploaded.title, uploaded.alt_txt, uploaded.channel) == (
        png,
        "Radar",
        "Levels per category",
        "C111",
    )


async def test_users_and_channels_are_looked_up(messenger: Messenger, double: SlackDouble) -> None:
    """users.info gives time zone and status, conversations.info whether the bot can post; unknown: None."""
    double.set_status("U222", "On holiday", ":palm_tree:")
    user = await messenger.user_info("U222")
    assert user is not None
    assert (user.tz, user.status_text, user.status_emoji, user.is_bot, user.deleted) == (
        "America/New_York",
        "On holiday",
        ":palm_tree:",
        False,
        False,
    )
    assert user.tz_offset in {-5 * 3600, -4 * 3600}
    assert await messenger.user_info("U404") is None
    channel = await messenger.channel_info("C111")
    assert channel is not None
    assert (channel.name, channel.is_member, channel.is_archived) == ("ml-platform", True, False)
    assert await messenger.channel_info("C404") is None


async def test_an_unreachable_slack_is_a_connection_error(double: SlackDouble) -> None:
    """When nothing listens at the API URL, calls come back as connection_error instead of raising."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        closed = Messenger(build_web_client(BOT_TOKEN, "http://127.0.0.1:9/api/", http), http)
        assert (await closed.post_message("C111", HELLO)).error == CONNECTION_ERROR
        assert await closed.user_info("U111") is None
