"""One person's App Home: their latest level per model with its trend, what they have under way,
the team levels of their channels and the top of the leaderboard. Read-only, but for noting that
the person looks at it (only they get it refreshed when one of their teams changes)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.leaderboard import Leaderboard, LeaderboardService, NoTeamsYet
from bot.services.outcomes import Who
from flows.schema import Flow
from models import home as home_repo
from models import repository as repo
from models import teams as teams_repo
from models.tables import utcnow

WATCHING = timedelta(days=30)  # a Home tab opened within this is refreshed when its teams change
REFRESHED = 50  # at most this many teammates' Home tabs refreshed per change
TOP = 3  # teams of the leaderboard shown


@dataclass(frozen=True)
class MyResult:
    flow_id: str
    level: int
    score: float
    completed_at: datetime
    channel_id: str  # Slack id of the channel it was taken in
    change: float | None  # finer score against the person's previous result on the model


@dataclass(frozen=True)
class MyAssessment:
    assessment_id: int
    flow_id: str
    channel_id: str
    answered: int
    updated_at: datetime


@dataclass(frozen=True)
class MyTeam:
    channel_id: str
    flow_id: str
    level: int
    score: float
    members: int
    shown: bool  # enough members have a result for the team's numbers to be shown
    last_activity: datetime


@dataclass(frozen=True)
class NotInChannel:
    """A start from Home named a channel the bot is not in."""

    channel_id: str


@dataclass(frozen=True)
class StartedIn:
    """A start (or resume) from Home: the question is waiting in that channel."""

    channel_id: str
    flow_id: str


HomeNotice = NotInChannel | StartedIn


@dataclass(frozen=True)
class HomeView:
    user_id: str
    results: list[MyResult]
    underway: list[MyAssessment]
    teams: list[MyTeam]
    top: Leaderboard | NoTeamsYet
    flow_ids: list[str]  # the models that can be started
    min_members: int
    notice: HomeNotice | None = None
    more_teams: int = 0  # teams not listed


class HomeService:
    def __init__(self, db: AsyncEngine, flows: dict[str, Flow], *, min_members: int = 3):
        self.db = db
        self.flows = flows
        self.min_members = min_members
        self.leaderboard = LeaderboardService(db, flows, min_members=min_members, top=TOP)

    async def opened(self, team_id: str, user_id: str) -> None:
        async with self.db.begin() as conn:
            await home_repo.mark_seen(conn, team_id, user_id)

    async def view(self, team_id: str, user_id: str, notice: HomeNotice | None = None) -> HomeView:
        async with self.db.connect() as conn:
            mine = await home_repo.results_of(conn, team_id, user_id)
            underway = await home_repo.underway_of(conn, team_id, user_id)
            channels = list(dict.fromkeys(r.channel_id for r in mine))
            team_rows = await teams_repo.of_channels(conn, channels)
        latest: dict[str, MyResult] = {}
        for result in mine:  # newest first: the first per model is the latest, the second the previous
            if result.flow_id not in latest:
                latest[result.flow_id] = MyResult(
                    result.flow_id,
                    result.level,
                    result.score,
                    result.completed_at,
                    result.slack_channel_id,
                    None,
                )
            elif latest[result.flow_id].change is None:
                kept = latest[result.flow_id]
                latest[result.flow_id] = replace(kept, change=round(kept.score - result.score, 2))
        teams = sorted(
            (
                MyTeam(
                    t.slack_channel_id, t.flow_id, t.level, t.score, t.members,
                    t.members >= self.min_members, t.last_activity,
                )
                for t in team_rows
            ),
            key=lambda t: t.last_activity,
            reverse=True,
        )  # fmt: skip
        top = await self.leaderboard.show(Who(team_id, "", user_id))
        order = list(self.flows)
        results = sorted(
            latest.values(), key=lambda r: order.index(r.flow_id) if r.flow_id in order else len(order)
        )
        return HomeView(
            user_id,
            results,
            [
                MyAssessment(u.assessment_id, u.flow_id, u.slack_channel_id, u.answered, u.updated_at)
                for u in underway
            ],
            teams,
            top,
            order,
            self.min_members,
            notice,
        )

    async def watchers(self, who: Who) -> list[str]:
        """Teammates in ``who``'s channel whose Home tab shows this team (and who look at it)."""
        async with self.db.connect() as conn:
            channel = await repo.channel_row_id(conn, who.team_id, who.channel_id)
            if channel is None:
                return []
            return await home_repo.watchers(conn, channel, utcnow() - WATCHING, REFRESHED)

    async def underway(self, who: Who, assessment_id: int) -> MyAssessment | None:
        """``who``'s assessment in progress with that id (for Resume on the Home tab), if it still is."""
        async with self.db.connect() as conn:
            underway = await home_repo.underway_of(conn, who.team_id, who.user_id)
        return next(
            (MyAssessment(u.assessment_id, u.flow_id, u.slack_channel_id, u.answered, u.updated_at)
             for u in underway if u.assessment_id == assessment_id),
            None,
        )  # fmt: skip
