"""The real slack_sdk clients pointed at the Slack double (the ``double`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

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
