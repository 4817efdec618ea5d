"""Reading completed results for export, and deleting one person's data. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, or_, select, update

from models import teams as teams_repo
from models.commitments import commitments, updates
from models.outbox import CHART_KIND, DETAILS_KIND, NUDGE_KIND, RESULT_KIND, outbox
from models.repository import (
    Db,
    answers,
    assessments,
    channels,
    people,
    result_categories,
    results,
    workspaces,
)
from models.results import categories_of
from models.tables import Status, as_utc


@dataclass(frozen=True)
class ExportRow:
    """One completed assessment, as exported."""

    assessment_id: int
    slack_user_id: str
    person_name: str | None
    slack_channel_id: str
    flow_id: str
    flow_version: str
    level: int
    score: float
    started_at: datetime
    completed_at: datetime
    categories: tuple[tuple[str, int, float], ...]  # (category id, level, score), in the flow's order


async def completed(
    db: Db,
    team_id: str,
    channel_id: str | None = None,
    since: datetime | None = None,
    visible_to: str | None = None,
) -> list[ExportRow]:
    """The workspace's completed results (one channel's, or those completed since ``since``), oldest first.

    With ``visible_to`` (a Slack user id), only results their owners shared in the channel, and
    that person's own: a result kept private is nobody else's to export.
    """
    query = (
        select(
            assessments.c.id,
            people.c.slack_user_id,
            people.c.name,
            channels.c.slack_channel_id,
            assessments.c.flow_id,
            assessments.c.flow_version,
            results.c.id,
            results.c.level,
            results.c.score,
            assessments.c.started_at,
            assessments.c.completed_at,
        )
        .join(results, results.c.assessment_id == assessments.c.id)
        .join(people, people.c.id == assessments.c.person_id)
        .join(channels, channels.c.id == assessments.c.channel_id)
        .join(workspaces, workspaces.c.id == channels.c.workspace_id)
        .where(workspaces.c.slack_team_id == team_id, assessments.c.status == Status.COMPLETED)
        .order_by(assessments.c.completed_at, assessments.c.id)
    )
    if channel_id is not None:
        query = query.where(channels.c.slack_channel_id == channel_id)
    if since is not None:
        query = query.where(assessments.c.completed_at >= since)
    if visible_to is not None:
        shared = exists().where(outbox.c.kind == RESULT_KIND, outbox.c.ref_id == results.c.id)
        query = query.where(or_(people.c.slack_user_id == visible_to, shared))
    rows = (await db.execute(query)).all()
    by_result = await categories_of(db, [row[6] for row in rows])
    return [
        ExportRow(
            int(row[0]),
            str(row[1]),
            row[2],
            str(row[3]),
            str(row[4]),
            str(row[5]),
            int(row[7]),
            float(row[8]),
            as_utc(row[9]),
            as_utc(row[10]),
            tuple(by_result[row[6]]),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Forgotten:
    """What deleting a person's data removed."""

    assessments: int = 0
    results: int = 0
    answers: int = 0
    commitments: int = 0
    commitment_updates: int = 0
    posts: tuple[tuple[str, str], ...] = ()  # (Slack channel, ts) of their results' channel messages


async def forget(db: Db, team_id: str, user_id: str) -> Forgotten:
    """Delete the person's assessments (answers and results with them), the commitments they made
    and their updates on commitments, in this workspace; the teams they were in are recomputed
    without them. Their name is cleared; the person row stays (a check-in schedule they set is the
    channel's, and stays too)."""
    person = await db.scalar(
        select(people.c.id)
        .join(workspaces, workspaces.c.id == people.c.workspace_id)
        .where(workspaces.c.slack_team_id == team_id, people.c.slack_user_id == user_id)
    )
    if person is None:
        return Forgotten()
    theirs = select(assessments.c.id).where(assessments.c.person_id == person)
    their_results = select(results.c.id).where(results.c.assessment_id.in_(theirs))
    affected = (
        await db.execute(
            select(assessments.c.channel_id, assessments.c.flow_id)
            .where(assessments.c.person_id == person, assessments.c.status == Status.COMPLETED)
            .distinct()
        )
    ).all()
    posted = (
        await db.execute(
            select(channels.c.slack_channel_id, results.c.posted_ts)
            .join(assessments, assessments.c.id == results.c.assessment_id)
            .join(channels, channels.c.id == assessments.c.channel_id)
            .where(assessments.c.person_id == person, results.c.posted_ts.is_not(None))
        )
    ).all()
    # The details replies in those posts' threads (Slack keeps a reply when its parent goes).
    replies = (
        await db.execute(
            select(outbox.c.slack_channel_id, outbox.c.sent_ts).where(
                outbox.c.kind == DETAILS_KIND,
                outbox.c.slack_team_id == team_id,
                outbox.c.slack_user_id == user_id,
                outbox.c.sent_ts.is_not(None),
            )
        )
    ).all()

    async def count(query: Select[Any]) -> int:
        return int(await db.scalar(query) or 0)

    counts = Forgotten(
        assessments=await count(
            select(func.count()).select_from(assessments).where(assessments.c.person_id == person)
        ),
        results=await count(select(func.count()).where(results.c.id.in_(their_results))),
        answers=await count(select(func.count()).where(answers.c.assessment_id.in_(theirs))),
        commitments=await count(
            select(func.count())
            .select_from(commitments)
            .where(
                (commitments.c.created_by_person_id == person) | commitments.c.result_id.in_(their_results)
            )
        ),
        commitment_updates=await count(
            select(func.count()).select_from(updates).where(updates.c.person_id == person)
        ),
        posts=tuple((str(channel), str(ts)) for channel, ts in [*replies, *posted]),
    )
    # Their results' posts and charts still queued (never posted after all), and their nudges.
    await db.execute(
        delete(outbox).where(
            outbox.c.kind.in_([RESULT_KIND, CHART_KIND, DETAILS_KIND, NUDGE_KIND]),
            outbox.c.slack_team_id == team_id,
            outbox.c.slack_user_id == user_id,
        )
    )
    await db.execute(delete(updates).where(updates.c.person_id == person))
    await db.execute(
        delete(commitments).where(
            (commitments.c.created_by_person_id == person) | commitments.c.result_id.in_(their_results)
        )
    )
    # Answers, results and their categories go with the assessments (ON DELETE CASCADE); SQLite
    # only cascades with foreign keys on, which the engine sets, but say it outright anyway.
    await db.execute(delete(answers).where(answers.c.assessment_id.in_(theirs)))
    await db.execute(delete(result_categories).where(result_categories.c.result_id.in_(their_results)))
    await db.execute(delete(results).where(results.c.id.in_(their_results)))
    await db.execute(delete(assessments).where(assessments.c.person_id == person))
    await db.execute(update(people).where(people.c.id == person).values(name=None, home_seen_at=None))
    for channel_id, flow_id in affected:
        await teams_repo.rebuild(db, int(channel_id), str(flow_id))
    return counts


async def workspace_ids(db: Db) -> list[str]:
    """The Slack team ids the database holds."""
    return [
        str(team) for team in await db.scalars(select(workspaces.c.slack_team_id).order_by(workspaces.c.id))
    ]
