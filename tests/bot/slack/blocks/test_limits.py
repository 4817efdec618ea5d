"""Every Block Kit message, built from realistic views of the shipped flows, stays within Slack's limits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from bot.services.checkins import CheckinPost, OpenCommitment, ScheduleView
from bot.services.commitments import (
    AlreadyCommitted,
    CommitmentAlreadyClosed,
    CommitmentLimitReached,
    CommitmentReply,
    CommitmentUpdated,
    Committed,
    StepUnknown,
)
from bot.services.outcomes import (
    Carried,
    ChooseModel,
    Completed,
    FlowRemoved,
    KeptPrivate,
    Notice,
    NotYours,
    Paused,
    PostStatus,
    QuestionNote,
    QuestionShown,
    ResultPreview,
    ResumeOrRestart,
    StatusReport,
)
from bot.services.team import ModelView, TeamView
from bot.slack.blocks.checkins import build_checkin_message
from bot.slack.blocks.commitments import build_commitment_reply
from bot.slack.blocks.kit import escape
from bot.slack.blocks.messages import (
    HelpEntry,
    build_choose_model_message,
    build_help_message,
    build_paused_message,
    build_resume_or_restart_message,
    build_status_message,
)
from bot.slack.blocks.notices import build_notice_message
from bot.slack.blocks.question import build_question_message
from bot.slack.blocks.result import (
    POST_ERRORS,
    build_completed_note,
    build_kept_private,
    build_post_failed_message,
    build_result_details_message,
    build_result_message,
    build_result_preview,
)
from flows.engine import Answers, score_assessment, tailored_next_steps, walk
from flows.loader import load_flows
from flows.schema import Flow, Option, Question
from flows.simulate import questions_asked
from models.results import PastResult
from playground.blockkit import block_kit_problems

FLOWS = load_flows()
FLOW_IDS = sorted(FLOWS)

# Ids as large as they get, so button values and block ids are as long as they can be.
BIG_ID = 2**31 - 1
BIG_REVISION = 10**6
USER = "U0123456789ABCDEF"
CHANNEL = "C0123456789ABCDEF"
NOTES = [None, *QuestionNote]
HELP = [HelpEntry("start <model>", "start an assessment (" + ", ".join(f"`{m}`" for m in FLOWS) + ")")] * 6


def assert_within_slack_limits(msg: dict[str, Any]) -> None:
    """The double's own Block Kit checker finds nothing wrong, the text fallback included."""
    problems = block_kit_problems(msg, require_text=True)
    assert problems == [], problems


# -- realistic views ---------------------------------------------------------------------------------


def _worst(q: Question) -> Option:
    return q.worst_option


def _result(flow: Flow, answers: Answers, steps_limit: int = 8) -> Completed:
    score = score_assessment(flow, answers)
    steps = tailored_next_steps(flow, score, answers, limit=steps_limit)
    return Completed(flow, BIG_ID, BIG_ID, USER, CHANNEL, score, steps, outbox_id=BIG_ID)


def _every_category_missed(flow: Flow) -> Completed:
    """Nothing in place anywhere: every category at level 0 with its first criterion missed."""
    view = _result(flow, walk(flow, _worst))
    assert view.score.level == 0
    assert all(c.missed for c in view.score.categories)
    return view


def _unsure(q: Question) -> Option:
    found = q.option("unsure")
    assert found is not None
    return found


def _results(flow: Flow) -> Iterator[Completed]:
    yield _every_category_missed(flow)
    yield _result(flow, walk(flow, _worst), steps_limit=1000)  # every step it could suggest at once
    everything = {q.id: "unsure" for q in flow.questions}  # the longest "to find out" list
    yield _result(flow, everything, steps_limit=1000)
    yield _result(flow, walk(flow, _unsure))
    top = _result(flow, walk(flow, lambda q: q.best_option))
    assert top.score.level == flow.max_level
    yield top


def _question_view(flow: Flow, question: Question, first: bool, note: QuestionNote | None) -> QuestionShown:
    total = len(flow.questions)
    return QuestionShown(
        flow,
        BIG_ID,
        BIG_REVISION,
        question,
        question.options[-1].id,  # an earlier answer is highlighted
        total,
        total - 1,
        total,
        first,
        note,
    )


def _longest_question(flow: Flow) -> Question:
    return max(flow.questions, key=lambda q: (len(q.text), len(q.why), max(len(o.label) for o in q.options)))


def _longest_option_question(flow: Flow) -> Question:
    return max(flow.questions, key=lambda q: (max(len(o.label) for o in q.options), len(q.options)))


def _past_results(flow: Flow) -> list[tuple[Flow | None, PastResult]]:
    out: list[tuple[Flow | None, PastResult]] = []
    for n, view in enumerate(_results(flow)):
        score = view.score
        categories = tuple((c.category_id, c.level, c.score) for c in score.categories)
        when = datetime(2026, 1, 1 + n, tzinfo=UTC)
        out.append((flow, PastResult(n, flow.id, flow.version, when, score.level, score.score, categories)))
    return out


# -- every message of every flow ---------------------------------------------------------------------


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_every_question_message_is_within_limits(flow_id: str) -> None:
    """Each question of the flow, first or not, with and without a note, fits Slack's limits."""
    flow = FLOWS[flow_id]
    for index, question in enumerate(flow.questions):
        for note in NOTES:
            msg = build_question_message(_question_view(flow, question, index == 0, note))
            assert_within_slack_limits(msg)
            answers = next(b for b in msg["blocks"] if b["type"] == "actions")
            assert len(answers["elements"]) == len(question.options)


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_a_question_with_a_carried_answer_is_within_limits(flow_id: str) -> None:
    """An answer carried from another model is pre-selected and says where it came from."""
    flow = FLOWS[flow_id]
    when = datetime(2026, 11, 12, tzinfo=UTC)
    for question in flow.questions:
        option = question.practices[-1]
        carried = Carried(option.id, "azure", "x" * 150, when)
        view = replace(_question_view(flow, question, False, None), chosen=None, carried=carried)
        msg = build_question_message(view)
        assert_within_slack_limits(msg)
        assert "assessment on 12 Nov" in json.dumps(msg)
        labels = [e["text"]["text"] for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert f"✓ {option.label}" in labels


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_the_longest_question_and_options_keep_their_full_text(flow_id: str) -> None:
    """The longest question text and option labels of the flow are shown in full, not clipped."""
    flow = FLOWS[flow_id]
    for question in {q.id: q for q in (_longest_question(flow), _longest_option_question(flow))}.values():
        msg = build_question_message(_question_view(flow, question, False, QuestionNote.EARLIER_STEP))
        assert_within_slack_limits(msg)
        assert any(
            escape(question.text) in b["text"]["text"] for b in msg["blocks"] if b["type"] == "section"
        )
        labels = [e["text"]["text"] for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
        chosen = question.options[-1].id  # the earlier answer is marked in words, not by colour alone
        expected = [f"✓ {o.label}" if o.id == chosen else o.label for o in question.options]
        assert expected == labels[: len(question.options)]


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_result_messages_are_within_limits(flow_id: str) -> None:
    """Results from nothing met to the top fit Slack's limits, as do their completed and failed notes."""
    flow = FLOWS[flow_id]
    for view in _results(flow):
        assert_within_slack_limits(build_result_message(view))
        assert_within_slack_limits(build_result_details_message(view))
        for in_channel in (True, False):
            name = "x" * 80  # Slack channel names are at most 80 characters
            assert_within_slack_limits(build_result_preview(ResultPreview(view, name, in_channel)))
        assert_within_slack_limits(build_kept_private(KeptPrivate(view.result_id)))
        for status in PostStatus:
            assert_within_slack_limits(build_completed_note(view, status))
        for error in [*POST_ERRORS, "some_new_error_<&>"]:
            assert_within_slack_limits(build_post_failed_message(view, error))


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_result_with_every_category_missed_lists_every_category(flow_id: str) -> None:
    """The worst result still names every category and suggests next steps towards level 1."""
    flow = FLOWS[flow_id]
    view = _every_category_missed(flow)
    msg = build_result_message(view)
    assert_within_slack_limits(msg)
    body = json.dumps(msg["blocks"], ensure_ascii=False)
    assert "Next steps towards level 1" in body
    assert view.steps
    if len(flow.categories) > 1:
        for category in flow.categories:
            assert f"{escape(category.name)} 0" in body  # the profile names each one
        details = build_result_details_message(view)
        fields = [f for b in details["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
        assert len(fields) == len(flow.categories)


def test_help_and_model_choice_are_within_limits() -> None:
    """Help, with and without a note, and the model picker (with an unknown-model note) fit Slack's limits."""
    flows = [FLOWS[f] for f in FLOW_IDS]
    assert_within_slack_limits(build_help_message(HELP))
    unknown = build_help_message(HELP, unknown="<nope & co>" * 3)
    assert_within_slack_limits(unknown)
    assert "&lt;nope &amp; co&gt;" in unknown["blocks"][0]["text"]["text"]
    assert_within_slack_limits(build_choose_model_message(ChooseModel(flows)))
    msg = build_choose_model_message(ChooseModel(flows, unknown="x" + "<y>" * 13))
    assert_within_slack_limits(msg)
    buttons = [e for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == FLOW_IDS


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_resume_paused_and_status_are_within_limits(flow_id: str) -> None:
    """Resume-or-restart, paused and status messages of every flow fit Slack's limits."""
    flow = FLOWS[flow_id]
    current = _question_view(flow, _longest_question(flow), False, None)
    for requested in FLOWS.values():
        assert_within_slack_limits(build_resume_or_restart_message(ResumeOrRestart(current, requested)))
    assert_within_slack_limits(
        build_paused_message(Paused(flow, len(flow.questions) - 1, len(flow.questions)))
    )
    assert_within_slack_limits(build_status_message(StatusReport(None)))
    assert_within_slack_limits(build_status_message(StatusReport(current, _past_results(flow))))
    # A result of a model that is no longer installed shows its id instead of its title.
    orphan: list[tuple[Flow | None, PastResult]] = [(None, r) for _, r in _past_results(flow)]
    assert_within_slack_limits(build_status_message(StatusReport(None, orphan)))


def test_status_with_results_of_every_flow_is_within_limits() -> None:
    """A status listing results from all three flows at once fits Slack's limits."""
    results = [r for f in FLOW_IDS for r in _past_results(FLOWS[f])]
    current = _question_view(FLOWS["google"], _longest_question(FLOWS["google"]), False, None)
    assert_within_slack_limits(build_status_message(StatusReport(current, results)))


def test_notice_messages_are_within_limits() -> None:
    """Every notice fits Slack's limits; the owner of someone else's assessment is a live mention."""
    for notice in get_args(Notice):
        example = (
            notice(USER) if notice is NotYours else notice("x" * 40) if notice is FlowRemoved else notice()
        )
        assert_within_slack_limits(build_notice_message(example))
    msg = build_notice_message(NotYours("U1"))
    assert "<@U1>" in msg["blocks"][0]["text"]["text"]


def test_question_text_from_a_flow_is_escaped() -> None:
    """Control characters in a flow's question text cannot become mentions or links in the message."""
    flow = FLOWS["google"]
    question = flow.questions[0].model_copy(update={"text": "Do you use <!channel> & <https://x|y>?"})
    msg = build_question_message(_question_view(flow, question, True, None))
    assert_within_slack_limits(msg)
    sections = [b["text"]["text"] for b in msg["blocks"] if b["type"] == "section"]
    assert sections[0].split("\n")[0] == "*Do you use &lt;!channel&gt; &amp; &lt;https://x|y&gt;?*"


@pytest.mark.parametrize("flow_id", FLOW_IDS)
def test_the_first_question_introduces_the_assessment(flow_id: str) -> None:
    """Question 1 says how long it is, who sees it, where the result goes and the flow's notice."""
    flow = FLOWS[flow_id]
    first = flow.questions[0]
    view = QuestionShown(flow, 1, 0, first, None, 1, 0, len(flow.questions), True, None)
    msg = build_question_message(view)
    assert_within_slack_limits(msg)
    intro = msg["blocks"][0]["text"]["text"]
    asked = questions_asked(flow)
    assert f"about {asked.median:g} questions (~{asked.minutes} min)" in intro
    assert "decide whether to share it here" in intro
    if flow.notice:
        assert escape(flow.notice) in intro
    later = build_question_message(QuestionShown(flow, 1, 1, flow.questions[1], None, 2, 1, 9, False, None))
    assert "about" not in str(later["blocks"][0])


def test_check_in_messages_are_within_limits_however_busy_the_channel() -> None:
    """A check-in with every model, many members, 15 open commitments and long steps fits Slack's limits."""
    when = datetime(2026, 3, 23, 8, tzinfo=UTC)
    schedule = ScheduleView(
        2**31 - 1,
        "weekly",
        0,
        None,
        "09:00",
        "Europe/Berlin",
        "active",
        None,
        when,
        None,
        USER,
    )
    people = [f"U{n:010d}" for n in range(200)]
    models = [
        ModelView(
            f,
            people,
            FLOWS[f].max_level,
            float(FLOWS[f].max_level),
            [(c.id, 0) for c in FLOWS[f].categories][:2],
            -0.5,
        )
        for f in FLOW_IDS
    ]
    long_step = "Write the runbook for every model in production, with owners and rollback steps. " * 6
    post = CheckinPost(
        schedule, 2**31 - 1, when, True, TeamView(models, [(p, "google") for p in people], people),
        [OpenCommitment(n, long_step, when) for n in range(15)], [long_step] * 12,
    )  # fmt: skip
    assert_within_slack_limits(build_checkin_message(post, FLOWS))
    empty = CheckinPost(schedule, 1, when, False, TeamView([], [], []))
    assert_within_slack_limits(build_checkin_message(empty, FLOWS))
    replies: list[CommitmentReply] = [
        Committed(long_step, 3), AlreadyCommitted(long_step), CommitmentLimitReached(3), StepUnknown(),
        CommitmentUpdated(long_step, "done"), CommitmentUpdated(long_step, "still"),
        CommitmentUpdated(long_step, "drop"), CommitmentAlreadyClosed(long_step, "dropped"),
    ]  # fmt: skip
    for reply in replies:
        assert_within_slack_limits(build_commitment_reply(reply))
