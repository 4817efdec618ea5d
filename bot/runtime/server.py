"""Run the app: HTTP (aiohttp) with /slack/events and /health, or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from sqlalchemy import text

from bot.runtime.settings import Settings
from bot.runtime.wiring import Runtime, create_runtime
from flows.schema import Flow

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
RUNTIME = web.AppKey("runtime", Runtime)


def _form_without_payload_field(raw: str) -> dict[str, Any] | None:
    """The form fields of a body Bolt 1.30 misreads, or None when Bolt reads it correctly.

    Bolt parses any form body containing the text "payload" as an interaction and, finding no
    payload field, hands listeners ``{}`` (so `/maturity start payload` would be lost).
    """
    if raw.startswith("{") or "payload" not in raw:
        return None
    form = dict(parse_qsl(raw, keep_blank_values=True))
    return None if "payload" in form else form


async def handle_slack_request(request: web.Request) -> web.Response:
    """POST /slack/events: hand a correctly parsed request to Bolt (which checks the signature)."""
    runtime = request.app[RUNTIME]
    raw = await request.text()
    try:
        bolt_request = AsyncBoltRequest(body=raw, query=request.query_string, headers=dict(request.headers))
    except ValueError as exc:  # broken JSON; Bolt's own server would answer 500
        logger.warning("unreadable_request", extra={"reason": str(exc)[:100]})
        return web.json_response({"error": "unreadable request body"}, status=400)
    if not isinstance(bolt_request.body, dict):
        return web.json_response({"error": "request body is not an object"}, status=400)
    if not bolt_request.body and (form := _form_without_payload_field(raw)):
        bolt_request.body = form
        bolt_request.context = build_async_context(AsyncBoltContext({}), form)
    bolt_response = await runtime.app.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def handle_health(request: web.Request) -> web.Response:
    """GET /health: 200 when the database answers, 503 when it does not."""
    runtime = request.app[RUNTIME]
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        logger.exception("health_check_failed")
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "flows": sorted(runtime.assessments.flows)})


def build_web_app(runtime: Runtime, *, with_events: bool = True) -> web.Application:
    web_app = web.Application()
    web_app[RUNTIME] = runtime
    if with_events:
        web_app.router.add_post(EVENTS_PATH, handle_slack_request)
    web_app.router.add_get("/health", handle_health)
    return web_app


async def _wait_for_stop() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@dataclass
class Server:
    """A started bot: its runtime, the aiohttp site and, in Socket Mode, the socket connection."""

    runtime: Runtime
    runner: web.AppRunner
    port: int
    socket_handler: Any = None

    async def stop(self) -> None:
        logger.info("stopping")
        if self.socket_handler is not None:
            await self.socket_handler.close_async()
        await self.runner.cleanup()
        await self.runtime.close()


async def start(settings: Settings, flows: dict[str, Flow]) -> Server:
    """Start serving: HTTP mode, or Socket Mode when an app token is configured.

    /health is served in both modes so platforms can probe the process; PORT 0 picks a free port.
    """
    runtime = await create_runtime(settings, flows)
    runner = web.AppRunner(build_web_app(runtime, with_events=not settings.socket_mode), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    port = int(runner.addresses[0][1])
    server = Server(runtime, runner, port)
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        server.socket_handler = AsyncSocketModeHandler(runtime.app, settings.slack_app_token)
        await server.socket_handler.connect_async()
        logger.info("socket_mode_connected", extra={"health_port": port})
    else:
        logger.info("listening", extra={"port": port, "path": EVENTS_PATH})
    return server


async def serve(settings: Settings, flows: dict[str, Flow]) -> None:
    """Run until SIGINT or SIGTERM."""
    server = await start(settings, flows)
    try:
        await _wait_for_stop()
    finally:
        await server.stop()
