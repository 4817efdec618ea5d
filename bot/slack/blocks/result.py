"""The result message posted to the channel, and its ephemeral stand-ins."""

from __future__ import annotations

from typing import Any

from bot.services.outbox import RETRIES_EXHAUSTED
from bot.services.outcomes import Completed, KeptPrivate, PostStatus, ResultPreview, ResultShared
from bot.slack.blocks.kit import actions, button, clip, context, escape, header, message, section
from bot.slack.buttons import COMMIT, KEEP_PRIVATE, REPOST, SHARE_RESULT
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


TOP_STEPS = 3  # next steps in the channel post; the rest go in the thread reply under it
FIND_OUT_SHOWN = 5


def _summary(view: Completed, *, framing: str) -> list[dict[str, Any]]:
    """Header and summary: the profile first (multi-category), then the level with its rule."""
    flow, score = view.flow, view.score
    level = flow.level(score.level)
    blocks: list[dict[str, Any]] = [header(f"{_level_line(flow, score.level)} · {flow.title}")]
    lines = [framing]
    if len(flow.categories) > 1:
        names = {c.id: c.name for c in flow.categories}
        profile = ", ".join(
            f"{escape(names.get(c.category_id, c.category_id))} {c.level}" for c in score.categories
        )
        lines.append(f"*Profile:* {profile}")
        lines.append(f"*{escape(_level_line(flow, score.level))}*: {escape(overall_words(view))}.")
    else:
        finer = progress_words(score.level, score.score, flow.max_level)
        lines.append(f"*{escape(_level_line(flow, score.level))}*: {finer}.")
    if meaning_fits(view):
        lines.append(escape(level.meaning))
    blocks.append(section("\n".join(lines)))
    return blocks


def _category_fields(view: Completed) -> list[dict[str, Any]]:
    flow, score = view.flow, view.score
    if len(flow.categories) < 2:
        return []
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
    return [
        {"type": "section", "fields": fields[i : i + MAX_FIELDS]} for i in range(0, len(fields), MAX_FIELDS)
    ]


def _steps_title(view: Completed) -> str:
    level = view.score.level
    return (
        f"*Next steps towards level {level + 1}*" if level < view.flow.max_level else "*Staying at the top*"
    )


def _numbered(steps: list[str], first: int = 1) -> str:
    return "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(steps, first))


def _commit_buttons(view: Completed, numbers: range) -> dict[str, Any]:
    return actions(
        f"commit:{view.result_id}:{numbers.start}",
        [button(f"Commit to {i}", f"{COMMIT}:{i - 1}", f"{view.result_id}|{i - 1}") for i in numbers],
    )


def _find_out(view: Completed) -> list[dict[str, Any]]:
    """Questions answered "Not sure": things to find out, not things the team lacks."""
    ids = view.score.find_out
    if not ids:
        return []
    texts = [clip(q.text, 200) for qid in ids[:FIND_OUT_SHOWN] if (q := view.flow.question(qid)) is not None]
    more = f"\n_and {len(ids) - FIND_OUT_SHOWN} more_" if len(ids) > FIND_OUT_SHOWN else ""
    lines = "\n".join(f"• {escape(t)}" for t in texts)
    return [section(f"*To find out* (answered _Not sure_, counted as not in place):\n{lines}{more}")]


def _notice(flow: Flow) -> str | None:
    """A derived model's notice, one short line with a link to the full text."""
    if not flow.notice:
        return None
    return f"{escape(flow.notice)} <{flow.sources[0].url}|Full text>"


def _sources(flow: Flow) -> str:
    sources = ", ".join(f"<{s.url}|{escape(s.title)}>" for s in flow.sources)
    return f"Based on {sources}. Run `/maturity start {flow.id}` to take it yourself."


def build_result_message(view: Completed) -> dict[str, Any]:
    """The compact channel post: the team's practice as one person reported it, the profile and
    level, and the top three next steps; the rest follows in a thread reply under it."""
    flow, score = view.flow, view.score
    framing = f"How this team works, as <@{view.user_id}> reported it in the *{escape(flow.title)}*:"
    blocks = _summary(view, framing=framing)
    top = view.steps[:TOP_STEPS]
    if top:
        blocks.append(section(f"{_steps_title(view)}\n{_numbered(top)}"))
        blocks.append(_commit_buttons(view, range(1, len(top) + 1)))
    notes = [n for n in [_notice(flow)] if n]
    more = "Each category, the other next steps" if len(flow.categories) > 1 else "The other next steps"
    notes.append(f"{more} and the sources are in the thread. Commitments are followed up at check-ins.")
    blocks.append(context(*notes))
    text = (
        f"{escape(flow.title)}: the team's practice as <@{view.user_id}> reported it: "
        f"{_level_line(flow, score.level)}"
    )
    return message(text, blocks)


def build_result_details_message(view: Completed) -> dict[str, Any]:
    """The thread reply under the channel post: each category, the other steps, what to find out."""
    flow = view.flow
    blocks: list[dict[str, Any]] = [section(f"*{escape(flow.title)}*: the details")]
    blocks += _category_fields(view)
    rest = view.steps[TOP_STEPS:]
    if rest:
        blocks.append(section(f"{_steps_title(view)} (continued)\n{_numbered(rest, TOP_STEPS + 1)}"))
        blocks.append(_commit_buttons(view, range(TOP_STEPS + 1, len(view.steps) + 1)))
    blocks += _find_out(view)
    blocks.append(context(*[n for n in [escape(flow.notice) if flow.notice else None] if n], _sources(flow)))
    return message(f"{flow.title}: the details of this result", blocks)


def build_result_preview(preview: ResultPreview) -> dict[str, Any]:
    """The private preview after the last answer: the whole result, then Share / Keep private."""
    view = preview.completed
    flow = view.flow
    where = f"#{preview.channel_name}" if preview.channel_name else "this channel"
    blocks = _summary(view, framing=f":lock: *Only you can see this.* Your *{escape(flow.title)}* result:")
    blocks += _category_fields(view)
    if view.steps:
        blocks.append(section(f"{_steps_title(view)}\n{_numbered(view.steps)}"))
    blocks += _find_out(view)
    if not preview.in_channel:
        blocks.append(
            section(
                ":warning: I'm not a member of this channel, so I can't post here yet. Type "
                "`/invite @maturity-bot` in this channel, then press *Share*."
            )
        )
    blocks.append(
        actions(
            f"share:{view.result_id}",
            [
                button(clip(f"Share in {where}", 75), SHARE_RESULT, str(view.result_id), "primary"),
                button("Keep private", KEEP_PRIVATE, str(view.result_id)),
            ],
        )
    )
    blocks.append(
        context(
            "Sharing posts the team's practice as you reported it (not a grade of you), the top next "
            "steps, and the details in a thread. Either way the result is kept in your history, "
            "and it counts towards the team's level on the leaderboard, which shows no one's answers.",
            *[n for n in [_notice(flow)] if n],
        )
    )
    return message(
        f"Your {flow.title} result (only you can see this): {_level_line(flow, view.score.level)}", blocks
    )


def build_kept_private(kept: KeptPrivate) -> dict[str, Any]:
    """Keep private: nothing was posted; Share stays here in case of a change of mind."""
    text = (
        ":lock: Kept private: nothing was posted. `/maturity status` shows your result any time, "
        "with a Share button."
    )
    share = actions(
        f"share:{kept.result_id}", [button("Share in this channel", SHARE_RESULT, str(kept.result_id))]
    )
    return message(text, [section(text), share])


def build_completed_note(view: Completed, status: PostStatus = PostStatus.POSTED) -> dict[str, Any]:
    """Replaces the preview once Share was pressed: where the result went."""
    result = f"*{escape(view.flow.title)}* result (*{escape(_level_line(view.flow, view.score.level))}*)"
    match status:
        case PostStatus.POSTED:
            text = (
                f":white_check_mark: Shared: the {result} is posted in this channel, "
                "the details in its thread."
            )
        case PostStatus.QUEUED:
            text = (
                f":hourglass_flowing_sand: Slack is busy right now, so the {result} will appear in this "
                "channel shortly (it is saved and queued; nothing to do)."
            )
        case PostStatus.FAILED | PostStatus.FAILED_TOLD:
            text = f"Your {result} is saved; `/maturity status` shows it."
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
