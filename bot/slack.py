"""The Slack Web API client and the response_url sender, sharing one HTTP session."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

logger = logging.getLogger(__name__)


def retry_handlers() -> list[Any]:
    # Retrying sleeps: these only ever run after ack(), inside the listener's background work.
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


def build_web_client(token: str | None, base_url: str, session: aiohttp.ClientSession) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=base_url, session=session, retry_handlers=retry_handlers())


class Messenger:
    """Sends messages: to a response_url (ephemeral replies) or to a channel (results)."""

    def __init__(self, client: AsyncWebClient, session: aiohttp.ClientSession):
        self.client = client
        self.session = session
        self._retry = retry_handlers()  # stateless between calls, so built once

    async def reply(self, response_url: str, message: dict[str, Any], *, replace: bool) -> None:
        """Send an ephemeral reply through a response_url; replace the clicked message if asked.

        A failure is logged, not raised: the person can always bring the question back with
        `/maturity resume`.
        """
        body = {"response_type": "ephemeral", "replace_original": replace, **message}
        webhook = AsyncWebhookClient(response_url, session=self.session, retry_handlers=self._retry)
        try:
            response = await webhook.send_dict(body)
        except (aiohttp.ClientError, TimeoutError):
            logger.exception("reply_failed", extra={"replace": replace})
            return
        if response.status_code != 200:
            logger.warning(
                "reply_rejected", extra={"status": response.status_code, "body": response.body[:200]}
            )

    async def post(self, channel_id: str, message: dict[str, Any]) -> tuple[str | None, str | None]:
        """Post to a channel; returns (ts, None) or (None, Slack's error code)."""
        try:
            response = await self.client.chat_postMessage(channel=channel_id, **message)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            logger.warning("post_failed", extra={"channel": channel_id, "error": error})
            return None, error
        except (aiohttp.ClientError, TimeoutError):
            logger.exception("post_failed", extra={"channel": channel_id})
            return None, "connection_error"
        return str(response.get("ts")), None
