"""A loopback stand-in for Slack: the Web API the app calls, the response_urls it replies to, file
uploads, and a Socket Mode WebSocket, all served on 127.0.0.1 over a fake workspace.

The app reaches the Web API through the real slack_sdk client (``SLACK_API_URL`` points at
``api_url``); nothing in the app is patched. Tests, the benchmark and the playground share this one
double, so it answers as Slack does: same shapes, same error codes, same limits.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import InitVar, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from playground.ratelimit import RateLimits
from playground.response_urls import ResponseUrls
from playground.slack_client import SIGNING_SECRET, Person, SlackClient, all_text, button, buttons, sign
from playground.socket_mode import SocketMode
from playground.web_api import WebApi
from playground.workspace import BOT_TOKEN, BOT_USER_ID, Channel, UploadedFile, User, Workspace

__all__ = [
    "BOT_TOKEN",
    "SIGNING_SECRET",
    "ApiCall",
    "Person",
    "Scripted",
    "SlackClient",
    "SlackDouble",
    "all_text",
    "button",
    "buttons",
    "sign",
]


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
    # Answer normally, but only after this many seconds (Slack accepting a post slowly); the call
    # is carried out even if the caller has given up by then, as Slack's would be.
    slow: float | None = None
    # Never answer and never carry the call out (lost on the way, before Slack took it) until the
    # double stops: a process can be killed with a post in flight that Slack never saw.
    hang: bool = False


@dataclass
class SlackDouble(ResponseUrls, SocketMode):
    """Slack on a loopback port. ``SlackDouble(rate_limits=False)`` for benchmarks."""

    rate_limits: InitVar[bool] = True
    limits: RateLimits = field(default_factory=RateLimits)
    workspace: Workspace = field(default_factory=Workspace)
    calls: list[ApiCall] = field(default_factory=list)
    scripted: dict[str, list[Scripted]] = field(default_factory=lambda: defaultdict(list))
    _runner: web.AppRunner | None = None
    _web: WebApi = field(init=False)

    def __post_init__(self, rate_limits: bool) -> None:
        self.limits.enabled = self.limits.enabled and rate_limits
        self._web = WebApi(self.workspace, self.limits, lambda: self.base_url)

    # -- lifecycle and addresses ----------------------------------------------------------------

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # started, so bound
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # lets hung response_url handlers finish, so cleanup does not wait on them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # -- the fake workspace ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str = "",
        tz: str = "UTC",
        status_text: str = "",
        status_emoji: str = "",
        status_expiration: int = 0,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> User:
        """Add a person (tz an IANA name; tz_label and tz_offset follow from it)."""
        user = User(
            user_id,
            name,
            real_name,
            tz,
            status_text=status_text,
            status_emoji=status_emoji,
            status_expiration=status_expiration,
            is_bot=is_bot,
            deleted=deleted,
        )
        return self.workspace.add_user(user)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
        members: list[str] | None = None,
    ) -> Channel:
        """Add a channel; ``is_member`` says whether the bot is in it, ``members`` defaults to everyone."""
        return self.workspace.add_channel(
            channel_id,
            name,
            is_private=is_private,
            is_archived=is_archived,
            is_member=is_member,
            members=members,
        )

    def archive_channel(self, channel_id: str, archived: bool = True) -> None:
        self.workspace.channels[channel_id].is_archived = archived

    def join_channel(self, channel_id: str, user_id: str = BOT_USER_ID) -> None:
        members = self.workspace.channels[channel_id].members
        if user_id not in members:
            members.append(user_id)

    def leave_channel(self, channel_id: str, user_id: str = BOT_USER_ID) -> None:
        """Take someone (by default the bot) out of a channel."""
        members = self.workspace.channels[channel_id].members
        if user_id in members:
            members.remove(user_id)

    def set_status(self, user_id: str, text: str, emoji: str = "", expiration: int = 0) -> None:
        user = self.workspace.users[user_id]
        user.status_text, user.status_emoji, user.status_expiration = text, emoji, expiration

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """The channel's history as Slack returns it, oldest first, thread replies included."""
        return [m.to_slack() for m in self.workspace.messages.get(channel_id, [])]

    def posts(self, channel_id: str) -> list[dict[str, Any]]:
        """The channel's top-level messages, oldest first (thread replies left out)."""
        return [m for m in self.messages(channel_id) if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]

    def ephemerals(self, channel_id: str, user_id: str) -> list[dict[str, Any]]:
        """The ephemeral messages the bot showed ``user_id`` in the channel, oldest first."""
        return [m.to_slack() for m in self.workspace.ephemerals.get((channel_id, user_id), [])]

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The latest published Home tab view per user id."""
        return self.workspace.home_views

    @property
    def files(self) -> dict[str, UploadedFile]:
        """Uploaded files by id: bytes, title, alt text, and the channel they were shared to."""
        return self.workspace.files

    # -- the Web API ----------------------------------------------------------------------------

    def script(self, method: str, scripted: Scripted) -> None:
        self.scripted[method].append(scripted)

    def api_calls(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        json_body = request.content_type == "application/json"
        if request.content_type == "multipart/form-data":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        elif json_body:
            try:
                loaded = json.loads(await request.read() or b"{}")
            except ValueError:
                return web.json_response({"ok": False, "error": "invalid_json"})
            params.update(loaded if isinstance(loaded, dict) else {})
        else:
            params.update(parse_qsl((await request.read()).decode(), keep_blank_values=True))
        # Slack takes the token from the Authorization header or, failing that, a token parameter.
        auth, param_token = request.headers.get("Authorization", ""), str(params.pop("token", ""))
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else param_token
        self.calls.append(ApiCall(method, params, dict(request.headers)))
        await self._notify()
        if method == "apps.connections.open":
            return self._connections_open(token)
        queue = self.scripted.get(method)
        if queue:
            scripted = queue[0]
            scripted.times -= 1
            if scripted.times <= 0:
                queue.pop(0)
            if scripted.hang:
                assert self._stopping is not None  # set by start()
                await self._stopping.wait()
                return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
            if scripted.slow is not None:
                await asyncio.sleep(scripted.slow)
                return self._answer(method, params, token, json_body)
            headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
            status = 429 if scripted.retry_after is not None else scripted.status
            body = {"ok": False, "error": scripted.error or "ratelimited"}
            return web.json_response(body, status=status, headers=headers)
        return self._answer(method, params, token, json_body)

    def _answer(self, method: str, params: dict[str, Any], token: str, json_body: bool) -> web.Response:
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token != BOT_TOKEN:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        answer = self._web.call(method, params, json_body=json_body)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    async def _upload(self, request: web.Request) -> web.Response:
        """An upload URL of files.getUploadURLExternal: slack_sdk POSTs raw bytes, curl -F a form."""
        if request.content_type == "multipart/form-data":
            form = await request.post()
            parts = [v.file.read() for v in form.values() if isinstance(v, web.FileField)]
            content = parts[0] if parts else b""
        else:
            content = await request.read()
        status, text = self._web.uploads.receive(request.match_info["file_id"], content)
        return web.Response(status=status, text=text)
