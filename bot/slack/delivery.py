"""Render a service outcome with its ``build_*`` function and send it through the messenger."""

from __future__ import annotations

import logging

from bot.services.outcomes import Completed, Outcome
from bot.services.ports import PostReceipt
from bot.slack.blocks.notices import build_apology_message
from bot.slack.blocks.result import build_result_message
from bot.slack.deps import Deps
from bot.slack.messenger import Messenger, ReplyTarget
from bot.slack.render import render_reply

logger = logging.getLogger(__name__)


class SlackResultChannel:
    """Posts a completed result to the channel it was taken in (the services' ResultChannel)."""

    def __init__(self, messenger: Messenger):
        self.messenger = messenger

    async def post_result(self, completed: Completed) -> PostReceipt:
        sent = await self.messenger.post_message(completed.channel_id, build_result_message(completed))
        return PostReceipt(sent.ts, sent.error)


async def deliver(deps: Deps, outcome: Outcome, target: ReplyTarget, *, from_click: bool) -> None:
    """Show ``outcome`` to the person; a completed result goes to the channel first."""
    if isinstance(outcome, Completed):
        outcome = await deps.assessments.share_result(outcome, SlackResultChannel(deps.messenger))
    rendered = render_reply(outcome)
    await deps.messenger.reply(target, rendered.message, replace=from_click and rendered.replaces_clicked)


async def apologise(deps: Deps, target: ReplyTarget) -> None:
    """Our failure, not the person's: a short apology, the clicked message left in place."""
    await deps.messenger.reply(target, build_apology_message(), replace=False)
