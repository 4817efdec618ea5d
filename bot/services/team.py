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

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.services.outcomes import Who
from flows.schema import Flow
from models import commitments as commitments_repo
from models import repository as repo
from models import results as results_repo
from models import teams as teams_repo
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


Latest = dict[str, dict[str, results_repo.MemberResult]]  # model -> Slack user -> latest result


async def _latest_by_model(conn: AsyncConnection, channel_id: int) -> Latest:
    """Each member's latest result per model in a channel (each person counts once per model)."""
    latest: Latest = {}
    for result in await results_repo.channel_results(conn, channel_id):
        latest.setdefault(result.flow_id, {})[result.slack_user_id] = result  # oldest first: last wins
    return latest


def _category_medians(
    latest: dict[str, results_repo.MemberResult], flow: Flow | None
) -> list[tuple[str, int]]:
    """The members' median level per category, in the flow's category order."""
    by_category: dict[str, list[int]] = {}
    for result in latest.values():
        for category_id, level, _score in result.categories:
            by_category.setdefault(category_id, []).append(level)
    order = [c.id for c in flow.categories] if flow else sorted(by_category)
    return [(c, statistics.median_low(by_category[c])) for c in order if c in by_category]


def _model_view(
    flow_id: str, latest: dict[str, results_repo.MemberResult], flows: dict[str, Flow]
) -> ModelView:
    members = sorted(latest)
    levels = [latest[m].level for m in members]
    weakest: list[tuple[str, int]] = []
    flow = flows.get(flow_id)
    if flow is not None and len(flow.categories) > 1:
        medians = _category_medians(latest, flow)
        position = {c: n for n, (c, _level) in enumerate(medians)}
        weakest = sorted(medians, key=lambda item: (item[1], position[item[0]]))[:WEAKEST]
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
    latest = await _latest_by_model(conn, channel_id)
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


# -- `/maturity status team` ----------------------------------------------------------------------

SPREAD_SHOWN = 5  # questions listed per model where the team disagrees most


@dataclass(frozen=True)
class Spread:
    """How a team's members answered one question, where they do not agree."""

    category_id: str
    question_id: str
    answers: list[tuple[str, int]]  # (option id, members who chose it), most chosen first


@dataclass(frozen=True)
class TeamModelStatus:
    flow_id: str
    level: int
    score: float
    members: int
    history: list[tuple[datetime, int, float]]  # (when, level, finer score) after each result
    categories: list[tuple[str, int]]  # (category id, median level), in the flow's order
    spread: list[Spread]  # empty while the team is too small to show it


@dataclass(frozen=True)
class TeamStatus:
    channel_id: str
    models: list[TeamModelStatus]
    commitments: list[tuple[int, str, datetime]]  # open ones: (id, step, since)
    min_members: int  # a team needs this many members with a result before its spread is shown


def _spread(flow: Flow, chosen: list[dict[str, str]]) -> list[Spread]:
    """Questions the members answered differently, the most divided first (then in flow order)."""
    found: list[tuple[float, int, Spread]] = []
    for position, question in enumerate(flow.questions):
        counts: dict[str, int] = {}
        for answers in chosen:
            if question.id in answers:
                counts[answers[question.id]] = counts.get(answers[question.id], 0) + 1
        if len(counts) < 2:
            continue
        place = {option.id: n for n, option in enumerate(question.options)}
        ranked = sorted(counts.items(), key=lambda item: (-item[1], place.get(item[0], len(place))))
        agreement = ranked[0][1] / sum(counts.values())
        found.append((agreement, position, Spread(question.category, question.id, ranked)))
    return [spread for *_, spread in sorted(found, key=lambda item: (item[0], item[1]))][:SPREAD_SHOWN]


class TeamService:
    def __init__(self, db: AsyncEngine, flows: dict[str, Flow], *, min_members: int = 3):
        self.db = db
        self.flows = flows
        self.min_members = min_members

    async def status(self, who: Who) -> TeamStatus:
        """This channel's team: level per model over time, per category, where members disagree,
        and the commitments still open."""
        async with self.db.connect() as conn:
            channel = await repo.channel_row_id(conn, who.team_id, who.channel_id)
            if channel is None:
                return TeamStatus(who.channel_id, [], [], self.min_members)
            latest = await _latest_by_model(conn, channel)
            models = []
            for row in sorted(
                await teams_repo.of_channels(conn, [channel]), key=lambda r: (-r.members, r.flow_id)
            ):
                flow = self.flows.get(row.flow_id)
                categories = _category_medians(latest.get(row.flow_id, {}), flow)
                spread: list[Spread] = []
                if flow is not None and row.members >= self.min_members:
                    chosen = await teams_repo.latest_answers(conn, channel, row.flow_id)
                    spread = _spread(flow, list(chosen.values()))
                history = [
                    (at, lv, sc) for at, lv, sc, _m in await teams_repo.trend(conn, channel, row.flow_id)
                ]
                models.append(
                    TeamModelStatus(
                        row.flow_id, row.level, row.score, row.members, history, categories, spread
                    )
                )
            open_now = [
                (c.id, c.step, c.created_at) for c in await commitments_repo.open_in_channel(conn, channel)
            ]
        return TeamStatus(who.channel_id, models, open_now, self.min_members)


def trend_series(status: TeamStatus) -> list[tuple[str, list[tuple[datetime, float]]]]:
    """Per model: the team's finer score after each result (for the trend chart)."""
    return [(m.flow_id, [(at, score) for at, _level, score in m.history]) for m in status.models]
