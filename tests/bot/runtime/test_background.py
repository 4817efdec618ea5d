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


async def test_work_runs_at_most_max_running_at_once() -> None:
    """With two slots, five pieces of work never run more than two at a time, and all of them finish."""
    background, running, peak, finished = Background(max_running=2), 0, 0, 0

    async def work() -> None:
        nonlocal running, peak, finished
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        finished += 1

    assert all(background.spawn(work(), f"w{n}") for n in range(5))
    await background.drain(grace=5)
    assert (peak, finished) == (2, 5)


async def test_a_full_backlog_refuses_new_work_instead_of_piling_it_up() -> None:
    """Past the backlog cap spawn says no (and the refused coroutine is closed, never run)."""
    background, release = Background(max_running=1, max_backlog=3), asyncio.Event()
    ran: list[str] = []

    async def work(name: str) -> None:
        await release.wait()
        ran.append(name)

    accepted = [background.spawn(work(f"w{n}"), f"w{n}") for n in range(5)]
    assert accepted == [True, True, True, False, False]
    assert not background.has_room()
    assert background.refused == 2
    release.set()
    await background.drain(grace=5)
    assert sorted(ran) == ["w0", "w1", "w2"]
    assert background.has_room()
