"""Check-in schedules and their occurrences. Never commits: services own transactions.

An occurrence is claimed by locking its schedule (:func:`claim_next_due`), moving ``next_due_at`` on
with a conditional UPDATE (only the caller that still sees the old value wins) and recording it
under the unique (schedule, due instant) pair, so two instances, two cron runs or cron overlapping
the in-process loop post it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, select, update

from models.repository import Db, channels, insert_for, people, workspaces
from models.tables import CheckinRun, Schedule, ScheduleStatus, as_utc, utcnow

schedules = cast(Table, Schedule.__table__)
runs = cast(Table, CheckinRun.__table__)


@dataclass(frozen=True)
class ScheduleRow:
    id: int
    channel_id: int
    period: str
    weekday: int | None
    month_day: int | None
    at_time: str
    tz: str
    status: str
    paused_reason: str | None
    next_due_at: datetime | None
    snoozed_until: datetime | None
    slack_team_id: str
    slack_channel_id: str
    set_by_slack_user_id: str


_COLUMNS = [
    *(schedules.c[name] for name in list(ScheduleRow.__dataclass_fields__)[:11]),
    workspaces.c.slack_team_id,
    channels.c.slack_channel_id,
    people.c.slack_user_id,
]
_SELECT = (
    select(*_COLUMNS)
    .join(channels, channels.c.id == schedules.c.channel_id)
    .join(workspaces, workspaces.c.id == channels.c.workspace_id)
    .join(people, people.c.id == schedules.c.set_by_person_id)
)


def _row(row: Row[Any]) -> ScheduleRow:
    values = dict(zip(ScheduleRow.__dataclass_fields__, row, strict=True))
    for name in ("next_due_at", "snoozed_until"):
        if values[name] is not None:
            values[name] = as_utc(values[name])
    return ScheduleRow(**values)


async def get_for_channel(db: Db, channel_id: int) -> ScheduleRow | None:
    row = (await db.execute(_SELECT.where(schedules.c.channel_id == channel_id))).first()
    return _row(row) if row else None


async def get(db: Db, schedule_id: int) -> ScheduleRow | None:
    row = (await db.execute(_SELECT.where(schedules.c.id == schedule_id))).first()
    return _row(row) if row else None


async def save(
    db: Db,
    *,
    channel_id: int,
    person_id: int,
    period: str,
    weekday: int | None,
    month_day: int | None,
    at_time: str,
    tz: str,
    next_due_at: datetime,
) -> None:
    """Create or replace the channel's schedule, active from now on."""
    now = utcnow()
    values = {
        "period": period,
        "weekday": weekday,
        "month_day": month_day,
        "at_time": at_time,
        "tz": tz,
        "status": ScheduleStatus.ACTIVE,
        "paused_reason": None,
        "set_by_person_id": person_id,
        "next_due_at": next_due_at,
        "snoozed_until": None,
        "updated_at": now,
    }
    stmt = insert_for(db, schedules).values(channel_id=channel_id, created_at=now, **values)
    await db.execute(stmt.on_conflict_do_update(index_elements=[schedules.c.channel_id], set_=values))


async def set_status(db: Db, schedule_id: int, status: ScheduleStatus, reason: str | None = None) -> bool:
    result = await db.execute(
        update(schedules)
        .where(schedules.c.id == schedule_id)
        .values(status=status, paused_reason=reason, updated_at=utcnow())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult at run time


async def claim_next_due(db: Db, now: datetime, skip: frozenset[int] = frozenset()) -> ScheduleRow | None:
    """Lock the earliest due active schedule for the caller's transaction; None when none is due.

    One statement: an UPDATE of the row a sub-select picks, which on PostgreSQL locks it ``FOR
    UPDATE SKIP LOCKED``, so runners in parallel take different schedules instead of queueing on
    the same one (SQLite has one writer at a time: the UPDATE takes its lock). The caller moves
    ``next_due_at`` on (:func:`advance`) before committing. ``skip``: ids this pass already gave up on.
    """
    pick = (
        select(schedules.c.id)
        .where(schedules.c.status == ScheduleStatus.ACTIVE, schedules.c.next_due_at <= now)
        .order_by(schedules.c.next_due_at, schedules.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if skip:
        pick = pick.where(schedules.c.id.not_in(skip))
    claimed = await db.scalar(
        update(schedules)
        .where(schedules.c.id == pick.scalar_subquery())
        .values(updated_at=utcnow())
        .returning(schedules.c.id)
    )
    return await get(db, int(claimed)) if claimed is not None else None


async def advance(db: Db, schedule_id: int, seen_due: datetime, next_due: datetime) -> bool:
    """Claim the occurrence at ``seen_due`` by moving the schedule on; False if someone else did."""
    result = await db.execute(
        update(schedules)
        .where(
            schedules.c.id == schedule_id,
            schedules.c.next_due_at == seen_due,
            schedules.c.status == ScheduleStatus.ACTIVE,
        )
        .values(next_due_at=next_due, updated_at=utcnow())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult at run time


async def snooze(db: Db, schedule_id: int, until: datetime) -> None:
    await db.execute(
        update(schedules)
        .where(schedules.c.id == schedule_id)
        .values(snoozed_until=until, updated_at=utcnow())
    )


async def record_run(
    db: Db, schedule_id: int, due_at: datetime, *, late: bool, snapshot: dict[str, Any]
) -> int | None:
    """Record an occurrence; None when it was already recorded (the claim was lost after all)."""
    result = await db.execute(
        insert_for(db, runs)
        .values(schedule_id=schedule_id, due_at=due_at, late=late, snapshot=snapshot, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[runs.c.schedule_id, runs.c.due_at])
        .returning(runs.c.id)
    )
    found = result.scalar()
    return int(found) if found is not None else None


async def previous_snapshot(db: Db, schedule_id: int, before: datetime) -> dict[str, Any] | None:
    """What the last check-in before ``before`` showed."""
    found = await db.scalar(
        select(runs.c.snapshot)
        .where(runs.c.schedule_id == schedule_id, runs.c.due_at < before)
        .order_by(runs.c.due_at.desc())
        .limit(1)
    )
    return cast(dict[str, Any] | None, found)
