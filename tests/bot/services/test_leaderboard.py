"""The leaderboard on real databases: team levels kept with each result, ranks, ties, privacy, progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.assessments import AssessmentService
from bot.services.leaderboard import Leaderboard, LeaderboardService, NoTeamsYet, Standing, TooFewResults
from bot.services.outcomes import Completed, QuestionShown, Who
from flows.engine import Score
from flows.loader import load_flows
from models import repository as repo
from models import results as results_repo
from models import teams as teams_repo
from models.tables import Status

FLOWS = load_flows()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def add_result(
    engine: AsyncEngine,
    channel: str,
    user: str,
    level: int,
    score: float,
    at: datetime,
    flow_id: str = "google",
) -> None:
    """A completed result stored as a finished assessment stores it (team level refreshed with it)."""
    async with engine.begin() as conn:
        actor = await repo.ensure_actor(conn, "T1", channel, user, channel.lower(), user.lower())
        flow = FLOWS[flow_id]
        created = await repo.create_assessment(conn, actor, flow.id, flow.version, flow.questions[0].id)
        assessment = created.id
        await conn.execute(
            repo.assessments.update()
            .where(repo.assessments.c.id == assessment)
            .values(status=Status.COMPLETED, completed_at=at, current_question_id=None)
        )
        await results_repo.add_result(conn, assessment, Score(level, score, ()))
        await teams_repo.refresh(conn, actor.channel_id, flow_id)


async def team(
    engine: AsyncEngine, channel: str, levels: list[tuple[int, float]], at: datetime = NOW
) -> None:
    for n, (level, score) in enumerate(levels):
        await add_result(
            engine, channel, f"U{channel}{n}", level, score, at - timedelta(minutes=len(levels) - n)
        )


def board(found: Leaderboard | NoTeamsYet) -> Leaderboard:
    assert isinstance(found, Leaderboard)
    return found


async def test_finishing_an_assessment_keeps_the_team_level_and_its_history(engine: AsyncEngine) -> None:
    """Three people finish in one channel: the team row holds the median; each result added history."""
    service = AssessmentService(engine, FLOWS)
    for n, pick in enumerate([0, 9, 9]):
        who = Who("T1", "C1", f"U{n}")
        outcome: object = await service.start(who, "google")
        while isinstance(outcome, QuestionShown):
            q = outcome.question
            option = q.practices[min(pick, len(q.practices) - 1)]
            outcome = await service.answer(who, outcome.assessment_id, outcome.revision, q.id, option.id)
        assert isinstance(outcome, Completed)
    async with engine.connect() as conn:
        channel = await repo.channel_row_id(conn, "T1", "C1")
        assert channel is not None
        (row,) = await teams_repo.of_channels(conn, [channel])
        history = await teams_repo.trend(conn, channel, "google")
    assert (row.members, row.level) == (3, 2)
    assert [members for *_, members in history] == [1, 2, 3]


async def test_teams_rank_by_level_then_score_and_ties_share_a_rank(engine: AsyncEngine) -> None:
    """Two teams tie on level and score (both 1st), the next is 3rd; a team of two is not shown."""
    await team(engine, "CA", [(2, 2.5), (2, 2.5), (2, 2.5)])
    await team(engine, "CB", [(2, 2.5), (2, 2.5), (2, 2.5)])
    await team(engine, "CC", [(1, 1.9), (2, 2.9), (1, 1.2)])
    await team(engine, "CD", [(2, 2.9), (2, 2.9)])
    shown = board(await LeaderboardService(engine, FLOWS).show(Who("T1", "CD", "UCD0"), "google", now=NOW))
    assert [(s.rank, s.channel_id, s.level) for s in shown.standings] == [
        (1, "CA", 2),
        (1, "CB", 2),
        (3, "CC", 1),
    ]
    assert shown.teams == 3
    assert shown.here == TooFewResults("CD", 2, 3)


async def test_the_team_level_is_the_median_of_each_members_latest_result(engine: AsyncEngine) -> None:
    """Four members (0, 1, 2, 2): level 1 (the lower middle), score the middle two's mean; a member's
    newer result replaces their older one."""
    await team(engine, "CA", [(0, 0.5), (1, 1.5), (2, 2.25), (2, 2.75)], at=NOW - timedelta(days=1))
    await add_result(engine, "CA", "UCA0", 2, 2.5, NOW)  # the level-0 member retook it
    shown = board(await LeaderboardService(engine, FLOWS).show(Who("T1", "CA", "UCA0"), "google", now=NOW))
    (standing,) = shown.standings
    assert (standing.level, standing.score, standing.members) == (2, 2.38, 4)
    assert shown.here == standing


async def test_change_over_ninety_days_and_the_most_improved(engine: AsyncEngine) -> None:
    """A team's change is measured from its level 90 days ago (or its first, if younger); the most
    improved ranking orders by it, whatever the absolute levels."""
    old = NOW - timedelta(days=120)
    await team(engine, "CX", [(1, 1.0), (1, 1.0), (1, 1.0)], at=old)
    await team(
        engine, "CX", [(2, 2.0), (2, 2.0), (2, 2.0)], at=NOW - timedelta(days=10)
    )  # the same people, retaken
    await team(engine, "CY", [(1, 1.5), (1, 1.5), (1, 1.5)], at=NOW - timedelta(days=60))
    for n in range(3):
        await add_result(engine, "CY", f"UCY{n}", 1, 1.8, NOW - timedelta(days=5, minutes=n))
    await team(engine, "CZ", [(2, 2.9), (2, 2.9), (2, 2.9)], at=NOW - timedelta(days=200))
    service = LeaderboardService(engine, FLOWS)
    by_level = board(await service.show(Who("T1", "CZ", "U1"), "google", now=NOW))
    assert [(s.channel_id, s.change) for s in by_level.standings] == [("CZ", 0.0), ("CX", 1.0), ("CY", 0.3)]
    improved = board(await service.show(Who("T1", "CY", "U1"), "google", improved=True, now=NOW))
    assert [(s.rank, s.channel_id) for s in improved.standings] == [(1, "CX"), (2, "CY"), (3, "CZ")]
    here = improved.here
    assert isinstance(here, Standing)
    assert (here.rank, here.channel_id) == (2, "CY")


async def test_without_a_model_the_most_used_one_is_shown_and_the_others_offered(engine: AsyncEngine) -> None:
    await team(engine, "CA", [(1, 1.0)] * 3)
    await team(engine, "CB", [(1, 1.0)] * 3)
    for n in range(4):
        await add_result(engine, "CC", f"UCC{n}", 2, 2.0, NOW, flow_id="azure")
    shown = board(await LeaderboardService(engine, FLOWS).show(Who("T1", "CA", "U1"), now=NOW))
    assert shown.flow_id == "google"  # 6 members' results against 4
    assert sorted(shown.other_flows) == sorted(f for f in FLOWS if f != "google")


async def test_a_workspace_without_results_has_no_teams_yet(engine: AsyncEngine) -> None:
    service = LeaderboardService(engine, FLOWS)
    assert isinstance(await service.show(Who("T9", "C1", "U1"), now=NOW), NoTeamsYet)
    await team(engine, "CA", [(1, 1.0)] * 3)
    assert await service.show(Who("T1", "CA", "U1"), "azure", now=NOW) == NoTeamsYet(
        "azure", [f for f in FLOWS if f != "azure"]
    )


async def test_rebuilding_a_team_replays_its_results(engine: AsyncEngine) -> None:
    """Rebuilt from the results (as after someone's data is deleted): the same history and level."""
    await team(engine, "CA", [(0, 0.5), (2, 2.5), (1, 1.5)])
    async with engine.begin() as conn:
        channel = await repo.channel_row_id(conn, "T1", "CA")
        assert channel is not None
        before = (
            await teams_repo.of_channels(conn, [channel]),
            await teams_repo.trend(conn, channel, "google"),
        )
        await teams_repo.rebuild(conn, channel, "google")
        after = (
            await teams_repo.of_channels(conn, [channel]),
            await teams_repo.trend(conn, channel, "google"),
        )
        rows = await conn.scalar(select(func.count()).select_from(teams_repo.history))
    assert [(t.level, t.score, t.members) for t in after[0]] == [
        (t.level, t.score, t.members) for t in before[0]
    ]
    assert after[1] == before[1]
    assert rows == 3


async def test_progress_follows_new_results_and_the_window_moves_on(engine: AsyncEngine) -> None:
    """The change is kept as results come in; once the window has moved past them it is zero again."""
    service = LeaderboardService(engine, FLOWS)
    await team(engine, "CA", [(1, 1.0)] * 3, at=NOW - timedelta(days=100))
    asked = Who("T1", "CA", "UCA0")
    assert [s.change for s in board(await service.show(asked, "google", now=NOW)).standings] == [0.0]
    await team(engine, "CA", [(2, 2.0)] * 3, at=NOW - timedelta(days=1))  # the same people, better
    assert [s.change for s in board(await service.show(asked, "google", now=NOW)).standings] == [1.0]
    improved = board(await service.show(asked, "google", improved=True, now=NOW))
    assert [(s.rank, s.change) for s in improved.standings] == [(1, 1.0)]
    later = NOW + timedelta(days=95)
    assert [s.change for s in board(await service.show(asked, "google", now=later)).standings] == [0.0]
