"""The outbox service on real databases: results are queued with their completion and settled once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.services.assessments import AssessmentService
from bot.services.outbox import (
    MAX_ATTEMPTS,
    RETRIES_EXHAUSTED,
    DeliveryState,
    OutboxService,
    QueuedMessage,
    completed_from_payload,
    result_payload,
)
from bot.services.outcomes import (
    AlreadyPosted,
    Completed,
    NotYours,
    PostStillQueued,
    QuestionShown,
    ShareResult,
    Who,
)
from bot.services.ports import Delivered, RetryLater, Undeliverable
from flows.loader import load_flows
from models.tables import OutboxMessage, Result, utcnow

FLOWS = load_flows()
ANA = Who("T1", "C1", "U1", "general", "ana")
BOB = Who("T1", "C1", "U2", "general", "bob")


async def _complete(engine: AsyncEngine, flow_id: str = "google") -> Completed:
    service = AssessmentService(engine, FLOWS)
    outcome: object = await service.start(ANA, flow_id)
    while isinstance(outcome, QuestionShown):
        q = outcome.question
        outcome = await service.answer(ANA, outcome.assessment_id, outcome.revision, q.id, q.best_option.id)
    assert isinstance(outcome, Completed)
    assert outcome.outbox_id == 0  # nothing is queued for the channel until the person shares
    shared = await service.share(ANA, outcome.result_id)
    assert isinstance(shared, ShareResult)
    return shared.completed


async def _result_row(engine: AsyncEngine, result_id: int) -> Result:
    async with AsyncSession(engine) as session:
        found = await session.get(Result, result_id)
        assert found is not None
        return found


async def test_share_queues_the_post_once_however_often_it_is_pressed(engine: AsyncEngine) -> None:
    """Share stores one outbox message for the result's channel, held back for the click; pressing
    it again (or a repeated delivery) queues nothing more; someone else cannot share it."""
    completed = await _complete(engine)
    service = AssessmentService(engine, FLOWS)
    again = await service.share(ANA, completed.result_id)
    assert isinstance(again, ShareResult)
    assert again.completed.outbox_id == completed.outbox_id
    assert isinstance(await service.share(BOB, completed.result_id), NotYours)
    async with AsyncSession(engine) as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    (row,) = rows
    assert row.id == completed.outbox_id
    assert (row.kind, row.slack_channel_id, row.slack_user_id, row.ref_id) == (
        "result",
        "C1",
        "U1",
        completed.result_id,
    )
    assert row.status == "pending"
    outbox = OutboxService(engine, FLOWS)
    assert await outbox.claim_due("loop", 10) == []  # left to the click for a while


@pytest.mark.parametrize("flow_id", ["google", "azure", "gigaom"])
async def test_the_payload_rebuilds_the_result_exactly(engine: AsyncEngine, flow_id: str) -> None:
    """What is queued is domain data from which the same result (levels, categories, steps) is rebuilt."""
    completed = await _complete(engine, flow_id)
    rebuilt = completed_from_payload(result_payload(completed), FLOWS, completed.outbox_id)
    assert rebuilt == completed


async def _claimed(outbox: OutboxService, completed: Completed) -> QueuedMessage:
    message = await outbox.claim(completed.outbox_id, "me")
    assert message is not None
    assert message.completed == completed
    return message


async def test_a_delivered_post_is_recorded_on_the_result(engine: AsyncEngine) -> None:
    """Delivered: the message is sent and the result row learns the channel message's ts."""
    completed = await _complete(engine)
    outbox = OutboxService(engine, FLOWS)
    settled = await outbox.settle(await _claimed(outbox, completed), "me", Delivered("1700.1"))
    assert settled.state is DeliveryState.SENT
    result = await _result_row(engine, completed.result_id)
    assert (result.posted_ts, result.post_error) == ("1700.1", None)
    assert await outbox.claim(completed.outbox_id, "me") is None


async def test_retry_later_honours_retry_after_then_gives_up(engine: AsyncEngine) -> None:
    """A rate limit is due again after Retry-After; after MAX_ATTEMPTS tries the post fails for good."""
    completed = await _complete(engine)
    outbox = OutboxService(engine, FLOWS)
    before = utcnow()
    settled = await outbox.settle(await _claimed(outbox, completed), "me", RetryLater("ratelimited", 7))
    assert settled.state is DeliveryState.PENDING
    assert settled.available_at is not None
    assert timedelta(seconds=6) < settled.available_at - before < timedelta(seconds=9)
    for _ in range(MAX_ATTEMPTS - 1):
        settled = await outbox.settle(await _claimed(outbox, completed), "me", RetryLater("internal_error"))
    assert settled.state is DeliveryState.FAILED
    assert settled.error == f"{RETRIES_EXHAUSTED}:internal_error"
    assert (await _result_row(engine, completed.result_id)).post_error == settled.error


async def test_a_slack_rate_limit_is_waited_out_however_often_it_comes(engine: AsyncEngine) -> None:
    """429s are "not now": twice MAX_ATTEMPTS of them leave the post queued with no attempt spent."""
    completed = await _complete(engine)
    outbox = OutboxService(engine, FLOWS)
    for _ in range(2 * MAX_ATTEMPTS):
        limited = RetryLater("ratelimited", 1, rate_limited=True)
        settled = await outbox.settle(await _claimed(outbox, completed), "me", limited)
        assert settled.state is DeliveryState.PENDING
    message = await _claimed(outbox, completed)
    assert message.attempts == 1  # this claim's own
    settled = await outbox.settle(message, "me", Delivered("1700.2"))
    assert settled.state is DeliveryState.SENT


async def test_an_undeliverable_post_is_told_once_and_can_be_posted_again(engine: AsyncEngine) -> None:
    """not_in_channel fails at once; one notification claim wins; only its owner may queue it again."""
    completed = await _complete(engine)
    outbox = OutboxService(engine, FLOWS)
    settled = await outbox.settle(await _claimed(outbox, completed), "me", Undeliverable("not_in_channel"))
    assert (settled.state, settled.error) == (DeliveryState.FAILED, "not_in_channel")
    assert [await outbox.claim_notification(completed.outbox_id) for _ in range(3)] == [True, False, False]
    assert await outbox.repost(BOB, completed.outbox_id) == NotYours("U1")
    again = await outbox.repost(ANA, completed.outbox_id)
    assert again == ShareResult(completed)
    assert await outbox.repost(ANA, completed.outbox_id) == PostStillQueued()
    await outbox.settle(await _claimed(outbox, completed), "me", Delivered("1700.2"))
    assert await outbox.repost(ANA, completed.outbox_id) == AlreadyPosted()
    async with AsyncSession(engine) as session:
        kinds = (await session.execute(select(OutboxMessage.kind).order_by(OutboxMessage.id))).scalars()
        assert list(kinds) == ["result", "result_details"]  # posted once; its details follow in the thread
