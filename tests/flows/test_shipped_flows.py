"""Properties every shipped flow must have: content rules and scoring guarantees."""

from __future__ import annotations

import random
import re

import pytest

from flows.engine import says_the_same, score_assessment, skipped_ids, tailored_next_steps, walk
from flows.loader import BUILTIN_DIR, load_flow
from flows.schema import Flow, Option, Question

SHIPPED = sorted(BUILTIN_DIR.glob("*.yaml"))
EXPECTED = {"google": 2, "azure": 4, "gigaom": 4}  # flow id -> top level number


def _best(q: Question) -> Option:
    return max(q.options, key=lambda o: o.credit)


def _worst(q: Question) -> Option:
    return min(q.options, key=lambda o: (o.credit, not o.skips_higher_levels))


@pytest.fixture(params=SHIPPED, ids=lambda p: p.stem)
def flow(request: pytest.FixtureRequest) -> Flow:
    return load_flow(request.param)


def test_the_three_models_ship() -> None:
    """google, azure and gigaom flows exist with the level ranges their models define."""
    flows = {f.id: f for f in (load_flow(p) for p in SHIPPED)}
    assert {k: flows[k].max_level for k in EXPECTED} == EXPECTED
    assert [c.name for c in flows["azure"].categories] == [
        "People",
        "Model creation",
        "Model release",
        "Application integration",
    ]
    assert [c.id for c in flows["gigaom"].categories] == [
        "strategy",
        "architecture",
        "modeling",
        "processes",
        "management",
    ]
    assert flows["gigaom"].notice
    assert "derived" in flows["gigaom"].notice.lower()


def test_every_level_has_two_questions(flow: Flow) -> None:
    """Every level of the model is evidenced by at least two questions."""
    for level in flow.levels:
        count = sum(1 for q in flow.questions if q.level == level.number)
        assert count >= 2, f"{flow.id} level {level.number} has {count} question(s)"


def test_every_level_has_three_next_steps(flow: Flow) -> None:
    """Each category has at least three concrete next steps from every level below the top."""
    for category in flow.categories:
        for level in flow.levels[:-1]:
            steps = flow.steps_for(category.id, level.number)
            assert len(steps) >= 3, f"{flow.id} {category.id} level {level.number}"


def test_options_describe_practice_not_self_ratings(flow: Flow) -> None:
    """Options are observable practices, never a bare number or 'rate yourself' scale."""
    for q in flow.questions:
        for o in q.options:
            assert not re.fullmatch(r"\s*\d+\s*(/\s*\d+)?\s*", o.label), (q.id, o.label)
            assert not re.search(r"\brate\b", o.label.lower()), (q.id, o.label)
        assert "rate yourself" not in q.text.lower()


def test_each_level_is_reachable(flow: Flow) -> None:
    """For every level N there is a way of answering that scores exactly N overall."""
    for target in range(flow.max_level + 1):

        def choose(q: Question, target: int = target) -> Option:
            return _best(q) if q.level <= target else _worst(q)

        score = score_assessment(flow, walk(flow, choose))
        assert score.level == target, f"{flow.id}: aimed at {target}, scored {score.level}"
        assert target <= score.score < target + 1


def test_best_and_worst_answers_bound_the_scale(flow: Flow) -> None:
    """All best answers reach the top level; all worst answers stay at level 0."""
    assert score_assessment(flow, walk(flow, _best)).level == flow.max_level
    assert score_assessment(flow, walk(flow, _worst)).level == 0


def test_a_better_answer_never_lowers_a_level(flow: Flow) -> None:
    """Improving any single answer never lowers the overall or any category level or score."""
    rng = random.Random(7)
    for _ in range(150):
        picks = {q.id: rng.choice(q.options) for q in flow.questions}
        answers = {q: o.id for q, o in picks.items()}
        before = score_assessment(flow, answers)
        for q in flow.questions:
            for better in q.options:
                if better.credit <= picks[q.id].credit:
                    continue
                after = score_assessment(flow, {**answers, q.id: better.id})
                assert after.level >= before.level
                assert after.score >= before.score
                for b, a in zip(before.categories, after.categories, strict=True):
                    assert (a.level, a.score) >= (b.level, b.score), (q.id, better.id)


def test_skip_rules_never_leave_a_level_undecided(flow: Flow) -> None:
    """Whatever a skipped question would have been answered, the levels come out the same."""
    rng = random.Random(11)
    for _ in range(150):
        answers = walk(flow, lambda q: rng.choice(q.options))
        skipped = skipped_ids(flow, answers)
        score = score_assessment(flow, answers)
        if not skipped:
            continue
        filled = dict(answers)
        for q in flow.questions:
            if q.id in skipped:
                filled[q.id] = _best(q).id
        assert skipped_ids(flow, filled) == skipped
        full = score_assessment(flow, filled)
        assert [c.level for c in full.categories] == [c.level for c in score.categories]
        assert full.level == score.level


def test_results_list_three_to_five_distinct_next_steps(flow: Flow) -> None:
    """Across many ways of answering, a result has 3 to 5 next steps and no two say the same thing."""
    rng = random.Random(11)
    for _ in range(200):
        answers = walk(flow, lambda q: rng.choice(q.options))
        steps = tailored_next_steps(flow, score_assessment(flow, answers))
        assert 3 <= len(steps) <= 5, (flow.id, steps)
        assert not [(a, b) for i, a in enumerate(steps) for b in steps[i + 1 :] if says_the_same(a, b)]
