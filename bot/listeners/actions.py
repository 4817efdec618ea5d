"""Button clicks: answers, Back, Pause, Resume, Restart and the model picker."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.actions import (
    ANSWER_PATTERN,
    BACK,
    PAUSE,
    RESTART,
    RESUME,
    START_PATTERN,
    BadValue,
    decode_click,
)
from bot.assessments import AssessmentService
from bot.background import Background
from bot.listeners.delivery import apologise, deliver
from bot.outcomes import Note, Outcome, Who
from bot.slack import Messenger

logger = logging.getLogger(__name__)

STALE = Note(
    "That button is from an older message I can't read any more; nothing changed. "
    "`/maturity resume` brings back your current question."
)


def who_from_body(body: dict[str, Any]) -> Who:
    user = body.get("user") or {}
    team = body.get("team") or {}
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    return Who(
        team_id=team.get("id") or user.get("team_id", ""),
        channel_id=channel.get("id") or container.get("channel_id", ""),
        user_id=user.get("id", ""),
        channel_name=channel.get("name"),
        user_name=user.get("username") or user.get("name"),
    )


Use = Callable[[Who, str], Awaitable[Outcome]]


def register(app: AsyncApp, service: AssessmentService, messenger: Messenger, background: Background) -> None:
    def listener(name: str, use: Use) -> Callable[..., Awaitable[None]]:
        async def handle(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
            await ack()
            background.spawn(work(body, action), f"click:{name}")

        async def work(body: dict[str, Any], action: dict[str, Any]) -> None:
            response_url = body.get("response_url", "")
            who = who_from_body(body)
            value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
            logger.info("click", extra={"action": name, "user": who.user_id, "value": value[:60]})
            try:
                try:
                    outcome = await use(who, value)
                except BadValue:
                    outcome = STALE
                await deliver(outcome, response_url, messenger, service, from_click=True)
            except Exception:
                logger.exception("click_failed", extra={"action": name})
                await apologise(response_url, messenger)

        handle.__name__ = f"handle_{name}_clicked"
        handle.__doc__ = f"Handle a click on {name}: ack, call the service, render the outcome."
        return handle

    async def answer(who: Who, value: str) -> Outcome:
        assessment_id, revision, rest = decode_click(value)
        if len(rest) != 2:
            raise BadValue(value)
        return await service.answer(who, assessment_id, revision, rest[0], rest[1])

    async def back(who: Who, value: str) -> Outcome:
        assessment_id, revision, _ = decode_click(value)
        return await service.back(who, assessment_id, revision)

    async def pause(who: Who, value: str) -> Outcome:
        assessment_id, revision, _ = decode_click(value)
        return await service.pause(who, assessment_id, revision)

    async def resume(who: Who, value: str) -> Outcome:
        if not value.isdigit():
            raise BadValue(value)
        return await service.resume(who, int(value))

    async def restart(who: Who, value: str) -> Outcome:
        parts = value.split("|")
        if len(parts) != 2 or not parts[0].isdigit():
            raise BadValue(value)
        return await service.restart(who, int(parts[0]), parts[1])

    async def start(who: Who, value: str) -> Outcome:
        return await service.start(who, value)

    app.action(ANSWER_PATTERN)(listener("answer", answer))
    app.action(BACK)(listener("back", back))
    app.action(PAUSE)(listener("pause", pause))
    app.action(RESUME)(listener("resume", resume))
    app.action(RESTART)(listener("restart", restart))
    app.action(START_PATTERN)(listener("start", start))
