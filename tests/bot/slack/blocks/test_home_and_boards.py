"""The Home tab, the leaderboard and the team view stay within Slack's limits however large they get."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.home import HomeView, MyAssessment, MyResult, MyTeam, NotInChannel
from bot.services.leaderboard import Leaderboard, Standing, TooFewResults
from bot.services.team import Spread, TeamModelStatus, TeamStatus
from bot.slack.blocks.home import HOME_BLOCKS, build_home_view
from bot.slack.blocks.leaderboard import build_leaderboard_message
from bot.slack.blocks.team import build_team_status_message
from flows.loader import load_flows
from playground.blockkit import block_kit_problems

FLOWS = load_flows()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _board(teams: int) -> Leaderboard:
    standings = [
        Standing(n + 1, f"C{n:08d}", 4, 4.99, 250, -9.99 if n % 2 else 9.99, NOW)
        for n in range(min(teams, 10))
    ]
    return Leaderboard(
        "gigaom", False, standings, teams, TooFewResults("C99999999", 2, 3), ["google", "azure"]
    )


def test_a_person_in_two_hundred_channels_gets_a_home_tab_within_100_blocks() -> None:
    """200 teams on three models, 12 assessments under way, a notice: most useful first, the rest
    counted, every block valid."""
    teams = [
        MyTeam(f"C{n:08d}", flow, 2, 2.5, 40 if n % 3 else 2, n % 3 != 0, NOW - timedelta(hours=n))
        for n in range(200)
        for flow in ("google", "azure", "gigaom")
    ]
    view = HomeView(
        "U111",
        [MyResult(f, 3, 3.45, NOW, "C00000001", -0.25) for f in ("google", "azure", "gigaom")],
        [MyAssessment(n, "azure", f"C{n:08d}", 7, NOW) for n in range(12)],
        teams,
        _board(10_000),
        list(FLOWS),
        3,
        NotInChannel("C12345678"),
    )
    built = build_home_view(view, FLOWS)
    assert len(built["blocks"]) <= HOME_BLOCKS
    assert block_kit_problems(built, "home") == []
    text = str(built)
    assert text.index("not in <#C12345678>") < text.index("level *3") < text.index("Resume")
    assert "more teams" in text
    assert "Leaderboard" in text  # still there after the teams


def test_the_leaderboard_and_team_view_fit_at_their_largest() -> None:
    message = build_leaderboard_message(_board(10_000), FLOWS, "C99999999")
    assert block_kit_problems(message) == []
    flow = FLOWS["gigaom"]
    spread = [Spread(q.category, q.id, [(o.id, 50) for o in q.options]) for q in flow.questions[:5]]
    models = [
        TeamModelStatus(f, 4, 4.99, 250, [(NOW - timedelta(days=n), 4, n / 10) for n in range(300)],
                        [(c.id, 4) for c in FLOWS[f].categories], spread if f == "gigaom" else [])
        for f in ("google", "azure", "gigaom")
    ]  # fmt: skip
    status = TeamStatus("C1", models, [(n, "x" * 500, NOW) for n in range(40)], 3)
    assert block_kit_problems(build_team_status_message(status, FLOWS)) == []
