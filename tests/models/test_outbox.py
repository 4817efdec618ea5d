"""The outbox table's repository: queue once, claim with leases, settle only as the lease owner."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from models import outbox as repo
from models.tables import OutboxStatus, utcnow


async def _queue(engine: AsyncEngine, n: int, *, delay: float = 0.0) -> list[int]:
    async with engine.begin() as conn:
        return [
            await repo.enqueue(
                conn,
                kind="result",
                dedupe_key=f"result:{i}",
                team_id="T1",
                channel_id="C1",
                user_id="U1",
                ref_id=i,
                payload={"n": i},
                available_at=utcnow() + timedelta(seconds=delay),
            )
            for i in range(n)
        ]


async def test_queueing_twice_under_one_key_keeps_one_message(engine: AsyncEngine) -> None:
    """The dedupe key makes queueing idempotent: the second call returns the first message's id."""
    first = await _queue(engine, 1)
    again = await _queue(engine, 1)
    assert first == again
    async with engine.connect() as conn:
        row = await repo.get(conn, first[0])
    assert row is not None
    assert (row.status, row.attempts, row.payload) == (OutboxStatus.PENDING, 0, {"n": 0})


async def test_a_leased_message_is_not_claimed_again_until_its_lease_runs_out(engine: AsyncEngine) -> None:
    """A claim leases due messages to one owner; another owner gets them only after the lease expires."""
    ids = await _queue(engine, 3)
    now = utcnow()
    async with engine.begin() as conn:
        mine = await repo.claim_due(conn, "a", now, now + timedelta(seconds=60), limit=2)
        theirs = await repo.claim_due(conn, "b", now, now + timedelta(seconds=60), limit=5)
    assert [m.id for m in mine] == ids[:2]
    assert [m.id for m in theirs] == ids[2:]
    assert all(m.attempts == 1 and m.lease_owner == "a" for m in mine)
    later = now + timedelta(seconds=61)
    async with engine.begin() as conn:
        taken_over = await repo.claim_due(conn, "b", later, later + timedelta(seconds=60), limit=5)
    assert [m.id for m in taken_over] == ids  # a's lease and b's first lease have both run out
    assert [m.attempts for m in taken_over] == [2, 2, 2]


async def test_only_the_lease_owner_settles_a_message(engine: AsyncEngine) -> None:
    """After another dispatcher took over an expired lease, the first one's late answer changes nothing."""
    (item,) = await _queue(engine, 1)
    now = utcnow()
    async with engine.begin() as conn:
        await repo.claim_due(conn, "a", now, now + timedelta(seconds=1), limit=1)
        later = now + timedelta(seconds=2)
        await repo.claim_due(conn, "b", later, later + timedelta(seconds=60), limit=1)
        assert not await repo.mark_sent(conn, item, "a", "1.1")
        assert await repo.mark_sent(conn, item, "b", "2.2")
        row = await repo.get(conn, item)
    assert row is not None
    assert (row.status, row.sent_ts, row.lease_owner) == (OutboxStatus.SENT, "2.2", None)


async def test_messages_not_yet_due_wait_but_can_be_claimed_by_id(engine: AsyncEngine) -> None:
    """A delayed message is left by claim_due until due, yet the click that queued it can claim it now."""
    (item,) = await _queue(engine, 1, delay=30)
    now = utcnow()
    async with engine.begin() as conn:
        assert await repo.claim_due(conn, "loop", now, now + timedelta(seconds=60), limit=5) == []
        claimed = await repo.claim(conn, item, "click", now, now + timedelta(seconds=60))
        assert claimed is not None
        assert await repo.claim(conn, item, "other", now, now + timedelta(seconds=60)) is None
        assert await repo.next_due(conn) is not None


async def test_a_failure_is_told_once_and_can_be_requeued(engine: AsyncEngine) -> None:
    """Exactly one claim_notification wins per failure; requeue makes it pending again with a clean slate."""
    (item,) = await _queue(engine, 1)
    now = utcnow()
    async with engine.begin() as conn:
        await repo.claim(conn, item, "a", now, now + timedelta(seconds=60))
        assert await repo.mark_failed(conn, item, "a", "not_in_channel")
        assert await repo.claim_notification(conn, item)
        assert not await repo.claim_notification(conn, item)
        assert await repo.requeue(conn, item)
        assert not await repo.requeue(conn, item)
        row = await repo.get(conn, item)
    assert row is not None
    assert (row.status, row.attempts, row.error, row.notified_at) == (OutboxStatus.PENDING, 0, None, None)


async def test_concurrent_claims_take_disjoint_messages(engine: AsyncEngine) -> None:
    """Dispatchers claiming at once never lease one message twice (SKIP LOCKED on PostgreSQL)."""
    ids = await _queue(engine, 40)

    async def claim(owner: str) -> list[int]:
        taken: list[int] = []
        for _ in range(10):
            now = utcnow()
            async with engine.begin() as conn:
                claimed = await repo.claim_due(conn, owner, now, now + timedelta(seconds=60), 3)
                taken += [m.id for m in claimed]
        return taken

    results = await asyncio.gather(*(claim(f"d{n}") for n in range(4)))
    everything = [i for taken in results for i in taken]
    assert sorted(everything) == ids
    assert len(set(everything)) == len(everything)
