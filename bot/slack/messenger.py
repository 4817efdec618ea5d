"""The one door messages leave by: every Slack destination the app uses, over one HTTP session.

Replies to a person go to their interaction's response_url (ephemeral, optionally replacing the
message they clicked) or, without one, to chat.postEphemeral. Channel posts, the App Home, file
uploads and the users.info / conversations.info look-ups go through the Web API client. Failures
come back as Slack's error code (or ``connection_error``) and are logged; nothing here raises for a
refusal from Slack, so callers decide what the person is told.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

logger = logging.getLogger(__name__)

CONNECTION_ERROR = "connection_error"
TIMEOUT = "timeout"  # Slack may or may not have acted on the call
UNREADABLE = "unreadable_response"

T = TypeVar("T")


def retry_handlers() -> list[Any]:
    # Retrying sleeps: these only ever run after ack(), inside the listener's background work.
    # A timeout is not retried: the call may have done its work (a second copy), and a hanging
    # endpoint would hold the caller three times as long.
    return [
        AsyncConnectionErrorRetryHandler(
            max_retry_count=2,
            error_types=[aiohttp.ServerDisconnectedError, aiohttp.ClientOSError],
        ),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


def build_web_client(
    token: str | None, base_url: str, session: aiohttp.ClientSession, *, retries: bool = True
) -> AsyncWebClient:
    """The Web API client; without ``retries`` every call is tried once (the outbox retries itself)."""
    return AsyncWebClient(
        token=token, base_url=base_url, session=session, retry_handlers=retry_handlers() if retries else []
    )


@dataclass(frozen=True)
class ReplyTarget:
    """Where a reply to one person goes: the response_url of their request, when it has one."""

    channel_id: str
    user_id: str
    response_url: str | None = None


@dataclass(frozen=True)
class Sent:
    """What became of a message: its ts (or a file's or view's id), or Slack's error code.

    ``status`` is the HTTP status of a refusal (429, 5xx, or 200 for an ``ok: false``) and
    ``retry_after`` Slack's Retry-After in seconds, when it gave one.
    """

    ts: str | None = None
    error: str | None = None
    status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Refused:
    """A Web API call that did not succeed: Slack's error code and what came with it."""

    error: str
    status: int | None = None
    retry_after: float | None = None

    def sent(self) -> Sent:
        return Sent(error=self.error, status=self.status, retry_after=self.retry_after)


@dataclass(frozen=True)
class SlackUser:
    """The parts of users.info the app uses (time zone, status, whether to count the person)."""

    id: str
    name: str
    real_name: str
    tz: str | None
    tz_label: str | None
    tz_offset: int | None
    status_text: str
    status_emoji: str
    is_bot: bool
    deleted: bool


@dataclass(frozen=True)
class SlackChannel:
    """The parts of conversations.info the app uses (can it post there at all)."""

    id: str
    name: str
    is_private: bool
    is_archived: bool
    is_member: bool


class Messenger:
    def __init__(
        self, client: AsyncWebClient, session: aiohttp.ClientSession, once: AsyncWebClient | None = None
    ):
        self.client = client
        # The same API without retry handlers, for callers that schedule their own retries.
        self.once = once or client
        self.session = session
        self._retry = retry_handlers()  # stateless between calls, so built once

    async def _web_api(self, method: str, call: Callable[[], Awaitable[T]]) -> T | Refused:
        """Run one Web API call; Slack's refusal (logged) instead of an exception."""
        try:
            return await call()
        except SlackApiError as exc:
            response = exc.response
            error = str(response.get("error", "unknown_error"))
            retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
            logger.warning(
                "slack_call_refused", extra={"method": method, "error": error, "status": response.status_code}
            )
            return Refused(error, response.status_code, float(retry_after) if retry_after else None)
        except TimeoutError:
            logger.warning("slack_call_timed_out", extra={"method": method})
            return Refused(TIMEOUT)
        except aiohttp.ClientError:
            logger.exception("slack_call_failed", extra={"method": method})
            return Refused(CONNECTION_ERROR)
        except ValueError:  # a body that is not Slack's JSON (a proxy's error page, say)
            logger.exception("slack_call_unreadable", extra={"method": method})
            return Refused(UNREADABLE)

    # -- to one person ------------------------------------------------------------------------------

    async def reply(self, target: ReplyTarget, message: dict[str, Any], *, replace: bool = False) -> None:
        """Send an ephemeral reply to the person behind ``target``.

        Through the response_url when there is one (replacing the clicked message if asked), else as
        chat.postEphemeral in the channel (which cannot replace anything). A failure is logged, not
        raised: the person can always bring their question back with `/maturity resume`.
        """
        if target.response_url:
            await self._respond(target.response_url, message, replace=replace)
        else:
            await self.post_ephemeral(target.channel_id, target.user_id, message)

    async def _respond(self, response_url: str, message: dict[str, Any], *, replace: bool) -> None:
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

    async def post_ephemeral(self, channel_id: str, user_id: str, message: dict[str, Any]) -> Sent:
        """A message in the channel that only ``user_id`` sees."""
        result = await self._web_api(
            "chat.postEphemeral",
            lambda: self.client.chat_postEphemeral(channel=channel_id, user=user_id, **message),
        )
        if isinstance(result, Refused):
            return result.sent()
        return Sent(ts=str(result.get("message_ts")))

    async def publish_home(self, user_id: str, view: dict[str, Any]) -> Sent:
        """Show ``view`` (``type: home``) as this person's App Home tab."""
        result = await self._web_api(
            "views.publish", lambda: self.client.views_publish(user_id=user_id, view=view)
        )
        if isinstance(result, Refused):
            return result.sent()
        return Sent(ts=str((result.get("view") or {}).get("id")))

    # -- to a channel -------------------------------------------------------------------------------

    async def post_message(
        self, channel_id: str, message: dict[str, Any], *, thread_ts: str | None = None, retry: bool = True
    ) -> Sent:
        """Post to a channel (or a thread, or a person's DM by user id); the new ts, or the refusal.

        With ``retry=False`` a rate limit or server error comes straight back (with Retry-After)
        instead of being slept through, for the outbox, which reschedules instead of waiting.
        """
        client = self.client if retry else self.once
        result = await self._web_api(
            "chat.postMessage",
            lambda: client.chat_postMessage(channel=channel_id, thread_ts=thread_ts, **message),
        )
        if isinstance(result, Refused):
            return result.sent()
        return Sent(ts=str(result.get("ts")))

    async def delete_message(self, channel_id: str, ts: str) -> Sent:
        """Delete one of the bot's own messages."""
        result = await self._web_api(
            "chat.delete", lambda: self.client.chat_delete(channel=channel_id, ts=ts)
        )
        if isinstance(result, Refused):
            return result.sent()
        return Sent(ts=ts)

    async def upload_file(
        self,
        channel_id: str,
        *,
        content: bytes,
        filename: str,
        title: str,
        alt_text: str,
        initial_comment: str | None = None,
        thread_ts: str | None = None,
    ) -> Sent:
        """Share a file (a chart) in a channel through files_upload_v2; returns the file id."""

        async def upload() -> AsyncSlackResponse:
            return await self.client.files_upload_v2(
                channel=channel_id,
                content=content,
                filename=filename,
                title=title,
                alt_txt=alt_text,
                initial_comment=initial_comment,
                thread_ts=thread_ts,
            )

        result = await self._web_api("files_upload_v2", upload)
        if isinstance(result, Refused):
            return result.sent()
        files = result.get("files") or [{}]
        return Sent(ts=str(files[0].get("id")))

    async def send_file_to_person(
        self, user_id: str, *, content: bytes, filename: str, title: str, alt_text: str, initial_comment: str
    ) -> Sent:
        """Share a file (a CSV, a chart) in the person's direct messages with the app, opened if need be."""
        opened = await self._web_api(
            "conversations.open", lambda: self.client.conversations_open(users=user_id)
        )
        if isinstance(opened, Refused):
            return opened.sent()
        channel = str((opened.get("channel") or {}).get("id"))
        return await self.upload_file(
            channel, content=content, filename=filename, title=title, alt_text=alt_text,
            initial_comment=initial_comment,
        )  # fmt: skip

    # -- looking things up --------------------------------------------------------------------------

    async def user_info(self, user_id: str) -> SlackUser | None:
        """The person's name, time zone and status; None (logged) when Slack cannot say."""
        result = await self._web_api("users.info", lambda: self.client.users_info(user=user_id))
        if isinstance(result, Refused):
            return None
        user = result.get("user") or {}
        profile = user.get("profile") or {}
        return SlackUser(
            id=str(user.get("id", user_id)),
            name=str(user.get("name", "")),
            real_name=str(user.get("real_name") or profile.get("real_name") or ""),
            tz=user.get("tz"),
            tz_label=user.get("tz_label"),
            tz_offset=user.get("tz_offset"),
            status_text=str(profile.get("status_text") or ""),
            status_emoji=str(profile.get("status_emoji") or ""),
            is_bot=bool(user.get("is_bot")),
            deleted=bool(user.get("deleted")),
        )

    async def channel_info(self, channel_id: str) -> SlackChannel | None:
        """Whether the channel is archived and whether the bot is in it; None when unknown."""
        result = await self._web_api(
            "conversations.info", lambda: self.client.conversations_info(channel=channel_id)
        )
        if isinstance(result, Refused):
            return None
        channel = result.get("channel") or {}
        return SlackChannel(
            id=str(channel.get("id", channel_id)),
            name=str(channel.get("name", "")),
            is_private=bool(channel.get("is_private")),
            is_archived=bool(channel.get("is_archived")),
            is_member=bool(channel.get("is_member")),
        )
