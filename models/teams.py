"""Team levels: each channel's level per model, kept current as results come in, and its history.

A team level is the median of the members' latest results on a model in a channel (each person
counts once): the lower middle level for an even count, the median finer score. ``refresh`` runs
in the transaction that stores a result, so the leaderboard reads one indexed table instead of
every result; ``rebuild`` replays a channel's results (after someone's data was deleted).
Never commits: services own transactions.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from models.repository import Db, answers, assessments, channels, insert_for, results, workspaces
from models.tables import Status, TeamLevel, TeamLevelHistory, as_utc, utcnow

team_levels = cast(Table, TeamLevel.__table__)
history = cast(Table, TeamLevelHistory.__table__)


def team_level(levels: Sequence[int], scores: Sequence[float]) -> tuple[int, float]:
    """The team's level and finer score from its members' latest results."""
    return statistics.median_low(levels), round(statistics.median(scores), 2)


@dataclass(frozen=True)
class TeamRow:
    """A team (channel) on one model, as the leaderboard shows it."""

    channel_id: int
    slack_channel_id: str
    flow_id: str
    members: int
    level: int
    score: float
    last_activity: datetime
    change: float | None = None  # score now minus the score at the start of the window


_TEAM_COLUMNS = (
    team_levels.c.channel_id,
    channels.c.slack_channel_id,
    team_levels.c.flow_id,
    team_levels.c.members,
    team_levels.c.level,
    team_levels.c.score,
    team_levels.c.last_activity,
    team_levels.c.progress,
)


def _team(row: Sequence[Any]) -> TeamRow:
    channel_id, slack_channel_id, flow_id, members, level, score, last_activity, progress = row[
        : len(_TEAM_COLUMNS)
    ]
    return TeamRow(
        int(channel_id), str(slack_channel_id), str(flow_id), int(members), int(level), float(score),
        as_utc(last_activity), None if progress is None else round(float(progress), 2),
    )  # fmt: skip


async def _results_in_order(db: Db, channel_id: int, flow_id: str) -> list[tuple[int, int, float, datetime]]:
    """(person id, level, score, completed at) of every result on a model in a channel, oldest first."""
    rows = await db.execute(
        select(assessments.c.person_id, results.c.level, results.c.score, assessments.c.completed_at)
        .join(results, results.c.assessment_id == assessments.c.id)
        .where(
            assessments.c.channel_id == channel_id,
            assessments.c.flow_id == flow_id,
            assessments.c.status == Status.COMPLETED,
        )
        .order_by(assessments.c.completed_at, assessments.c.id)
    )
    return [(int(p), int(lv), float(sc), as_utc(at)) for p, lv, sc, at in rows.all()]


async def refresh(db: Db, channel_id: int, flow_id: str, *, record: bool = True) -> TeamRow | None:
    """Recompute the team level of a channel on a model; with ``record``, add it to the history.

    Returns the new level, or None when nobody has a result there any more (the row is removed).
    """
    latest: dict[int, tuple[int, int, float, datetime]] = {}
    for row in await _results_in_order(db, channel_id, flow_id):
        latest[row[0]] = row  # oldest first: each person's last one wins
    if not latest:
        await db.execute(
            delete(team_levels).where(
                team_levels.c.channel_id == channel_id, team_levels.c.flow_id == flow_id
            )
        )
        return None
    level, score = team_level([r[1] for r in latest.values()], [r[2] for r in latest.values()])
    newest = max(r[3] for r in latest.values())
    values = {
        "members": len(latest),
        "level": level,
        "score": score,
        "last_activity": newest,
        "updated_at": utcnow(),
    }
    workspace_id, slack_channel_id = (
        await db.execute(
            select(channels.c.workspace_id, channels.c.slack_channel_id).where(channels.c.id == channel_id)
        )
    ).one()
    upsert = insert_for(db, team_levels).values(
        workspace_id=workspace_id, channel_id=channel_id, flow_id=flow_id, **values
    )
    # A new score moves the progress against the window's baseline (a new team gets one at the
    # next leaderboard read: see ensure_baselines).
    moved = {**values, "progress": upsert.excluded.score - team_levels.c.baseline_score}
    await db.execute(
        upsert.on_conflict_do_update(
            index_elements=[team_levels.c.channel_id, team_levels.c.flow_id], set_=moved
        )
    )
    if record:
        await db.execute(
            history.insert().values(
                channel_id=channel_id,
                flow_id=flow_id,
                at=newest,
                members=len(latest),
                level=level,
                score=score,
            )
        )
    return TeamRow(channel_id, str(slack_channel_id), flow_id, len(latest), level, score, newest)


async def rebuild(db: Db, channel_id: int, flow_id: str) -> TeamRow | None:
    """Replay a channel's results on a model: its history and current level, as if they had just come in."""
    await db.execute(delete(history).where(history.c.channel_id == channel_id, history.c.flow_id == flow_id))
    latest: dict[int, tuple[int, float]] = {}
    rows = []
    for person_id, level, score, completed_at in await _results_in_order(db, channel_id, flow_id):
        latest[person_id] = (level, score)
        team, finer = team_level([v[0] for v in latest.values()], [v[1] for v in latest.values()])
        rows.append(
            {"channel_id": channel_id, "flow_id": flow_id, "at": completed_at, "members": len(latest),
             "level": team, "score": finer}
        )  # fmt: skip
    if rows:
        await db.execute(history.insert(), rows)
    current = await refresh(db, channel_id, flow_id, record=False)
    await db.execute(  # the history changed: the baseline is computed again at the next read
        update(team_levels)
        .where(team_levels.c.channel_id == channel_id, team_levels.c.flow_id == flow_id)
        .values(baseline_at=None, baseline_score=None, progress=None)
    )
    return current


# -- reading -------------------------------------------------------------------------------------


def _qualifying(workspace_id: int, flow_id: str, min_members: int) -> ColumnElement[bool]:
    return and_(
        team_levels.c.workspace_id == workspace_id,
        team_levels.c.flow_id == flow_id,
        team_levels.c.members >= min_members,
    )


async def workspace_row_id(db: Db, team_id: str) -> int | None:
    found = await db.scalar(select(workspaces.c.id).where(workspaces.c.slack_team_id == team_id))
    return int(found) if found is not None else None


async def usage(db: Db, workspace_id: int) -> dict[str, int]:
    """Per model: how many members' results the workspace's teams hold (which model is most used)."""
    rows = await db.execute(
        select(team_levels.c.flow_id, func.sum(team_levels.c.members))
        .where(team_levels.c.workspace_id == workspace_id)
        .group_by(team_levels.c.flow_id)
    )
    return {str(flow): int(total or 0) for flow, total in rows.all()}


async def top(db: Db, workspace_id: int, flow_id: str, min_members: int, limit: int) -> list[TeamRow]:
    """The highest teams: level, then finer score (then the older channel, for a stable order)."""
    rows = await db.execute(
        select(*_TEAM_COLUMNS)
        .join(channels, channels.c.id == team_levels.c.channel_id)
        .where(_qualifying(workspace_id, flow_id, min_members))
        .order_by(team_levels.c.level.desc(), team_levels.c.score.desc(), team_levels.c.channel_id)
        .limit(limit)
    )
    return [_team(row) for row in rows.all()]


async def count(db: Db, workspace_id: int, flow_id: str, min_members: int) -> int:
    found = await db.scalar(
        select(func.count()).select_from(team_levels).where(_qualifying(workspace_id, flow_id, min_members))
    )
    return int(found or 0)


async def rank_of(db: Db, workspace_id: int, flow_id: str, min_members: int, level: int, score: float) -> int:
    """The rank of a team at ``level``/``score``: one more than the teams strictly above it (ties share)."""
    above = await db.scalar(
        select(func.count())
        .select_from(team_levels)
        .where(
            _qualifying(workspace_id, flow_id, min_members),
            or_(team_levels.c.level > level, and_(team_levels.c.level == level, team_levels.c.score > score)),
        )
    )
    return int(above or 0) + 1


async def of_channels(db: Db, channel_ids: Sequence[int], flow_id: str | None = None) -> list[TeamRow]:
    """The team levels of the given channels (every model, or one)."""
    if not channel_ids:
        return []
    query = (
        select(*_TEAM_COLUMNS)
        .join(channels, channels.c.id == team_levels.c.channel_id)
        .where(team_levels.c.channel_id.in_(channel_ids))
        .order_by(team_levels.c.channel_id, team_levels.c.flow_id)
    )
    if flow_id is not None:
        query = query.where(team_levels.c.flow_id == flow_id)
    return [_team(row) for row in (await db.execute(query)).all()]


def _baseline(since: datetime) -> ColumnElement[Any]:
    """Per team row: its score at ``since`` (the last history entry up to then), or, for a team
    younger than that, its first score."""
    same_team = and_(
        history.c.channel_id == team_levels.c.channel_id, history.c.flow_id == team_levels.c.flow_id
    )
    before = (
        select(history.c.score).where(same_team, history.c.at <= since).order_by(history.c.at.desc()).limit(1)
    )
    first = select(history.c.score).where(same_team, history.c.at > since).order_by(history.c.at).limit(1)
    return func.coalesce(before.scalar_subquery(), first.scalar_subquery())


async def ensure_baselines(db: Db, workspace_id: int, flow_id: str, since: datetime) -> int:
    """Move the teams' window baselines to ``since`` where they are older (or missing); how many moved.

    Cheap when they are current (one index probe); otherwise one UPDATE over the workspace's teams
    on the model, which happens once a day (``since`` is a midnight) and when teams are new.
    """
    stale = or_(team_levels.c.baseline_at.is_(None), team_levels.c.baseline_at < since)
    where = and_(team_levels.c.workspace_id == workspace_id, team_levels.c.flow_id == flow_id, stale)
    if await db.scalar(select(team_levels.c.id).where(where).limit(1)) is None:
        return 0
    baseline = _baseline(since)
    result = await db.execute(
        update(team_levels)
        .where(where)
        .values(baseline_at=since, baseline_score=baseline, progress=team_levels.c.score - baseline)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult at run time


async def most_improved(
    db: Db, workspace_id: int, flow_id: str, min_members: int, limit: int
) -> list[TeamRow]:
    """The teams whose finer score rose most over the window (level, then score, break ties)."""
    rows = await db.execute(
        select(*_TEAM_COLUMNS)
        .join(channels, channels.c.id == team_levels.c.channel_id)
        .where(_qualifying(workspace_id, flow_id, min_members), team_levels.c.progress.is_not(None))
        .order_by(
            team_levels.c.progress.desc(),
            team_levels.c.level.desc(),
            team_levels.c.score.desc(),
            team_levels.c.channel_id,
        )
        .limit(limit)
    )
    return [_team(row) for row in rows.all()]


async def improved_rank_of(
    db: Db, workspace_id: int, flow_id: str, min_members: int, change: float | None
) -> int:
    """The rank by progress of a team that moved ``change``: one more than the teams that moved more."""
    progress = team_levels.c.progress
    ahead = progress.is_not(None) if change is None else progress > change + 0.005  # changes are rounded
    above = await db.scalar(
        select(func.count())
        .select_from(team_levels)
        .where(_qualifying(workspace_id, flow_id, min_members), ahead)
    )
    return int(above or 0) + 1


async def trend(db: Db, channel_id: int, flow_id: str) -> list[tuple[datetime, int, float, int]]:
    """A team's history on a model: (when, level, finer score, members), oldest first."""
    rows = await db.execute(
        select(history.c.at, history.c.level, history.c.score, history.c.members)
        .where(history.c.channel_id == channel_id, history.c.flow_id == flow_id)
        .order_by(history.c.at, history.c.id)
    )
    return [(as_utc(at), int(level), float(score), int(members)) for at, level, score, members in rows.all()]


async def latest_answers(db: Db, channel_id: int, flow_id: str) -> dict[int, dict[str, str]]:
    """Each member's answers (question -> option) in their latest completed assessment on a model here."""
    rows = await db.execute(
        select(assessments.c.person_id, assessments.c.id)
        .where(
            assessments.c.channel_id == channel_id,
            assessments.c.flow_id == flow_id,
            assessments.c.status == Status.COMPLETED,
        )
        .order_by(assessments.c.completed_at, assessments.c.id)
    )
    latest = {int(person): int(assessment) for person, assessment in rows.all()}  # the last one wins
    found: dict[int, dict[str, str]] = {person: {} for person in latest}
    if not latest:
        return found
    owner = {assessment: person for person, assessment in latest.items()}
    chosen = await db.execute(
        select(answers.c.assessment_id, answers.c.question_id, answers.c.option_id).where(
            answers.c.assessment_id.in_(list(owner))
        )
    )
    for assessment, question, option in chosen.all():
        found[owner[int(assessment)]][str(question)] = str(option)
    return found


async def channel_names(db: Db, channel_ids: Sequence[int]) -> dict[int, str]:
    """The names channels were last seen with (their Slack id when never seen with one)."""
    if not channel_ids:
        return {}
    rows = await db.execute(
        select(channels.c.id, channels.c.name, channels.c.slack_channel_id).where(
            channels.c.id.in_(channel_ids)
        )
    )
    return {int(row_id): f"#{name}" if name else str(slack_id) for row_id, name, slack_id in rows.all()}
