"""End to end: the database freezes or goes away under the running bot (PostgreSQL behind a proxy).

A frozen server (SIGSTOP: connections open, nothing answers) must not hang anything: /health says
503 in time, a click gets the apology, and all is well again once it thaws. An outage must not
flood the log: one traceback per kind of failure, whatever the number of clicks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from flows.loader import load_flows
from playground.drive import answer_buttons, command
from playground.slack_api import SlackClient, SlackDouble, all_text
from tests.e2e.conftest import RunningBot, bot_settings
from tests.faults import FreezingProxy, freezing_proxy

pytestmark = pytest.mark.postgres

APOLOGY = "Sorry, something went wrong on my side"
LISTENERS = "bot.slack.listeners"
# Generous bounds: the point is "answers, does not hang", not speed. /health gives up after 1.5 s;
# a click on a frozen server fails after the 5 s statement timeout plus up to 2 s of SQLAlchemy
# closing the dead connection.
HEALTH_BOUND = 4.0
CLICK_BOUND = 20.0


@pytest.fixture
async def proxy(postgres_url: str) -> AsyncIterator[FreezingProxy]:
    async with freezing_proxy(postgres_url) as running:
        yield running


@pytest.fixture
async def bot(postgres_url: str, proxy: FreezingProxy, double: SlackDouble) -> AsyncIterator[RunningBot]:
    """The bot, migrated and serving, with its database reached through ``proxy``."""
    running = RunningBot(bot_settings(proxy.url(postgres_url), double), load_flows())
    await running.start()
    try:
        yield running
    finally:
        proxy.thaw()  # so shutdown closes its connections politely instead of timing out on each
        await running.stop()


async def get_health(bot: RunningBot) -> tuple[int, dict[str, object], float]:
    """GET /health: (status, JSON body, seconds it took), bounded by the client's own timeout."""
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
        session.get(bot.url + "/health") as response,
    ):
        body = await response.json()
        return response.status, body, time.monotonic() - started


async def test_health_answers_503_in_time_while_the_database_is_frozen_and_200_after_it_thaws(
    bot: RunningBot, proxy: FreezingProxy
) -> None:
    """/health answers 503 with a JSON reason within seconds while the server is frozen, 200 once it thaws."""
    status, _, _ = await get_health(bot)
    assert status == 200
    proxy.freeze()
    for _ in range(2):  # the second probe must not queue behind the first one's leftovers
        status, body, took = await get_health(bot)
        assert (status, body) == (503, {"status": "unavailable", "database": "unreachable"})
        assert took < HEALTH_BOUND
    proxy.thaw()
    status, body, _ = await get_health(bot)
    assert status == 200
    assert body["status"] == "ok"


async def test_a_click_while_the_database_is_frozen_gets_the_apology_and_works_after_it_thaws(
    bot: RunningBot, slack: SlackClient, double: SlackDouble, proxy: FreezingProxy
) -> None:
    """A click on a frozen database is apologised for within seconds; the same click works after the thaw."""
    question = await command(slack, "start google")
    first = answer_buttons(question)[0]
    proxy.freeze()
    started = time.monotonic()
    status, key = await slack.click(first)
    assert status == 200
    reply = await double.wait_for_reply(key, timeout=CLICK_BOUND + 5)
    assert time.monotonic() - started < CLICK_BOUND
    assert APOLOGY in all_text(reply)
    proxy.thaw()
    status, key = await slack.click(first)
    assert status == 200
    assert APOLOGY not in all_text(await double.wait_for_reply(key))


async def test_clicks_and_commands_during_a_database_outage_get_apologies_and_one_traceback_per_kind(
    bot: RunningBot,
    slack: SlackClient,
    double: SlackDouble,
    proxy: FreezingProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """25 clicks and commands on a crashed server all get the apology; the log gets a traceback per kind."""
    question = await command(slack, "start google")
    first = answer_buttons(question)[0]
    proxy.drop()
    caplog.clear()
    sent = await asyncio.gather(
        *(slack.click(first) for _ in range(20)), *(slack.command("status") for _ in range(5))
    )
    assert [status for status, _ in sent] == [200] * 25
    replies = await asyncio.gather(*(double.wait_for_reply(key, timeout=CLICK_BOUND) for _, key in sent))
    assert all(APOLOGY in all_text(reply) for reply in replies)
    failures = [r for r in caplog.records if r.name.startswith(LISTENERS) and r.levelno >= logging.ERROR]
    kinds = {(r.getMessage(), str(getattr(r, "failure", None))) for r in failures}
    assert {event for event, _ in kinds} == {"click_failed", "command_failed"}
    assert all(kind.endswith("@database") for _, kind in kinds)
    # Each kind (event and exception class) logs its first failure with the traceback; the rest
    # are counted, for a line at the end of the interval.
    assert len(failures) == len(kinds) <= 6
    assert all(r.exc_info is not None for r in failures)
