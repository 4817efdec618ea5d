"""Small functions that read and write the tables. They never commit: services own transactions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from flows.engine import Score
from models.tables import (
    Answer,
    Assessment,
    Channel,
    Person,
    Result,
    ResultCategory,
    Status,
    Workspace,
    utcnow,
)


def _insert(session: AsyncSession, table: Any) -> Any:
    """A dialect-specific INSERT that supports ON CONFLICT (SQLite and PostgreSQL both do)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True)
class Actor:
    """Database ids for the Slack team, channel and person behind a request."""

    workspace_id: int
    channel_id: int
    person_id: int


async def _get_or_create(
    session: AsyncSession, model: Any, keys: dict[str, Any], extra: dict[str, Any]
) -> int:
    criteria = [getattr(model, k) == v for k, v in keys.items()]
    found = await session.scalar(select(model.id).where(*criteria))
    if found is not None:
        return int(found)
    stmt = _insert(session, model).values(**keys, **extra).on_conflict_do_nothing()
    await session.execute(stmt)
    # Another instance may have inserted the row between our select and insert; read it back.
    created = await session.scalar(select(model.id).where(*criteria))
    assert created is not None, "ON CONFLICT DO NOTHING left no row behind"
    return int(created)


async def ensure_actor(
    session: AsyncSession,
    team_id: str,
    channel_id: str,
    user_id: str,
    channel_name: str | None = None,
    user_name: str | None = None,
) -> Actor:
    """Find or create the workspace, channel and person rows for these Slack ids."""
    workspace = await _get_or_create(session, Workspace, {"slack_team_id": team_id}, {"created_at": utcnow()})
    channel = await _get_or_create(
        session,
        Channel,
        {"workspace_id": workspace, "slack_channel_id": channel_id},
        {"name": channel_name, "created_at": utcnow()},
    )
    person = await _get_or_create(
        session,
        Person,
        {"workspace_id": workspace, "slack_user_id": user_id},
        {"name": user_name, "created_at": utcnow()},
    )
    return Actor(workspace, channel, person)


async def in_progress(session: AsyncSession, person_id: int, channel_id: int) -> Assessment | None:
    return await session.scalar(
        select(Assessment).where(
            Assessment.person_id == person_id,
            Assessment.channel_id == channel_id,
            Assessment.status == Status.IN_PROGRESS,
        )
    )


async def create_assessment(
    session: AsyncSession, actor: Actor, flow_id: str, flow_version: str, first_question_id: str
) -> Assessment:
    """Insert a new in-progress assessment; a concurrent one raises IntegrityError at flush."""
    now = utcnow()
    assessment = Assessment(
        person_id=actor.person_id,
        channel_id=actor.channel_id,
        flow_id=flow_id,
        flow_version=flow_version,
        status=Status.IN_PROGRESS,
        current_question_id=first_question_id,
        revision=0,
        started_at=now,
        updated_at=now,
    )
    session.add(assessment)
    await session.flush()
    return assessment


@dataclass(frozen=True)
class AssessmentView:
    """An assessment with the Slack ids of its owner and channel, as services need them."""

    assessment: Assessment
    slack_team_id: str
    slack_user_id: str
    slack_channel_id: str


async def get_assessment(session: AsyncSession, assessment_id: int) -> AssessmentView | None:
    row = (
        await session.execute(
            select(Assessment, Workspace.slack_team_id, Person.slack_user_id, Channel.slack_channel_id)
            .join(Person, Person.id == Assessment.person_id)
            .join(Channel, Channel.id == Assessment.channel_id)
            .join(Workspace, Workspace.id == Channel.workspace_id)
            .where(Assessment.id == assessment_id)
        )
    ).first()
    if row is None:
        return None
    return AssessmentView(row[0], row[1], row[2], row[3])


async def answers_of(session: AsyncSession, assessment_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(Answer.question_id, Answer.option_id).where(Answer.assessment_id == assessment_id)
    )
    return {q: o for q, o in rows.all()}


async def claim_revision(
    session: AsyncSession,
    assessment_id: int,
    expected_revision: int,
    current_question_id: str | None,
    status: Status = Status.IN_PROGRESS,
) -> bool:
    """Move an in-progress assessment on by one accepted click; False if someone got there first.

    This conditional update is the only guard against duplicate and racing clicks, so call it as
    the first statement of the write transaction (on SQLite that takes the write lock up front).
    """
    now = utcnow()
    values: dict[str, Any] = {
        "revision": expected_revision + 1,
        "current_question_id": current_question_id,
        "status": status,
        "updated_at": now,
    }
    if status is Status.COMPLETED:
        values["completed_at"] = now
    result = await session.execute(
        update(Assessment)
        .where(
            Assessment.id == assessment_id,
            Assessment.revision == expected_revision,
            Assessment.status == Status.IN_PROGRESS,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def save_answer(session: AsyncSession, assessment_id: int, question_id: str, option_id: str) -> None:
    """Record (or change) the one answer to a question in an assessment."""
    stmt = _insert(session, Answer).values(
        assessment_id=assessment_id, question_id=question_id, option_id=option_id, answered_at=utcnow()
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[Answer.assessment_id, Answer.question_id],
        set_={"option_id": stmt.excluded.option_id, "answered_at": stmt.excluded.answered_at},
    )
    await session.execute(stmt)


async def add_result(session: AsyncSession, assessment_id: int, score: Score) -> Result:
    result = Result(assessment_id=assessment_id, level=score.level, score=score.score, created_at=utcnow())
    session.add(result)
    await session.flush()
    session.add_all(
        ResultCategory(
            result_id=result.id, category_id=c.category_id, position=i, level=c.level, score=c.score
        )
        for i, c in enumerate(score.categories)
    )
    await session.flush()
    return result


async def record_post(session: AsyncSession, result_id: int, ts: str | None, error: str | None) -> None:
    await session.execute(update(Result).where(Result.id == result_id).values(posted_ts=ts, post_error=error))


@dataclass(frozen=True)
class PastResult:
    assessment_id: int
    flow_id: str
    flow_version: str
    completed_at: Any
    level: int
    score: float
    categories: tuple[tuple[str, int, float], ...]


async def latest_results(
    session: AsyncSession, person_id: int, channel_id: int, limit: int = 3
) -> Sequence[PastResult]:
    """This person's most recent completed results in this channel, newest first."""
    rows = await session.execute(
        select(Assessment, Result)
        .join(Result, Result.assessment_id == Assessment.id)
        .where(Assessment.person_id == person_id, Assessment.channel_id == channel_id)
        .options(selectinload(Result.categories))
        .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
        .limit(limit)
    )
    return [
        PastResult(
            a.id,
            a.flow_id,
            a.flow_version,
            a.completed_at,
            r.level,
            r.score,
            tuple((c.category_id, c.level, c.score) for c in r.categories),
        )
        for a, r in rows.all()
    ]


async def count_assessments(session: AsyncSession, status: Status | None = None) -> int:
    stmt = select(func.count()).select_from(Assessment)
    if status is not None:
        stmt = stmt.where(Assessment.status == status)
    return int(await session.scalar(stmt) or 0)


async def abandon(session: AsyncSession, assessment_id: int) -> bool:
    """Mark an in-progress assessment as replaced by a restart; its answers stay stored."""
    result = await session.execute(
        update(Assessment)
        .where(Assessment.id == assessment_id, Assessment.status == Status.IN_PROGRESS)
        .values(
            status=Status.ABANDONED,
            current_question_id=None,
            updated_at=utcnow(),
            revision=Assessment.revision + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def find_actor(session: AsyncSession, team_id: str, channel_id: str, user_id: str) -> Actor | None:
    """The ids for these Slack ids if all three rows exist; reads only."""
    row = (
        await session.execute(
            select(Workspace.id, Channel.id, Person.id)
            .join(Channel, Channel.workspace_id == Workspace.id)
            .join(Person, Person.workspace_id == Workspace.id)
            .where(
                Workspace.slack_team_id == team_id,
                Channel.slack_channel_id == channel_id,
                Person.slack_user_id == user_id,
            )
        )
    ).first()
    return Actor(row[0], row[1], row[2]) if row else None
