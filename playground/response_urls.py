"""The response_urls of the double: every accepted body is kept per key (``replies``), stamped with
when the first arrived (``arrived``, for the benchmark), and checked as Slack checks it. A key can be
told to fail or to hang, so tests can prove the app copes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from playground.blockkit import block_kit_problems
from playground.changes import Changes


@dataclass
class _Fault:
    status: int | None  # None: hang until the double stops
    times: int | None  # None: every time


@dataclass
class ResponseUrls(Changes):
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    # Every body that reached a response_url, accepted or not (None when it was not JSON).
    reply_attempts: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    arrived: dict[str, float] = field(default_factory=dict)
    _faults: dict[str, _Fault] = field(default_factory=dict)
    _waiters: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    _stopping: asyncio.Event | None = None

    def response_url(self, key: str) -> str:
        return f"{self.base_url}/response/{key}"

    def fail_response_url(self, key: str, status: int = 500, times: int | None = None) -> None:
        """Answer ``status`` to the next ``times`` bodies sent to ``key`` (every one when None)."""
        self._faults[key] = _Fault(status, times)

    def hang_response_url(self, key: str, times: int | None = None) -> None:
        """Never answer bodies sent to ``key`` (the next ``times``, or all) until the double stops."""
        self._faults[key] = _Fault(None, times)

    def heal_response_url(self, key: str) -> None:
        self._faults.pop(key, None)

    def release_hung_replies(self) -> None:
        """Answer every reply hanging right now with 503 (later hangs hang again)."""
        if self._stopping is not None:
            self._stopping.set()
            self._stopping = asyncio.Event()

    async def _response(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        raw = await request.read()
        arrived = time.perf_counter()  # as soon as the body is in, before checking it
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        self.reply_attempts[key].append(body)
        await self._notify()  # waiters on attempts (a hanging reply never gets to the notify below)
        fault = self._faults.get(key)
        if fault is not None:
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self._faults[key]
            if fault.status is not None:
                return web.Response(status=fault.status, text=_reason(fault.status))
            assert self._stopping is not None
            await self._stopping.wait()
            return web.Response(status=503, text="stopped")
        # Slack answers a bad response_url body as an incoming webhook does: HTTP 400 with the bare
        # error code as plain text (no details), e.g. "invalid_blocks"; a good one gets 200 "ok".
        problem = _reply_problem(body)
        if problem is not None:
            return web.Response(status=400, text=problem)
        self.replies[key].append(body)
        self.arrived.setdefault(key, arrived)
        waiter = self._waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        await self._notify()
        return web.Response(text="ok")

    async def first_reply(self, key: str, timeout: float = 10.0) -> tuple[dict[str, Any], float]:
        """The first reply ``key`` accepted and when it arrived (perf_counter seconds).

        One future per key, so many waiters do not all wake on every reply. Raises TimeoutError
        after ``timeout`` seconds without one.
        """
        if key not in self.arrived:
            waiter = self._waiters.get(key)
            if waiter is None:
                waiter = self._waiters[key] = asyncio.get_running_loop().create_future()
            async with asyncio.timeout(timeout):
                await asyncio.shield(waiter)  # a timed-out waiter must not cancel the others' future
        return self.replies[key][0], self.arrived[key]

    async def wait_for_reply(self, key: str, count: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until ``key`` has received ``count`` replies and return the last of them."""
        await self.wait_until(lambda: len(self.replies[key]) >= count, timeout)
        return self.replies[key][count - 1]


def _reply_problem(body: Any) -> str | None:
    """Why Slack would refuse a response_url body, or None."""
    if not isinstance(body, dict):
        return "invalid_payload"
    if body.get("delete_original") in (True, "true"):
        return None
    if not body.get("text") and not body.get("blocks") and not body.get("attachments"):
        return "no_text"
    # Size included: the webhook has no msg_blocks_too_long, it only ever says invalid_blocks.
    return "invalid_blocks" if block_kit_problems(body) else None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"
