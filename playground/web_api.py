"""The Web API methods the double answers as Slack does, over the fake workspace.

Each method takes the request's parameters (query string and body merged; values from a form body are
strings, from a JSON body whatever JSON held) and returns an ``Answer``. Shapes and error codes follow
the Slack Web API reference for each method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playground.answers import Answer, Invalid, Params, fail, flag, json_param, ok
from playground.blockkit import TOO_LONG, block_kit_problems, too_long_only
from playground.files import FileUploads
from playground.ratelimit import RateLimits
from playground.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    TEAM_NAME,
    Channel,
    Message,
    Workspace,
)

MESSAGE_TEXT = 40_000
# Seen live (a third party's report): this method refuses a JSON body with invalid_arguments.
FORM_ONLY = {"files.getUploadURLExternal"}


class WebApi:
    """The methods the double models; ``base_url`` is asked at call time since the port comes late."""

    def __init__(self, workspace: Workspace, limits: RateLimits, base_url: Callable[[], str]):
        self.workspace = workspace
        self.limits = limits
        self.uploads = FileUploads(workspace, self._channel_for_post, base_url)
        self._methods: dict[str, Callable[[Params], Answer]] = {
            "auth.test": self.auth_test,
            "bots.info": self.bots_info,
            "users.info": self.users_info,
            "conversations.info": self.conversations_info,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "conversations.open": self.conversations_open,
            "views.publish": self.views_publish,
            "files.getUploadURLExternal": self.uploads.get_upload_url,
            "files.completeUploadExternal": self.uploads.complete,
        }

    def call(self, method: str, params: Params, json_body: bool = False) -> Answer:
        """Answer one authenticated call; a method the double does not model answers ``{"ok": true}``."""
        handler = self._methods.get(method)
        if handler is None:
            return ok()
        if json_body and method in FORM_ONLY:
            return fail("invalid_arguments")
        try:
            return handler(params)
        except Invalid as exc:
            return fail(exc.error, exc.problems)

    def auth_test(self, params: Params) -> Answer:
        return ok(
            url=f"https://{TEAM_DOMAIN}.slack.com/",
            team=TEAM_NAME,
            user="maturity-bot",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
        )

    def bots_info(self, params: Params) -> Answer:
        if params.get("bot") != BOT_ID:
            return fail("bot_not_found")
        return ok(bot={"id": BOT_ID, "app_id": APP_ID, "user_id": BOT_USER_ID, "name": "maturity-bot"})

    def users_info(self, params: Params) -> Answer:
        user = self.workspace.users.get(str(params.get("user", "")))
        if user is None:
            return fail("user_not_found")
        return ok(user=user.to_slack())

    def conversations_info(self, params: Params) -> Answer:
        channel = self.workspace.channels.get(str(params.get("channel", "")))
        # A private channel the bot is not in does not exist as far as the bot can tell.
        if channel is None or (channel.is_private and not channel.is_member):
            return fail("channel_not_found")
        return ok(channel=channel.to_slack(num_members=flag(params, "include_num_members")))

    def _channel_for_post(self, ref: Any) -> Channel:
        """The channel a message or file share goes to, or the error Slack gives for it."""
        channel = self.workspace.find_channel(str(ref or ""))
        if channel is None or (channel.is_private and not channel.is_member):
            raise Invalid("channel_not_found")
        if channel.is_archived:
            raise Invalid("is_archived")
        if not channel.is_member:
            raise Invalid("not_in_channel")
        return channel

    def _content(self, params: Params) -> tuple[str, list[dict[str, Any]]]:
        """The text and blocks of a message, checked as Slack checks them."""
        text = params.get("text") or ""
        blocks = json_param(params, "blocks", "invalid_blocks_format")
        if blocks is not None and not isinstance(blocks, list):
            raise Invalid("invalid_blocks_format")
        if not isinstance(text, str):
            raise Invalid("invalid_arguments")
        if not text and not blocks and not params.get("attachments"):
            raise Invalid("no_text")
        if blocks:
            problems = block_kit_problems({"text": text, "blocks": blocks})
            if too_long_only(problems):
                raise Invalid(TOO_LONG)
            if problems:
                raise Invalid("invalid_blocks", problems)
        if len(text) > MESSAGE_TEXT:
            raise Invalid("msg_too_long")
        return text, blocks or []

    def chat_post_message(self, params: Params) -> Answer:
        channel = self._channel_for_post(params.get("channel"))
        text, blocks = self._content(params)
        # Only a message that would be posted spends the channel's budget, as a refused one posts nothing.
        retry_after = self.limits.take(channel.id)
        if retry_after is not None:
            return Answer({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(retry_after)})
        thread_ts = params.get("thread_ts") or None
        message = Message(channel.id, self.workspace.next_ts(), text, blocks, thread_ts=thread_ts)
        self.workspace.messages.setdefault(channel.id, []).append(message)
        return ok(channel=channel.id, ts=message.ts, message=message.to_slack())

    def chat_post_ephemeral(self, params: Params) -> Answer:
        channel = self._channel_for_post(params.get("channel"))
        user = self.workspace.users.get(str(params.get("user", "")))
        if user is None or user.deleted:
            return fail("user_not_found")
        if user.id not in channel.members:
            return fail("user_not_in_channel")
        text, blocks = self._content(params)
        message = Message(channel.id, self.workspace.next_ts(), text, blocks, params.get("thread_ts") or None)
        self.workspace.ephemerals.setdefault((channel.id, user.id), []).append(message)
        return ok(message_ts=message.ts)

    def chat_delete(self, params: Params) -> Answer:
        """Delete one of the bot's own messages (Slack refuses anyone else's: cant_delete_message)."""
        channel = self.workspace.find_channel(str(params.get("channel", "")))
        if channel is None:
            return fail("channel_not_found")
        messages = self.workspace.messages.get(channel.id, [])
        found = next((m for m in messages if m.ts == str(params.get("ts", ""))), None)
        if found is None:
            return fail("message_not_found")
        messages.remove(found)
        return ok(channel=channel.id, ts=found.ts)

    def conversations_open(self, params: Params) -> Answer:
        """The DM between the bot and one person (``users``), created on first use."""
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            return fail("not_enough_users" if not users else "too_many_users")
        user = self.workspace.users.get(users[0])
        if user is None or user.deleted or user.is_bot:
            return fail("user_not_found")
        channel = self.workspace.find_channel(user.id)
        assert channel is not None
        return ok(channel={"id": channel.id})

    def views_publish(self, params: Params) -> Answer:
        user = self.workspace.users.get(str(params.get("user_id", "")))
        if user is None or user.deleted:
            return fail("user_not_found")
        view = json_param(params, "view", "invalid_arguments")
        if not isinstance(view, dict):
            return fail("invalid_arguments")
        problems = block_kit_problems(view, "home")
        if problems:
            # views.* report block problems as invalid_arguments, pointing into the view parameter.
            return fail("invalid_arguments", problems, pointer_prefix="/view")
        previous = self.workspace.home_views.get(user.id)
        expected = params.get("hash")
        if expected and previous is not None and expected != previous["hash"]:
            return fail("hash_conflict")
        view_id = previous["id"] if previous is not None else self.workspace.next_id("V")
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": "home",
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": self.workspace.next_ts().replace(".", "") + ".home",
            "title": None,
            "close": None,
            "submit": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        self.workspace.home_views[user.id] = stored
        return ok(view=stored)
