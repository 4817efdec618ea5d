"""Work that runs after Slack has its acknowledgement: tracked so shutdown can let it finish."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class Background:
    """Starts tasks, keeps a reference to each until it ends, and drains them at shutdown.

    Listeners `await ack()` and hand the rest of their work here, so Bolt (run with
    process_before_response) answers Slack's HTTP request at once instead of polling for the
    acknowledgement every 10 ms.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, grace: float = 10.0) -> None:
        """Wait for running work to finish (a reply half-sent is worse than a slower shutdown)."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("background_work_cancelled", extra={"tasks": len(pending)})
