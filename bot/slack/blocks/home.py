"""The App Home tab: a person's dashboard, most useful first, within Slack's 100 blocks.

Order: a notice (what just happened), their latest level per model with its trend, assessments
under way with Resume, starting a model in a channel, the team levels of their channels, the top of
the leaderboard. Teams are the open-ended part (a person can be in hundreds of channels): they are
packed several to a section and cut with "and N more" so the whole always fits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services.home import HomeView, MyTeam, NotInChannel, StartedIn
from bot.services.leaderboard import Leaderboard
from bot.slack.blocks.kit import SECTION_TEXT, button, context, divider, escape, header, section
from bot.slack.blocks.leaderboard import change_words, trend_arrow
from bot.slack.blocks.messages import COMMAND
from bot.slack.buttons import HOME_RESUME, HOME_START
from flows.schema import Flow

HOME_BLOCKS = 100
UNDERWAY_SHOWN = 10
TEAM_LINES_PER_SECTION = 15
TEAM_SECTIONS = 8  # at most 120 team lines; the rest are counted


def _title(flows: dict[str, Flow], flow_id: str) -> str:
    flow = flows.get(flow_id)
    return escape(flow.title) if flow else f"`{escape(flow_id)}`"


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y")


def _notice(view: HomeView, flows: dict[str, Flow]) -> list[dict[str, Any]]:
    match view.notice:
        case NotInChannel(channel_id=channel):
            text = (
                f":warning: I'm not in <#{channel}>, so I can't ask you questions there. "
                "Invite me with `/invite @maturity-bot` in that channel, then pick it again."
            )
            return [section(text)]
        case StartedIn(channel_id=channel, flow_id=flow_id):
            return [
                section(f":point_right: Your {_title(flows, flow_id)} question is waiting in <#{channel}>.")
            ]
        case None:
            return []


def _results(view: HomeView, flows: dict[str, Flow]) -> list[dict[str, Any]]:
    if not view.results:
        return [section("You have no result yet. Pick a channel below to take an assessment there.")]
    lines = []
    for r in view.results:
        flow = flows.get(r.flow_id)
        name = f" {escape(flow.level(r.level).name)}" if flow and r.level <= flow.max_level else ""
        trend = (
            f"{trend_arrow(r.change)} {change_words(r.change)} since your previous result"
            if r.change is not None
            else "your first result"
        )
        lines.append(
            f"*{_title(flows, r.flow_id)}*: level *{r.level}{name}* ({r.score:.2f}), {trend} · "
            f"{_day(r.completed_at)} in <#{r.channel_id}>"
        )
    return [section("\n".join(lines))]


def _underway(view: HomeView, flows: dict[str, Flow]) -> list[dict[str, Any]]:
    blocks = []
    for a in view.underway[:UNDERWAY_SHOWN]:
        blocks.append(
            section(
                f"*{_title(flows, a.flow_id)}* in <#{a.channel_id}>: {a.answered} answered, "
                f"last touched {_day(a.updated_at)}",
                accessory=button("Resume", HOME_RESUME, str(a.assessment_id), style="primary"),
            )
        )
    if len(view.underway) > UNDERWAY_SHOWN:
        blocks.append(
            context(f"And {len(view.underway) - UNDERWAY_SHOWN} more: `{COMMAND} resume` in their channels.")
        )
    return blocks


def _start(view: HomeView, flows: dict[str, Flow]) -> list[dict[str, Any]]:
    selects = [
        {
            "type": "conversations_select",
            "action_id": f"{HOME_START}:{flow_id}",
            "placeholder": {"type": "plain_text", "text": f"Start {flows[flow_id].title[:120]} in…"[:150]},
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
        }
        for flow_id in view.flow_ids[:5]
        if flow_id in flows
    ]
    return [
        section(
            "*Take an assessment* in a channel (the questions are only for you; the result is posted there):"
        ),
        {"type": "actions", "block_id": "home_start", "elements": selects},
    ]


def _team_line(team: MyTeam, flows: dict[str, Flow], min_members: int) -> str:
    if not team.shown:
        return (
            f"<#{team.channel_id}> {_title(flows, team.flow_id)}: not enough results yet "
            f"({team.members} of {min_members})"
        )
    return (
        f"<#{team.channel_id}> {_title(flows, team.flow_id)}: level *{team.level}* ({team.score:.2f}), "
        f"{team.members} members"
    )


def _teams(view: HomeView, flows: dict[str, Flow], room: int) -> list[dict[str, Any]]:
    if not view.teams:
        return []
    blocks: list[dict[str, Any]] = [section("*Your teams*")]
    lines = [_team_line(t, flows, view.min_members) for t in view.teams]
    sections = max(0, min(TEAM_SECTIONS, room - 2))
    shown = 0
    for start in range(0, len(lines), TEAM_LINES_PER_SECTION):
        if len(blocks) - 1 >= sections:
            break
        chunk = lines[start : start + TEAM_LINES_PER_SECTION]
        text = "\n".join(chunk)
        while len(text) > SECTION_TEXT and chunk:
            chunk = chunk[:-1]
            text = "\n".join(chunk)
        blocks.append(section(text))
        shown += len(chunk)
        if len(chunk) < TEAM_LINES_PER_SECTION:
            break
    if shown < len(lines):
        blocks.append(
            context(
                f"And {len(lines) - shown} more teams. `{COMMAND} status team` in a channel shows its team."
            )
        )
    return blocks


def _top(view: HomeView, flows: dict[str, Flow]) -> list[dict[str, Any]]:
    board = view.top
    if not isinstance(board, Leaderboard) or not board.standings:
        return []
    lines = [
        f"*{s.rank}.* <#{s.channel_id}> level *{s.level}* ({s.score:.2f}) {trend_arrow(s.change)}"
        for s in board.standings
    ]
    return [
        section(f"*Leaderboard: {_title(flows, board.flow_id)}*\n" + "\n".join(lines)),
        context(
            f"`{COMMAND} leaderboard` in a channel for the full board, other models and the most improved."
        ),
    ]


def build_home_view(view: HomeView, flows: dict[str, Flow]) -> dict[str, Any]:
    """The Home tab (``type: home``) for one person."""
    blocks: list[dict[str, Any]] = [header("Your MLOps maturity")]
    blocks += _notice(view, flows)
    blocks += _results(view, flows)
    if view.underway:
        blocks += [divider(), section("*Under way*"), *_underway(view, flows)]
    blocks += [divider(), *_start(view, flows)]
    top = _top(view, flows)
    room = HOME_BLOCKS - len(blocks) - len(top) - 2
    teams = _teams(view, flows, room)
    if teams:
        blocks += [divider(), *teams]
    if top:
        blocks += [divider(), *top]
    return {"type": "home", "blocks": blocks[:HOME_BLOCKS]}
