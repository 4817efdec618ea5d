"""What a post's answer means for the outbox, and the sender against the Slack double."""

from __future__ import annotations

import pytest

from bot.services.ports import Delivered, RetryLater, Undeliverable
from bot.slack.messenger import CONNECTION_ERROR, TIMEOUT, UNREADABLE, Sent
from bot.slack.outbox import classify


@pytest.mark.parametrize(
    ("sent", "outcome"),
    [
        (Sent(ts="1.1"), Delivered("1.1")),
        (
            Sent(error="ratelimited", status=429, retry_after=30.0),
            RetryLater("ratelimited", 30.0, rate_limited=True),
        ),
        (Sent(error="internal_error", status=500), RetryLater("internal_error")),
        (Sent(error="fatal_error", status=200), RetryLater("fatal_error")),
        (Sent(error=TIMEOUT), RetryLater(TIMEOUT)),
        (Sent(error=CONNECTION_ERROR), RetryLater(CONNECTION_ERROR)),
        (Sent(error=UNREADABLE, status=502), RetryLater(UNREADABLE)),
        (Sent(error="not_in_channel", status=200), Undeliverable("not_in_channel")),
        (Sent(error="is_archived", status=200), Undeliverable("is_archived")),
        (Sent(error="invalid_blocks", status=200), Undeliverable("invalid_blocks")),
        (Sent(error="token_revoked", status=200), Undeliverable("token_revoked")),
    ],
)
def test_each_answer_from_slack_is_delivered_retried_or_final(sent: Sent, outcome: object) -> None:
    """A timeout or a rate limit is tried again (never reported failed); a refusal for cause is final."""
    assert classify(sent) == outcome
