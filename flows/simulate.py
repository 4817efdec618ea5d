"""How many questions a flow asks, measured on simulated teams: `python -m flows.simulate`.

Each simulated team has a true level per category (uniform over the model's levels) and answers
each question as such a team would: a criterion at or below its level is fully met (with a little
noise: one answer in ten is one step lower), a criterion above it is not met (one in ten is partly
met). The flows' adaptive asking then decides how many questions that team sees. The figures feed
the model picker and the intro ("about 9 questions, 3 minutes") and are printed against the
targets of issue 10 (median at most 12 Google, 16 Azure, 20 GigaOm; worst case at most 1.5x that).

Accuracy is measured too: the share of (team, category) levels that come out as the team's true
level, once with adaptive asking and once with every question asked (same teams, same answers), so
the saving adaptive asking buys is shown next to what it costs in accuracy.
"""

from __future__ import annotations

import math
import random
import statistics
import sys
from dataclasses import dataclass

from flows.engine import score_assessment, walk
from flows.loader import load_flows
from flows.schema import Flow, Option, Question

SECONDS_PER_QUESTION = 20  # reading a question and its options, and clicking: an assumption, stated
TEAMS = 500
TARGETS = {"google": 12, "azure": 16, "gigaom": 20}


@dataclass(frozen=True)
class Asked:
    flow_id: str
    median: float
    worst: int
    teams: int
    accuracy: float = 1.0  # share of category levels scored as the simulated team's true level
    accuracy_all: float = 1.0  # the same when every question is asked

    @property
    def minutes(self) -> int:
        """The time the median team needs, rounded up to a whole minute."""
        return max(1, math.ceil(self.median * SECONDS_PER_QUESTION / 60))


def simulated_answer(question: Question, level: int, rng: random.Random) -> Option:
    by_credit = sorted(question.practices, key=lambda o: o.credit)
    met, unmet = by_credit[-1], by_credit[0]
    partial = by_credit[len(by_credit) // 2]
    if question.level <= level:
        return partial if rng.random() < 0.1 else met
    return partial if rng.random() < 0.1 else unmet


def simulate(flow: Flow, teams: int = TEAMS, seed: int = 2026) -> Asked:
    rng = random.Random(seed)
    counts = []
    right = right_all = 0
    for _ in range(teams):
        levels = {c.id: rng.randint(0, flow.max_level) for c in flow.categories}
        # One answer per question drawn up front, so both ways of asking see the same team.
        truth = {q.id: simulated_answer(q, levels[q.category], rng).id for q in flow.questions}

        def choose(question: Question, truth: dict[str, str] = truth) -> Option:
            picked = question.option(truth[question.id])
            assert picked is not None
            return picked

        asked = walk(flow, choose)
        counts.append(len(asked))
        adaptive, everything = score_assessment(flow, asked), score_assessment(flow, truth)
        right += sum(c.level == levels[c.category_id] for c in adaptive.categories)
        right_all += sum(c.level == levels[c.category_id] for c in everything.categories)
    graded = teams * len(flow.categories)
    return Asked(flow.id, statistics.median(counts), max(counts), teams, right / graded, right_all / graded)


_MEASURED: dict[tuple[str, str, int], Asked] = {}


def questions_asked(flow: Flow) -> Asked:
    """The measurement for one flow, once per process and flow version (a loaded flow never changes)."""
    key = (flow.id, flow.version, len(flow.questions))
    if key not in _MEASURED:
        _MEASURED[key] = simulate(flow)
    return _MEASURED[key]


def main() -> int:
    print(
        f"Questions asked, {TEAMS} simulated teams per model (seeded); {SECONDS_PER_QUESTION} s a question:"
    )
    print(
        f"{'model':<8} {'questions':>9} {'median':>7} {'worst':>6} {'minutes':>8} {'target':>14}"
        f" {'accuracy':>9} {'ask all':>8}"
    )
    for flow in load_flows().values():
        asked = questions_asked(flow)
        target = TARGETS.get(flow.id)
        verdict = ""
        if target is not None:
            met = asked.median <= target and asked.worst <= 1.5 * target
            verdict = f"{target}/{1.5 * target:g} {'met' if met else 'NOT met'}"
        print(
            f"{flow.id:<8} {len(flow.questions):>9} {asked.median:>7g} {asked.worst:>6} "
            f"{asked.minutes:>8} {verdict:>14} {asked.accuracy:>9.1%} {asked.accuracy_all:>8.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
