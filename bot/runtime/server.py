"""Run the app: HTTP (aiohttp) with /slack/events and /health, or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import hmac
import json
import logging
import signal
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from yarl import URL

from bot.runtime.settings import Settings
from bot.runtime.wiring import Runtime, create_runtime
from bot.slack.failures import report_failure
from bot.slack.payloads import envelope_problem
from flows.schema import Flow
from models.db import ping

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's requests are a few kB (a click carries its message, still far below this); anything
# bigger is refused before it is read, so unsigned uploads cannot fill memory.
MAX_BODY_BYTES = 256 * 1024
SIGNATURE_MAX_AGE = 300  # seconds, as Bolt and Slack's documentation allow
MAX_FORM_FIELDS = 100  # a slash command has about a dozen
RUNTIME = web.AppKey("runtime", Runtime)


class Unreadable(ValueError):
    """A signed body that is not what Slack sends: the message is a short reason for the log."""


def _fresh_signature_headers(request: web.Request) -> tuple[str, str] | None:
    """The request's timestamp and signature, when both are well formed and the timestamp is recent.

    Checked before the body is read: a request without them cannot be from Slack, however big.
    """
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return None
    if not (signature.isascii() and signature.startswith("v0=")):
        return None
    if abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE:
        return None
    return timestamp, signature


def _signature_matches(secret: str, timestamp: str, raw: bytes, signature: str) -> bool:
    """Slack's v0 signature of the raw bytes.

    Hashed here rather than with slack_sdk's SignatureVerifier, which decodes the body as UTF-8
    first and so raises on bytes that are not, instead of answering no.
    """
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
    return hmac.compare_digest(f"v0={digest.hexdigest()}", signature)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise Unreadable("JSON nested too deeply") from None
    except ValueError:
        raise Unreadable("not valid JSON") from None


def _read_form(text: str) -> dict[str, str]:
    """Form fields, decoded as ``urllib.parse.parse_qsl`` (strict, blank values kept, the last of a
    repeated name wins) would.

    A click's form carries the whole clicked message as percent-encoded JSON: some 4 kB with
    hundreds of escapes, which parse_qsl's pure-Python unquoting takes ~90 us to decode, about a
    tenth of the bot's CPU per click. yarl (aiohttp's URL library) decodes a query string in C in a
    few microseconds, with the same rules for "+", "&" and blank values; anything where the two
    could differ (not ASCII, a "#", a replacement character from an escape that is not UTF-8) goes
    to parse_qsl, so the answer and every refusal stay exactly parse_qsl's.
    """
    if text.count("&") + 1 > MAX_FORM_FIELDS:
        raise Unreadable("not a readable form")
    if text.isascii() and "#" not in text:
        pairs = URL.build(query_string=text, encoded=True).query.items()
        if not any("\ufffd" in key or "\ufffd" in value for key, value in pairs):
            return dict(pairs)
    try:
        return dict(parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FORM_FIELDS))
    except ValueError:  # also UnicodeDecodeError, for percent-escapes that are not UTF-8
        raise Unreadable("not a readable form") from None


def parse_slack_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The body as Bolt reads it: JSON (Events API), or form fields whose `payload` holds JSON.

    Unlike Bolt 1.30, a form body that merely contains the text "payload" (`/maturity start
    payload`) stays a form. Raises :class:`Unreadable` for anything Slack would not send.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("body is not UTF-8") from None
    if not text:
        raise Unreadable("empty body")
    if content_type == "application/json" or text.startswith("{"):
        data = _load_json(text)
    else:
        form = _read_form(text)
        data = _load_json(form["payload"]) if "payload" in form else form
    if not isinstance(data, dict):
        raise Unreadable("body is not an object")
    return data


def _refuse(status: int, reason: str) -> web.Response:
    logger.warning("request_refused", extra={"status": status, "reason": reason})
    return web.json_response({"error": reason}, status=status)


async def handle_slack_request(request: web.Request) -> web.Response:
    """POST /slack/events: size, signature and shape are checked here; Bolt gets a parsed dict.

    Order matters: nothing is read before the size and the signature headers pass, and nothing is
    parsed before the signature of the raw bytes does.
    """
    runtime = request.app[RUNTIME]
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _refuse(413, "request body too large")
    secret = runtime.settings.slack_signing_secret
    headers = _fresh_signature_headers(request)
    if secret is None or headers is None:
        return _refuse(401, "missing, malformed or stale signature")
    try:
        raw = await request.read()  # the Application's client_max_size bounds a chunked body too
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, "request body too large")
    timestamp, signature = headers
    if not _signature_matches(secret, timestamp, raw, signature):
        return _refuse(401, "bad signature")
    try:
        body = parse_slack_body(raw, request.content_type)
    except Unreadable as exc:
        return _refuse(400, str(exc))
    if problem := envelope_problem(body):
        return _refuse(400, problem)
    try:
        bolt_request = _bolt_request(request, raw, body)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        # Bolt's context is built from the body alone, so this is a shape Slack does not send.
        return _refuse(400, f"payload shape Bolt cannot read ({type(exc).__name__})")
    bolt_response = await runtime.app.async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


def _bolt_request(request: web.Request, raw: bytes, body: dict[str, Any]) -> AsyncBoltRequest:
    """Bolt's request around the body parsed here: Bolt would parse the raw text again itself
    (misreading forms that mention "payload"), and its signature check is already done."""
    bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
    bolt_request.raw_body = raw.decode("utf-8")
    bolt_request.body = body
    bolt_request.context = build_async_context(AsyncBoltContext({}), body)
    return bolt_request


async def handle_health(request: web.Request) -> web.Response:
    """GET /health: 200 when the database answers `SELECT 1` within 1.5 s, 503 (in time) when not.

    A frozen database gets a prompt 503, not a probe that hangs until the platform gives up on it;
    during an outage the failure is logged once per kind and interval, not once per probe.
    """
    runtime = request.app[RUNTIME]
    try:
        await ping(runtime.engine)
    except Exception:
        report_failure(logger, "health_check_failed")
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok", "flows": sorted(runtime.assessments.flows)})


def build_web_app(runtime: Runtime, *, with_events: bool = True) -> web.Application:
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
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


def freeze_start_up() -> int:
    """Take what start-up built (modules, flows, the app, its clients) out of the cyclic garbage
    collector's sight, as it lives as long as the process: a full collection then walks only what
    requests created since, instead of about 100,000 objects (some 30 ms, paid by whichever click
    was being answered at the time). The number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


async def serve(settings: Settings, flows: dict[str, Flow]) -> None:
    """Run until SIGINT or SIGTERM."""
    server = await start(settings, flows)
    logger.info("start_up_frozen", extra={"objects": freeze_start_up()})
    try:
        await _wait_for_stop()
    finally:
        await server.stop()
