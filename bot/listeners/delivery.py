"""Render a service outcome with its ``build_*`` function and send it where it belongs."""

from __future__ import annotations

import logging

from bot.assessments import AssessmentService
from bot.blocks.messages import (
    build_choose_model_message,
    build_note_message,
    build_paused_message,
    build_resume_or_restart_message,
    build_status_message,
)
from bot.blocks.question import build_question_message
from bot.blocks.result import build_completed_note, build_post_failed_message, build_result_message
from bot.outcomes import (
    ChooseModel,
    Note,
    Outcome,
    Paused,
    QuestionView,
    ResultView,
    ResumeOrRestart,
    StatusView,
)
from bot.slack import Messenger

logger = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, something went wrong on my side. Your saved answers are safe; please try again in a "
    "moment. `/maturity resume` brings back your current question."
)


async def deliver(
    outcome: Outcome | StatusView,
    response_url: str,
    messenger: Messenger,
    service: AssessmentService,
    *,
    from_click: bool,
) -> None:
    """Send ``outcome`` to the person (ephemeral) and, for a result, to the channel."""
    if isinstance(outcome, ResultView):
        ts, error = await messenger.post(outcome.channel_id, build_result_message(outcome))
        await service.record_post(outcome.result_id, ts, error)
        if error is None:
            await messenger.reply(
                response_url, build_completed_note(outcome, posted=True), replace=from_click
            )
        else:
            await messenger.reply(response_url, build_post_failed_message(outcome, error), replace=from_click)
        return
    if isinstance(outcome, Note):
        await messenger.reply(
            response_url, build_note_message(outcome.text), replace=from_click and outcome.replace
        )
        return
    if isinstance(outcome, QuestionView):
        body = build_question_message(outcome)
    elif isinstance(outcome, ChooseModel):
        body = build_choose_model_message(outcome)
    elif isinstance(outcome, ResumeOrRestart):
        body = build_resume_or_restart_message(outcome)
    elif isinstance(outcome, Paused):
        body = build_paused_message(outcome)
    else:
        body = build_status_message(outcome)
    await messenger.reply(response_url, body, replace=from_click)


async def apologise(response_url: str | None, messenger: Messenger) -> None:
    """Our failure, not the person's: they get a short apology; the traceback went to the log."""
    if response_url:
        await messenger.reply(response_url, build_note_message(APOLOGY), replace=False)
