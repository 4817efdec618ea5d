"""Delivering queued messages to Slack: render each by kind, post it once, say what became of it.

The dispatcher (bot/runtime/dispatcher.py) calls this for every leased message; retries, backoff
and leases are the outbox service's business, so posts here are tried once, never slept through.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, assert_never

from bot.services.checkins import CheckinPost, ScheduleAnnouncement
from bot.services.nudges import NudgePost
from bot.services.outbox import FLOW_REMOVED, MessageContent, QueuedMessage, ResultChart, ResultDetails
from bot.services.outcomes import Completed
from bot.services.ports import Delivered, DeliveryOutcome, RetryLater, Skipped, Undeliverable
from bot.slack.away import DEFAULT_AWAY, away_markers, is_away
from bot.slack.blocks.checkins import build_announcement_message, build_checkin_message, build_nudge_message
from bot.slack.blocks.result import (
    build_post_failed_message,
    build_result_details_message,
    build_result_message,
)
from bot.slack.charts import Axis, radar_alt_text, radar_png, render
from bot.slack.messenger import CONNECTION_ERROR, TIMEOUT, UNREADABLE, Messenger, Sent
from flows.schema import Flow

logger = logging.getLogger(__name__)

# Errors that trying again may fix; anything else Slack says is final (not_in_channel,
# channel_not_found, is_archived, invalid_blocks, msg_too_long, invalid_auth, token_revoked, ...).
TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
    CONNECTION_ERROR,
    TIMEOUT,
    UNREADABLE,
}


def classify(sent: Sent) -> DeliveryOutcome:
    """What a post's answer means for the outbox: delivered, worth another try, or final."""
    if sent.error is None:
        return Delivered(sent.ts)
    if sent.status == 429:
        return RetryLater(sent.error, sent.retry_after, rate_limited=True)
    if (sent.status is not None and sent.status >= 500) or sent.error in TRANSIENT:
        return RetryLater(sent.error, sent.retry_after)
    return Undeliverable(sent.error)


class SlackOutbox:
    """The outbox's sender in Slack: each kind rendered for its channel; failures told to the person."""

    def __init__(self, messenger: Messenger, flows: dict[str, Flow], away: tuple[str, ...] | None = None):
        self.messenger = messenger
        self.flows = flows
        self.away = away if away is not None else away_markers(DEFAULT_AWAY)

    def render(self, content: MessageContent) -> dict[str, Any]:
        match content:
            case Completed():
                return build_result_message(content)
            case ScheduleAnnouncement():
                return build_announcement_message(content)
            case CheckinPost():
                return build_checkin_message(content, self.flows)
            case NudgePost():
                return build_nudge_message(content, self.flows)
            case _:
                assert_never(content)

    async def send(self, message: QueuedMessage) -> DeliveryOutcome:
        if message.content is None:
            return Undeliverable(FLOW_REMOVED)
        if isinstance(message.content, NudgePost):
            return await self._nudge(message.content)
        if isinstance(message.content, ResultChart):
            return await self._chart(message.channel_id, message.content)
        if isinstance(message.content, ResultDetails):
            sent = await self.messenger.post_message(
                message.channel_id,
                build_result_details_message(message.content.completed),
                thread_ts=message.content.thread_ts,
                retry=False,
            )
            return classify(sent)
        sent = await self.messenger.post_message(
            message.channel_id, self.render(message.content), retry=False
        )
        return classify(sent)

    async def _chart(self, channel_id: str, chart: ResultChart) -> DeliveryOutcome:
        """The result's radar chart, uploaded into the thread under its channel message."""
        flow, score = chart.completed.flow, chart.completed.score
        names = {c.id: c.name for c in flow.categories}
        axes = [Axis(names.get(c.category_id, c.category_id), c.level, c.score) for c in score.categories]
        title = f"{flow.title}: levels per category"
        png = await render(partial(radar_png, title, axes, flow.max_level))
        sent = await self.messenger.upload_file(
            channel_id,
            content=png,
            filename=f"maturity-{flow.id}-{chart.completed.result_id}.png",
            title=title,
            alt_text=radar_alt_text(f"{flow.title}, this result", axes, flow.max_level),
            thread_ts=chart.thread_ts,
        )
        return classify(sent)

    async def _nudge(self, nudge: NudgePost) -> DeliveryOutcome:
        """A private reminder, unless the person is away (their status now) or gone."""
        person = await self.messenger.user_info(nudge.user_id)
        if person is not None and (person.deleted or person.is_bot):
            return Skipped("deleted")
        if person is not None and is_away(person, self.away):
            logger.info("nudge_skipped", extra={"user": nudge.user_id, "reason": "away"})
            return Skipped("away")
        sent = await self.messenger.post_ephemeral(nudge.channel_id, nudge.user_id, self.render(nudge))
        return classify(sent)

    async def notify_undelivered(self, message: QueuedMessage, error: str) -> None:
        """Tell the person their result could not be posted: ephemeral in the channel, else by DM."""
        if message.completed is None or message.user_id is None:
            return
        body = build_post_failed_message(message.completed, error)
        sent = await self.messenger.post_ephemeral(message.channel_id, message.user_id, body)
        if sent.error is not None:
            # Often the very reason the post failed (archived, not a member) rules out an ephemeral
            # there too; the person's DM with the app always works.
            sent = await self.messenger.post_message(message.user_id, body)
        if sent.error is not None:
            logger.warning("undelivered_notice_failed", extra={"item": message.item_id, "error": sent.error})
