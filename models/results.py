"""Results: every completed assessment's score, kept as history, and where its summary went."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from flows.engine import Score
from models.outbox import RESULT_KIND, outbox
from models.repository import Db, assessments, people, result_categories, results
from models.tables import as_utc, utcnow


async def add_result(db: Db, assessment_id: int, score: Score) -> int:
    """Store a score with its per-category rows; returns the result id."""
    result_id = await db.scalar(
        results.insert()
        .values(assessment_id=assessment_id, level=score.level, score=score.score, created_at=utcnow())
        .returning(results.c.id)
    )
    assert result_id is not None
    if not score.categories:
        return int(result_id)
    await db.execute(
        result_categories.insert(),
        [
            {
                "result_id": result_id,
                "category_id": c.category_id,
                "position": i,
                "level": c.level,
                "score": c.score,
            }
            for i, c in enumerate(score.categories)
        ],
    )
    return int(result_id)


async def record_post(db: Db, result_id: int, ts: str | None, error: str | None) -> None:
    await db.execute(update(results).where(results.c.id == result_id).values(posted_ts=ts, post_error=error))


CATEGORY_BATCH = 500  # result ids per query: far inside every driver's limit on bound parameters


async def categories_of(db: Db, result_ids: list[int]) -> dict[int, list[tuple[str, int, float]]]:
    """(category, level, score) per result, in the flow's category order (any number of results)."""
    by_result: dict[int, list[tuple[str, int, float]]] = {result_id: [] for result_id in result_ids}
    for start in range(0, len(result_ids), CATEGORY_BATCH):
        categories = await db.execute(
            select(
                result_categories.c.result_id,
                result_categories.c.category_id,
                result_categories.c.level,
                result_categories.c.score,
            )
            .where(result_categories.c.result_id.in_(result_ids[start : start + CATEGORY_BATCH]))
            .order_by(result_categories.c.result_id, result_categories.c.position)
        )
        for result_id, category_id, level, score in categories.all():
            by_result[result_id].append((category_id, level, score))
    return by_result


@dataclass(frozen=True)
class PastResult:
    assessment_id: int
    flow_id: str
    flow_version: str
    completed_at: datetime | None
    level: int
    score: float
    categories: tuple[tuple[str, int, float], ...]
    post_status: str | None = None  # its channel post in the outbox: pending, sent or failed
    post_error: str | None = None
    outbox_id: int | None = None  # None: never shared (kept private, or not decided yet)
    result_id: int | None = None


async def latest_results(db: Db, person_id: int, channel_id: int, limit: int = 3) -> Sequence[PastResult]:
    """This person's most recent completed results in this channel, newest first."""
    rows = (
        await db.execute(
            select(
                results.c.id,
                assessments.c.id,
                assessments.c.flow_id,
                assessments.c.flow_version,
                assessments.c.completed_at,
                results.c.level,
                results.c.score,
                outbox.c.status,
                outbox.c.error,
                outbox.c.id,
            )
            .join(results, results.c.assessment_id == assessments.c.id)
            .outerjoin(outbox, (outbox.c.kind == RESULT_KIND) & (outbox.c.ref_id == results.c.id))
            .where(assessments.c.person_id == person_id, assessments.c.channel_id == channel_id)
            .order_by(assessments.c.completed_at.desc(), assessments.c.id.desc())
            .limit(limit)
        )
    ).all()
    by_result = await categories_of(db, [row[0] for row in rows])
    return [
        PastResult(*row[1:7], categories=tuple(by_result[row[0]]), post_status=row[7], post_error=row[8],
                   outbox_id=row[9], result_id=row[0])
        for row in rows
    ]  # fmt: skip


@dataclass(frozen=True)
class MemberResult:
    """One completed result in a channel, with whose it is (for the team's view)."""

    slack_user_id: str
    flow_id: str
    completed_at: datetime
    level: int
    score: float
    categories: tuple[tuple[str, int, float], ...]


async def channel_results(db: Db, channel_id: int) -> list[MemberResult]:
    """Every completed result in a channel, oldest first (the team view keeps each person's latest)."""
    rows = (
        await db.execute(
            select(
                results.c.id,
                people.c.slack_user_id,
                assessments.c.flow_id,
                assessments.c.completed_at,
                results.c.level,
                results.c.score,
            )
            .join(results, results.c.assessment_id == assessments.c.id)
            .join(people, people.c.id == assessments.c.person_id)
            .where(assessments.c.channel_id == channel_id)
            .order_by(assessments.c.completed_at, assessments.c.id)
        )
    ).all()
    by_result = await categories_of(db, [row[0] for row in rows])
    return [
        MemberResult(row[1], row[2], as_utc(row[3]), row[4], row[5], tuple(by_result[row[0]])) for row in rows
    ]


async def assessment_of(db: Db, result_id: int) -> int | None:
    """The assessment a result scored."""
    found = await db.scalar(select(results.c.assessment_id).where(results.c.id == result_id))
    return int(found) if found is not None else None
