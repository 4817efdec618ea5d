"""Which ``build_*`` function shows each reply, and whether it replaces the clicked message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_never

from bot.services.outcomes import (
    AlreadyChosen,
    AlreadyComplete,
    AlreadyPosted,
    AlreadyRecorded,
    AssessmentGone,
    ChooseModel,
    FlowRemoved,
    KeptPrivate,
    NothingInProgress,
    NotYours,
    Paused,
    PostStillQueued,
    QuestionShown,
    Replaced,
    Reply,
    ResultPreview,
    ResultShared,
    ResumeOrRestart,
    Stale,
    StatusReport,
)
from bot.slack.blocks.messages import (
    build_choose_model_message,
    build_paused_message,
    build_resume_or_restart_message,
    build_status_message,
)
from bot.slack.blocks.notices import build_notice_message, replaces_clicked_message
from bot.slack.blocks.question import build_question_message
from bot.slack.blocks.result import build_kept_private, build_result_preview, build_result_shared_message


@dataclass(frozen=True)
class Rendered:
    """A message for the person, and whether it should take the place of the message clicked."""

    message: dict[str, Any]
    replaces_clicked: bool


def render_reply(reply: Reply) -> Rendered:
    """The message for a reply; a reply type without a case here fails the type check."""
    match reply:
        case QuestionShown():
            return Rendered(build_question_message(reply), True)
        case ResultPreview():
            return Rendered(build_result_preview(reply), True)
        case ResultShared():
            return Rendered(build_result_shared_message(reply), True)
        case KeptPrivate():
            return Rendered(build_kept_private(reply), True)
        case ChooseModel():
            return Rendered(build_choose_model_message(reply), True)
        case ResumeOrRestart():
            return Rendered(build_resume_or_restart_message(reply), True)
        case Paused():
            return Rendered(build_paused_message(reply), True)
        case StatusReport():
            return Rendered(build_status_message(reply), True)
        case (
            NotYours()
            | AssessmentGone()
            | AlreadyComplete()
            | Replaced()
            | AlreadyChosen()
            | AlreadyRecorded()
            | FlowRemoved()
            | NothingInProgress()
            | AlreadyPosted()
            | PostStillQueued()
            | Stale()
        ):
            return Rendered(build_notice_message(reply), replaces_clicked_message(reply))
        case _:
            assert_never(reply)
