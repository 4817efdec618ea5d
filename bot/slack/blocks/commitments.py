"""Replies about commitments, and how a check-in lists them."""

from __future__ import annotations

from typing import Any, assert_never

from bot.services.checkins import CheckinPost
from bot.services.commitments import (
    AlreadyCommitted,
    CommitmentAlreadyClosed,
    CommitmentLimitReached,
    CommitmentReply,
    CommitmentUpdated,
    Committed,
    StepUnknown,
)
from bot.slack.blocks.kit import actions, button, clip, context, escape, message, section

# Open commitments shown in one check-in, and how much of each step: a check-in must stay well
# inside Slack's limits on blocks (50) and their size (about 13k characters of JSON).
LISTED = 6
STEP_CHARS = 200
DONE_LISTED = 5


def build_commitment_reply(reply: CommitmentReply) -> dict[str, Any]:
    """The clicker's private answer; every kind of reply has one."""
    match reply:
        case Committed(step=step, taken=taken):
            text = (
                f":handshake: Team commitment added ({taken} of 3 from this result): _{escape(step)}_ "
                "Check-ins will ask how it is going."
            )
        case AlreadyCommitted(step=step):
            text = f"That step is already a team commitment: _{escape(step)}_"
        case CommitmentLimitReached(limit=limit):
            text = (
                f"This result already has {limit} commitments; finish or drop one at the next check-in first."
            )
        case StepUnknown():
            text = "I can't find that step any more (the result or its model changed); nothing changed."
        case CommitmentUpdated(step=step, action="done"):
            text = f":tada: Marked done: _{escape(step)}_"
        case CommitmentUpdated(step=step, action="drop"):
            text = f"Dropped: _{escape(step)}_ It stays in the history."
        case CommitmentUpdated(step=step):
            text = f":muscle: Noted, still on it: _{escape(step)}_"
        case CommitmentAlreadyClosed(step=step, status=status):
            closed = "marked done" if status == "done" else "dropped"
            text = f"That commitment was already {closed}: _{escape(step)}_"
        case _:
            assert_never(reply)
    return message(text, [section(text)])


def commitment_blocks(post: CheckinPost) -> list[dict[str, Any]]:
    """A check-in's commitments: what got done since the last one, and each open one with buttons."""
    blocks: list[dict[str, Any]] = []
    if post.done_since:
        done = "\n".join(f"• {escape(clip(step, STEP_CHARS))}" for step in post.done_since[:DONE_LISTED])
        if len(post.done_since) > DONE_LISTED:
            done += f"\n…and {len(post.done_since) - DONE_LISTED} more"
        blocks.append(section(f":white_check_mark: *Done since the last check-in*\n{done}"))
    if post.commitments:
        blocks.append(section("*Open commitments*: how are they going?"))
    for commitment in post.commitments[:LISTED]:
        since = commitment.since.strftime("%d %b")
        blocks.append(section(f"• {escape(clip(commitment.step, STEP_CHARS))} _(since {since})_"))
        value = str(commitment.commitment_id)
        blocks.append(
            actions(
                f"commitment:{commitment.commitment_id}",
                [
                    button("Done", "commitment_done", value, "primary"),
                    button("Still on it", "commitment_still", value),
                    button("Drop", "commitment_drop", value),
                ],
            )
        )
    if len(post.commitments) > LISTED:
        blocks.append(context(f"…and {len(post.commitments) - LISTED} more open commitments."))
    return blocks
