"""What one person's Home tab reads: their results, what they have under way, their channels, and
who has a Home tab worth refreshing. Never commits: services own transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.sql.elements import ColumnElement

from models.repository import Db, assessments, channels, people, results, workspaces
from models.tables import Status, as_utc, utcnow


@dataclass(frozen=True)
class PersonResult:
    flow_id: str
    level: int
    score: float
    completed_at: datetime
    channel_id: int
    slack_channel_id: str


@dataclass(frozen=True)
class Underway:
    assessment_id: int
    flow_id: str
    slack_channel_id: str
    answered: int  # accepted clicks so far (the revision)
    updated_at: datetime


def _mine(team_id: str, user_id: str) -> ColumnElement[bool]:
    return and_(workspaces.c.slack_team_id == team_id, people.c.slack_user_id == user_id)


_BASE = (
    select()
    .select_from(assessments)
    .join(people, people.c.id == assessments.c.person_id)
    .join(channels, channels.c.id == assessments.c.channel_id)
    .join(workspaces, workspaces.c.id == people.c.workspace_id)
)


async def results_of(db: Db, team_id: str, user_id: str) -> list[PersonResult]:
    """Every completed result of the person in the workspace, newest first."""
    rows = await db.execute(
        _BASE.add_columns(
            assessments.c.flow_id,
            results.c.level,
            results.c.score,
            assessments.c.completed_at,
            channels.c.id,
            channels.c.slack_channel_id,
        )
        .join(results, results.c.assessment_id == assessments.c.id)
        .where(_mine(team_id, user_id), assessments.c.status == Status.COMPLETED)
        .order_by(assessments.c.completed_at.desc(), assessments.c.id.desc())
    )
    return [
        PersonResult(str(flow), int(level), float(score), as_utc(at), int(channel), str(slack_channel))
        for flow, level, score, at, channel, slack_channel in rows.all()
    ]


async def underway_of(db: Db, team_id: str, user_id: str) -> list[Underway]:
    """The person's assessments in progress in every channel, the most recently touched first."""
    rows = await db.execute(
        _BASE.add_columns(
            assessments.c.id,
            assessments.c.flow_id,
            channels.c.slack_channel_id,
            assessments.c.revision,
            assessments.c.updated_at,
        )
        .where(_mine(team_id, user_id), assessments.c.status == Status.IN_PROGRESS)
        .order_by(assessments.c.updated_at.desc())
    )
    return [
        Underway(int(assessment), str(flow), str(channel), int(revision), as_utc(moved))
        for assessment, flow, channel, revision, moved in rows.all()
    ]


async def mark_seen(db: Db, team_id: str, user_id: str) -> None:
    """Remember that the person looks at their Home tab (only people who do get it refreshed)."""
    person = (
        select(people.c.id)
        .join(workspaces, workspaces.c.id == people.c.workspace_id)
        .where(_mine(team_id, user_id))
        .scalar_subquery()
    )
    await db.execute(update(people).where(people.c.id == person).values(home_seen_at=utcnow()))


async def watchers(db: Db, channel_id: int, since: datetime, limit: int) -> list[str]:
    """Slack ids of the people with a result in a channel who opened their Home tab since ``since``."""
    rows = await db.execute(
        select(people.c.slack_user_id)
        .join(assessments, assessments.c.person_id == people.c.id)
        .where(
            assessments.c.channel_id == channel_id,
            assessments.c.status == Status.COMPLETED,
            people.c.home_seen_at >= since,
        )
        .group_by(people.c.slack_user_id)
        .limit(limit)
    )
    return [str(user) for (user,) in rows.all()]
