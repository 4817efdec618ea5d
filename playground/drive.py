"""Driving a person through the app as Slack would: what e2e tests and the benchmark repeat.

Every helper goes through the real HTTP app (signed requests from :class:`SlackClient`) and waits,
bounded, for the reply at the request's response_url on the double.
"""

from __future__ import annotations

from typing import Any

from playground.slack_api import Person, SlackClient, buttons

Message = dict[str, Any]


# How the button values of "Not sure" and "Not applicable" end (answer values end in the option id;
# the ids are flows.schema's UNSURE_ID and NOT_APPLICABLE_ID, which the playground, standing in for
# Slack, does not import).
STANDARD_ANSWERS = ("|unsure", "|n-a")


def answer_buttons(message: Message, *, standard: bool = False) -> list[dict[str, Any]]:
    """The practice options of a question message, least to most mature (empty when it is not a
    question); with ``standard``, "Not sure" and "Not applicable" too, last."""
    return [
        b
        for b in buttons(message)
        if str(b.get("action_id", "")).startswith("answer:")
        and (standard or not str(b.get("value", "")).endswith(STANDARD_ANSWERS))
    ]


def share_button(message: Message) -> dict[str, Any] | None:
    """The "Share in #channel" button of a result preview, if the message is one."""
    return next((b for b in buttons(message) if b.get("action_id") == "share_result"), None)


async def command(slack: SlackClient, text: str, who: Person | None = None) -> Message:
    """Send `/maturity <text>`, check Slack got its 200, and return the first reply."""
    status, key = await slack.command(text, who)
    if status != 200:
        raise AssertionError(f"/maturity {text} answered HTTP {status}")
    return await slack.double.wait_for_reply(key)


async def click(
    slack: SlackClient,
    element: dict[str, Any],
    who: Person | None = None,
    *,
    in_channel_message: bool = False,
) -> Message:
    """Click a button taken from a message, check the 200, and return the reply to that click."""
    status, key = await slack.click(element, who, in_channel_message=in_channel_message)
    if status != 200:
        raise AssertionError(f"click on {element.get('action_id')} answered HTTP {status}")
    return await slack.double.wait_for_reply(key)


async def answer_all(
    slack: SlackClient, message: Message, pick: int = -1, who: Person | None = None, limit: int = 100
) -> Message:
    """Click option ``pick`` of every question until the app stops asking; returns the last reply."""
    for _ in range(limit):
        answers = answer_buttons(message)
        if not answers:
            return message
        message = await click(slack, answers[pick], who)
    raise AssertionError(f"the assessment did not end within {limit} answers")


async def finish(
    slack: SlackClient,
    model: str = "google",
    pick: int = -1,
    who: Person | None = None,
    *,
    share: bool = True,
) -> Message:
    """Start ``model``, answer every question with option ``pick`` and (with ``share``) press Share
    on the private preview; returns the last reply (the preview when not sharing)."""
    preview = await answer_all(slack, await command(slack, f"start {model}", who), pick, who)
    button = share_button(preview)
    if not share or button is None:
        return preview
    return await click(slack, button, who)
