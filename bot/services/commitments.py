"""Commitments: a team takes on up to three next steps of a result and reports on them at check-ins."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.outcomes import Who
from flows import engine
from flows.schema import Flow
from models import commitments as repo
from models import repository as assessments_repo
from models import results as results_repo

logger = logging.getLogger(__name__)

MAX_PER_RESULT = 3
ACTIONS = ("done", "still", "drop")


@dataclass(frozen=True)
class Committed:
    step: str
    taken: int  # commitments from this result so far, this one included


@dataclass(frozen=True)
class AlreadyCommitted:
    step: str


@dataclass(frozen=True)
class CommitmentLimitReached:
    limit: int


@dataclass(frozen=True)
class StepUnknown:
    """The result or its step is not there (or belongs to another channel or workspace)."""


@dataclass(frozen=True)
class CommitmentUpdated:
    step: str
    action: str  # done | still | drop


@dataclass(frozen=True)
class CommitmentAlreadyClosed:
    step: str
    status: str  # done | dropped


CommitmentReply = (
    Committed
    | AlreadyCommitted
    | CommitmentLimitReached
    | StepUnknown
    | CommitmentUpdated
    | CommitmentAlreadyClosed
)


class CommitmentService:
    def __init__(self, db: AsyncEngine, flows: dict[str, Flow]):
        self.db = db
        self.flows = flows

    async def commit(self, who: Who, result_id: int, step_index: int) -> CommitmentReply:
        """Take on step ``step_index`` of a result posted in this channel (anyone here may)."""
        async with self.db.begin() as conn:
            assessment_id = await results_repo.assessment_of(conn, result_id)
            view = await assessments_repo.get_assessment(conn, assessment_id) if assessment_id else None
            if view is None or (view.slack_team_id, view.slack_channel_id) != (who.team_id, who.channel_id):
                return StepUnknown()
            flow = self.flows.get(view.assessment.flow_id)
            if flow is None:
                return StepUnknown()
            # The steps the result showed, worked out again from its stored answers.
            steps = engine.tailored_next_steps(
                flow, engine.score_assessment(flow, view.answers), view.answers
            )
            if not 0 <= step_index < len(steps):
                return StepUnknown()
            taken = await repo.count_for_result(conn, result_id)
            if taken >= MAX_PER_RESULT:
                return CommitmentLimitReached(MAX_PER_RESULT)
            actor = await assessments_repo.ensure_actor(
                conn, who.team_id, who.channel_id, who.user_id, who.channel_name, who.user_name
            )
            added = await repo.add(
                conn,
                channel_id=actor.channel_id,
                result_id=result_id,
                step_index=step_index,
                step=steps[step_index],
                person_id=actor.person_id,
            )
        if added is None:
            return AlreadyCommitted(steps[step_index])
        logger.info("commitment_added", extra={"commitment_id": added, "result_id": result_id})
        return Committed(steps[step_index], taken + 1)

    async def update(self, who: Who, commitment_id: int, action: str) -> CommitmentReply:
        """Done, still on it, or drop: recorded with who said it; the first done or drop closes it."""
        if action not in ACTIONS:
            return StepUnknown()
        async with self.db.begin() as conn:
            found = await repo.get(conn, commitment_id)
            if found is None or found.slack_team_id != who.team_id:
                return StepUnknown()
            if found.status != "open":
                return CommitmentAlreadyClosed(found.step, found.status)
            actor = await assessments_repo.ensure_actor(
                conn, who.team_id, who.channel_id, who.user_id, who.channel_name, who.user_name
            )
            status = await repo.record_update(conn, commitment_id, actor.person_id, action)
        if status is None:
            return CommitmentAlreadyClosed(found.step, found.status)
        logger.info("commitment_updated", extra={"commitment_id": commitment_id, "action": action})
        return CommitmentUpdated(found.step, action)
