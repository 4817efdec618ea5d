"""The local playground: the real bot in a browser, without a Slack workspace.

`python -m bot playground` (or `scripts/run` without Slack credentials) starts three things on
127.0.0.1 only:

- the Slack double of this package (the same one tests and benchmarks use), as the Web API;
- the real bot, `python -m bot` in HTTP mode on an SQLite file, pointed at the double; nothing in
  the bot knows it is in a playground;
- this web page at ``http://127.0.0.1:$PLAYGROUND_PORT`` (8080): channels, a composer for
  `/maturity …`, a person switcher, messages rendered from the bot's Block Kit, the Home tab, and
  live updates (server-sent events).

Every command and click from the page goes to the bot's `/slack/events` as a signed request, as
Slack would send it. Replies to a response_url are shown as Slack shows them: ephemeral ("only
visible to you"), replacing the message that was clicked when the bot asks to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from playground.slack_api import BOT_TOKEN, SIGNING_SECRET, Person, SlackClient, SlackDouble
from playground.workspace import BOT_USER_ID, TEAM_ID

logger = logging.getLogger("playground")

STATIC = Path(__file__).resolve().parent / "static"
ROOT = Path(__file__).resolve().parent.parent
MAX_BODY = 64 * 1024  # the page's requests are small; 5,000 characters of command text fit
COMMAND_TEXT = 8000  # longer command text is cut, as Slack's own composer would not send it
STARTUP_TIMEOUT = 60.0


@dataclass
class Item:
    """One thing shown in a channel: a message, a file, or an ephemeral (for one person)."""

    id: str
    channel: str
    at: float  # when it appeared (seconds), for ordering
    kind: str  # "message" | "ephemeral" | "file" | "command"
    user: str  # who it is from: the bot's user id, or the person
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    only_for: str | None = None  # ephemerals: the one person who sees it
    thread_ts: str | None = None
    ts: str | None = None
    file: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "channel": self.channel, "at": self.at, "kind": self.kind, "user": self.user,
            "text": self.text, "blocks": self.blocks, "only_for": self.only_for, "thread_ts": self.thread_ts,
            "ts": self.ts, "file": self.file,
        }  # fmt: skip


@dataclass
class Reply:
    """Where a response_url's replies go: whose, in which channel, and the message clicked (if any)."""

    channel: str
    user: str
    clicked: str | None  # an ephemeral item a reply may replace (replace_original)


class Playground:
    """The double, the bot process, and the page's view of what each person sees."""

    def __init__(self, database_url: str, bot_port: int):
        self.double = SlackDouble(rate_limits=True)
        self.database_url = database_url
        self.bot_port = bot_port
        self.bot: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.client: SlackClient | None = None
        self.ephemerals: list[Item] = []  # response_url replies, postEphemeral and the commands typed
        self.keys: dict[str, Reply] = {}
        self.seen_replies: dict[str, int] = {}
        self.seen_ephemerals: dict[tuple[str, str], int] = {}
        self.first_seen: dict[str, float] = {}  # message ts or file id -> when the page first saw it
        self.serial = 0
        self._watcher: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def bot_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": "",
            "SLACK_API_URL": self.double.api_url,
            "DATABASE_URL": self.database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.bot_port),
            "CHECKINS_IN_PROCESS": "true",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
            "PYTHONPATH": str(ROOT),
        }

    async def start(self) -> None:
        await self.double.start()
        self.session = aiohttp.ClientSession()
        self.client = SlackClient(
            lambda: f"http://127.0.0.1:{self.bot_port}/slack/events", self.double, self.session
        )
        self.bot = _launch([sys.executable, "-m", "bot", "serve"], self.bot_env())
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.bot.poll() is not None:
                raise RuntimeError(f"the bot exited with status {self.bot.returncode} while starting")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.get(
                    f"http://127.0.0.1:{self.bot_port}/health", timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"the bot did not answer /health within {STARTUP_TIMEOUT:.0f} s")
        self._watcher = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self.bot is not None and self.bot.poll() is None:
            self.bot.terminate()
            try:
                await asyncio.to_thread(self.bot.wait, 15)
            except subprocess.TimeoutExpired:
                self.bot.kill()
        if self.session is not None:
            await self.session.close()
        await self.double.stop()

    # -- what people see ----------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    async def _watch(self) -> None:
        """Fold what the double received into the page's view as soon as it arrives (stamped then)."""
        version = 0
        while True:
            self.absorb()
            version = await self.double.changed_since(version, 30.0)

    def absorb(self) -> None:
        now = time.time()
        for key, replies in self.double.replies.items():
            reply_to = self.keys.get(key)
            for body in replies[self.seen_replies.get(key, 0) :]:
                if reply_to is not None:
                    self._reply(reply_to, body, now)
            self.seen_replies[key] = len(replies)
        for (channel, user), messages in self.double.workspace.ephemerals.items():
            for message in messages[self.seen_ephemerals.get((channel, user), 0) :]:
                slack = message.to_slack()
                self.ephemerals.append(
                    Item(
                        self._next_id("e"),
                        channel,
                        now,
                        "ephemeral",
                        BOT_USER_ID,
                        slack.get("text", ""),
                        slack.get("blocks", []),
                        only_for=user,
                    )
                )
            self.seen_ephemerals[(channel, user)] = len(messages)
        for messages in self.double.workspace.messages.values():
            for message in messages:
                self.first_seen.setdefault(message.ts, now)
        for file in self.double.files.values():
            if file.completed:
                self.first_seen.setdefault(file.id, now)

    def _reply(self, reply_to: Reply, body: dict[str, Any], now: float) -> None:
        clicked = next((i for i in self.ephemerals if i.id == reply_to.clicked), None)
        if body.get("delete_original") and clicked is not None:
            self.ephemerals.remove(clicked)
            return
        if body.get("replace_original") and clicked is not None:
            clicked.text, clicked.blocks = body.get("text", ""), body.get("blocks", [])
            return
        item = Item(
            self._next_id("e"),
            reply_to.channel,
            now,
            "ephemeral",
            BOT_USER_ID,
            body.get("text", ""),
            body.get("blocks", []),
            only_for=reply_to.user,
        )
        self.ephemerals.append(item)

    def state(self, user: str) -> dict[str, Any]:
        self.absorb()
        workspace = self.double.workspace
        users = [
            {"id": u.id, "name": u.name, "tz": u.tz, "status": f"{u.status_emoji} {u.status_text}".strip()}
            for u in workspace.users.values()
            if not u.is_bot and not u.deleted
        ]
        channels = [
            {"id": c.id, "name": c.name, "member": c.is_member, "archived": c.is_archived}
            for c in workspace.channels.values()
            if not c.is_im
        ]
        dm = "D" + user[1:]
        items: list[Item] = []
        for channel_id, messages in workspace.messages.items():
            for message in messages:
                slack = message.to_slack()
                items.append(
                    Item(
                        f"m{message.ts}",
                        channel_id,
                        self.first_seen.get(message.ts, time.time()),
                        "message",
                        BOT_USER_ID,
                        slack.get("text", ""),
                        slack.get("blocks", []),
                        thread_ts=message.thread_ts,
                        ts=message.ts,
                    )
                )
        for file in self.double.files.values():
            if file.completed and file.channel:
                items.append(
                    Item(
                        f"f{file.id}",
                        file.channel,
                        self.first_seen.get(file.id, time.time()),
                        "file",
                        BOT_USER_ID,
                        file.initial_comment or "",
                        thread_ts=file.thread_ts,
                        file={
                            "url": f"/files/{file.id}",
                            "title": file.title,
                            "alt": file.alt_txt,
                            "name": file.filename,
                            "image": file.filename.endswith(".png"),
                        },
                    )
                )
        items += [i for i in self.ephemerals if i.only_for == user]
        # Everyone's channels, and this person's own DM with the bot (not other people's).
        visible = [i for i in items if not i.channel.startswith("D") or i.channel == dm]
        visible.sort(key=lambda i: (i.at, i.id))
        return {
            "me": user,
            "bot": BOT_USER_ID,
            "users": users,
            "channels": channels,
            "dm": dm,
            "items": [i.to_json() for i in visible],
            "home": workspace.home_views.get(user),
        }

    # -- what people do -----------------------------------------------------------------------------

    def _person(self, user: str, channel: str) -> Person:
        found = self.double.workspace.users.get(user)
        if found is None:
            raise web.HTTPBadRequest(text=f"no person {user}")
        return Person(user_id=user, channel_id=channel, team_id=TEAM_ID, name=found.name)

    async def command(self, user: str, channel: str, text: str) -> int:
        assert self.client is not None
        person = self._person(user, channel)
        text = text[:COMMAND_TEXT]
        key = self.client.new_key()
        self.keys[key] = Reply(channel, user, None)
        self.ephemerals.append(
            Item(
                self._next_id("c"),
                channel,
                time.time(),
                "command",
                user,
                f"/maturity {text}".strip(),
                only_for=user,
            )
        )
        status, _ = await self.client.command(text, person, key=key)
        return status

    async def click(self, user: str, item_id: str, action: dict[str, Any]) -> int:
        assert self.client is not None
        item = next((i for i in self.ephemerals if i.id == item_id), None)
        channel = item.channel if item is not None else ""
        in_channel = item is None
        if item is None:  # a message everyone sees
            state = self.state(user)
            found = next((i for i in state["items"] if i["id"] == item_id), None)
            if found is None:
                raise web.HTTPNotFound(text="that message is gone")
            channel = found["channel"]
        person = self._person(user, channel)
        key = self.client.new_key()
        self.keys[key] = Reply(channel, user, item.id if item is not None else None)
        status, _ = await self.client.click(action, person, key=key, in_channel_message=in_channel)
        return status

    async def home(self, user: str) -> int:
        assert self.client is not None
        return await self.client.open_home(self._person(user, "C111"))

    async def home_click(self, user: str, action: dict[str, Any], picked: str | None) -> int:
        assert self.client is not None
        return await self.client.home_click(action, self._person(user, "C111"), picked=picked)

    async def checkins(self) -> tuple[int, str]:
        """Run `python -m bot checkins` now, as cron would (the same code, the same database)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "checkins",
            cwd=ROOT,
            env=self.bot_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 180)
        return process.returncode or 0, out.decode(errors="replace")[-2000:]


# -- the web page's HTTP API ----------------------------------------------------------------------


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return data


def _text(data: dict[str, Any], key: str, required: bool = True) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or (required and not value):
        raise web.HTTPBadRequest(text=f"{key} must be a string")
    return value


def build_app(playground: Playground) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def state(request: web.Request) -> web.Response:
        user = request.query.get("user", "U111")
        return web.json_response(playground.state(user))

    async def command(request: web.Request) -> web.Response:
        data = await _json(request)
        status = await playground.command(
            _text(data, "user"), _text(data, "channel"), _text(data, "text", False)
        )
        return web.json_response({"status": status})

    async def click(request: web.Request) -> web.Response:
        data = await _json(request)
        action = data.get("action")
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            raise web.HTTPBadRequest(text="action must name an action_id")
        status = await playground.click(_text(data, "user"), _text(data, "item"), action)
        return web.json_response({"status": status})

    async def home(request: web.Request) -> web.Response:
        data = await _json(request)
        return web.json_response({"status": await playground.home(_text(data, "user"))})

    async def home_click(request: web.Request) -> web.Response:
        data = await _json(request)
        action = data.get("action")
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            raise web.HTTPBadRequest(text="action must name an action_id")
        picked = data.get("picked") if isinstance(data.get("picked"), str) else None
        return web.json_response({"status": await playground.home_click(_text(data, "user"), action, picked)})

    async def checkins(_request: web.Request) -> web.Response:
        code, output = await playground.checkins()
        return web.json_response({"status": code, "output": output})

    async def file(request: web.Request) -> web.Response:
        found = playground.double.files.get(request.match_info["id"])
        if found is None or found.content is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=found.content, content_type="image/png" if found.filename.endswith(".png") else "text/csv"
        )

    async def events(request: web.Request) -> web.StreamResponse:
        """Server-sent events: "change" whenever the double saw something (the page then refetches)."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        version = playground.double.version
        try:
            while True:
                version = await playground.double.changed_since(version, 15.0)
                await response.write(f"event: change\ndata: {version}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/state", state)
    app.router.add_post("/api/command", command)
    app.router.add_post("/api/click", click)
    app.router.add_post("/api/home", home)
    app.router.add_post("/api/home_click", home_click)
    app.router.add_post("/api/checkins", checkins)
    app.router.add_get("/api/events", events)
    app.router.add_get("/files/{id}", file)
    return app


def _launch(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve(port: int, database_url: str, ready: asyncio.Event | None = None) -> None:
    """Run the playground until cancelled (Ctrl-C)."""
    playground = Playground(database_url, free_port())
    await playground.start()
    runner = web.AppRunner(build_app(playground), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    try:
        await site.start()
        print(
            f"maturity-bot playground: http://127.0.0.1:{port} (listening on 127.0.0.1 only; "
            f"the bot's data is in {database_url}). Ctrl-C stops it.",
            flush=True,
        )
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await playground.stop()


def main(port: int | None = None, database_url: str | None = None) -> int:
    port = port or int(os.environ.get("PLAYGROUND_PORT", "8080"))
    database_url = database_url or os.environ.get("PLAYGROUND_DATABASE_URL", "sqlite:///playground.db")
    try:
        asyncio.run(serve(port, database_url))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"maturity-bot playground: cannot listen on 127.0.0.1:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
