"""What Slack sends the app: signed slash commands and button clicks, plus helpers to read the
messages the app answers with.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

if TYPE_CHECKING:
    from playground.slack_api import SlackDouble

SIGNING_SECRET = "test-signing-secret-0123456789"


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Person:
    user_id: str = "U111"
    channel_id: str = "C111"
    team_id: str = "T111"
    name: str = "ana"


class SlackClient:
    """Sends the app what Slack would: signed slash commands and button clicks."""

    def __init__(self, app_url: Callable[[], str], double: SlackDouble, session: aiohttp.ClientSession):
        self._app_url = app_url  # a callable, because a restarted app listens on a new port
        self.double = double
        self.session = session
        self._keys = itertools.count(1)

    def new_key(self) -> str:
        return f"r{next(self._keys)}"

    async def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        merged = {"Content-Type": content_type, **sign(body), **(headers or {})}
        async with self.session.post(self._app_url(), data=body.encode(), headers=merged) as response:
            await response.read()
            return response

    async def command(self, text: str, who: Person | None = None, key: str | None = None) -> tuple[int, str]:
        """Send `/maturity <text>` (replies go to response_url ``key``); returns (HTTP status, key)."""
        who = who or Person()
        key = key or self.new_key()
        body = urlencode(
            {
                "token": "legacy",
                "team_id": who.team_id,
                "team_domain": "acme",
                "channel_id": who.channel_id,
                "channel_name": "ml-platform",
                "user_id": who.user_id,
                "user_name": who.name,
                "command": "/maturity",
                "text": text,
                "api_app_id": "A111",
                "is_enterprise_install": "false",
                "response_url": self.double.response_url(key),
                "trigger_id": "1.2.abc",
            }
        )
        response = await self.post(body, "application/x-www-form-urlencoded")
        return response.status, key

    def click_body(
        self,
        button: dict[str, Any],
        who: Person | None = None,
        key: str | None = None,
        *,
        in_channel_message: bool = False,
    ) -> tuple[str, str]:
        """A block_actions body for a click on ``button``: in an ephemeral message (a question), or in
        a message the whole channel sees (``in_channel_message``: a check-in, a posted result)."""
        who = who or Person()
        key = key or self.new_key()
        payload = {
            "type": "block_actions",
            "api_app_id": "A111",
            "token": "legacy",
            "trigger_id": "1.2.abc",
            "user": {"id": who.user_id, "username": who.name, "name": who.name, "team_id": who.team_id},
            "team": {"id": who.team_id, "domain": "acme"},
            "channel": {"id": who.channel_id, "name": "ml-platform"},
            "container": {
                "type": "message",
                "message_ts": "1700000000.000100",
                "channel_id": who.channel_id,
                "is_ephemeral": not in_channel_message,
            },
            "response_url": self.double.response_url(key),
            "actions": [_action(button)],
        }
        return urlencode({"payload": json.dumps(payload)}), key

    async def click(
        self,
        button: dict[str, Any],
        who: Person | None = None,
        *,
        in_channel_message: bool = False,
        key: str | None = None,
    ) -> tuple[int, str]:
        """Click a button taken from a message the app sent; returns (status, response_url key)."""
        body, key = self.click_body(button, who, key, in_channel_message=in_channel_message)
        response = await self.post(body, "application/x-www-form-urlencoded")
        return response.status, key

    async def open_home(self, who: Person | None = None) -> int:
        """The person opens the app's Home tab: an `app_home_opened` event; returns the HTTP status."""
        who = who or Person()
        body = {
            "token": "legacy",
            "team_id": who.team_id,
            "api_app_id": "A111",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": who.user_id,
                "channel": "D" + who.user_id[1:],
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
        response = await self.post(json.dumps(body), "application/json")
        return response.status

    async def home_click(
        self, element: dict[str, Any], who: Person | None = None, picked: str | None = None
    ) -> int:
        """A click on the person's Home tab: a button, or a conversations_select that ``picked`` a
        channel. No channel and no response_url, as Slack sends it; returns the HTTP status."""
        who = who or Person()
        action = _action({**element, "selected_conversation": picked} if picked is not None else element)
        payload = {
            "type": "block_actions",
            "api_app_id": "A111",
            "token": "legacy",
            "trigger_id": "1.2.abc",
            "user": {"id": who.user_id, "username": who.name, "name": who.name, "team_id": who.team_id},
            "team": {"id": who.team_id, "domain": "acme"},
            "container": {"type": "view", "view_id": "V111"},
            "view": {"id": "V111", "type": "home", "callback_id": "", "team_id": who.team_id},
            "actions": [action],
        }
        response = await self.post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )
        return response.status


def _action(element: dict[str, Any]) -> dict[str, Any]:
    """The ``actions`` entry Slack sends for a click on ``element``: a button's value, or the option a
    select was set to (``selected_option`` on the element)."""
    action: dict[str, Any] = {
        "type": element.get("type", "button"),
        "action_id": element["action_id"],
        "block_id": "b",
        "action_ts": f"{time.time():.6f}",
    }
    if "selected_option" in element:
        action["selected_option"] = element["selected_option"]
    elif "selected_conversation" in element:
        action["selected_conversation"] = element["selected_conversation"]
    else:
        action["value"] = element.get("value", "")
        action["text"] = element.get("text", {})
    return action


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button in a message, in order."""
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def button(message: dict[str, Any], text: str) -> dict[str, Any]:
    """The button whose visible text starts with ``text``."""
    for element in buttons(message):
        if element["text"]["text"].startswith(text):
            return element
    raise AssertionError(f"no button {text!r} in {[e['text']['text'] for e in buttons(message)]}")


def all_text(message: dict[str, Any]) -> str:
    """The visible text of a message: its blocks' texts and fields, joined."""
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for item in block.get("fields", []) + block.get("elements", []):
            if isinstance(item, dict) and "text" in item:
                parts.append(item["text"] if isinstance(item["text"], str) else item["text"]["text"])
    return "\n".join(parts)
