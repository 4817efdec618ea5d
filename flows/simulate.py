"""How many questions a flow asks, measured on simulated teams: `python -m flows.simulate`.

Each simulated team has a true level per category (uniform over the model's levels) and answers
each question as such a team would: a criterion at or below its level is fully met (with a little
noise: one answer in ten is one step lower), a criterion above it is not met (one in ten is partly
met). The flows' adaptive asking then decides how many questions that team sees. The figures feed
the model picker and the intro ("about 9 questions, 3 minutes") and are printed against the
targets of issue 10 (median at most 12 Google, 16 Azure, 20 GigaOm; worst case at most 1.5x that).
"""

from __future__ import annotations

import math
import random
import statistics
import sys
from dataclasses import dataclass

from flows.engine import walk
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

    @property
    def minutes(self) -> int:
        """The time the median team needs, rounded up to a whole minute."""
        return max(1, math.ceil(self.median * SECONDS_PER_QUESTION / 60))


def _answer(question: Question, level: int, rng: random.Random) -> Option:
    by_credit = sorted(question.options, key=lambda o: o.credit)
    met, unmet = by_credit[-1], by_credit[0]
    partial = by_credit[len(by_credit) // 2]
    if question.level <= level:
        return partial if rng.random() < 0.1 else met
    return partial if rng.random() < 0.1 else unmet


def simulate(flow: Flow, teams: int = TEAMS, seed: int = 2026) -> Asked:
    rng = random.Random(seed)
    counts = []
    for _ in range(teams):
        levels = {c.id: rng.randint(0, flow.max_level) for c in flow.categories}

        def choose(question: Question, levels: dict[str, int] = levels) -> Option:
            return _answer(question, levels[question.category], rng)

        counts.append(len(walk(flow, choose)))
    return Asked(flow.id, statistics.median(counts), max(counts), teams)


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
    print(f"{'model':<8} {'questions':>9} {'median':>7} {'worst':>6} {'minutes':>8} {'target':>14}")
    for flow in load_flows().values():
        asked = questions_asked(flow)
        target = TARGETS.get(flow.id)
        verdict = ""
        if target is not None:
            met = asked.median <= target and asked.worst <= 1.5 * target
            verdict = f"{target}/{1.5 * target:g} {'met' if met else 'NOT met'}"
        print(
            f"{flow.id:<8} {len(flow.questions):>9} {asked.median:>7g} {asked.worst:>6} "
            f"{asked.minutes:>8} {verdict:>14}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
