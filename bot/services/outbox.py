"""The outbox use cases: queue what must reach Slack with the change that causes it, then deliver it.

A result is queued in the same transaction that stores it (see ``AssessmentService.answer``), so a
crash can delay it but never lose it. A dispatcher (bot/runtime/dispatcher.py) leases due
messages, hands each to an :class:`OutboxSender` (the Slack edge renders and posts it) and settles
it here: sent, due again later (Retry-After, backoff) or failed for good, in which case the person
is told exactly once (``claim_notification``) and can queue it again (``repost``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, assert_never

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.services.checkins import (
    CHECKIN_KIND,
    SCHEDULE_KIND,
    CheckinPost,
    ScheduleAnnouncement,
    announcement_from_payload,
    checkin_from_payload,
)
from bot.services.nudges import NUDGE_KIND, NudgePost, nudge_from_payload
from bot.services.outcomes import (
    AlreadyPosted,
    AssessmentGone,
    Completed,
    NotYours,
    PostStillQueued,
    ShareResult,
    Who,
)
from bot.services.ports import Delivered, DeliveryOutcome, RetryLater, Skipped, Undeliverable
from flows.engine import CategoryResult, Score
from flows.schema import Flow
from models import outbox as repo
from models import results as results_repo
from models import schedules as schedules_repo
from models.tables import OutboxStatus, ScheduleStatus, utcnow

logger = logging.getLogger(__name__)

RESULT = repo.RESULT_KIND
LEASE = timedelta(seconds=60)  # longer than one post can take with its timeouts
MAX_ATTEMPTS = 10  # with the backoff below: about 13 minutes of trying before giving up
MAX_BACKOFF = 300.0
RETRIES_EXHAUSTED = "retries_exhausted"
FLOW_REMOVED = "flow_removed"
# Slack's refusals that mean a channel's check-ins cannot be posted until someone acts.
PAUSING_ERRORS = {"not_in_channel", "is_archived", "channel_not_found", "restricted_action"}


class DeliveryState(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"  # not sent on purpose (see Skipped)
    PENDING = "pending"  # queued, or due again later
    FAILED = "failed"


@dataclass(frozen=True)
class Settled:
    """Where a queued message stands after a delivery attempt (or a look at it)."""

    item_id: int
    state: DeliveryState
    error: str | None = None
    available_at: datetime | None = None  # when it is due again, while pending


CHART_KIND = repo.CHART_KIND
DETAILS_KIND = repo.DETAILS_KIND


@dataclass(frozen=True)
class ResultDetails:
    """The rest of a shared result, for the thread under its compact channel post."""

    completed: Completed
    thread_ts: str


@dataclass(frozen=True)
class ResultChart:
    """A posted result's per-category chart, to go in the thread under its channel message."""

    completed: Completed
    thread_ts: str


MessageContent = Completed | ScheduleAnnouncement | CheckinPost | NudgePost
Content = MessageContent | ResultChart | ResultDetails
"""What a queued message says, as domain data (the Slack edge renders it)."""


@dataclass(frozen=True)
class QueuedMessage:
    """A leased message: what to post, where, and how often it was tried."""

    item_id: int
    kind: str
    team_id: str
    channel_id: str
    user_id: str | None
    attempts: int
    content: Content | None  # None when it can no longer be rendered (its model was removed)
    error: str | None = None

    @property
    def completed(self) -> Completed | None:
        return self.content if isinstance(self.content, Completed) else None


def backoff(attempts: int) -> float:
    """Seconds before the next try: 1 s after the first, doubling, capped, with jitter so instances
    spread out (a blip is retried at once; an outage is not hammered)."""
    return min(MAX_BACKOFF, 2.0 ** (attempts - 1)) * random.uniform(0.8, 1.2)


def result_payload(completed: Completed) -> dict[str, Any]:
    """The domain data of a result to post (no Slack markup: the edge renders it on delivery)."""
    return {
        "flow_id": completed.flow.id,
        "assessment_id": completed.assessment_id,
        "result_id": completed.result_id,
        "user_id": completed.user_id,
        "channel_id": completed.channel_id,
        "score": asdict(completed.score),
        "steps": list(completed.steps),
    }


def completed_from_payload(payload: dict[str, Any], flows: dict[str, Flow], item_id: int) -> Completed | None:
    flow = flows.get(str(payload.get("flow_id")))
    if flow is None:
        return None
    score = payload["score"]
    categories = tuple(
        CategoryResult(
            c["category_id"],
            int(c["level"]),
            float(c["score"]),
            tuple(c["missed"]),
            c.get("next_level"),  # payloads queued before these fields existed lack them
            tuple(c.get("find_out", ())),
        )
        for c in score["categories"]
    )
    return Completed(
        flow,
        int(payload["assessment_id"]),
        int(payload["result_id"]),
        str(payload["user_id"]),
        str(payload["channel_id"]),
        Score(int(score["level"]), float(score["score"]), categories),
        [str(step) for step in payload["steps"]],
        outbox_id=item_id,
    )


async def queue_result(conn: AsyncConnection, team_id: str, completed: Completed, *, delay: float) -> int:
    """Queue the channel post of a result in the caller's transaction; returns the outbox id.

    ``delay`` keeps dispatchers off it while the click that completed the assessment delivers it
    itself (and so can tell the person how it went); if that click's process dies, a dispatcher
    takes it once the delay is over.
    """
    return await repo.enqueue(
        conn,
        kind=RESULT,
        dedupe_key=f"{RESULT}:{completed.result_id}",
        team_id=team_id,
        channel_id=completed.channel_id,
        user_id=completed.user_id,
        ref_id=completed.result_id,
        payload=result_payload(completed),
        available_at=utcnow() + timedelta(seconds=delay),
    )


class OutboxService:
    def __init__(self, db: AsyncEngine, flows: dict[str, Flow]):
        self.db = db
        self.flows = flows

    def _queued(self, row: repo.OutboxRow) -> QueuedMessage:
        content: Content | None = None
        if row.kind == RESULT:
            content = completed_from_payload(row.payload, self.flows, row.id)
        elif row.kind == SCHEDULE_KIND:
            content = announcement_from_payload(row.payload)
        elif row.kind == CHECKIN_KIND:
            content = checkin_from_payload(row.payload)
        elif row.kind == NUDGE_KIND:
            content = nudge_from_payload(row.payload)
        elif row.kind == CHART_KIND:
            charted = completed_from_payload(row.payload["result"], self.flows, row.ref_id or 0)
            content = ResultChart(charted, str(row.payload["thread_ts"])) if charted else None
        elif row.kind == DETAILS_KIND:
            detailed = completed_from_payload(row.payload["result"], self.flows, row.ref_id or 0)
            content = ResultDetails(detailed, str(row.payload["thread_ts"])) if detailed else None
        return QueuedMessage(
            row.id,
            row.kind,
            row.slack_team_id,
            row.slack_channel_id,
            row.slack_user_id,
            row.attempts,
            content,
            row.error,
        )

    async def claim_due(
        self, owner: str, limit: int, *, exclude_teams: tuple[str, ...] = ()
    ) -> list[QueuedMessage]:
        """Lease up to ``limit`` due messages for ``owner`` (none for the workspaces excluded)."""
        now = utcnow()
        async with self.db.begin() as conn:
            rows = await repo.claim_due(conn, owner, now, now + LEASE, limit, exclude_teams)
        return [self._queued(row) for row in rows]

    async def claim(self, item_id: int, owner: str) -> QueuedMessage | None:
        """Lease one pending message now, due or not; None when it is leased elsewhere or settled."""
        now = utcnow()
        async with self.db.begin() as conn:
            row = await repo.claim(conn, item_id, owner, now, now + LEASE)
        return self._queued(row) if row else None

    async def settle(self, message: QueuedMessage, owner: str, outcome: DeliveryOutcome) -> Settled:
        """Record what became of a delivery attempt; a result's row learns its ts or its error too."""
        item = message.item_id
        async with self.db.begin() as conn:
            match outcome:
                case Delivered(ts=ts):
                    await repo.mark_sent(conn, item, owner, ts)
                    settled = Settled(item, DeliveryState.SENT)
                    await self._record(conn, message, ts, None)
                case RetryLater(error=error, after=after, rate_limited=True):
                    due = utcnow() + timedelta(seconds=after if after is not None else 1.0)
                    await repo.reschedule(conn, item, owner, due, error[:100], refund=True)
                    settled = Settled(item, DeliveryState.PENDING, error, due)
                case RetryLater(error=error, after=after) if message.attempts < MAX_ATTEMPTS:
                    due = utcnow() + timedelta(
                        seconds=after if after is not None else backoff(message.attempts)
                    )
                    await repo.reschedule(conn, item, owner, due, error[:100])
                    settled = Settled(item, DeliveryState.PENDING, error, due)
                case RetryLater(error=error):
                    final = f"{RETRIES_EXHAUSTED}:{error}"[:100]
                    await repo.mark_failed(conn, item, owner, final)
                    settled = Settled(item, DeliveryState.FAILED, final)
                    await self._record(conn, message, None, final)
                case Undeliverable(error=error):
                    await repo.mark_failed(conn, item, owner, error)
                    settled = Settled(item, DeliveryState.FAILED, error[:100])
                    await self._record(conn, message, None, error[:100])
                case Skipped(reason=reason):
                    await repo.mark_sent(conn, item, owner, None, OutboxStatus.SKIPPED)
                    settled = Settled(item, DeliveryState.SKIPPED, reason[:100])
                case _:
                    assert_never(outcome)
        level = logging.WARNING if settled.state is DeliveryState.FAILED else logging.INFO
        logger.log(
            level,
            f"outbox_{settled.state.value}",
            extra={"item": item, "attempt": message.attempts, "error": settled.error},
        )
        return settled

    @staticmethod
    async def _record(
        conn: AsyncConnection, message: QueuedMessage, ts: str | None, error: str | None
    ) -> None:
        """What else learns of a final outcome: a result its post, a schedule that it cannot post."""
        completed = message.completed
        if completed is not None:
            await results_repo.record_post(conn, completed.result_id, ts, error)
            # The compact post is followed in its thread by the rest of the result, then the chart.
            follow = [DETAILS_KIND] + ([CHART_KIND] if len(completed.flow.categories) > 1 else [])
            for kind in follow if ts is not None else []:
                await repo.enqueue(
                    conn,
                    kind=kind,
                    dedupe_key=f"{kind}:{completed.result_id}",
                    team_id=message.team_id,
                    channel_id=message.channel_id,
                    user_id=message.user_id,
                    ref_id=completed.result_id,
                    payload={"result": result_payload(completed), "thread_ts": ts},
                )
        if isinstance(message.content, CheckinPost) and error in PAUSING_ERRORS:
            schedule_id = message.content.schedule.schedule_id
            await schedules_repo.set_status(conn, schedule_id, ScheduleStatus.PAUSED, error)
            logger.warning("schedule_paused", extra={"schedule_id": schedule_id, "reason": error})

    async def hand_back(self, message: QueuedMessage, owner: str) -> None:
        """Return a leased message to the queue, due now (shutdown with a delivery in flight)."""
        async with self.db.begin() as conn:
            await repo.reschedule(conn, message.item_id, owner, utcnow(), message.error)
        logger.info("outbox_handed_back", extra={"item": message.item_id})

    async def state(self, item_id: int) -> Settled:
        async with self.db.connect() as conn:
            row = await repo.get(conn, item_id)
        if row is None:
            return Settled(item_id, DeliveryState.FAILED, "missing")
        return Settled(item_id, DeliveryState(row.status), row.error, row.available_at)

    async def states(self, item_ids: list[int]) -> list[Settled]:
        """Where each of ``item_ids`` stands (missing ones left out)."""
        found: list[Settled] = []
        async with self.db.connect() as conn:
            for start in range(0, len(item_ids), 500):
                for row in await repo.get_many(conn, item_ids[start : start + 500]):
                    found.append(Settled(row.id, DeliveryState(row.status), row.error, row.available_at))
        return found

    async def next_due(self, *, exclude_teams: tuple[str, ...] = ()) -> datetime | None:
        async with self.db.connect() as conn:
            return await repo.next_due(conn, exclude_teams)

    async def claim_notification(self, item_id: int) -> bool:
        """True for exactly one caller per final failure: the one that tells the person."""
        async with self.db.begin() as conn:
            return await repo.claim_notification(conn, item_id)

    async def repost(
        self, who: Who, item_id: int
    ) -> ShareResult | AssessmentGone | NotYours | AlreadyPosted | PostStillQueued:
        """ "Post again": queue a failed result once more, for the person it belongs to."""
        async with self.db.begin() as conn:
            row = await repo.get(conn, item_id)
            if row is None or row.slack_team_id != who.team_id or row.kind != RESULT:
                return AssessmentGone()
            if row.slack_user_id != who.user_id:
                return NotYours(row.slack_user_id)
            if row.status == OutboxStatus.SENT:
                return AlreadyPosted()
            if not await repo.requeue(conn, item_id):
                return PostStillQueued()
        completed = completed_from_payload(row.payload, self.flows, row.id)
        if completed is None:
            return AssessmentGone()
        logger.info("outbox_requeued", extra={"item": item_id})
        return ShareResult(completed)
