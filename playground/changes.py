"""The part of the double every other part shares: its address, and a notification of change that
lets a test wait (bounded) for a call, a reply or an ack to arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Changes:
    base_url: str = ""
    _changed: asyncio.Condition | None = None
    version: int = 0  # grows with every change the double saw

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self.version += 1
            self._changed.notify_all()

    async def changed_since(self, version: int, timeout: float) -> int:
        """Wait (up to ``timeout``) for a change after ``version``; returns the version now."""
        assert self._changed is not None
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version > version), timeout)
            return self.version

    async def wait_until(self, predicate: Callable[[], object], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked whenever the double saw a call, reply or ack."""
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
