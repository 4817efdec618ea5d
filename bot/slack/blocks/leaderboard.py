"""The leaderboard message: ranked teams as channel links, the asking channel's place, model buttons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services.leaderboard import Leaderboard, NoTeamsYet, Standing, TooFewResults
from bot.slack.blocks.kit import actions, button, context, escape, header, message, section
from bot.slack.blocks.messages import COMMAND
from bot.slack.buttons import LEADERBOARD, LEADERBOARD_SHARE, TREND_CHART, leaderboard_value
from flows.schema import Flow

SYNTAX = (
    f"`{COMMAND} leaderboard [model] [improved] [post]`, for example `{COMMAND} leaderboard`, "
    f"`{COMMAND} leaderboard azure improved` or `{COMMAND} leaderboard gigaom post`"
)
STEADY = 0.05  # a change smaller than this (either way) shows as steady


def trend_arrow(change: float | None) -> str:
    if change is None or abs(change) < STEADY:
        return "→"
    return "↑" if change > 0 else "↓"


def change_words(change: float | None) -> str:
    if change is None:
        return "new"
    if abs(change) < STEADY:
        return "steady"
    return f"{change:+.2f}"


def _title(flows: dict[str, Flow], flow_id: str) -> str:
    flow = flows.get(flow_id)
    return escape(flow.title) if flow else f"`{escape(flow_id)}`"


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b %Y")


def _line(standing: Standing) -> str:
    return (
        f"*{standing.rank}.* <#{standing.channel_id}>  *level {standing.level}* ({standing.score:.2f}) "
        f"{trend_arrow(standing.change)} {change_words(standing.change)} · "
        f"{standing.members} members · last result {_day(standing.last_activity)}"
    )


def _here(board: Leaderboard, channel_id: str, shared: bool) -> str | None:
    here = board.here
    this = "This channel" if shared else "Your team here"
    if isinstance(here, TooFewResults):
        return (
            f"{this} (<#{here.channel_id}>): not enough results yet to show this team "
            f"({here.members} of the {here.needed} members needed have one)."
        )
    if isinstance(here, Standing):
        if any(s.channel_id == here.channel_id for s in board.standings):
            return None  # already in the list
        return f"{this}: {_line(here)} (of {board.teams})"
    return f"{this} (<#{channel_id}>): nobody has a result on this model yet."


def _buttons(board: Leaderboard | NoTeamsYet, flows: dict[str, Flow], shared: bool) -> list[dict[str, Any]]:
    improved = isinstance(board, Leaderboard) and board.improved
    elements = [
        button(flows[f].title, f"{LEADERBOARD}:{f}", leaderboard_value(f, improved))
        for f in board.other_flows
        if f in flows
    ][:3]
    if isinstance(board, Leaderboard):
        flip = "By level" if board.improved else "Most improved"
        elements.append(
            button(flip, f"{LEADERBOARD}:{board.flow_id}", leaderboard_value(board.flow_id, not improved))
        )
        if board.improved and board.standings:
            elements.append(button("Trend chart", TREND_CHART, f"improved|{board.flow_id}"))
        if not shared:
            elements.append(
                button("Share in channel", LEADERBOARD_SHARE, leaderboard_value(board.flow_id, improved))
            )
    return elements


def build_leaderboard_message(
    board: Leaderboard | NoTeamsYet, flows: dict[str, Flow], channel_id: str, *, shared: bool = False
) -> dict[str, Any]:
    """The leaderboard for one person (``shared=False``) or posted in the channel."""
    if isinstance(board, NoTeamsYet):
        what = f"on {_title(flows, board.flow_id)}" if board.flow_id else "on any model"
        text = (
            f"No team has a result {what} yet. Start one with `{COMMAND} start`; a team appears once "
            "enough of its members have a result."
        )
        notice: list[dict[str, Any]] = [section(text)]
        if board.other_flows:
            notice.append(actions("leaderboard", _buttons(board, flows, shared)))
        return message(text, notice)
    kind = "most improved" if board.improved else "by team level"
    title = f"Leaderboard: {_title(flows, board.flow_id)}, {kind}"
    rule = (
        f"Teams are channels. A team's level is the median of its members' latest results; "
        f"teams appear once {board.min_members} members have a result. "
        + (
            f"Ranked by the change in the team's finer score over the last {board.window_days} days."
            if board.improved
            else "Ties on level are split by the finer score; changes are over the last "
            f"{board.window_days} days."
        )
    )
    blocks: list[dict[str, Any]] = [header(title), context(rule)]
    if board.standings:
        blocks.append(section("\n".join(_line(s) for s in board.standings)))
        if board.teams > len(board.standings):
            blocks.append(context(f"Top {len(board.standings)} of {board.teams} teams."))
    else:
        blocks.append(section(f"No team has {board.min_members} members with a result yet."))
    here = _here(board, channel_id, shared)
    if here:
        blocks.append(section(here))
    blocks.append(actions("leaderboard", _buttons(board, flows, shared)))
    fallback = f"{title}: " + "; ".join(
        f"{s.rank}. level {s.level} ({s.score:.2f})" for s in board.standings[:5]
    )
    return message(fallback, blocks)


def build_leaderboard_usage(given: str) -> dict[str, Any]:
    text = f"I can't read `{escape(given[:40])}` here. Try {SYNTAX}."
    return message(text, [section(text)])


def build_leaderboard_shared(channel_id: str, error: str | None) -> dict[str, Any]:
    if error is None:
        text = f"Shared the leaderboard in <#{channel_id}>."
    elif error in {"not_in_channel", "channel_not_found"}:
        text = (
            "I'm not in this channel, so I can't post here. "
            "Invite me with `/invite @maturity-bot` and try again."
        )
    else:
        text = f"I couldn't post the leaderboard here (Slack said `{escape(error)}`). Try again in a moment."
    return message(text, [section(text)])
