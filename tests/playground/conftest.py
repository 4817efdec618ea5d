"""The real slack_sdk clients pointed at the Slack double (the ``double`` fixture is in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from playground.app import free_port, serve
from playground.slack_api import BOT_TOKEN, SlackDouble


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # Every request of a test is bounded even if the double misbehaves.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        yield http


@pytest.fixture
def client(double: SlackDouble, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=double.api_url, session=session)


async def error_of(call: Awaitable[Any]) -> SlackApiError:
    """The SlackApiError a Web API call raises (failing the test if it succeeds)."""
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


@pytest.fixture
async def page(tmp_path: Path) -> AsyncIterator[str]:
    """The playground on a free port with its own SQLite file; its base URL."""
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(serve(port, f"sqlite:///{tmp_path}/playground.db", ready))
    try:
        async with asyncio.timeout(60):
            done, _ = await asyncio.wait(
                {task, asyncio.create_task(ready.wait())}, return_when="FIRST_COMPLETED"
            )
            if task in done:
                task.result()  # the playground failed to start: show why
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
