"""The assessment engine: which question comes next, which are skipped, and how answers score.

Everything here is a pure function of a :class:`~flows.schema.Flow` and the answers given so far
(``{question_id: option_id}``), so it can be tested exhaustively and called from any service.

Scoring is staged, as in CMMI: a category reaches level N when every criterion (question) of that
category at levels 0..N is fully met; a category with no criterion at some level passes it as
soon as the levels below are met. Level 0 is the floor. The overall level follows the flow's rule.
Each level also carries a finer score, ``level + progress towards the next level``, so two teams
at the same level can still be told apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flows.schema import Flow, Option, OverallRule, Question

Answers = Mapping[str, str]


@dataclass(frozen=True)
class CategoryResult:
    category_id: str
    level: int
    score: float
    missed: tuple[str, ...]  # question ids that block the next level, in flow order


@dataclass(frozen=True)
class Score:
    level: int
    score: float
    categories: tuple[CategoryResult, ...]


def credit(question: Question, answers: Answers) -> float:
    """Credit earned on one question: 0 when unanswered or skipped."""
    option = question.option(answers.get(question.id, ""))
    return option.credit if option is not None else 0.0


def skipped_ids(flow: Flow, answers: Answers) -> set[str]:
    """Question ids not worth asking: a lower level of their category is clearly missed."""
    ceiling: dict[str, int] = {}  # category -> lowest level whose gate an answer clearly missed
    for question in flow.questions:
        option = question.option(answers.get(question.id, ""))
        if option is not None and option.skips_higher_levels:
            current = ceiling.get(question.category)
            if current is None or question.level < current:
                ceiling[question.category] = question.level
    # A skipping answer on a question that is itself skipped must not count; because ceilings only
    # skip strictly higher levels, the lowest ceiling per category is never itself skipped.
    return {q.id for q in flow.questions if q.category in ceiling and q.level > ceiling[q.category]}


def questions_to_ask(flow: Flow, answers: Answers) -> list[Question]:
    """The questions this person will be asked, in flow order, given the answers so far."""
    skipped = skipped_ids(flow, answers)
    return [q for q in flow.questions if q.id not in skipped]


def next_question(flow: Flow, answers: Answers, after: str | None = None) -> Question | None:
    """The question to show next: the first askable one after ``after``, else the first unanswered.

    Walking forward from ``after`` lets someone who went back re-visit the following questions
    (their earlier answers are shown as chosen); returns None when the assessment is complete.
    """
    askable = questions_to_ask(flow, answers)
    if after is not None:
        ids = [q.id for q in flow.questions]
        if after in ids:
            position = ids.index(after)
            for question in askable:
                if ids.index(question.id) > position:
                    return question
    return next((q for q in askable if q.id not in answers), None)


def walk(flow: Flow, choose: Callable[[Question], Option]) -> dict[str, str]:
    """Answer a whole flow the way a person would: one question at a time, as they are asked."""
    answers: dict[str, str] = {}
    current = next_question(flow, answers)
    while current is not None:
        answers[current.id] = choose(current).id
        current = next_question(flow, answers, after=current.id)
    return answers


def previous_question(flow: Flow, answers: Answers, current: str) -> Question | None:
    """The askable question shown before ``current``, for the Back button."""
    askable = questions_to_ask(flow, answers)
    ids = [q.id for q in askable]
    if current in ids:
        index = ids.index(current)
        return askable[index - 1] if index > 0 else None
    earlier = [q for q in askable if q.id in answers]
    return earlier[-1] if earlier else None


def progress(flow: Flow, answers: Answers) -> tuple[int, int]:
    """(answered, total) over the questions that will be asked given the answers so far."""
    askable = questions_to_ask(flow, answers)
    return sum(1 for q in askable if q.id in answers), len(askable)


def _category_result(flow: Flow, category_id: str, answers: Answers, skipped: set[str]) -> CategoryResult:
    questions = [q for q in flow.questions if q.category == category_id]

    def met(q: Question) -> bool:
        return q.id not in skipped and credit(q, answers) >= 1.0

    level = 0
    for number in range(0, flow.max_level + 1):
        if all(met(q) for q in questions if q.level == number):
            level = number
        else:
            break
    # Level 0 is the floor even when level-0 criteria are missed; the level itself is then 0.
    if level == flow.max_level:
        return CategoryResult(category_id, level, float(level), ())
    target = level + 1
    # Progress towards the next level: the criteria of the next level, plus (only at level 0)
    # the level-0 criteria, because those can still be missing there.
    pool = [q for q in questions if q.level == target or (level == 0 and q.level == 0)]
    fraction = sum(0.0 if q.id in skipped else credit(q, answers) for q in pool) / len(pool) if pool else 0.0
    missed = tuple(q.id for q in questions if q.level <= target and not met(q))
    # Keep the finer score strictly inside the level so it never reads as the next level.
    return CategoryResult(category_id, level, round(level + min(fraction, 0.99), 2), missed)


def score_assessment(flow: Flow, answers: Answers) -> Score:
    """Score the answers: per-category levels and scores, and the overall level by the flow's rule."""
    skipped = skipped_ids(flow, answers)
    categories = tuple(_category_result(flow, c.id, answers, skipped) for c in flow.categories)
    ordered = sorted(categories, key=lambda r: (r.level, r.score))
    pick = ordered[(len(ordered) - 1) // 2] if flow.overall is OverallRule.MEDIAN else ordered[0]
    mean = sum(r.score for r in categories) / len(categories)
    # The overall finer score stays inside the overall level: the level comes from the rule,
    # the fraction from how far the categories have got on average.
    fraction = min(max(mean - pick.level, 0.0), 0.99)
    return Score(pick.level, round(pick.level + fraction, 2), categories)


STEPS_SHOWN = 5  # next steps in a result: 3 to 5 (fewer only when the flow has no more for that level)
SAME_STEP = 0.6  # two steps sharing this much of their wording say the same thing


_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "each",
        "every",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "them",
        "this",
        "to",
        "up",
        "was",
        "we",
        "with",
        "your",
    ]
)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


def says_the_same(a: str, b: str) -> bool:
    """Near-duplicates: most of the longer words of one are in the other (Jaccard on words)."""
    left, right = _words(a), _words(b)
    if not left or not right:
        return a.strip().lower() == b.strip().lower()
    return len(left & right) / len(left | right) >= SAME_STEP


def tailored_next_steps(flow: Flow, score: Score, limit: int = STEPS_SHOWN) -> list[str]:
    """Next steps towards the team's next level (overall level + 1), and only that level's.

    First the advice of the criteria the categories holding the team at its level missed (furthest
    behind first), then the flow's own steps for those categories at that level; steps that say
    the same thing as one already listed are left out. At the top level, the flow's steps for
    staying there.
    """
    steps: list[str] = []

    def add(text: str) -> None:
        if len(steps) < limit and not any(says_the_same(text, kept) for kept in steps):
            steps.append(text)

    holding = sorted((r for r in score.categories if r.level == score.level), key=lambda r: r.score)
    if score.level < flow.max_level:
        for result in holding:
            for question_id in result.missed:
                question = flow.question(question_id)
                if question is not None:  # ``missed`` is what blocks exactly that next level
                    add(question.advice)
    for result in holding:
        for step in flow.steps_for(result.category_id, result.level):
            add(step)
    return steps
