"""`/maturity status team`: the channel's team per model, over time, per category, where it disagrees."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services.team import Spread, TeamModelStatus, TeamStatus
from bot.slack.blocks.kit import (
    SECTION_TEXT,
    actions,
    button,
    clip,
    context,
    escape,
    header,
    message,
    section,
)
from bot.slack.blocks.messages import COMMAND
from bot.slack.buttons import TREND_CHART
from flows.schema import Flow

HISTORY_SHOWN = 6  # points of the team's history written out


def _day(moment: datetime) -> str:
    return moment.strftime("%d %b")


def history_words(history: list[tuple[datetime, int, float]]) -> str:
    """ "1.20 (03 Jan) → 1.80 (02 Mar) → 2.35 (28 Nov)": the last points at which the score moved."""
    points: list[tuple[datetime, int, float]] = []
    for point in history:
        if not points or round(points[-1][2], 2) != round(point[2], 2):
            points.append(point)
    return " → ".join(f"{score:.2f} ({_day(at)})" for at, _level, score in points[-HISTORY_SHOWN:])


def _people(count: int) -> str:
    return f"{count} {'person says' if count == 1 else 'people say'}"


def spread_line(spread: Spread, flow: Flow) -> str:
    question = flow.question(spread.question_id)
    if question is None:
        return ""
    labels = {option.id: option.label for option in question.options}
    said = ", ".join(
        f"{_people(count)} “{escape(labels.get(option_id, option_id))}”"
        for option_id, count in spread.answers
    )
    return f"• _{escape(question.text)}_ {said}"


def _model_blocks(model: TeamModelStatus, flow: Flow | None, min_members: int) -> list[dict[str, Any]]:
    title = escape(flow.title) if flow else f"`{escape(model.flow_id)}`"
    name = f" {escape(flow.level(model.level).name)}" if flow and model.level <= flow.max_level else ""
    members = f"{model.members} member{'s' if model.members != 1 else ''} with a result"
    blocks = [
        section(f"*{title}*: team level *{model.level}{name}* (median score {model.score:.2f}), {members}"),
        context(f"Over time: {history_words(model.history)}"),
    ]
    if flow is not None and len(model.categories) > 1:
        names = {c.id: c.name for c in flow.categories}
        blocks.append(
            section(
                "Per category (median level): "
                + ", ".join(f"{escape(names.get(c, c))} *{level}*" for c, level in model.categories)
            )
        )
    if flow is not None and model.spread:
        lines = [line for line in (spread_line(s, flow) for s in model.spread) if line]
        blocks.append(
            section(clip("*Where the team sees its practice differently*\n" + "\n".join(lines), SECTION_TEXT))
        )
    elif model.members < min_members:
        blocks.append(
            context(f"Where members answered differently is shown once {min_members} of them have a result.")
        )
    return blocks


def build_team_status_message(status: TeamStatus, flows: dict[str, Flow]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header("Team view"), section(f"The team in <#{status.channel_id}>")]
    if not status.models:
        text = (
            f"Nobody here has a result yet. `{COMMAND} start` takes a few minutes; "
            "the team view fills in as people finish."
        )
        blocks.append(section(text))
    for model in status.models[:5]:
        blocks += _model_blocks(model, flows.get(model.flow_id), status.min_members)
    if status.commitments:
        lines = [f"• {escape(step)} (since {_day(since)})" for _id, step, since in status.commitments[:15]]
        blocks.append(section(clip("*Open commitments*\n" + "\n".join(lines), SECTION_TEXT)))
    if any(len(m.history) > 1 for m in status.models):
        blocks.append(actions("team", [button("Trend chart", TREND_CHART, "team")]))
    summary = ", ".join(f"{m.flow_id} level {m.level}" for m in status.models) or "no results yet"
    return message(f"Team view: {summary}", blocks)
