"""Rendering replies: every kind of reply has a message, and only some replace the clicked one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

from bot.services.outcomes import (
    AlreadyChosen,
    AlreadyComplete,
    AlreadyPosted,
    AlreadyRecorded,
    AssessmentGone,
    ChooseModel,
    Completed,
    FlowRemoved,
    KeptPrivate,
    NothingInProgress,
    Notice,
    NotYours,
    Paused,
    PostStatus,
    PostStillQueued,
    QuestionShown,
    Replaced,
    Reply,
    ResultPreview,
    ResultShared,
    ResumeOrRestart,
    Stale,
    StatusReport,
)
from bot.slack.blocks.messages import build_status_message
from bot.slack.blocks.result import build_result_details_message, build_result_message, progress_words
from bot.slack.render import render_reply
from flows.engine import CategoryResult, Score, score_assessment, tailored_next_steps
from flows.loader import load_flows
from flows.schema import Flow
from models.results import PastResult
from playground.slack_api import all_text, button

FLOW = load_flows()["google"]


def _completed(flow: Flow, answers: dict[str, str], outbox_id: int = 7) -> Completed:
    score = score_assessment(flow, answers)
    return Completed(flow, 1, 1, "U1", "C1", score, tailored_next_steps(flow, score, answers), outbox_id)


def _examples() -> list[Reply]:
    question = QuestionShown(FLOW, 1, 0, FLOW.questions[0], None, 1, 0, 9, True)
    completed = _completed(FLOW, {})
    return [
        question,
        ResultPreview(completed, "ml-team"),
        ResultPreview(completed, None, in_channel=False),
        KeptPrivate(1),
        ResultShared(completed, PostStatus.POSTED),
        ResultShared(completed, PostStatus.QUEUED, "ratelimited"),
        ResultShared(completed, PostStatus.FAILED, "not_in_channel"),
        ResultShared(completed, PostStatus.FAILED_TOLD, "not_in_channel"),
        ChooseModel([FLOW], unknown="cmmi"),
        ResumeOrRestart(question, FLOW),
        Paused(FLOW, 1, 9),
        StatusReport(question),
        NotYours("U2"),
        NotYours(),
        AssessmentGone(),
        AlreadyComplete(),
        Replaced(),
        AlreadyChosen(),
        AlreadyRecorded(),
        FlowRemoved("old"),
        AlreadyPosted(),
        PostStillQueued(),
        NothingInProgress(),
        Stale(),
    ]


def test_every_kind_of_reply_renders_to_a_message() -> None:
    """Each reply type (the examples cover them all) renders to a message with a fallback text."""
    examples = _examples()
    kinds = {type(e) for e in examples}
    assert kinds == {t for t in get_args(Reply) if t not in get_args(Notice)} | set(get_args(Notice))
    for example in examples:
        rendered = render_reply(example)
        assert rendered.message["text"].strip()
        assert rendered.message["blocks"]


def test_only_dead_ends_replace_the_clicked_message() -> None:
    """Notices replace the clicked message only when it can no longer be used; screens always do."""
    replacing = {type(e).__name__ for e in _examples() if render_reply(e).replaces_clicked}
    assert replacing == {
        "QuestionShown",
        "ResultPreview",
        "ResultShared",
        "KeptPrivate",
        "ChooseModel",
        "ResumeOrRestart",
        "Paused",
        "StatusReport",
        "AlreadyComplete",
        "Replaced",
        "AlreadyChosen",
        "AlreadyPosted",
    }


def test_a_shared_result_says_whether_it_reached_the_channel() -> None:
    """Posted: where it went; not posted: why, how to fix it, and the result itself."""
    completed = _completed(FLOW, {})
    posted = render_reply(ResultShared(completed, PostStatus.POSTED)).message
    assert "posted in this channel" in all_text(posted)
    queued = all_text(render_reply(ResultShared(completed, PostStatus.QUEUED, "ratelimited")).message)
    assert "will appear in this channel shortly" in queued
    assert "couldn't" not in queued  # a post whose fate is open is not reported as failed
    failed = render_reply(ResultShared(completed, PostStatus.FAILED, "not_in_channel")).message
    assert "couldn't post your result" in all_text(failed)
    assert "/invite @maturity-bot" in all_text(failed)
    assert "Level 0" in all_text(failed)
    assert button(failed, "Post again")["value"] == "7"
    told = all_text(render_reply(ResultShared(completed, PostStatus.FAILED_TOLD, "not_in_channel")).message)
    assert "couldn't post" not in told  # told once, elsewhere


def test_status_says_when_a_newer_version_of_a_model_is_available() -> None:
    """A result keeps the version it was scored with; status names the newer one and how to retake."""
    old = PastResult(1, FLOW.id, "0.9", datetime(2026, 1, 2, tzinfo=UTC), 1, 1.5, ())
    current = PastResult(2, FLOW.id, FLOW.version, datetime(2026, 2, 2, tzinfo=UTC), 1, 1.5, ())
    text = str(build_status_message(StatusReport(None, [(FLOW, old), (FLOW, current)])))
    assert text.count("of this model is available") == 1
    assert f"scored with version 0.9; version {FLOW.version}" in text


def test_the_finer_score_is_said_in_words_without_decimals() -> None:
    assert progress_words(1, 1.4, 4) == "level 1 with 40% of level 2 in place"
    assert progress_words(0, 0.0, 2) == "level 0 with 0% of level 1 in place"
    assert progress_words(4, 4.0, 4) == "level 4, the top"
    google = load_flows()["google"]
    done = _completed(google, {q.id: q.options[0].id for q in google.questions}, outbox_id=3)
    text = all_text(render_reply(ResultShared(done, PostStatus.POSTED)).message)
    result = all_text(build_result_message(done))
    assert "% of level 1 in place" in result
    assert "score 0." not in result
    assert "scale" not in result
    assert "% of level 1 in place" not in text  # the person's note stays short


def test_a_profile_leads_and_the_overall_rule_is_said_and_a_contradicted_meaning_is_left_out() -> None:
    azure = load_flows()["azure"]
    ids = [c.id for c in azure.categories]
    names = {c.id: c.name for c in azure.categories}

    def result(levels: list[int]) -> str:
        categories = tuple(
            CategoryResult(c, lv, lv + 0.5 if lv < 4 else 4.0, ()) for c, lv in zip(ids, levels, strict=True)
        )
        score = Score(min(levels), min(levels) + 0.5, categories)
        return all_text(build_result_message(Completed(azure, 1, 2, "U1", "C1", score, [], outbox_id=3)))

    split = result([4, 4, 0, 1])
    assert f"Profile:* {names[ids[0]]} 4, {names[ids[1]]} 4, {names[ids[2]]} 0, {names[ids[3]]} 1" in split
    assert f"overall 0 because {names[ids[2]]} is at 0" in split
    assert azure.level(0).meaning not in split  # two categories at 4: not "no MLOps"
    even = result([1, 1, 2, 1])
    assert azure.level(1).meaning in even


def test_the_preview_is_private_until_shared_and_says_how_to_invite_the_bot() -> None:
    """The last answer shows the whole result privately with Share / Keep private; nothing else."""
    completed = _completed(FLOW, {})
    preview = render_reply(ResultPreview(completed, "ml-team")).message
    assert "Only you can see this" in all_text(preview)
    assert button(preview, "Share in #ml-team")["value"] == "1"
    assert button(preview, "Keep private")["value"] == "1"
    assert "/invite" not in all_text(preview)
    outside = render_reply(ResultPreview(completed, "ml-team", in_channel=False)).message
    assert "/invite @maturity-bot" in all_text(outside)
    assert button(outside, "Share in #ml-team")  # works once the bot is invited
    kept = render_reply(KeptPrivate(1)).message
    assert "nothing was posted" in all_text(kept)
    assert button(kept, "Share in this channel")["value"] == "1"


def test_the_channel_post_is_compact_and_frames_the_teams_practice() -> None:
    """Profile, level and the top 3 steps in the post; the rest (and 'Not sure's) in the thread."""
    azure = load_flows()["azure"]
    unsure = {q.id: "unsure" for q in azure.questions}
    completed = _completed(azure, unsure)
    assert len(completed.steps) == 5
    post = all_text(build_result_message(completed))
    assert "as <@U1> reported it" in post
    assert "Profile:*" in post
    assert completed.steps[2] in post
    assert completed.steps[3] not in post
    details = all_text(build_result_details_message(completed))
    assert completed.steps[3] in details
    assert "To find out" in details
    assert azure.questions[0].text[:60] in details
