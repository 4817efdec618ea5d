"""Commitments: next steps a team took on from a result, and every update on them. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update

from models.repository import Db, channels, insert_for, workspaces
from models.tables import Commitment, CommitmentStatus, CommitmentUpdate, as_utc, utcnow

commitments = cast(Table, Commitment.__table__)
updates = cast(Table, CommitmentUpdate.__table__)


@dataclass(frozen=True)
class CommitmentRow:
    id: int
    channel_id: int
    result_id: int
    step_index: int
    step: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    slack_team_id: str
    slack_channel_id: str


_SELECT = (
    select(
        commitments.c.id,
        commitments.c.channel_id,
        commitments.c.result_id,
        commitments.c.step_index,
        commitments.c.step,
        commitments.c.status,
        commitments.c.created_at,
        commitments.c.closed_at,
        workspaces.c.slack_team_id,
        channels.c.slack_channel_id,
    )
    .join(channels, channels.c.id == commitments.c.channel_id)
    .join(workspaces, workspaces.c.id == channels.c.workspace_id)
)


def _row(row: Any) -> CommitmentRow:
    values = list(row)
    values[6] = as_utc(values[6])
    values[7] = as_utc(values[7]) if values[7] is not None else None
    return CommitmentRow(*values)


async def add(
    db: Db, *, channel_id: int, result_id: int, step_index: int, step: str, person_id: int
) -> int | None:
    """Take on a step; None when this step of this result already is a commitment."""
    now = utcnow()
    result = await db.execute(
        insert_for(db, commitments)
        .values(
            channel_id=channel_id,
            result_id=result_id,
            step_index=step_index,
            step=step[:500],
            status=CommitmentStatus.OPEN,
            created_by_person_id=person_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[commitments.c.result_id, commitments.c.step_index])
        .returning(commitments.c.id)
    )
    found = result.scalar()
    return int(found) if found is not None else None


async def count_for_result(db: Db, result_id: int) -> int:
    found = await db.scalar(
        select(func.count()).select_from(commitments).where(commitments.c.result_id == result_id)
    )
    return int(found or 0)


async def get(db: Db, commitment_id: int) -> CommitmentRow | None:
    row = (await db.execute(_SELECT.where(commitments.c.id == commitment_id))).first()
    return _row(row) if row else None


async def open_in_channel(db: Db, channel_id: int) -> list[CommitmentRow]:
    rows = await db.execute(
        _SELECT.where(
            commitments.c.channel_id == channel_id, commitments.c.status == CommitmentStatus.OPEN
        ).order_by(commitments.c.created_at, commitments.c.id)
    )
    return [_row(r) for r in rows.all()]


async def done_since(db: Db, channel_id: int, since: datetime | None) -> list[CommitmentRow]:
    criteria = [commitments.c.channel_id == channel_id, commitments.c.status == CommitmentStatus.DONE]
    if since is not None:
        criteria.append(commitments.c.closed_at > since)
    rows = await db.execute(_SELECT.where(*criteria).order_by(commitments.c.closed_at, commitments.c.id))
    return [_row(r) for r in rows.all()]


async def record_update(db: Db, commitment_id: int, person_id: int, action: str) -> str | None:
    """Record who said what; done and drop close an open commitment. The new status, or None when
    it was no longer open (someone else closed it first)."""
    now = utcnow()
    closing = {"done": CommitmentStatus.DONE, "drop": CommitmentStatus.DROPPED}.get(action)
    if closing is not None:
        result = await db.execute(
            update(commitments)
            .where(commitments.c.id == commitment_id, commitments.c.status == CommitmentStatus.OPEN)
            .values(status=closing, closed_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult at run time
            return None
    await db.execute(
        updates.insert().values(
            commitment_id=commitment_id, person_id=person_id, action=action, created_at=now
        )
    )
    return str(closing or CommitmentStatus.OPEN)
