"""The result message posted to the channel, and its ephemeral stand-ins."""

from __future__ import annotations

from typing import Any

from bot.services.outbox import RETRIES_EXHAUSTED
from bot.services.outcomes import Completed, PostStatus, ResultShared
from bot.slack.blocks.kit import actions, button, clip, context, escape, header, message, section
from bot.slack.buttons import COMMIT, REPOST
from flows.schema import Flow

MAX_FIELDS = 10


def _level_line(flow: Flow, level: int) -> str:
    return f"Level {level}: {flow.level(level).name}"


def progress_words(level: int, score: float, max_level: int) -> str:
    """The finer score in words: "level 1 with 40% of level 2 in place" (no decimals)."""
    if level >= max_level:
        return f"level {level}, the top"
    share = max(0, min(99, round((score - level) * 100)))
    return f"level {level} with {share}% of level {level + 1} in place"


def overall_words(view: Completed) -> str:
    """The overall level with its rule in words: "overall 0 because Application integration is at 0"."""
    flow, score = view.flow, view.score
    names = {c.id: c.name for c in flow.categories}
    holding = [names.get(c.category_id, c.category_id) for c in score.categories if c.level == score.level]
    if flow.overall.value == "lowest" and holding and len(holding) < len(score.categories):
        verb = "is" if len(holding) == 1 else "are"
        return f"overall {score.level} because {', '.join(holding)} {verb} at {score.level}"
    return f"overall {score.level} ({flow.overall.value} of the categories)"


def meaning_fits(view: Completed) -> bool:
    """Whether the overall level's description fits the answers: not when some category is more than
    one level above it (a team with two categories at 4 is not "doing almost everything by hand")."""
    return all(c.level <= view.score.level + 1 for c in view.score.categories)


def build_result_message(view: Completed) -> dict[str, Any]:
    """The channel summary: who, which model, the level, what it means, and tailored next steps.

    Multi-category models lead with the per-category profile, then the overall level and its rule.
    """
    flow, score = view.flow, view.score
    level = flow.level(score.level)
    blocks: list[dict[str, Any]] = [header(f"{_level_line(flow, score.level)} · {flow.title}")]
    finer = progress_words(score.level, score.score, flow.max_level)
    if len(flow.categories) > 1:
        names = {c.id: c.name for c in flow.categories}
        profile = ", ".join(
            f"{escape(names.get(c.category_id, c.category_id))} {c.level}" for c in score.categories
        )
        fields = [
            {
                "type": "mrkdwn",
                "text": clip(
                    f"*{escape(flow.category(c.category_id).name)}*\n"
                    f"{progress_words(c.level, c.score, flow.max_level).capitalize()}",
                    2000,
                ),
            }
            for c in score.categories
        ]
        lines = [
            f"<@{view.user_id}> completed the *{escape(flow.title)}* assessment.",
            f"*Profile:* {profile}",
            f"*{escape(_level_line(flow, score.level))}*: {escape(overall_words(view))}.",
        ]
        if meaning_fits(view):
            lines.append(escape(level.meaning))
        blocks.append(section("\n".join(lines)))
        for start in range(0, len(fields), MAX_FIELDS):
            blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    else:
        blocks.append(
            section(
                f"<@{view.user_id}> completed the *{escape(flow.title)}* assessment.\n"
                f"*{escape(_level_line(flow, score.level))}*: {finer}.\n"
                f"{escape(level.meaning)}"
            )
        )
    if view.steps:
        numbered = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(view.steps, 1))
        title = (
            f"*Next steps towards level {score.level + 1}*"
            if score.level < flow.max_level
            else "*Staying at the top*"
        )
        blocks.append(section(f"{title}\n{numbered}"))
        blocks.append(
            context("Make up to three of these the team's commitments: check-ins will follow them up.")
        )
        commit = [
            button(f"Commit to {i}", f"{COMMIT}:{i - 1}", f"{view.result_id}|{i - 1}")
            for i in range(1, len(view.steps) + 1)
        ]
        blocks.append(actions(f"commit:{view.result_id}", commit))
    notes = []
    if flow.notice:
        notes.append(escape(flow.notice))
    sources = ", ".join(f"<{s.url}|{escape(s.title)}>" for s in flow.sources)
    notes.append(f"Based on {sources}. Run `/maturity start {flow.id}` to take it yourself.")
    blocks.append(context(*notes))
    text = f"{escape(flow.title)}: <@{view.user_id}> is at {escape(_level_line(flow, score.level))}"
    return message(text, blocks)


def build_completed_note(view: Completed, status: PostStatus = PostStatus.POSTED) -> dict[str, Any]:
    """Replaces the last question in the person's view once the result exists."""
    done = (
        f":white_check_mark: Done! You are at *{escape(_level_line(view.flow, view.score.level))}* "
        f"on the *{escape(view.flow.title)}*."
    )
    match status:
        case PostStatus.POSTED:
            text = f"{done} The result and next steps are posted in this channel."
        case PostStatus.QUEUED:
            text = (
                f"{done} Slack is busy right now, so your result and next steps will appear in this "
                "channel shortly (they are saved and queued; nothing to do)."
            )
        case PostStatus.FAILED | PostStatus.FAILED_TOLD:
            text = f"{done} `/maturity status` shows your result."
    return message(text, [section(text)])


POST_ERRORS = {
    "not_in_channel": "I'm not a member of this channel. Add me with `/invite @maturity-bot`, then press "
    "*Post again*.",
    "channel_not_found": "I can't see this channel (private channels need an invitation: "
    "`/invite @maturity-bot`), then press *Post again*.",
    "is_archived": "This channel is archived, so I can't post there.",
    "restricted_action": "This workspace doesn't let apps post in this channel.",
    RETRIES_EXHAUSTED: "Slack kept refusing the post for several minutes. Press *Post again* to retry.",
}


def post_error_reason(error: str) -> str:
    """The person's explanation (and fix) for Slack's reason a post failed."""
    known = POST_ERRORS.get(error) or POST_ERRORS.get(error.split(":", 1)[0])
    return known or f"Slack answered `{escape(error)}` when I tried to post."


def build_post_failed_message(view: Completed, error: str) -> dict[str, Any]:
    """Tells the person why the channel summary is missing, shows them the result, offers Post again."""
    note = section(
        f":warning: I couldn't post your result to the channel. {post_error_reason(error)} "
        "Your result is saved; here it is just for you:"
    )
    again = actions(
        f"repost:{view.outbox_id}", [button("Post again", REPOST, str(view.outbox_id), "primary")]
    )
    blocks = [note, again, *build_result_message(view)["blocks"]]
    return message(f"I couldn't post your result to the channel: {error}", blocks)


def build_result_shared_message(shared: ResultShared) -> dict[str, Any]:
    """What the person sees once their result has gone to the channel, or why it could not."""
    if shared.status is PostStatus.FAILED:
        return build_post_failed_message(shared.completed, shared.error or "unknown_error")
    return build_completed_note(shared.completed, shared.status)
