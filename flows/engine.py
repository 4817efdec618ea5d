"""The assessment engine: which question comes next, which are skipped, and how answers score.

Everything here is a pure function of a :class:`~flows.schema.Flow` and the answers given so far
(``{question_id: option_id}``), so it can be tested exhaustively and called from any service.

**Scoring.** A flow's questions form cells, one per (category, level) with level >= 1; level 0 is
where every team starts. A cell *passes* on the flow's stated threshold (``scoring:``, by default
its answered criteria's mean credit is at least 0.75 and none is at 0; "Not applicable" answers
are left out and never pass a cell alone). A cell with no questions is a level the public model
describes as unchanged for that category: it passes exactly when the level below does.
A category's level is the number of its levels that pass, so one answer can move it by at most one
level, a better answer never lowers it, and a gap at a low level costs one level, not all of them.
The finer score is ``level + the share of the first failing level's criteria in place``
("level 2 with 40% of level 3 in place"). The overall level follows the flow's rule.

**Adaptive asking.** Within a cell questions are asked in file order (most telling first) until
the cell is settled: it can no longer pass (an answer at 0, or a mean out of reach), or all but
one of its criteria are answered and each is fully met, or all are answered. Once a
cell fails clearly (a practice answered as absent, or a mean below one half) the category's
higher levels are not asked: they count as not in place. "Not sure" fails a cell but never stops
the category, because it is not evidence that the practice is missing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flows.schema import Flow, Option, OptionKind, OverallRule, Question, Step

Answers = Mapping[str, str]

CLEAR_FAIL_MEAN = 0.5  # a failed cell whose answered mean is below this is clearly not in place


@dataclass(frozen=True)
class CategoryResult:
    category_id: str
    level: int
    score: float
    missed: tuple[str, ...]  # questions of the next level to reach answered below full credit
    next_level: int | None = None  # the first level of this category not in place (None at the top)
    find_out: tuple[str, ...] = ()  # questions answered "Not sure", in flow order


@dataclass(frozen=True)
class Score:
    level: int
    score: float
    categories: tuple[CategoryResult, ...]

    @property
    def find_out(self) -> tuple[str, ...]:
        return tuple(q for c in self.categories for q in c.find_out)


def chosen(question: Question, answers: Answers) -> Option | None:
    return question.option(answers.get(question.id, ""))


def credit(question: Question, answers: Answers) -> float:
    """Credit earned on one question: 0 when unanswered, skipped, unsure or not applicable."""
    option = chosen(question, answers)
    return option.credit if option is not None and option.kind is OptionKind.PRACTICE else 0.0


@dataclass(frozen=True)
class _Cell:
    passed: bool
    settled: bool  # the outcome is known: the cell's unanswered questions need not be asked
    clear_fail: bool  # settled and clearly not in place: stop asking the category's higher levels
    in_place: float  # share of the applicable criteria's credit in place (unanswered count as 0)


def _cell(flow: Flow, questions: tuple[Question, ...], answers: Answers) -> _Cell:
    rule = flow.scoring
    applicable = 0
    answered: list[tuple[float, bool]] = []  # (credit, is a practice)
    for question in questions:
        option = chosen(question, answers)
        if option is not None and option.kind is OptionKind.NOT_APPLICABLE:
            continue
        applicable += 1
        if option is not None:
            answered.append((option.credit, option.kind is OptionKind.PRACTICE))
    credits = [c for c, _ in answered]
    total = sum(credits)
    in_place = total / applicable if applicable else 0.0
    if applicable == 0:  # every criterion answered "Not applicable": settled, and never a pass
        return _Cell(False, True, False, 0.0)
    has_zero = rule.zero_fails and any(c <= 0.0 for c in credits)
    out_of_reach = (total + (applicable - len(credits))) / applicable < rule.pass_mean
    if has_zero or out_of_reach:
        practice = [c for c, is_practice in answered if is_practice]
        absent = rule.zero_fails and any(c <= 0.0 for c in practice)
        low = bool(practice) and sum(practice) / len(practice) < CLEAR_FAIL_MEAN
        return _Cell(False, True, absent or low, in_place)
    # Passing is settled once all but one criterion are answered and each is fully met (for a
    # two-question cell: the most telling question, fully met); the last one could only confirm.
    enough = len(credits) >= max(1, applicable - 1)
    passes = bool(credits) and enough and total / len(credits) >= rule.pass_mean
    settled = len(credits) == applicable or (enough and all(c >= 1.0 for c in credits))
    return _Cell(passes, settled, False, in_place)


def _walk_category(flow: Flow, category_id: str, answers: Answers) -> tuple[list[_Cell | None], set[str]]:
    """Each level's cell (None where the flow has no questions) and the questions not to ask."""
    cells: list[_Cell | None] = []
    skipped: set[str] = set()
    stopped = False
    for number in range(1, flow.max_level + 1):
        questions = flow.cell(category_id, number)
        if not questions:
            cells.append(None)
            continue
        state = _cell(flow, questions, answers)
        cells.append(state)
        if stopped or state.settled:
            skipped.update(q.id for q in questions if q.id not in answers)
        stopped = stopped or state.clear_fail
    return cells, skipped


def skipped_ids(flow: Flow, answers: Answers) -> set[str]:
    """Question ids not worth asking given the answers so far (see the module's docstring)."""
    skipped: set[str] = set()
    for category in flow.categories:
        skipped |= _walk_category(flow, category.id, answers)[1]
    return skipped


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


def _category_result(flow: Flow, category_id: str, answers: Answers) -> CategoryResult:
    cells, _ = _walk_category(flow, category_id, answers)
    passed: list[bool] = []
    below = True  # level 0 is where every team starts
    for state in cells:
        below = below if state is None else state.passed
        passed.append(below)
    level = sum(passed)
    find_out = tuple(
        q.id
        for q in flow.questions
        if q.category == category_id and (o := chosen(q, answers)) is not None and o.kind is OptionKind.UNSURE
    )
    if level == flow.max_level:
        return CategoryResult(category_id, level, float(level), (), None, find_out)
    first_failing = passed.index(False)  # never an empty cell: those fail only after a failing one
    state = cells[first_failing]
    next_level = first_failing + 1
    fraction = state.in_place if state is not None else 0.0
    missed = tuple(
        q.id
        for q in flow.cell(category_id, next_level)
        if (o := chosen(q, answers)) is not None
        and o.kind is not OptionKind.NOT_APPLICABLE
        and credit(q, answers) < 1.0
    )
    # Keep the finer score strictly inside the level so it never reads as the next level.
    return CategoryResult(
        category_id, level, round(level + min(fraction, 0.99), 2), missed, next_level, find_out
    )


def score_assessment(flow: Flow, answers: Answers) -> Score:
    """Score the answers: per-category levels and scores, and the overall level by the flow's rule."""
    categories = tuple(_category_result(flow, c.id, answers) for c in flow.categories)
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


def covered(flow: Flow, step: Step, answers: Answers) -> bool:
    """The team already said it has what this step would build."""
    return bool(step.covered_by) and all(
        (q := flow.question(qid)) is not None and credit(q, answers) >= 1.0 for qid in step.covered_by
    )


def tailored_next_steps(flow: Flow, score: Score, answers: Answers, limit: int = STEPS_SHOWN) -> list[str]:
    """Next steps towards the team's next level (overall level + 1), and only that level's.

    For each category holding the team at its level (furthest behind first): the advice of the
    criteria it answered below full credit at the first level it has not reached, then the flow's
    own steps for reaching that level, leaving out steps the team said it has already
    (``covered_by``). The categories take turns, so each one holding the team back gets a step;
    a step saying the same thing as one already listed is left out. At the top level, the flow's
    steps for staying there.
    """
    queues: list[list[str]] = []
    holding = sorted((r for r in score.categories if r.level == score.level), key=lambda r: r.score)
    for result in holding:
        queue = [q.advice for qid in result.missed if (q := flow.question(qid)) is not None]
        from_level = result.level if result.next_level is None else result.next_level - 1
        queue += [
            s.text for s in flow.steps_for(result.category_id, from_level) if not covered(flow, s, answers)
        ]
        queues.append(queue)
    steps: list[str] = []
    while len(steps) < limit and any(queues):
        for queue in queues:
            while queue:
                text = queue.pop(0)
                if not any(says_the_same(text, kept) for kept in steps):
                    steps.append(text)
                    break
            if len(steps) >= limit:
                break
    return steps
