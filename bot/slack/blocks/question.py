"""The question message: one question, its why-it-matters line, options as buttons, Back and Pause."""

from __future__ import annotations

from typing import Any

from bot.services.outcomes import QuestionNote, QuestionShown
from bot.slack.blocks.kit import actions, button, context, escape, message, progress_bar, section
from bot.slack.buttons import ANSWER, BACK, PAUSE, answer_value, step_value
from flows.schema import Question
from flows.simulate import questions_asked

NOTES = {
    QuestionNote.ALREADY_COUNTED: "That click was already counted; here is where you are.",
    QuestionNote.EARLIER_STEP: (
        "That button was from an earlier step; nothing changed. Here is where you are."
    ),
    QuestionNote.NOT_CURRENT: "That button doesn't match the current question; nothing changed.",
    QuestionNote.FIRST_QUESTION: "This is the first question.",
}


def _intro(view: QuestionShown) -> str:
    """What the person is starting: shown once, above the first question."""
    flow = view.flow
    asked = questions_asked(flow)
    lines = [
        f"*{escape(flow.title)}*: about {asked.median:g} questions (~{asked.minutes} min); the answers "
        "decide which come next. Only you see them; "
        "when you finish, you see the result privately first and decide whether to share it here. "
        "`/maturity resume` brings your question back any time."
    ]
    if flow.notice:
        lines.append(f"_{escape(flow.notice)}_")
    return "\n".join(lines)


def _question_text(q: Question) -> str:
    """The question in bold, then the full wording of any option whose button label is short."""
    lines = [f"*{escape(q.text)}*"]
    lines += [f"• *{escape(o.label)}*: {escape(o.detail)}" for o in q.options if o.detail]
    return "\n".join(lines)


def build_question_message(view: QuestionShown) -> dict[str, Any]:
    q = view.question
    position = f"Question {view.number} of {view.total}"
    blocks: list[dict[str, Any]] = []
    if view.note:
        blocks.append(context(f":information_source: {NOTES[view.note]}"))
    if view.first and not view.chosen:
        blocks.append(section(_intro(view)))
    blocks += [
        context(f"*{escape(view.flow.title)}*  ·  {position}  {progress_bar(view.answered, view.total)}"),
        section(_question_text(q)),
        context(f":bulb: _Why it matters:_ {escape(q.why)}"),
    ]
    marked = view.chosen or (view.carried.option_id if view.carried else None)
    buttons = [
        button(
            f"✓ {option.label}" if option.id == marked else option.label,
            f"{ANSWER}:{index}",  # action_ids must differ between the buttons of one block
            answer_value(view.assessment_id, view.revision, q.id, option.id),
            style="primary" if option.id == marked else None,
        )
        for index, option in enumerate(q.options)
    ]
    if view.carried and not view.chosen:
        carried = view.carried
        picked = q.option(carried.option_id)
        when = f"{carried.answered_at.day} {carried.answered_at:%b}"
        blocks.append(
            context(
                f":recycle: From your *{escape(carried.flow_title)}* assessment on {when}: "
                f"*{escape(picked.label if picked else carried.option_id)}* (✓). "
                "Change it, or press it to confirm."
            )
        )
    blocks.append(actions(f"q:{view.assessment_id}:{view.revision}", buttons))
    controls = []
    if not view.first:
        controls.append(button("← Back", BACK, step_value(view.assessment_id, view.revision)))
    controls.append(button("Pause", PAUSE, step_value(view.assessment_id, view.revision)))
    blocks.append(actions(f"c:{view.assessment_id}:{view.revision}", controls))
    if view.chosen:
        blocks.append(context("✓ marks your earlier answer; choose it again to keep it, or pick another."))
    return message(f"{escape(view.flow.title)}, {position}: {escape(q.text)}", blocks)
