"""End to end: what happens when Slack refuses, rate-limits or fails a call."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Result
from playground.drive import answer_buttons, click, command, finish
from playground.slack_api import Scripted, SlackClient, SlackDouble, all_text, button
from tests.e2e.conftest import RunningBot, running_bot


def _top_level_calls(double: SlackDouble) -> list[object]:
    """chat.postMessage calls for channel posts (a shared result's details follow in its thread)."""
    return [c for c in double.api_calls("chat.postMessage") if not c.params.get("thread_ts")]


async def stored_result(bot: RunningBot) -> Result:
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        result = await session.scalar(select(Result))
        assert isinstance(result, Result)
        return result


async def test_not_in_channel_tells_the_person_once_and_post_again_works(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Refused for good: the person sees the result, the fix and Post again, which posts it once invited."""
    double.leave_channel("C111")  # the bot is not in the channel, so Slack refuses the post
    last = await finish(slack)
    text = all_text(last)
    assert "couldn't post your result" in text
    assert "/invite @maturity-bot" in text
    assert "Level 2: CI/CD pipeline automation" in text
    result = await stored_result(bot)
    assert (result.level, result.posted_ts, result.post_error) == (2, None, "not_in_channel")
    assert double.ephemerals("C111", "U111") == []  # told once, in the reply, not again
    status = await command(slack, "status")
    assert "not posted to the channel" in all_text(status)
    double.join_channel("C111")  # someone ran /invite @maturity-bot
    again = await click(slack, button(last, "Post again"))
    assert "posted in this channel" in all_text(again)
    (posted,) = double.posts("C111")
    assert "Level 2: CI/CD pipeline automation" in all_text(posted)
    assert "already posted" in all_text(await click(slack, button(last, "Post again")))
    assert (await stored_result(bot)).posted_ts == posted["ts"]


async def test_a_rate_limited_post_is_retried_and_posted_once(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """A 429 with Retry-After on chat.postMessage is waited out and the summary is posted exactly once."""
    double.script("chat.postMessage", Scripted(retry_after=1))
    last = await finish(slack)
    assert "posted in this channel" in all_text(last)
    assert len(_top_level_calls(double)) == 2
    assert len(double.posts("C111")) == 1
    result = await stored_result(bot)
    assert result.posted_ts is not None
    assert result.post_error is None


async def test_server_errors_are_retried_with_backoff(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Two 500s from Slack are retried (1 s, then 2 s later) and the summary is posted exactly once."""
    double.script("chat.postMessage", Scripted(error="fatal_error", status=500, times=2))
    last = await finish(slack)
    assert "posted in this channel" in all_text(last)
    assert len(_top_level_calls(double)) == 3
    assert len(double.posts("C111")) == 1


async def test_a_post_slack_keeps_waiting_on_is_queued_not_reported_failed(
    database_url: str, double: SlackDouble
) -> None:
    """A Retry-After longer than the click waits says 'queued', then the dispatcher posts it once."""
    async with running_bot(database_url, double, result_post_wait=1.0) as (_bot, slack):
        double.script("chat.postMessage", Scripted(retry_after=2))
        last = await finish(slack)
        assert "will appear in this channel shortly" in all_text(last)
        assert "couldn't" not in all_text(last)
        await double.wait_until(lambda: len(double.posts("C111")) == 1, timeout=10)
        assert len(_top_level_calls(double)) == 2


async def test_a_queued_post_that_finally_fails_is_told_once_by_ephemeral(
    database_url: str, double: SlackDouble
) -> None:
    """When a queued post is refused for good later, the person gets one ephemeral with the fix."""
    async with running_bot(database_url, double, result_post_wait=1.0) as (_bot, slack):
        double.script("chat.postMessage", Scripted(retry_after=2))
        double.script("chat.postMessage", Scripted(error="restricted_action"))
        last = await finish(slack)
        assert "will appear in this channel shortly" in all_text(last)
        await double.wait_until(lambda: bool(double.ephemerals("C111", "U111")), timeout=10)
        (notice,) = double.ephemerals("C111", "U111")
        assert "doesn't let apps post in this channel" in all_text(notice)
        assert button(notice, "Post again")


async def test_our_own_failure_is_logged_with_a_traceback_and_the_person_gets_an_apology(
    bot: RunningBot, slack: SlackClient, double: SlackDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """When the database breaks under a click, the log gets the traceback and the person a short apology."""
    _, key = await slack.command("start google")
    question = await double.wait_for_reply(key)
    assert bot.runtime is not None
    async with bot.runtime.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE answers RENAME TO answers_gone"))
    answer = answer_buttons(question)[0]
    status, key = await slack.click(answer)
    assert status == 200
    reply = await double.wait_for_reply(key)
    assert "Sorry, something went wrong on my side" in all_text(reply)
    assert reply["replace_original"] is False  # the question stays on screen to try again
    (failure,) = [r for r in caplog.records if r.getMessage() == "click_failed"]
    assert failure.exc_info is not None
