"""The outbox dispatcher with the real sender and the Slack double: shared work, stops, retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import time
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.runtime.dispatcher import Dispatcher
from bot.services.assessments import AssessmentService
from bot.services.checkins import CheckinService
from bot.services.outbox import DeliveryState, OutboxService, QueuedMessage
from bot.services.outcomes import Completed, QuestionShown, ShareResult, Who
from bot.services.ports import DeliveryOutcome
from bot.services.recurrence import Period, Rhythm
from bot.slack.messenger import Messenger, build_web_client
from bot.slack.outbox import SlackOutbox
from flows.loader import load_flows
from models import outbox as repo
from models.tables import OutboxMessage
from playground.slack_api import BOT_TOKEN, Scripted, SlackDouble, all_text

FLOWS = load_flows()
MONDAY_9_BERLIN = Rhythm(Period.WEEKLY, time(9), "Europe/Berlin", weekday=0)


@pytest.fixture
async def sender(double: SlackDouble) -> AsyncIterator[SlackOutbox]:
    async with aiohttp.ClientSession() as http:
        once = build_web_client(BOT_TOKEN, double.api_url, http, retries=False)
        yield SlackOutbox(Messenger(build_web_client(BOT_TOKEN, double.api_url, http), http, once), FLOWS)


async def _complete(engine: AsyncEngine, user: str, channel: str = "C111", grace: float = 0.0) -> Completed:
    service = AssessmentService(engine, FLOWS, click_grace=grace)
    who = Who("T111", channel, user)
    outcome: object = await service.start(who, "google")
    while isinstance(outcome, QuestionShown):
        q = outcome.question
        outcome = await service.answer(who, outcome.assessment_id, outcome.revision, q.id, q.best_option.id)
    assert isinstance(outcome, Completed)
    shared = await service.share(who, outcome.result_id)  # the person presses Share
    assert isinstance(shared, ShareResult)
    return shared.completed


def _posts(double: SlackDouble, channel_id: str) -> list[dict[str, Any]]:
    """The channel's top-level messages (a shared result's details follow in its thread)."""
    return [m for m in double.messages(channel_id) if not m.get("thread_ts")]


async def _statuses(engine: AsyncEngine) -> list[str]:
    """The states of the queued posts (a shared result's thread follow-ups left out)."""
    async with AsyncSession(engine) as session:
        follow_ups = ["result_details", "result_chart"]
        query = (
            select(OutboxMessage.status)
            .where(OutboxMessage.kind.not_in(follow_ups))
            .order_by(OutboxMessage.id)
        )
        return list((await session.execute(query)).scalars())


async def test_two_dispatchers_share_the_queue_and_post_each_result_once(
    engine: AsyncEngine, sender: SlackOutbox, double: SlackDouble
) -> None:
    """Two instances' dispatchers on one database deliver twelve queued results, each exactly once."""
    double.add_channel("C333", "results-a")
    double.add_channel("C444", "results-b")
    for n in range(12):
        await _complete(engine, f"U{n:03d}", channel="C333" if n % 2 else "C444")
    first = Dispatcher(OutboxService(engine, FLOWS), sender, poll=0.1, concurrency=2)
    second = Dispatcher(OutboxService(engine, FLOWS), sender, poll=0.1, concurrency=2)
    first.start()
    second.start()
    try:
        await double.wait_until(
            lambda: len(_posts(double, "C333")) + len(_posts(double, "C444")) == 12, timeout=30
        )
        await asyncio.sleep(0.5)  # time for a duplicate to show up, if there were one
    finally:
        await first.stop()
        await second.stop()
    posted = [all_text(m) for m in _posts(double, "C333") + _posts(double, "C444")]
    assert len(posted) == 12
    assert sorted(next(w for w in t.split() if w.startswith("<@U")) for t in posted) == sorted(
        {f"<@U{n:03d}>" for n in range(12)}
    )
    assert await _statuses(engine) == ["sent"] * 12


async def test_a_rate_limited_channel_is_retried_after_retry_after(
    engine: AsyncEngine, sender: SlackOutbox, double: SlackDouble
) -> None:
    """A 429 with Retry-After reschedules the post; the dispatcher posts it when due, once."""
    await _complete(engine, "U001")
    double.script("chat.postMessage", Scripted(retry_after=1))
    dispatcher = Dispatcher(OutboxService(engine, FLOWS), sender, poll=0.1)
    dispatcher.start()
    try:
        await double.wait_until(lambda: len(_posts(double, "C111")) == 1, timeout=10)
    finally:
        await dispatcher.stop()
    assert len(double.api_calls("chat.postMessage")) == 2
    assert await _statuses(engine) == ["sent"]


async def _announce_in(engine: AsyncEngine, double: SlackDouble, channels: list[str]) -> None:
    """One queued message per channel: each channel's check-in schedule being announced."""
    service = CheckinService(engine, FLOWS)
    for channel in channels:
        if channel not in double.workspace.channels:
            double.add_channel(channel, channel.lower())
        await service.set(Who("T111", channel, "U111", channel.lower(), "ana"), MONDAY_9_BERLIN)


def _refused(double: SlackDouble) -> int:
    posted = sum(len(_posts(double, c)) for c in double.workspace.channels)
    return len(double.api_calls("chat.postMessage")) - posted


async def test_a_workspace_at_its_limit_is_held_for_retry_after_not_hammered(
    engine: AsyncEngine, sender: SlackOutbox, double: SlackDouble
) -> None:
    """24 channels against a workspace cap of 4 a second: each posted once, and after a 429 the
    dispatcher takes nothing more for the workspace until Retry-After has passed (without the
    hold, each of the ~60 tries of the queue in those seconds would be refused)."""
    double.limits.workspace_rate, double.limits.workspace_burst = 4.0, 4
    channels = [f"C9{n:02d}" for n in range(24)]
    await _announce_in(engine, double, channels)
    dispatcher = Dispatcher(OutboxService(engine, FLOWS), sender, poll=0.1, concurrency=2)
    dispatcher.start()
    try:
        await double.wait_until(lambda: all(_posts(double, c) for c in channels), timeout=30)
        await asyncio.sleep(0.3)
    finally:
        await dispatcher.stop()
    assert [len(_posts(double, c)) for c in channels] == [1] * 24
    assert _refused(double) <= 15  # at most the deliveries in flight, about once per second
    assert await _statuses(engine) == ["sent"] * 24


async def test_a_channel_at_its_own_limit_does_not_hold_up_other_channels(
    engine: AsyncEngine, sender: SlackOutbox, double: SlackDouble, caplog: pytest.LogCaptureFixture
) -> None:
    """Six posts for one channel (burst of 4, then 1 a second) and three for another: the 429s are
    read as that channel's limit (the workspace is never held), and the other channel's posts go out
    ahead of the first channel's fifth."""
    caplog.set_level(logging.INFO, logger="bot.runtime.dispatcher")
    busy, quiet = ["C901"] * 6, ["C902"] * 3
    double.add_channel("C901", "busy")
    for n in range(6):  # six results in one channel
        await _complete(engine, f"U{n:03d}", channel="C901")
    await _announce_in(engine, double, quiet[:1])
    for n in range(2):
        await _complete(engine, f"U1{n:02d}", channel="C902")
    dispatcher = Dispatcher(OutboxService(engine, FLOWS), sender, poll=0.1, concurrency=4)
    dispatcher.start()
    try:
        await double.wait_until(lambda: len(_posts(double, "C901")) == len(busy), timeout=30)
        await double.wait_until(lambda: len(_posts(double, "C902")) == len(quiet), timeout=30)
    finally:
        await dispatcher.stop()
    fifth = float(_posts(double, "C901")[4]["ts"])
    assert max(float(m["ts"]) for m in _posts(double, "C902")) < fifth
    assert _refused(double) >= 1  # the busy channel did meet its limit
    assert not [r for r in caplog.records if r.getMessage() == "workspace_held"]


class SilentSlack:
    """A sender whose Slack never answers (a hung connection), to catch a delivery in flight."""

    async def send(self, message: QueuedMessage) -> DeliveryOutcome:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def notify_undelivered(self, message: QueuedMessage, error: str) -> None:
        raise AssertionError("nothing fails here")


async def test_stop_hands_back_a_post_still_in_flight(engine: AsyncEngine) -> None:
    """A post still waiting on Slack when the grace period ends is handed back, due now, not left leased."""
    completed = await _complete(engine, "U001")
    dispatcher = Dispatcher(OutboxService(engine, FLOWS), SilentSlack(), poll=0.05)
    dispatcher.start()
    for _ in range(100):
        row = await _row(engine, completed.outbox_id)
        if row.lease_owner is not None:
            break
        await asyncio.sleep(0.05)
    assert row.lease_owner == dispatcher.owner
    await dispatcher.stop(grace=0.2)
    row = await _row(engine, completed.outbox_id)
    assert (row.status, row.lease_owner, row.lease_expires_at) == ("pending", None, None)


async def _row(engine: AsyncEngine, item_id: int) -> repo.OutboxRow:
    async with engine.connect() as conn:
        row = await repo.get(conn, item_id)
    assert row is not None
    return row


async def test_a_post_that_times_out_is_retried_not_reported_failed(
    engine: AsyncEngine, double: SlackDouble
) -> None:
    """Slack accepting a post after our timeout: the post is tried again (at-least-once), never failed."""
    completed = await _complete(engine, "U001")
    double.script("chat.postMessage", Scripted(slow=1.0))
    # A read timeout shorter than Slack's slow answer; production's is 15 s.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=2, sock_read=0.3)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        once = build_web_client(BOT_TOKEN, double.api_url, http, retries=False)
        sender = SlackOutbox(Messenger(build_web_client(BOT_TOKEN, double.api_url, http), http, once), FLOWS)
        dispatcher = Dispatcher(OutboxService(engine, FLOWS), sender, poll=0.1, click_wait=5.0)
        settled = await dispatcher.deliver_now(completed.outbox_id)
        await dispatcher.stop()
    assert settled.state is DeliveryState.SENT
    assert len(double.api_calls("chat.postMessage")) == 2
    await double.wait_until(lambda: len(_posts(double, "C111")) == 2, timeout=5)  # the slow one landed too


class DatabaseBlinksAfterPosting:
    """Slack takes the post, then the database goes away for a moment before the outcome is recorded."""

    def __init__(self, real: SlackOutbox, engine: AsyncEngine):
        self.real, self.engine = real, engine
        self.back: asyncio.Task[None] | None = None

    async def send(self, message: QueuedMessage) -> DeliveryOutcome:
        outcome = await self.real.send(message)
        async with self.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
        self.back = asyncio.create_task(self._restore())
        return outcome

    async def _restore(self) -> None:
        await asyncio.sleep(1.0)
        async with self.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))

    async def notify_undelivered(self, message: QueuedMessage, error: str) -> None:
        raise AssertionError("nothing fails for good here")


async def test_an_outcome_is_recorded_once_the_database_is_back_not_posted_twice(
    engine: AsyncEngine, sender: SlackOutbox, double: SlackDouble
) -> None:
    """A post Slack took while the database was away is recorded when it returns, not posted again."""
    completed = await _complete(engine, "U001")
    blinking = DatabaseBlinksAfterPosting(sender, engine)
    dispatcher = Dispatcher(OutboxService(engine, FLOWS), blinking, poll=0.1)
    settled = await dispatcher.deliver_now(completed.outbox_id)
    assert blinking.back is not None
    await blinking.back
    assert settled.state is DeliveryState.SENT
    assert len(_posts(double, "C111")) == 1
    row = await _row(engine, completed.outbox_id)
    assert (row.status, row.lease_owner) == ("sent", None)
