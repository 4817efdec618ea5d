"""One slow endpoint must not stall everyone: replies to hanging response_urls do not hold up others."""

from __future__ import annotations

import asyncio
import time

from playground.slack_api import SlackClient, SlackDouble, all_text

HANGING = 300


async def test_one_reply_arrives_promptly_while_300_others_hang(
    slack: SlackClient, double: SlackDouble
) -> None:
    """With 300 response_urls hanging, an unrelated person's reply still arrives within seconds."""
    keys = [f"hang{n}" for n in range(HANGING)]
    for key in keys:
        double.hang_response_url(key)
    sent = await asyncio.gather(*(slack.command("help", key=key) for key in keys))
    assert all(status == 200 for status, _ in sent)
    await double.wait_until(lambda: sum(len(double.reply_attempts[k]) for k in keys) == HANGING, timeout=20)
    started = time.monotonic()
    status, key = await slack.command("help")
    assert status == 200
    reply = await double.wait_for_reply(key, timeout=10)
    waited = time.monotonic() - started
    assert "/maturity start" in all_text(reply)
    # Bounded, not hanging: before the fix this waited for the hanging replies' 30 s timeout.
    assert waited < 3.0, f"the unrelated reply took {waited:.1f} s"
    assert all(double.replies[k] == [] for k in keys)  # the others are still hanging
    double.release_hung_replies()
