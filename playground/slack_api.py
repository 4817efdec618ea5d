"""A loopback stand-in for Slack: the Web API the app calls, response_urls it replies to, and a
client that sends the app signed requests the way Slack does.

The app reaches the Web API through the real slack_sdk client (``SLACK_API_URL`` points here);
nothing in the app is patched.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token-not-real"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Scripted:
    """A canned answer for the next calls of one method: an error, or a 429 rate limit."""

    error: str | None = None
    status: int = 200
    retry_after: int | None = None
    times: int = 1


@dataclass
class SlackDouble:
    calls: list[ApiCall] = field(default_factory=list)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    scripted: dict[str, list[Scripted]] = field(default_factory=lambda: defaultdict(list))
    base_url: str = ""
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Condition | None = None
    _runner: web.AppRunner | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.base_url}/response/{key}"

    def script(self, method: str, scripted: Scripted) -> None:
        self.scripted[method].append(scripted)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.text()
        if request.content_type == "application/json":
            params = json.loads(raw or "{}")
        else:
            params = dict(parse_qsl(raw))
        self.calls.append(ApiCall(method, params, dict(request.headers)))
        await self._notify()
        if method == "apps.connections.open":
            # Socket Mode: the app-level token buys a WebSocket URL (here, our own /socket).
            if not request.headers.get("Authorization", "").startswith("Bearer xapp-"):
                return web.json_response({"ok": False, "error": "not_allowed_token_type"})
            return web.json_response({"ok": True, "url": self.base_url.replace("http", "ws") + "/socket"})
        queue = self.scripted.get(method)
        if queue:
            scripted = queue[0]
            scripted.times -= 1
            if scripted.times <= 0:
                queue.pop(0)
            headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
            status = 429 if scripted.retry_after is not None else scripted.status
            body = {"ok": False, "error": scripted.error or "ratelimited"}
            return web.json_response(body, status=status, headers=headers)
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://acme.slack.com/",
                    "team": "Acme",
                    "user": "maturity-bot",
                    "team_id": "T111",
                    "user_id": "UBOT",
                    "bot_id": "BBOT",
                }
            )
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return web.json_response(
                {
                    "ok": True,
                    "channel": params.get("channel"),
                    "ts": ts,
                    "message": {"text": params.get("text")},
                }
            )
        return web.json_response({"ok": True})

    async def _response(self, request: web.Request) -> web.Response:
        self.replies[request.match_info["key"]].append(await request.json())
        await self._notify()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """A Socket Mode connection: say hello, deliver queued envelopes, collect the acks."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "double"}})
        await self._notify()
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(frame.data))
                await self._notify()
        self.sockets.remove(ws)
        return ws

    async def send_envelope(self, envelope_type: str, payload: dict[str, Any]) -> str:
        """Deliver a Socket Mode envelope over the open connection; returns its envelope_id."""
        await self.wait_until(lambda: bool(self.sockets))
        envelope_id = f"env-{next(self._ts)}"
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": envelope_type,
                "payload": payload,
                "accepts_response_payload": envelope_type != "events_api",
                "retry_attempt": 0,
            }
        )
        return envelope_id

    def api_calls(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_reply(self, key: str, count: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until ``key`` has received ``count`` replies and return the last of them."""
        await self.wait_until(lambda: len(self.replies[key]) >= count, timeout)
        return self.replies[key][count - 1]

    async def wait_until(self, predicate: Any, timeout: float = 10.0) -> None:
        assert self._changed is not None
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)


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

    async def command(self, text: str, who: Person | None = None) -> tuple[int, str]:
        """Send `/maturity <text>`; returns (HTTP status, response_url key)."""
        who = who or Person()
        key = self.new_key()
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
        self, button: dict[str, Any], who: Person | None = None, key: str | None = None
    ) -> tuple[str, str]:
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
                "is_ephemeral": True,
            },
            "response_url": self.double.response_url(key),
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": "b",
                    "value": button.get("value", ""),
                    "text": button.get("text", {}),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)}), key

    async def click(self, button: dict[str, Any], who: Person | None = None) -> tuple[int, str]:
        """Click a button taken from a message the app sent; returns (status, response_url key)."""
        body, key = self.click_body(button, who)
        response = await self.post(body, "application/x-www-form-urlencoded")
        return response.status, key


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
