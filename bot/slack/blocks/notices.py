"""Short replies to a request that changed nothing, and the apology for our own failures."""

from __future__ import annotations

from typing import Any, assert_never

from bot.services.outcomes import (
    AlreadyChosen,
    AlreadyComplete,
    AlreadyPosted,
    AlreadyRecorded,
    AssessmentGone,
    FlowRemoved,
    NothingInProgress,
    Notice,
    NotYours,
    PostStillQueued,
    Replaced,
    Stale,
)
from bot.slack.blocks.kit import escape, message, section
from bot.slack.blocks.messages import COMMAND

START_YOUR_OWN = f"Start your own with `{COMMAND} start`."

APOLOGY = (
    "Sorry, something went wrong on my side. Your saved answers are safe; please try again in a "
    f"moment. `{COMMAND} resume` brings back your current question."
)


def notice_text(notice: Notice) -> str:
    """The sentence for each notice; a new kind of notice without one fails the type check."""
    match notice:
        case NotYours(owner=None):
            return f"That button isn't yours. {START_YOUR_OWN}"
        case NotYours(owner=owner):
            return f"That assessment belongs to <@{owner}>, so your click changed nothing. {START_YOUR_OWN}"
        case AssessmentGone():
            return f"That assessment no longer exists. Start a new one with `{COMMAND} start`."
        case AlreadyComplete():
            return f"That assessment is already complete. `{COMMAND} status` shows its result."
        case Replaced():
            return f"That assessment was replaced by a newer one. `{COMMAND} resume` shows where you are."
        case AlreadyChosen():
            return f"That choice was already made. Use `{COMMAND} resume` to see where you are."
        case AlreadyRecorded():
            return "That answer was already recorded."
        case FlowRemoved(flow_id=flow_id):
            return (
                f"The model `{escape(flow_id)}` of this assessment is no longer installed. "
                f"Start a new one with `{COMMAND} start`."
            )
        case NothingInProgress(finished_one=True):
            return (
                f"Your last assessment here is complete: `{COMMAND} status` shows its result and whether it "
                f"is posted in the channel. `{COMMAND} start` begins a new one."
            )
        case NothingInProgress():
            return f"You have no assessment in progress in this channel. Start one with `{COMMAND} start`."
        case AlreadyPosted():
            return "That result is already posted in this channel."
        case PostStillQueued():
            return "That result is queued and will appear in this channel shortly; nothing to do."
        case Stale():
            return (
                "That button is from an older message I can't read any more; nothing changed. "
                f"`{COMMAND} resume` brings back your current question."
            )
        case _:
            assert_never(notice)


def replaces_clicked_message(notice: Notice) -> bool:
    """Whether the notice takes the place of the message that was clicked.

    It does when that message can no longer be used (the assessment is finished or replaced, the
    offer was taken); otherwise the clicked message stays so the person can carry on with it.
    """
    return isinstance(notice, AlreadyComplete | Replaced | AlreadyChosen | AlreadyPosted)


def build_notice_message(notice: Notice) -> dict[str, Any]:
    text = notice_text(notice)
    return message(text, [section(text)])


def build_apology_message() -> dict[str, Any]:
    """Our failure, not the person's: a short apology (the traceback went to the log)."""
    return message(APOLOGY, [section(APOLOGY)])


BAD_REQUEST = "I couldn't read that request from Slack; nothing changed. Please try again."


def build_bad_request_message() -> dict[str, Any]:
    """A request whose ids or shape the app could not read: nothing was done with it."""
    return message(BAD_REQUEST, [section(BAD_REQUEST)])
