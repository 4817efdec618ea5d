"""Export of completed results (CSV or JSON) and deleting one person's data on request.

An export has one row per completed assessment: who, where, which model and version, the overall
and per-category levels and scores, and when. Text a spreadsheet would run as a formula (a cell
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.outcomes import Who
from flows.schema import Flow
from models import export as export_repo
from models.export import ExportRow, Forgotten

__all__ = ["ExportRow", "ExportService", "Forgotten", "neutralise", "to_csv", "to_json"]

logger = logging.getLogger(__name__)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FIXED = (
    "assessment_id", "user_id", "person", "channel_id", "model", "flow_version", "level", "score",
    "started_at", "completed_at",
)  # fmt: skip


def neutralise(value: object) -> object:
    """A cell's value as a spreadsheet may safely open it (numbers pass through)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _category_columns(rows: list[ExportRow], flows: dict[str, Flow]) -> list[tuple[str, str]]:
    """(model, category) pairs present in the rows, in the models' and categories' own order."""
    present = {(row.flow_id, c) for row in rows for c, _level, _score in row.categories}
    ordered: list[tuple[str, str]] = []
    for flow_id in [*flows, *sorted({f for f, _c in present} - set(flows))]:
        known = [c.id for c in flows[flow_id].categories] if flow_id in flows else []
        extra = sorted(c for f, c in present if f == flow_id and c not in known)
        ordered += [(flow_id, c) for c in [*known, *extra] if (flow_id, c) in present]
    return ordered


def to_csv(rows: list[ExportRow], flows: dict[str, Flow]) -> str:
    columns = _category_columns(rows, flows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED, *(f"{f}:{c}:{part}" for f, c in columns for part in ("level", "score"))])
    for row in rows:
        by_category = {(row.flow_id, c): (level, score) for c, level, score in row.categories}
        cells: list[object] = [
            row.assessment_id, row.slack_user_id, row.person_name or "", row.slack_channel_id, row.flow_id,
            row.flow_version, row.level, round(row.score, 4), row.started_at.isoformat(),
            row.completed_at.isoformat(),
        ]  # fmt: skip
        for key in columns:
            level, score = by_category.get(key, ("", ""))
            cells += [level, round(score, 4) if isinstance(score, float) else score]
        writer.writerow([neutralise(cell) for cell in cells])
    return out.getvalue()


def to_json(rows: list[ExportRow]) -> str:
    def one(row: ExportRow) -> dict[str, Any]:
        return {
            "assessment_id": row.assessment_id,
            "user_id": row.slack_user_id,
            "person": row.person_name,
            "channel_id": row.slack_channel_id,
            "model": row.flow_id,
            "flow_version": row.flow_version,
            "level": row.level,
            "score": round(row.score, 4),
            "started_at": row.started_at.isoformat(),
            "completed_at": row.completed_at.isoformat(),
            "categories": [
                {"category": c, "level": lv, "score": round(sc, 4)} for c, lv, sc in row.categories
            ],
        }

    return json.dumps([one(row) for row in rows], indent=2) + "\n"


class ExportService:
    def __init__(self, db: AsyncEngine, flows: dict[str, Flow]):
        self.db = db
        self.flows = flows

    async def rows(
        self,
        team_id: str,
        channel_id: str | None = None,
        since: datetime | None = None,
        visible_to: str | None = None,
    ) -> list[ExportRow]:
        async with self.db.connect() as conn:
            return await export_repo.completed(conn, team_id, channel_id, since, visible_to)

    async def channel_csv(self, who: Who) -> tuple[int, str]:
        """The channel's completed results as CSV (those shared, and the asker's own), and how many."""
        rows = await self.rows(who.team_id, who.channel_id, visible_to=who.user_id)
        return len(rows), to_csv(rows, self.flows)

    async def forget(self, who: Who) -> Forgotten:
        """Delete ``who``'s answers, results and commitments everywhere in the workspace."""
        async with self.db.begin() as conn:
            forgotten = await export_repo.forget(conn, who.team_id, who.user_id)
        logger.info(
            "person_forgotten",
            extra={"user": who.user_id, "assessments": forgotten.assessments, "results": forgotten.results},
        )
        return forgotten
