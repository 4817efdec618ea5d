"""Background work: kept alive until done, drained at shutdown, cancelled past the grace period."""

from __future__ import annotations

import asyncio

from bot.runtime.background import Background


async def test_drain_waits_for_running_work() -> None:
    """Work still running at shutdown is allowed to finish."""
    background, done = Background(), asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0.05)
        done.set()

    background.spawn(work(), "work")
    await background.drain(grace=5)
    assert done.is_set()


async def test_drain_cancels_work_past_the_grace_period() -> None:
    """Work that outlives the grace period is cancelled instead of holding shutdown forever."""
    background, cancelled = Background(), asyncio.Event()

    async def stuck() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    background.spawn(stuck(), "stuck")
    await background.drain(grace=0.05)
    await asyncio.sleep(0)
    assert cancelled.is_set()
