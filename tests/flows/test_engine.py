"""The engine on a small hand-made flow: order, adaptive asking, Back, threshold scoring, next steps."""

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
from flows.schema import Flow, OptionKind, OverallRule, Question

TINY = Path(__file__).parent / "data" / "tiny.yaml"


@pytest.fixture
def flow() -> Flow:
    return load_flow(TINY)


def _id(question: Question | None) -> str | None:
    return question.id if question else None


def _levels(flow: Flow, answers: dict[str, str]) -> tuple[int, ...]:
    return tuple(c.level for c in score_assessment(flow, answers).categories)


def test_questions_come_in_file_order(flow: Flow) -> None:
    """With no answers the first question is the first in the file, and all five may be asked."""
    assert next_question(flow, {}) == flow.questions[0]
    assert progress(flow, {}) == (0, 5)


def test_every_question_offers_not_sure_and_some_not_applicable(flow: Flow) -> None:
    """'Not sure' is added to every question; 'Not applicable' only where the flow allows it."""
    r1, r1m = flow.question("r1"), flow.question("r1m")
    assert r1 is not None
    assert r1m is not None
    assert [o.kind for o in r1.options[-2:]] == [OptionKind.UNSURE, OptionKind.NOT_APPLICABLE]
    assert [o.label for o in r1m.options][-1] == "Not sure"
    assert (r1.best_option.id, r1.worst_option.id) == ("log", "nolog")


def test_a_fully_met_first_question_settles_a_two_question_level(flow: Flow) -> None:
    """The most telling question fully met passes build's level 1; its second is not asked."""
    assert skipped_ids(flow, {"b1": "pipe"}) == {"b1v"}
    assert _id(next_question(flow, {"b1": "pipe"}, after="b1")) == "b2"
    assert _levels(flow, {"b1": "pipe", "b2": "ci", "r1": "log", "r1m": "alerts"}) == (2, 2)


def test_a_partial_answer_asks_the_second_question(flow: Flow) -> None:
    """Partly in place does not settle the level: the second question decides it."""
    assert skipped_ids(flow, {"b1": "half"}) == set()
    assert _id(next_question(flow, {"b1": "half"}, after="b1")) == "b1v"
    assert _levels(flow, {"b1": "half", "b1v": "all", "b2": "ci", "r1": "log", "r1m": "alerts"}) == (2, 2)
    assert _levels(flow, {"b1": "half", "b1v": "some", "b2": "ci", "r1": "log", "r1m": "alerts"}) == (1, 2)


def test_a_clear_miss_stops_the_categorys_higher_levels(flow: Flow) -> None:
    """'By hand' fails build's level 1 for sure: its second question and level 2 are not asked."""
    answers = {"b1": "hand"}
    assert skipped_ids(flow, answers) == {"b1v", "b2"}
    assert [q.id for q in questions_to_ask(flow, answers)] == ["b1", "r1", "r1m"]
    assert _id(next_question(flow, answers, after="b1")) == "r1"
    assert progress(flow, answers) == (1, 3)


def test_not_sure_fails_a_level_but_does_not_stop_the_category(flow: Flow) -> None:
    """'Not sure' scores 0 (level 1 fails) and is listed to find out; level 2 is still asked."""
    answers = {"b1": "unsure"}
    assert skipped_ids(flow, answers) == {"b1v"}
    assert _id(next_question(flow, answers, after="b1")) == "b2"
    score = score_assessment(flow, {**answers, "b2": "ci", "r1": "log", "r1m": "alerts"})
    build = score.categories[0]
    assert (build.level, build.next_level, build.find_out) == (1, 1, ("b1",))
    assert score.find_out == ("b1",)


def test_a_gap_at_a_low_level_costs_one_level_not_all(flow: Flow) -> None:
    """A category's level counts its levels in place: a missed level 1 with level 2 in place is 1."""
    answers = {"b1": "half", "b1v": "some", "b2": "ci", "r1": "log", "r1m": "alerts"}
    build, run = score_assessment(flow, answers).categories
    assert (build.level, build.next_level, build.missed) == (1, 1, ("b1", "b1v"))
    assert run.level == 2


def test_the_threshold_is_a_mean_with_no_criterion_at_zero(flow: Flow) -> None:
    """Mean 0.75 with none at 0 passes; mean 0.5 fails; a 0 fails even with a high mean."""
    base = {"b2": "ci", "r1": "log", "r1m": "alerts"}
    assert _levels(flow, {**base, "b1": "pipe", "b1v": "some"})[0] == 2
    assert _levels(flow, {**base, "b1": "half", "b1v": "some"})[0] == 1
    assert _levels(flow, {**base, "b1": "pipe", "b1v": "none"})[0] == 1


def test_not_applicable_is_left_out_and_never_passes_a_level_alone(flow: Flow) -> None:
    """r1 'Not applicable': run's level 1 rests on r1m; with both not applicable it does not pass."""
    build = {"b1": "pipe", "b2": "ci"}
    assert skipped_ids(flow, {**build, "r1": "n-a"}) == {"b1v"}  # r1m must now decide alone
    assert _levels(flow, {**build, "r1": "n-a", "r1m": "alerts"}) == (2, 2)
    assert _levels(flow, {**build, "r1": "n-a", "r1m": "reports"}) == (2, 0)


def test_an_empty_level_follows_the_level_below(flow: Flow) -> None:
    """run has no level-2 questions (unchanged from level 1): it is at 2 or at 0, never at 1."""
    assert _levels(flow, {"b1": "pipe", "b2": "ci", "r1": "log", "r1m": "alerts"})[1] == 2
    assert _levels(flow, {"b1": "pipe", "b2": "ci", "r1": "log", "r1m": "blind"})[1] == 0


def test_walking_forward_revisits_answered_questions_after_back(flow: Flow) -> None:
    """After going back to b1, the next question is b1v again even though it is answered."""
    answers = {"b1": "half", "b1v": "all"}
    assert _id(previous_question(flow, answers, "b2")) == "b1v"
    assert _id(next_question(flow, answers, after="b1")) == "b1v"
    assert previous_question(flow, answers, "b1") is None


def test_completion_needs_every_askable_answer(flow: Flow) -> None:
    """An assessment is complete once every question still to be asked has an answer."""
    assert next_question(flow, {"b1": "half"}, after="b1") is not None
    done = {"b1": "hand", "r1": "nolog", "r1m": "blind"}
    assert progress(flow, done) == (3, 3)
    assert next_question(flow, done, after="r1m") is None


def test_overall_rule_lowest_and_median(flow: Flow) -> None:
    """'lowest' takes the weakest category; 'median' the lower median."""
    answers = {"b1": "pipe", "b2": "untested", "r1": "log", "r1m": "alerts"}
    assert score_assessment(flow, answers).level == 1
    median = flow.model_copy(update={"overall": OverallRule.MEDIAN})
    assert score_assessment(median, answers).level == 1
    assert _levels(flow, answers) == (1, 2)


def test_finer_score_is_the_share_of_the_next_level_in_place(flow: Flow) -> None:
    """Level N plus the share of the first missing level's criteria in place, never into N+1."""
    none = score_assessment(flow, {"b1": "hand", "r1": "nolog", "r1m": "blind"})
    some = score_assessment(
        flow, {"b1": "half", "b1v": "some", "b2": "untested", "r1": "nolog", "r1m": "blind"}
    )
    assert none.level == some.level == 0
    assert none.categories[0].score == 0.0
    assert some.categories[0].score == 0.5
    top = score_assessment(flow, {"b1": "pipe", "b2": "ci", "r1": "log", "r1m": "alerts"})
    assert (top.level, top.score) == (2, 2.0)


def test_next_steps_start_with_what_was_missed_and_leave_out_what_the_team_has(flow: Flow) -> None:
    """Towards build's level 1: b1v's advice first, then the flow's steps, minus the step covered by
    b1 (answered fully); nothing for level 2, no repeats, at most five."""
    answers = {"b1": "pipe", "b1v": "none", "r1": "log", "r1m": "alerts"}
    steps = tailored_next_steps(flow, score_assessment(flow, answers), answers)
    assert steps == ["Put the code in version control.", "Version the code."]
    half = {**answers, "b1": "half"}
    steps = tailored_next_steps(flow, score_assessment(flow, half), half)
    assert "Script the training run end to end." in steps
    assert "Test the pipeline." not in steps
    assert len(tailored_next_steps(flow, score_assessment(flow, half), half, limit=2)) == 2


def test_steps_that_say_the_same_thing_are_listed_once() -> None:
    assert says_the_same("Set up CI for the training pipeline.", "Set up CI for the pipeline")
    assert not says_the_same(
        "Set up CI for the training pipeline.", "Log every prediction with its model version."
    )


def test_unknown_answers_are_ignored(flow: Flow) -> None:
    """An answer naming an option that no longer exists earns nothing and skips nothing."""
    assert skipped_ids(flow, {"b1": "gone"}) == set()
    assert score_assessment(flow, {"b1": "gone"}).categories[0].score == 0.0
