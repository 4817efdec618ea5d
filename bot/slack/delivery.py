"""Render a service outcome with its ``build_*`` function and send it through the messenger."""

from __future__ import annotations

import logging

from bot.services.outbox import DeliveryState
from bot.services.outcomes import Completed, Outcome, PostStatus, ResultShared
from bot.slack.blocks.notices import build_apology_message
from bot.slack.deps import Deps
from bot.slack.messenger import ReplyTarget
from bot.slack.render import render_reply

logger = logging.getLogger(__name__)


async def share(deps: Deps, completed: Completed) -> ResultShared:
    """Deliver a completed result's queued channel post now, and say how it went.

    A final refusal is shown to the person here only if nobody told them yet (exactly once); a post
    Slack keeps waiting on stays queued and goes out shortly (the dispatcher tells the person if it
    finally fails).
    """
    settled = await deps.posts.deliver_now(completed.outbox_id)
    match settled.state:
        case DeliveryState.SENT:
            return ResultShared(completed, PostStatus.POSTED)
        case DeliveryState.PENDING | DeliveryState.SKIPPED:  # results are never skipped; be safe
            return ResultShared(completed, PostStatus.QUEUED, settled.error)
        case DeliveryState.FAILED:
            told = not await deps.posts.claim_notification(completed.outbox_id)
            return ResultShared(
                completed, PostStatus.FAILED_TOLD if told else PostStatus.FAILED, settled.error
            )


async def deliver(deps: Deps, outcome: Outcome, target: ReplyTarget, *, from_click: bool) -> None:
    """Show ``outcome`` to the person; a completed result goes to the channel first."""
    if isinstance(outcome, Completed):
        outcome = await share(deps, outcome)
    rendered = render_reply(outcome)
    await deps.messenger.reply(target, rendered.message, replace=from_click and rendered.replaces_clicked)


async def apologise(deps: Deps, target: ReplyTarget) -> None:
    """Our failure, not the person's: a short apology, the clicked message left in place."""
    await deps.messenger.reply(target, build_apology_message(), replace=False)
