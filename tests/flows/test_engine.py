"""The engine on a small hand-made flow: order, skipping, Back, staged scoring and next steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine import (
    next_question,
    previous_question,
    progress,
    questions_to_ask,
    says_the_same,
    score_assessment,
    skipped_ids,
    tailored_next_steps,
)
from flows.loader import load_flow
from flows.schema import Flow, OverallRule, Question

TINY = Path(__file__).parent / "data" / "tiny.yaml"


@pytest.fixture
def flow() -> Flow:
    return load_flow(TINY)


def test_questions_come_in_file_order(flow: Flow) -> None:
    """With no answers the first question is the first in the file, and all five will be asked."""
    assert next_question(flow, {}) == flow.questions[0]
    assert progress(flow, {}) == (0, 5)


def _id(question: Question | None) -> str | None:
    return question.id if question else None


def test_a_clear_miss_skips_the_categorys_higher_levels(flow: Flow) -> None:
    """Answering 'No' to the level-0 build gate skips build's levels 1 and 2 but not the run questions."""
    answers = {"b0": "none"}
    assert skipped_ids(flow, answers) == {"b1", "b2"}
    assert [q.id for q in questions_to_ask(flow, answers)] == ["b0", "r1", "r2"]
    assert _id(next_question(flow, answers, after="b0")) == "r1"
    assert progress(flow, answers) == (1, 3)


def test_walking_forward_revisits_answered_questions_after_back(flow: Flow) -> None:
    """After going back to b0, the next question is b1 again even though it is answered."""
    answers = {"b0": "all", "b1": "pipe"}
    assert _id(previous_question(flow, answers, "b2")) == "b1"
    assert _id(next_question(flow, answers, after="b0")) == "b1"
    assert previous_question(flow, answers, "b0") is None


def test_completion_needs_every_askable_answer(flow: Flow) -> None:
    """An assessment is complete once every question still to be asked has an answer."""
    assert next_question(flow, {"b0": "all"}, after="b0") is not None
    assert progress(flow, {"b0": "none", "r1": "nolog", "r2": "manual"}) == (3, 3)
    assert next_question(flow, {"b0": "none", "r1": "nolog", "r2": "manual"}, after="r2") is None


def test_staged_levels_need_every_lower_level(flow: Flow) -> None:
    """A met level-2 criterion does not count while a level-1 criterion of its category is missed."""
    score = score_assessment(flow, {"b0": "all", "b1": "hand", "b2": "ci", "r1": "log", "r2": "auto"})
    build, run = score.categories
    assert (build.level, run.level) == (0, 2)
    assert score.level == 0
    assert build.missed == ("b1",)


def test_overall_rule_lowest_and_median(flow: Flow) -> None:
    """'lowest' takes the weakest category; 'median' the lower median."""
    answers = {"b0": "all", "b1": "pipe", "b2": "untested", "r1": "log", "r2": "auto"}
    assert score_assessment(flow, answers).level == 1
    median = flow.model_copy(update={"overall": OverallRule.MEDIAN})
    assert score_assessment(median, answers).level == 1
    assert [c.level for c in score_assessment(flow, answers).categories] == [1, 2]


def test_finer_score_separates_teams_at_the_same_level(flow: Flow) -> None:
    """Partial credit moves the score within a level but never into the next one."""
    none = score_assessment(flow, {"b0": "none", "r1": "nolog", "r2": "manual"})
    some = score_assessment(
        flow, {"b0": "some", "b1": "hand", "b2": "untested", "r1": "nolog", "r2": "manual"}
    )
    assert none.level == some.level == 0
    assert 0 <= none.score < some.score < 1
    top = score_assessment(flow, {"b0": "all", "b1": "pipe", "b2": "ci", "r1": "log", "r2": "auto"})
    assert (top.level, top.score) == (2, 2.0)


def test_next_steps_are_only_the_next_levels_starting_with_what_was_missed(flow: Flow) -> None:
    """Towards level 1: the advice of what the category at level 0 missed first, then the flow's
    steps for it; nothing for level 2 (run is at 1 already), no repeats, at most five."""
    score = score_assessment(flow, {"b0": "all", "b1": "hand", "b2": "untested", "r1": "log", "r2": "manual"})
    steps = tailored_next_steps(flow, score)
    assert steps[0] == "Write a training pipeline."
    assert "Trigger retraining on drift." not in steps  # a level-2 step of a category at level 1
    assert len(steps) == len(set(steps)) <= 5
    assert len(tailored_next_steps(flow, score, limit=2)) == 2


def test_steps_that_say_the_same_thing_are_listed_once() -> None:
    assert says_the_same("Set up CI for the training pipeline.", "Set up CI for the pipeline")
    assert not says_the_same(
        "Set up CI for the training pipeline.", "Log every prediction with its model version."
    )


def test_unknown_answers_are_ignored(flow: Flow) -> None:
    """An answer naming an option that no longer exists earns nothing and skips nothing."""
    assert skipped_ids(flow, {"b0": "gone"}) == set()
    assert score_assessment(flow, {"b0": "gone"}).categories[0].score == 0.0
