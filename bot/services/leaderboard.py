"""The team leaderboard: the workspace's channels ranked by team level, or by progress.

A team is a channel; its level on a model is the median of its members' latest results there
(models/teams.py keeps it current). A team is ranked only once at least ``min_members`` people have
a result in it, so nobody's own level can be read off a leaderboard; below that the channel it was
asked in is named as "not enough results yet", without numbers. No answer of anyone is ever shown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.outcomes import Who
from flows.schema import Flow
from models import repository as repo
from models import teams as teams_repo
from models.tables import utcnow

logger = logging.getLogger(__name__)

WINDOW = timedelta(days=90)  # "change" and "most improved" look this far back, from a midnight UTC
TOP = 10  # teams listed


@dataclass(frozen=True)
class Standing:
    """One team on the leaderboard."""

    rank: int  # 1-based; teams that tie share a rank
    channel_id: str  # Slack channel id
    level: int
    score: float
    members: int  # people with a result there on this model
    change: float | None  # finer score now minus at the start of the window (None: no history)
    last_activity: datetime  # the newest result


@dataclass(frozen=True)
class TooFewResults:
    """The channel asked about has results from fewer members than a team needs to be shown."""

    channel_id: str
    members: int
    needed: int


@dataclass(frozen=True)
class Leaderboard:
    flow_id: str
    improved: bool  # ranked by progress over the window rather than by level
    standings: list[Standing]
    teams: int  # how many teams are ranked in all
    here: Standing | TooFewResults | None  # the channel it was asked in (None: no results there)
    other_flows: list[str] = field(default_factory=list)  # models to offer as buttons
    min_members: int = 3
    window_days: int = WINDOW.days


@dataclass(frozen=True)
class NoTeamsYet:
    """Nobody in the workspace has a result on that model (or on any, when none was named)."""

    flow_id: str | None
    other_flows: list[str] = field(default_factory=list)


def window_start(now: datetime) -> datetime:
    """The start of the progress window: midnight UTC, 90 days before today (so it moves once a day)."""
    day = (now.astimezone(UTC) - WINDOW).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _ranked(rows: list[teams_repo.TeamRow], key: str, first_rank: int = 1) -> list[Standing]:
    """Standings in the order given, with shared ranks for ties on ``key`` (level+score, or change)."""
    standings: list[Standing] = []
    for n, row in enumerate(rows):
        tie = n > 0 and _key(rows[n - 1], key) == _key(row, key)
        rank = standings[-1].rank if tie else first_rank + n
        standings.append(_standing(row, rank))
    return standings


def _key(row: teams_repo.TeamRow, key: str) -> tuple[float, ...]:
    if key == "change":
        return (row.change if row.change is not None else float("-inf"),)
    return (row.level, row.score)


def _standing(row: teams_repo.TeamRow, rank: int) -> Standing:
    return Standing(
        rank, row.slack_channel_id, row.level, row.score, row.members, row.change, row.last_activity
    )


class LeaderboardService:
    def __init__(self, db: AsyncEngine, flows: dict[str, Flow], *, min_members: int = 3, top: int = TOP):
        self.db = db
        self.flows = flows
        self.min_members = min_members
        self.top = top

    async def show(
        self, who: Who, flow_id: str | None = None, *, improved: bool = False, now: datetime | None = None
    ) -> Leaderboard | NoTeamsYet:
        """The leaderboard of ``flow_id`` (default: the model most used in the workspace)."""
        since = window_start(now or utcnow())
        async with self.db.connect() as conn:
            workspace_id = await teams_repo.workspace_row_id(conn, who.team_id)
            usage = await teams_repo.usage(conn, workspace_id) if workspace_id is not None else {}
            order = list(self.flows)
            if flow_id is None:
                used = sorted(usage, key=lambda f: (-usage[f], order.index(f) if f in order else len(order)))
                flow_id = used[0] if used else None
            others = [f for f in order if f != flow_id]
            if workspace_id is None or flow_id is None or flow_id not in usage:
                return NoTeamsYet(flow_id, others)
        await self._baselines(workspace_id, flow_id, since)
        async with self.db.connect() as conn:
            if improved:
                rows = await teams_repo.most_improved(conn, workspace_id, flow_id, self.min_members, self.top)
                standings = _ranked(rows, "change")
            else:
                rows = await teams_repo.top(conn, workspace_id, flow_id, self.min_members, self.top)
                standings = _ranked(rows, "level")
            teams = await teams_repo.count(conn, workspace_id, flow_id, self.min_members)
            here = await self._here(conn, who, workspace_id, flow_id, standings, improved)
        return Leaderboard(flow_id, improved, standings, teams, here, others, self.min_members, WINDOW.days)

    async def improved_trends(
        self, who: Who, flow_id: str, *, now: datetime | None = None, teams: int = 5
    ) -> list[tuple[str, list[tuple[datetime, float]]]]:
        """The most improved teams' finer scores over time (the window, and the point before it)."""
        since = window_start(now or utcnow())
        async with self.db.connect() as conn:
            workspace_id = await teams_repo.workspace_row_id(conn, who.team_id)
        if workspace_id is None:
            return []
        await self._baselines(workspace_id, flow_id, since)
        async with self.db.connect() as conn:
            top = await teams_repo.most_improved(conn, workspace_id, flow_id, self.min_members, teams)
            names = await teams_repo.channel_names(conn, [t.channel_id for t in top])
            series = []
            for team in top:
                points = [
                    (at, score)
                    for at, _level, score, _members in await teams_repo.trend(conn, team.channel_id, flow_id)
                ]
                before = [p for p in points if p[0] <= since][-1:]
                series.append(
                    (
                        names.get(team.channel_id, team.slack_channel_id),
                        before + [p for p in points if p[0] > since],
                    )
                )
        return series

    async def _baselines(self, workspace_id: int, flow_id: str, since: datetime) -> None:
        """Move the teams' progress baselines to this window's start (a write, once a day)."""
        async with self.db.begin() as conn:
            moved = await teams_repo.ensure_baselines(conn, workspace_id, flow_id, since)
        if moved:
            logger.info(
                "baselines_moved", extra={"flow": flow_id, "teams": moved, "since": since.isoformat()}
            )

    async def _here(
        self,
        conn: repo.Db,
        who: Who,
        workspace_id: int,
        flow_id: str,
        standings: list[Standing],
        improved: bool,
    ) -> Standing | TooFewResults | None:
        listed = next((s for s in standings if s.channel_id == who.channel_id), None)
        if listed is not None:
            return listed
        channel = await repo.channel_row_id(conn, who.team_id, who.channel_id)
        found = await teams_repo.of_channels(conn, [channel], flow_id) if channel is not None else []
        if not found:
            return None
        row = found[0]
        if row.members < self.min_members:
            return TooFewResults(who.channel_id, row.members, self.min_members)
        change = row.change
        if improved:
            rank = await teams_repo.improved_rank_of(conn, workspace_id, flow_id, self.min_members, change)
        else:
            rank = await teams_repo.rank_of(
                conn, workspace_id, flow_id, self.min_members, row.level, row.score
            )
        return Standing(
            rank, row.slack_channel_id, row.level, row.score, row.members, change, row.last_activity
        )
