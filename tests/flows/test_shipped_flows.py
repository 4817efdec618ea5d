"""Properties every shipped flow must have: content rules and scoring guarantees (issue 10)."""

from __future__ import annotations

import random
import re

import pytest

from flows.engine import (
    Answers,
    covered,
    says_the_same,
    score_assessment,
    tailored_next_steps,
    walk,
)
from flows.loader import BUILTIN_DIR, load_flow, load_flows
from flows.schema import Flow, OptionKind
from flows.simulate import TARGETS, simulate

SHIPPED = sorted(BUILTIN_DIR.glob("*.yaml"))
EXPECTED = {"google": 2, "azure": 4, "gigaom": 4}  # flow id -> top level number
VAGUE = re.compile(r"\b(mostly|sometimes|now and then|loosely|often|rarely|regularly|somewhat)\b", re.I)
# Lowering one answer one step moves a category's finer score by at most this much: the level it
# loses plus the share of that level's criteria that were in place.
SCORE_MOVE = 2.0


@pytest.fixture(params=SHIPPED, ids=lambda p: p.stem)
def flow(request: pytest.FixtureRequest) -> Flow:
    return load_flow(request.param)


def _random_answers(flow: Flow, rng: random.Random) -> dict[str, str]:
    """A complete answer set: practices mostly, and now and then 'Not sure' / 'Not applicable'."""
    answers = {}
    for q in flow.questions:
        pool = q.practices * 4 + [o for o in q.options if o.kind is not OptionKind.PRACTICE]
        answers[q.id] = rng.choice(pool).id
    return answers


def _at(flow: Flow, levels: dict[str, int]) -> Answers:
    """Walk the flow as a team whose categories are at ``levels``: met below, absent above."""
    return walk(flow, lambda q: q.best_option if q.level <= levels[q.category] else q.worst_option)


def test_the_three_models_ship() -> None:
    """google, azure and gigaom flows exist with the level ranges and categories of their models."""
    flows = load_flows()
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
    gigaom = flows["gigaom"]
    assert gigaom.title == "MLOps maturity (derived from GigaOm)"
    assert gigaom.notice is not None
    assert "derived" in gigaom.notice.lower()
    assert len(gigaom.notice) <= 160
    assert "organisation" in gigaom.description.lower()
    assert all(f.version == "2" for f in flows.values())


def test_every_level_of_every_category_holds_two_questions(flow: Flow) -> None:
    """No level is decided by one question, and none is left empty in the shipped flows."""
    for category in flow.categories:
        for level in range(1, flow.max_level + 1):
            assert len(flow.cell(category.id, level)) >= 2, (flow.id, category.id, level)
    assert "scoring:" in (BUILTIN_DIR / f"{flow.id}.yaml").read_text()


def test_options_are_short_graded_observable_practices(flow: Flow) -> None:
    """3-5 practices a person can check, from absent (0) through partial to fully met (1)."""
    for q in flow.questions:
        credits = sorted(o.credit for o in q.practices)
        assert 3 <= len(credits) <= 5, q.id
        assert (credits[0], credits[-1]) == (0, 1), q.id
        assert any(0 < c < 1 for c in credits), f"{q.id}: one step down from met must be partial"
        labels = [o.label for o in q.options]
        assert len(set(labels)) == len(labels), q.id
        assert q.options[-1].kind is not OptionKind.PRACTICE  # 'Not sure' is always offered
        for o in q.practices:
            assert not VAGUE.search(o.label + " " + (o.detail or "")), (q.id, o.label)
            assert not re.fullmatch(r"\s*\d+\s*(/\s*\d+)?\s*", o.label), (q.id, o.label)
        assert "rate yourself" not in q.text.lower()


def test_every_level_has_distinct_next_steps(flow: Flow) -> None:
    """Every category has 4-6 steps from every level (the top: how to stay there), none saying the
    same thing as another or as the advice of the level it leads to."""
    for category in flow.categories:
        for level in flow.levels:
            steps = flow.steps_for(category.id, level.number)
            assert 4 <= len(steps) <= 6, (flow.id, category.id, level.number)
            assert sum(1 for s in steps if not s.covered_by) >= 3, (flow.id, category.id, level.number)
            advice = [q.advice for q in flow.cell(category.id, level.number + 1)]
            texts = [s.text for s in steps]
            for i, a in enumerate(texts):
                for b in texts[i + 1 :] + advice:
                    assert not says_the_same(a, b), (flow.id, category.id, level.number, a, b)


def test_lowering_one_answer_moves_a_category_by_at_most_one_level(flow: Flow) -> None:
    """One answer one step lower never moves a category by more than one level, and its finer
    score by a bounded amount (whatever the other answers are)."""
    rng = random.Random(5)
    for _ in range(120):
        answers = _random_answers(flow, rng)
        before = score_assessment(flow, answers)
        for q in flow.questions:
            option = q.option(answers[q.id])
            lower = q.lower(option) if option is not None else None
            if lower is None:
                continue
            after = score_assessment(flow, {**answers, q.id: lower.id})
            for b, a in zip(before.categories, after.categories, strict=True):
                assert 0 <= b.level - a.level <= 1, (flow.id, q.id, b, a)
                assert 0 <= b.score - a.score <= SCORE_MOVE, (flow.id, q.id, b, a)
            assert before.level - after.level <= 1


def test_a_better_answer_never_lowers_a_level(flow: Flow) -> None:
    """Improving any single answer never lowers the overall or any category level or score."""
    rng = random.Random(7)
    for _ in range(120):
        answers = _random_answers(flow, rng)
        before = score_assessment(flow, answers)
        for q in flow.questions:
            current = q.option(answers[q.id])
            assert current is not None
            for better in q.practices:
                if current.kind is OptionKind.PRACTICE and better.credit <= current.credit:
                    continue
                if current.kind is OptionKind.NOT_APPLICABLE:
                    continue  # not a worse answer: it takes the question out of the threshold
                after = score_assessment(flow, {**answers, q.id: better.id})
                assert (after.level, after.score) >= (before.level, before.score), (q.id, better.id)
                for b, a in zip(before.categories, after.categories, strict=True):
                    assert (a.level, a.score) >= (b.level, b.score), (q.id, better.id)


def test_each_level_is_reachable_for_every_category(flow: Flow) -> None:
    """For every category and level N, answering as such a team scores exactly N."""
    for category in flow.categories:
        for target in range(flow.max_level + 1):
            levels = {c.id: flow.max_level for c in flow.categories} | {category.id: target}
            score = score_assessment(flow, _at(flow, levels))
            assert [c.level for c in score.categories] == [levels[c.id] for c in flow.categories]
            assert score.level == target
            assert target <= score.score < target + 1


def test_not_applicable_never_passes_a_level_alone(flow: Flow) -> None:
    """A level whose every criterion is answered 'Not applicable' does not pass."""
    for category in flow.categories:
        for level in range(1, flow.max_level + 1):
            cell = flow.cell(category.id, level)
            if not all(q.not_applicable for q in cell):
                continue
            answers = {q.id: q.best_option.id for q in flow.questions} | {q.id: "n-a" for q in cell}
            result = next(
                c for c in score_assessment(flow, answers).categories if c.category_id == category.id
            )
            assert result.level == flow.max_level - 1


def test_results_list_three_to_five_distinct_next_steps(flow: Flow) -> None:
    """Across many ways of answering, a result has 3 to 5 next steps and no two say the same thing."""
    rng = random.Random(11)
    for _ in range(200):
        answers = walk(flow, lambda q: rng.choice(q.options))
        steps = tailored_next_steps(flow, score_assessment(flow, answers), answers)
        assert 3 <= len(steps) <= 5, (flow.id, steps)
        assert not [(a, b) for i, a in enumerate(steps) for b in steps[i + 1 :] if says_the_same(a, b)]


def test_no_step_advises_what_the_team_just_said_it_has(flow: Flow) -> None:
    rng = random.Random(13)
    for _ in range(200):
        answers = walk(flow, lambda q: rng.choice(q.options))
        shown = set(tailored_next_steps(flow, score_assessment(flow, answers), answers))
        for block in flow.next_steps:
            for step in block.steps:
                if covered(flow, step, answers):
                    assert step.text not in shown


def test_every_next_step_block_can_be_shown(flow: Flow) -> None:
    """No unreachable content: each block's steps appear in the result of some way of answering."""
    for block in flow.next_steps:
        levels = {c.id: flow.max_level for c in flow.categories} | {block.category: block.level}
        answers = _at(flow, levels)
        shown = tailored_next_steps(flow, score_assessment(flow, answers), answers)
        assert any(step.text in shown for step in block.steps), (flow.id, block.category, block.level)


@pytest.mark.parametrize("flow_id", sorted(TARGETS))
def test_adaptive_asking_meets_the_length_targets_without_costing_accuracy(flow_id: str) -> None:
    """Median questions asked within the issue's target, the worst case within 1.5x, and levels
    as accurate as asking every question (within one percentage point) on simulated teams."""
    asked = simulate(load_flows()[flow_id], teams=300)
    assert asked.median <= TARGETS[flow_id]
    assert asked.worst <= 1.5 * TARGETS[flow_id]
    assert asked.accuracy >= asked.accuracy_all - 0.01


TOOLS = re.compile(
    r"Airflow|Kubeflow|Vertex|Azure|SageMaker|MLflow|Weights|Great Expectations|TFX|Feast|Tecton|"
    r"Evidently|Prometheus|Grafana|Argo|Dagster|Prefect|GitHub|GitLab|Jenkins|Databricks|Neptune|"
    r"Seldon|BentoML|KServe|DVC|lakeFS|Deepchecks|Arize|WhyLabs|Datadog|Terraform"
)


def test_tool_examples_name_more_than_one_vendor(flow: Flow) -> None:
    """Where advice or a step names example tools, it names at least two (no single-vendor advice)."""
    texts = [s.text for b in flow.next_steps for s in b.steps] + [q.advice for q in flow.questions]
    examples = [m.group(1) for t in texts for m in re.finditer(r"\(e\.g\.,? ([^)]*)\)", t)]
    assert examples  # the flows do give examples
    for listed in examples:
        if TOOLS.search(listed):
            assert len(re.split(r",| or | and ", listed)) >= 2, listed
