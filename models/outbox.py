"""The outbox: queue, claim with a lease, and settle messages that must reach Slack. Never commits.

Claiming is one statement: an UPDATE of the due rows picked by a sub-select, which on PostgreSQL
locks them ``FOR UPDATE SKIP LOCKED`` so concurrent dispatchers take disjoint rows (SQLite has one
writer at a time, so the same statement is safe there). Every settling update names the lease
owner, so a dispatcher whose lease ran out cannot overwrite the work of the one that took over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, or_, select, update

from models.repository import Db, insert_for
from models.tables import OutboxMessage, OutboxStatus, as_utc, utcnow

outbox = cast(Table, OutboxMessage.__table__)

RESULT_KIND = "result"  # a completed result's post to its channel; ref_id is the result id
CHART_KIND = "result_chart"  # a result's chart, for the thread of its channel post; ref_id as above
DETAILS_KIND = "result_details"  # the rest of a result (categories, more steps), in that thread
NUDGE_KIND = "nudge"  # a private reminder of an assessment left waiting; user id is whose


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    dedupe_key: str
    slack_team_id: str
    slack_channel_id: str
    slack_user_id: str | None
    ref_id: int | None
    payload: dict[str, Any]
    status: str
    attempts: int
    available_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    sent_ts: str | None
    error: str | None
    notified_at: datetime | None


COLUMNS = [outbox.c[name] for name in OutboxRow.__dataclass_fields__]


def _row(row: Row[Any]) -> OutboxRow:
    values = dict(row._mapping)
    for name in ("available_at", "lease_expires_at", "notified_at"):
        if values[name] is not None:
            values[name] = as_utc(values[name])
    return OutboxRow(**values)


async def enqueue(
    db: Db,
    *,
    kind: str,
    dedupe_key: str,
    team_id: str,
    channel_id: str,
    user_id: str | None,
    ref_id: int | None,
    payload: dict[str, Any],
    available_at: datetime | None = None,
) -> int:
    """Queue a message (once per ``dedupe_key``); returns its id, new or existing."""
    now = utcnow()
    await db.execute(
        insert_for(db, outbox)
        .values(
            kind=kind,
            dedupe_key=dedupe_key,
            slack_team_id=team_id,
            slack_channel_id=channel_id,
            slack_user_id=user_id,
            ref_id=ref_id,
            payload=payload,
            status=OutboxStatus.PENDING,
            attempts=0,
            available_at=available_at or now,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[outbox.c.dedupe_key])
    )
    found = await db.scalar(select(outbox.c.id).where(outbox.c.dedupe_key == dedupe_key))
    assert found is not None, "ON CONFLICT DO NOTHING left no row behind"
    return int(found)


def _free(now: datetime) -> Any:
    """Not leased by a live dispatcher (never leased, handed back, or its lease ran out)."""
    return or_(outbox.c.lease_expires_at.is_(None), outbox.c.lease_expires_at < now)


def _lease(owner: str, lease_until: datetime, now: datetime) -> dict[str, Any]:
    """What taking a lease writes: whose it is, until when, and one more attempt."""
    return {
        "lease_owner": owner,
        "lease_expires_at": lease_until,
        "attempts": outbox.c.attempts + 1,
        "updated_at": now,
    }


async def claim_due(
    db: Db, owner: str, now: datetime, lease_until: datetime, limit: int, exclude_teams: tuple[str, ...] = ()
) -> list[OutboxRow]:
    """Lease up to ``limit`` pending messages that are due, oldest first, none for ``exclude_teams``."""
    due = (
        select(outbox.c.id)
        .where(outbox.c.status == OutboxStatus.PENDING, outbox.c.available_at <= now, _free(now))
        .order_by(outbox.c.available_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if exclude_teams:
        due = due.where(outbox.c.slack_team_id.not_in(exclude_teams))
    rows = await db.execute(
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()), _free(now))
        .values(_lease(owner, lease_until, now))
        .returning(*COLUMNS)
    )
    return sorted((_row(r) for r in rows.all()), key=lambda r: (r.available_at, r.id))


async def claim(db: Db, item_id: int, owner: str, now: datetime, lease_until: datetime) -> OutboxRow | None:
    """Lease one pending message now, due or not (a click delivering its own result at once)."""
    row = (
        await db.execute(
            update(outbox)
            .where(outbox.c.id == item_id, outbox.c.status == OutboxStatus.PENDING, _free(now))
            .values(_lease(owner, lease_until, now))
            .returning(*COLUMNS)
        )
    ).first()
    return _row(row) if row else None


async def _settle(db: Db, item_id: int, owner: str, **values: Any) -> bool:
    """End ``owner``'s lease on a message with ``values``; False if the lease is no longer theirs."""
    result = await db.execute(
        update(outbox)
        .where(outbox.c.id == item_id, outbox.c.lease_owner == owner, outbox.c.status == OutboxStatus.PENDING)
        .values(lease_owner=None, lease_expires_at=None, updated_at=utcnow(), **values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult at run time


async def mark_sent(
    db: Db, item_id: int, owner: str, ts: str | None, status: OutboxStatus = OutboxStatus.SENT
) -> bool:
    """Settle a message as sent (or as skipped on purpose)."""
    return await _settle(db, item_id, owner, status=status, sent_ts=ts, error=None)


async def reschedule(
    db: Db, item_id: int, owner: str, available_at: datetime, error: str | None, *, refund: bool = False
) -> bool:
    """Give a message back to the queue, due at ``available_at`` (backoff, Retry-After, shutdown).

    ``refund``: the attempt that just ended does not count (Slack said "not now", not "no").
    """
    extra: dict[str, Any] = {"attempts": outbox.c.attempts - 1} if refund else {}
    return await _settle(db, item_id, owner, available_at=available_at, error=error, **extra)


async def mark_failed(db: Db, item_id: int, owner: str, error: str) -> bool:
    return await _settle(db, item_id, owner, status=OutboxStatus.FAILED, error=error[:100])


async def claim_notification(db: Db, item_id: int) -> bool:
    """True for exactly one caller per failure: whoever may tell the person it was not delivered."""
    now = utcnow()
    result = await db.execute(
        update(outbox)
        .where(outbox.c.id == item_id, outbox.c.status == OutboxStatus.FAILED, outbox.c.notified_at.is_(None))
        .values(notified_at=now, updated_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult at run time


async def requeue(db: Db, item_id: int) -> bool:
    """Put a failed message back in the queue, due now, with a fresh count of attempts."""
    now = utcnow()
    result = await db.execute(
        update(outbox)
        .where(outbox.c.id == item_id, outbox.c.status == OutboxStatus.FAILED)
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            available_at=now,
            error=None,
            notified_at=None,
            updated_at=now,
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult at run time


async def get(db: Db, item_id: int) -> OutboxRow | None:
    row = (await db.execute(select(*COLUMNS).where(outbox.c.id == item_id))).first()
    return _row(row) if row else None


async def get_many(db: Db, item_ids: list[int]) -> list[OutboxRow]:
    rows = await db.execute(select(*COLUMNS).where(outbox.c.id.in_(item_ids)))
    return [_row(r) for r in rows.all()]


async def next_due(db: Db, exclude_teams: tuple[str, ...] = ()) -> datetime | None:
    """When the earliest pending message becomes due (None when nothing is pending)."""
    earliest = (
        select(outbox.c.available_at)
        .where(outbox.c.status == OutboxStatus.PENDING)
        .order_by(outbox.c.available_at)
        .limit(1)
    )
    if exclude_teams:
        earliest = earliest.where(outbox.c.slack_team_id.not_in(exclude_teams))
    found = await db.scalar(earliest)
    return as_utc(found) if found is not None else None
