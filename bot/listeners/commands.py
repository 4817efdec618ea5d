"""The `/maturity` slash command."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.assessments import AssessmentService
from bot.background import Background
from bot.blocks.messages import build_help_message
from bot.listeners.delivery import apologise, deliver
from bot.outcomes import Who
from bot.slack import Messenger

logger = logging.getLogger(__name__)

COMMAND = "/maturity"


def who_from_command(command: dict[str, Any]) -> Who:
    return Who(
        team_id=command.get("team_id", ""),
        channel_id=command.get("channel_id", ""),
        user_id=command.get("user_id", ""),
        channel_name=command.get("channel_name"),
        user_name=command.get("user_name"),
    )


def register(app: AsyncApp, service: AssessmentService, messenger: Messenger, background: Background) -> None:
    async def handle_maturity_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        """Acknowledge `/maturity` at once, then run it in the background."""
        await ack()
        background.spawn(run_command(command), "command")

    async def run_command(command: dict[str, Any]) -> None:
        """Route `/maturity <subcommand>` to its use case and reply only to the person."""
        response_url = command.get("response_url", "")
        words = (command.get("text") or "").split()
        sub = words[0].lower() if words else "help"
        who = who_from_command(command)
        logger.info("command", extra={"sub": sub[:20], "user": who.user_id, "channel": who.channel_id})
        try:
            if sub == "start":
                outcome = await service.start(who, words[1] if len(words) > 1 else None)
            elif sub in {"resume", "continue"}:
                outcome = await service.resume(who)
            elif sub == "status":
                await deliver(await service.status(who), response_url, messenger, service, from_click=False)
                return
            else:
                note = None if sub == "help" else f"I don't know `{sub[:30]}`. Here is what I can do:"
                await messenger.reply(
                    response_url, build_help_message(sorted(service.flows), note), replace=False
                )
                return
            await deliver(outcome, response_url, messenger, service, from_click=False)
        except Exception:
            logger.exception("command_failed", extra={"sub": sub[:20]})
            await apologise(response_url, messenger)

    app.command(COMMAND)(handle_maturity_command)
