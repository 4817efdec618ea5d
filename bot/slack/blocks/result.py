"""The result message posted to the channel, and its ephemeral stand-ins."""

from __future__ import annotations

from typing import Any

from bot.services.outcomes import Completed, ResultShared
from bot.slack.blocks.kit import clip, context, escape, header, message, section
from flows.schema import Flow

MAX_FIELDS = 10


def _level_line(flow: Flow, level: int) -> str:
    return f"Level {level}: {flow.level(level).name}"


def build_result_message(view: Completed) -> dict[str, Any]:
    """The channel summary: who, which model, the level, what it means, and tailored next steps."""
    flow, score = view.flow, view.score
    level = flow.level(score.level)
    blocks: list[dict[str, Any]] = [
        header(f"{_level_line(flow, score.level)} · {flow.title}"),
        section(
            f"<@{view.user_id}> completed the *{escape(flow.title)}* assessment.\n"
            f"*{escape(_level_line(flow, score.level))}*  "
            f"(score {score.score:.2f} on the 0 to {flow.max_level} scale)\n"
            f"{escape(level.meaning)}"
        ),
    ]
    if len(flow.categories) > 1:
        fields = [
            {
                "type": "mrkdwn",
                "text": clip(
                    f"*{escape(flow.category(c.category_id).name)}*\nLevel {c.level} ({c.score:.2f})", 2000
                ),
            }
            for c in score.categories
        ]
        for start in range(0, len(fields), MAX_FIELDS):
            blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
        blocks.append(context(f"The overall level is the {flow.overall.value} of the category levels."))
    if view.steps:
        numbered = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(view.steps, 1))
        title = (
            f"*Next steps towards level {score.level + 1}*"
            if score.level < flow.max_level
            else "*Staying at the top*"
        )
        blocks.append(section(f"{title}\n{numbered}"))
    notes = []
    if flow.notice:
        notes.append(escape(flow.notice))
    sources = ", ".join(f"<{s.url}|{escape(s.title)}>" for s in flow.sources)
    notes.append(f"Based on {sources}. Run `/maturity start {flow.id}` to take it yourself.")
    blocks.append(context(*notes))
    text = f"{escape(flow.title)}: <@{view.user_id}> is at {escape(_level_line(flow, score.level))}"
    return message(text, blocks)


def build_completed_note(view: Completed, posted: bool) -> dict[str, Any]:
    """Replaces the last question in the person's view once the result exists."""
    if posted:
        text = (
            f":white_check_mark: Done! You are at *{escape(_level_line(view.flow, view.score.level))}* "
            "on the "
            f"*{escape(view.flow.title)}*. The result and next steps are posted in this channel."
        )
    else:
        text = (
            f":white_check_mark: Done! You are at *{escape(_level_line(view.flow, view.score.level))}* "
            f"on the *{escape(view.flow.title)}*."
        )
    return message(text, [section(text)])


POST_ERRORS = {
    "not_in_channel": "I'm not a member of this channel. Add me with `/invite @maturity-bot`, then run "
    "`/maturity status` to see the result again.",
    "channel_not_found": "I can't see this channel (private channels need an invitation: "
    "`/invite @maturity-bot`).",
    "is_archived": "This channel is archived, so I can't post there.",
    "restricted_action": "This workspace doesn't let apps post in this channel.",
}


def build_post_failed_message(view: Completed, error: str) -> dict[str, Any]:
    """Tells the person why the channel summary is missing, and shows them the result anyway."""
    reason = POST_ERRORS.get(error, f"Slack answered `{escape(error)}` when I tried to post.")
    result = build_result_message(view)
    note = section(
        f":warning: I couldn't post your result to the channel. {reason} "
        "Your result is saved; here it is just for you:"
    )
    return message(f"I couldn't post your result to the channel: {error}", [note, *result["blocks"]])


def build_result_shared_message(shared: ResultShared) -> dict[str, Any]:
    """What the person sees once their result has gone to the channel, or why it could not."""
    if shared.error is None:
        return build_completed_note(shared.completed, posted=True)
    return build_post_failed_message(shared.completed, shared.error)
