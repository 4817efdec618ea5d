"""The baseline for bench.load: a bare Bolt app on the same stack as the bot, without its work.

Same token and signing secret, an AsyncWebClient pointed at ``SLACK_API_URL`` with one shared
aiohttp session, served by aiohttp. It answers ``/maturity`` and clicks on ``answer:<n>`` by
acking and then sending ONE small question-like message to the request's response_url: no
database, no flow logic. Run as ``python -m bench.bare_app``; settings come from the environment
(SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, PORT, HOST).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

EVENTS_PATH = "/slack/events"


def question_message(number: int) -> dict[str, Any]:
    """About the size of one of the bot's question messages, with one answer button."""
    return {
        "response_type": "ephemeral",
        "replace_original": number > 1,
        "text": f"Bare baseline, question {number}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Bare question {number}?*"}},
            {
                "type": "actions",
                "block_id": f"q:0:{number}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "answer:0",
                        "text": {"type": "plain_text", "text": "An answer"},
                        "value": f"0|{number}|q|a",
                    }
                ],
            },
        ],
    }


Record = Callable[[str, str], Awaitable[object]]  # (user id, what they sent), before the reply


def build_app(session: aiohttp.ClientSession, record: Record | None = None) -> AsyncApp:
    """The bare app; with ``record``, each request is recorded (awaited) before its reply."""
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
        session=session,
    )
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    async def reply(response_url: str, number: int) -> None:
        await AsyncWebhookClient(response_url, session=session).send_dict(question_message(number))

    @app.command("/maturity")
    async def handle_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()
        if record is not None:
            await record(str(command.get("user_id", "")), "start")
        await reply(command.get("response_url", ""), 1)

    @app.action(re.compile(r"^answer:\d+$"))
    async def handle_answer(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        value = str(action.get("value", ""))
        if record is not None:
            await record(str(body.get("user", {}).get("id", "")), value)
        parts = value.split("|")
        number = int(parts[1]) + 1 if len(parts) > 1 and parts[1].isdigit() else 1
        await reply(body.get("response_url", ""), number)

    return app


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def serve(store: Any = None) -> None:
    """Serve until SIGINT/SIGTERM; ``store`` (its ``record`` and ``close``) makes it the durable app."""
    port = int(os.environ.get("PORT", "3000"))
    host = os.environ.get("HOST", "127.0.0.1")
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    app = build_app(session, store.record if store is not None else None)
    web_app = app.web_app(path=EVENTS_PATH, port=port)
    web_app.router.add_get("/health", health)
    runner = web.AppRunner(web_app, access_log=None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        await stop.wait()
    finally:
        await runner.cleanup()
        await session.close()
        if store is not None:
            await store.close()


if __name__ == "__main__":
    asyncio.run(serve())
