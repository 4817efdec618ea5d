"""Render a service outcome with its ``build_*`` function and send it through the messenger."""

from __future__ import annotations

import logging

from bot.services.outbox import DeliveryState
from bot.services.outcomes import Completed, Outcome, PostStatus, ResultPreview, ResultShared, ShareResult
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


async def preview(deps: Deps, completed: Completed, channel_name: str | None) -> ResultPreview:
    """A completed result, privately, with Share: it says so when the bot is not in the channel."""
    in_channel = True
    if not completed.channel_id.startswith("D"):  # a DM with the bot: it can always post there
        channel = await deps.messenger.channel_info(completed.channel_id)
        in_channel = channel is None or (channel.is_member and not channel.is_archived)  # unknown: try
        channel_name = channel.name if channel is not None and channel.name else channel_name
    return ResultPreview(completed, channel_name, in_channel)


async def deliver(
    deps: Deps,
    outcome: Outcome,
    target: ReplyTarget,
    *,
    from_click: bool,
    channel_name: str | None = None,
) -> None:
    """Show ``outcome`` to the person: a completed result as a private preview; a shared one goes
    to the channel first, and the person learns how that went."""
    if isinstance(outcome, Completed):
        outcome = await preview(deps, outcome, channel_name)
    elif isinstance(outcome, ShareResult):
        outcome = await share(deps, outcome.completed)
    rendered = render_reply(outcome)
    await deps.messenger.reply(target, rendered.message, replace=from_click and rendered.replaces_clicked)


async def apologise(deps: Deps, target: ReplyTarget) -> None:
    """Our failure, not the person's: a short apology, the clicked message left in place."""
    await deps.messenger.reply(target, build_apology_message(), replace=False)
