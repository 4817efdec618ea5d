"""A channel's team view, read-only: the levels of its members, per model, and who is under way.

Computed here once for check-ins (and, next, the leaderboard and `/maturity status team`). The team
level is the median of the members' latest results (each person counts once per model), with the
median finer score; categories are ranked by their median level to name where the team is weakest.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from flows.schema import Flow
from models import repository as repo
from models import results as results_repo
from models.teams import team_level

WEAKEST = 2  # categories named as the team's weakest


@dataclass(frozen=True)
class ModelView:
    """The team on one model."""

    flow_id: str
    members: list[str]  # Slack user ids with a result on this model here
    level: int  # median of the members' latest levels (the lower middle for an even count)
    score: float  # median of their finer scores
    weakest: list[tuple[str, int]] = field(default_factory=list)  # (category id, median level)
    change: float | None = None  # score now minus score at the previous check-in


@dataclass(frozen=True)
class TeamView:
    models: list[ModelView]
    in_progress: list[tuple[str, str]]  # (Slack user id, flow id), longest untouched first
    stale: list[str]  # members whose latest result is older than the staleness window


def _model_view(
    flow_id: str, latest: dict[str, results_repo.MemberResult], flows: dict[str, Flow]
) -> ModelView:
    members = sorted(latest)
    levels = [latest[m].level for m in members]
    by_category: dict[str, list[int]] = {}
    for result in latest.values():
        for category_id, level, _score in result.categories:
            by_category.setdefault(category_id, []).append(level)
    weakest: list[tuple[str, int]] = []
    flow = flows.get(flow_id)
    if flow is not None and len(flow.categories) > 1:
        order = {c.id: n for n, c in enumerate(flow.categories)}
        ranked = sorted(
            ((c, statistics.median_low(v)) for c, v in by_category.items() if c in order),
            key=lambda item: (item[1], order[item[0]]),
        )
        weakest = ranked[:WEAKEST]
    level, score = team_level(levels, [latest[m].score for m in members])
    return ModelView(flow_id, members, level, score, weakest)


async def team_view(
    conn: AsyncConnection,
    channel_id: int,
    flows: dict[str, Flow],
    *,
    now: datetime,
    stale_after: timedelta,
    previous: dict[str, Any] | None = None,
    under_way: list[repo.InProgress] | None = None,
) -> TeamView:
    """The team view of one channel as of ``now``; ``previous`` is an earlier view's snapshot.

    ``under_way`` is the channel's assessments in progress, when the caller has read them already.
    """
    latest: dict[str, dict[str, results_repo.MemberResult]] = {}
    for result in await results_repo.channel_results(conn, channel_id):
        latest.setdefault(result.flow_id, {})[result.slack_user_id] = result  # oldest first: last wins
    before = (previous or {}).get("models", {})
    models = []
    for flow_id in sorted(latest, key=lambda f: (-len(latest[f]), f)):
        view = _model_view(flow_id, latest[flow_id], flows)
        if flow_id in before:
            view = ModelView(
                **{**asdict(view), "change": round(view.score - float(before[flow_id]["score"]), 2)}
            )
        models.append(view)
    newest: dict[str, datetime] = {}
    for per_person in latest.values():
        for person, result in per_person.items():
            newest[person] = max(newest.get(person, result.completed_at), result.completed_at)
    stale = sorted(p for p, when in newest.items() if now - when > stale_after)
    if under_way is None:
        under_way = await repo.in_progress_in_channel(conn, channel_id)
    return TeamView(models, [(a.slack_user_id, a.flow_id) for a in under_way], stale)


def snapshot(view: TeamView) -> dict[str, Any]:
    """What a check-in keeps of the view, to say next time what changed."""
    return {
        "models": {
            m.flow_id: {"level": m.level, "score": m.score, "members": len(m.members)} for m in view.models
        }
    }


def view_to_payload(view: TeamView) -> dict[str, Any]:
    return asdict(view)


def view_from_payload(payload: dict[str, Any]) -> TeamView:
    models = [
        ModelView(
            m["flow_id"],
            list(m["members"]),
            int(m["level"]),
            float(m["score"]),
            [(str(c), int(lv)) for c, lv in m["weakest"]],
            m["change"],
        )
        for m in payload["models"]
    ]
    return TeamView(models, [(str(u), str(f)) for u, f in payload["in_progress"]], list(payload["stale"]))
