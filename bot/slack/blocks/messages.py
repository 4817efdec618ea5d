"""Help, model choice, resume-or-restart, pause and status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services.outcomes import ChooseModel, Paused, ResumeOrRestart, StatusReport
from bot.slack.blocks.kit import actions, button, clip, confirm, context, escape, message, section
from bot.slack.blocks.result import post_error_reason
from bot.slack.buttons import REPOST, RESTART, RESUME, RESUME_CURRENT, SHARE_RESULT, START, restart_value
from flows.simulate import questions_asked
from models.results import PastResult

COMMAND = "/maturity"


@dataclass(frozen=True)
class HelpEntry:
    """One line of help: how a subcommand is typed and what it does (mrkdwn)."""

    usage: str  # e.g. "start <model>"
    summary: str


def build_help_message(entries: list[HelpEntry], unknown: str | None = None) -> dict[str, Any]:
    """The commands, one per line, from the table the command listener routes by.

    ``unknown`` is a subcommand the person typed that matched none of them.
    """
    lines = [f"• `{COMMAND} {entry.usage}`: {entry.summary}" for entry in entries]
    text = (
        "*maturity-bot* runs MLOps maturity assessments right here.\n"
        + "\n".join(lines)
        + "\nQuestions come one at a time, visible only to you. When you finish, your level and next "
        "steps are posted to the channel."
    )
    blocks: list[dict[str, Any]] = []
    if unknown is not None:
        blocks.append(
            section(f":information_source: I don't know `{escape(unknown)}`. Here is what I can do:")
        )
    blocks.append(section(text))
    # Questions are ephemeral: Slack drops them when it reloads. This brings back the current one.
    blocks.append(actions("help", [button("Resume my assessment", RESUME, RESUME_CURRENT)]))
    return message(text, blocks)


def _first_sentence(text: str) -> str:
    sentence = text.strip().split(". ")[0].rstrip(".")
    return sentence[:200] + "."


def build_choose_model_message(view: ChooseModel) -> dict[str, Any]:
    lines = []
    for f in view.flows:
        asked = questions_asked(f)
        lines.append(
            f"• *{escape(f.title)}*: {len(f.levels)} levels, about {asked.median:g} questions "
            f"(~{asked.minutes} min). {escape(_first_sentence(f.description))}"
        )
    intro = "Which maturity model would you like to assess?"
    if view.unknown is not None:
        intro = f"I don't know the model `{escape(view.unknown)}`. {intro}"
    if view.flows:
        shortest = min(view.flows, key=lambda f: (questions_asked(f).median, f.id))
        lines.append(f"Not sure? Start with *{escape(shortest.title)}*: it is the shortest.")
    buttons = [button(f.title, f"{START}:{f.id}", f.id) for f in view.flows]
    blocks = [section(intro + "\n" + "\n".join(lines))]
    for start in range(0, len(buttons), 25):
        blocks.append(actions(f"models:{start}", buttons[start : start + 25]))
    return message(intro, blocks)


def build_resume_or_restart_message(view: ResumeOrRestart) -> dict[str, Any]:
    current = view.in_progress
    text = (
        f"You already have a *{escape(current.flow.title)}* assessment in progress here "
        f"({current.answered} of {current.total} answered). Continue it, or start "
        f"*{escape(view.requested.title)}* from scratch? (The unfinished one is kept, not scored.)"
    )
    return message(
        text,
        [
            section(text),
            actions(
                f"rr:{current.assessment_id}",
                [
                    button("Resume", RESUME, str(current.assessment_id), style="primary"),
                    {
                        **button(
                            f"Restart with {view.requested.id}",
                            RESTART,
                            restart_value(current.assessment_id, view.requested.id),
                            style="danger",
                        ),
                        "confirm": confirm(
                            "Start over?",
                            f"Your {current.answered} answers to {current.flow.title} are kept but not "
                            f"scored, and {view.requested.title} starts from its first question.",
                            "Start over",
                            "Keep going",
                            danger=True,
                        ),
                    },
                ],
            ),
        ],
    )


def build_paused_message(view: Paused) -> dict[str, Any]:
    text = (
        f":pause_button: Paused your *{escape(view.flow.title)}* assessment "
        f"({view.answered} of {view.total} answered). Your answers are saved; "
        f"press Resume or run `{COMMAND} resume` here whenever you're ready."
    )
    resume = button("Resume", RESUME, str(view.assessment_id) if view.assessment_id else RESUME_CURRENT)
    return message(text, [section(text), actions("paused", [{**resume, "style": "primary"}])])


def build_status_message(view: StatusReport) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if view.in_progress:
        p = view.in_progress
        blocks.append(
            section(
                f"*In progress:* {escape(p.flow.title)}, {p.answered} of {p.total} answered. "
                f"`{COMMAND} resume` brings back your current question."
            )
        )
    else:
        blocks.append(section(f"*In progress:* nothing. Start with `{COMMAND} start`."))
    if view.results:
        lines = []
        for flow, r in view.results:
            title = flow.title if flow else r.flow_id
            name = flow.level(r.level).name if flow and r.level <= flow.max_level else ""
            when = r.completed_at.strftime("%Y-%m-%d") if r.completed_at else ""
            cats = ""
            if flow and len(r.categories) > 1:
                names = {c.id: c.name for c in flow.categories}
                cats = "\n    " + ", ".join(f"{escape(names.get(c, c))} {lv}" for c, lv, _ in r.categories)
            level = f"Level {r.level} {escape(name)} ({r.score:.2f})"
            newer = ""
            if flow is not None and r.flow_version != flow.version:
                # Results keep the version they were scored with; they are never rescored silently.
                newer = (
                    f"\n    _scored with version {escape(r.flow_version)}; version {escape(flow.version)} "
                    f"of this model is available: `{COMMAND} start {flow.id}` to retake it._"
                )
            lines.append(f"• {when} *{escape(title)}*: {level}{cats}{newer}{_post_line(r)}")
        blocks.append(section("*Latest results in this channel:*\n" + "\n".join(lines)))
        again = [
            button(f"Post again ({when_of(r)})", REPOST, str(r.outbox_id), "primary")
            for r in (r for _, r in view.results)
            if r.post_status == "failed" and r.outbox_id is not None
        ]
        if again:
            blocks.append(actions("status:repost", again))
        share = [
            button(clip(f"Share {flow.title} ({when_of(r)})", 75), SHARE_RESULT, str(r.result_id))
            for flow, r in view.results
            if r.post_status is None and r.result_id is not None and flow is not None
            and flow.version == r.flow_version
        ][:5]  # fmt: skip
        if share:
            blocks.append(actions("status:share", share))
    else:
        blocks.append(context("No completed assessments in this channel yet."))
    return message("Your maturity assessments in this channel", blocks)


def when_of(result: PastResult) -> str:
    return result.completed_at.strftime("%Y-%m-%d") if result.completed_at else "result"


def _post_line(result: PastResult) -> str:
    """Where the result's channel post stands, when it is not simply posted."""
    if result.post_status == "failed":
        reason = post_error_reason(result.post_error or "unknown_error")
        return f"\n    :warning: not posted to the channel: {reason}"
    if result.post_status == "pending":
        return "\n    :hourglass_flowing_sand: queued for the channel, posting shortly"
    if result.post_status is None:
        return "\n    :lock: not shared: only you have seen it"
    return ""
