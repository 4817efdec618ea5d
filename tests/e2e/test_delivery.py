"""End to end: what happens when Slack refuses, rate-limits or fails a call."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Result
from playground.drive import answer_buttons, finish
from playground.slack_api import Scripted, SlackClient, SlackDouble, all_text
from tests.e2e.conftest import RunningBot


async def stored_result(bot: RunningBot) -> Result:
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        result = await session.scalar(select(Result))
        assert isinstance(result, Result)
        return result


async def test_not_in_channel_tells_the_person_and_keeps_the_result(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """If the bot may not post in the channel, the person sees the result, how to fix it, and it is stored."""
    double.leave_channel("C111")  # the bot is not in the channel, so Slack refuses the post
    last = await finish(slack)
    text = all_text(last)
    assert "couldn't post your result" in text
    assert "/invite @maturity-bot" in text
    assert "Level 2: CI/CD pipeline automation" in text
    result = await stored_result(bot)
    assert (result.level, result.posted_ts, result.post_error) == (2, None, "not_in_channel")
    _, key = await slack.command("status")
    assert "Level 2" in all_text(await double.wait_for_reply(key))


async def test_a_rate_limited_post_is_retried_and_posted_once(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """A 429 with Retry-After on chat.postMessage is waited out and the summary is posted exactly once."""
    double.script("chat.postMessage", Scripted(retry_after=1))
    last = await finish(slack)
    assert "Done!" in all_text(last)
    attempts = double.api_calls("chat.postMessage")
    assert len(attempts) == 2
    result = await stored_result(bot)
    assert result.posted_ts is not None
    assert result.post_error is None


async def test_a_failing_slack_api_is_reported_not_raised(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Server errors from Slack are retried, then reported to the person; the result stays stored."""
    double.script("chat.postMessage", Scripted(error="fatal_error", status=500, times=3))
    last = await finish(slack)
    assert "couldn't post your result" in all_text(last)
    result = await stored_result(bot)
    assert result.post_error is not None


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
