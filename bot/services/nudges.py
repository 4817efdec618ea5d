"""Nudges: one private reminder per check-in to someone whose assessment here has stalled.

Queued with the check-in (same transaction, one per person and check-in). Whether the person is
away is asked at delivery (their Slack status then), so a nudge to someone on holiday is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.services.outcomes import Who
from models import outbox as outbox_repo
from models import repository as repo

logger = logging.getLogger(__name__)

NUDGE_KIND = outbox_repo.NUDGE_KIND
STALLED_AFTER = timedelta(days=3)


@dataclass(frozen=True)
class NudgePost:
    """A private reminder to resume an assessment left in progress."""

    assessment_id: int
    flow_id: str
    user_id: str
    channel_id: str
    untouched_since: datetime


@dataclass(frozen=True)
class NudgesSet:
    on: bool


def nudge_payload(nudge: NudgePost) -> dict[str, Any]:
    return {
        "assessment_id": nudge.assessment_id,
        "flow_id": nudge.flow_id,
        "user_id": nudge.user_id,
        "channel_id": nudge.channel_id,
        "untouched_since": nudge.untouched_since.isoformat(),
    }


def nudge_from_payload(data: dict[str, Any]) -> NudgePost:
    return NudgePost(
        int(data["assessment_id"]),
        str(data["flow_id"]),
        str(data["user_id"]),
        str(data["channel_id"]),
        datetime.fromisoformat(data["untouched_since"]),
    )


async def queue_nudges(
    conn: AsyncConnection,
    under_way: list[repo.InProgress],
    *,
    run_id: int,
    team_id: str,
    slack_channel_id: str,
    now: datetime,
) -> int:
    """Queue this check-in's nudges for the channel's assessments ``under_way`` (in the caller's
    transaction); returns how many."""
    queued = 0
    for stalled in under_way:
        if not stalled.nudges_on or now - stalled.updated_at <= STALLED_AFTER:
            continue
        nudge = NudgePost(
            stalled.assessment_id,
            stalled.flow_id,
            stalled.slack_user_id,
            slack_channel_id,
            stalled.updated_at,
        )
        await outbox_repo.enqueue(
            conn,
            kind=NUDGE_KIND,
            dedupe_key=f"{NUDGE_KIND}:{run_id}:{stalled.assessment_id}",
            team_id=team_id,
            channel_id=slack_channel_id,
            user_id=stalled.slack_user_id,
            ref_id=stalled.assessment_id,
            payload=nudge_payload(nudge),
        )
        queued += 1
    return queued


class NudgeService:
    def __init__(self, db: AsyncEngine):
        self.db = db

    async def set(self, who: Who, on: bool) -> NudgesSet:
        """`/maturity nudges on|off`, for this person in this workspace."""
        async with self.db.begin() as conn:
            actor = await repo.ensure_actor(
                conn, who.team_id, who.channel_id, who.user_id, who.channel_name, who.user_name
            )
            await repo.set_nudges(conn, actor.person_id, on)
        logger.info("nudges_set", extra={"user": who.user_id, "on": on})
        return NudgesSet(on)
