"""How many answers carry over between models, measured: `python -m flows.carryover`.

A person who has taken one model and starts another is offered their earlier answer on every
question marked ``same_as`` one they answered (they confirm it with one click or change it). This
prints, over simulated teams, how many questions of each later model still need a *new* answer,
against how many it asks, for the orders a team would take them in.

One simulated team has one maturity, drawn uniformly, and sits at the same relative height on every
model (say, two thirds up: level 1 of Google's 0-2, level 2 or 3 of Azure's 0-4), answering as in
:mod:`flows.simulate`. That is the case carry-over is for: one team describing one practice three ways.
"""

from __future__ import annotations

import random
import statistics
import sys
from dataclasses import dataclass

from flows.engine import walk
from flows.loader import load_flows
from flows.schema import Flow, Option, Question
from flows.simulate import TEAMS, simulated_answer

ORDERS = (("google", "azure"), ("google", "gigaom"), ("google", "azure", "gigaom"))


@dataclass(frozen=True)
class Saving:
    order: tuple[str, ...]
    asked: float  # median questions the last model asks
    new: float  # median of those that had no carried answer


def carried_option(question: Question, given: dict[str, dict[str, str]]) -> Option | None:
    """The option an earlier answer to the same practice maps to, if any (newest model first)."""
    for same in question.same_as:
        theirs = given.get(same.flow, {}).get(same.question)
        ours = same.options.get(theirs or "")
        if ours is not None:
            return question.option(ours)
    return None


def measure(flows: dict[str, Flow], order: tuple[str, ...], teams: int = TEAMS, seed: int = 2026) -> Saving:
    rng = random.Random(seed)
    asked_counts, new_counts = [], []
    for _ in range(teams):
        given: dict[str, dict[str, str]] = {}
        asked = new = 0
        maturity = rng.random()
        for flow_id in order:
            flow = flows[flow_id]
            height = min(flow.max_level, int(maturity * (flow.max_level + 1)))
            levels = {c.id: height for c in flow.categories}
            fresh = 0

            def choose(
                q: Question, levels: dict[str, int] = levels, given: dict[str, dict[str, str]] = given
            ) -> Option:
                nonlocal fresh
                carried = carried_option(q, given)
                if carried is not None:
                    return carried  # confirmed as it was
                fresh += 1
                return simulated_answer(q, levels[q.category], rng)

            answers = walk(flow, choose)
            given[flow_id] = answers
            asked, new = len(answers), fresh
        asked_counts.append(asked)
        new_counts.append(new)
    return Saving(order, statistics.median(asked_counts), statistics.median(new_counts))


def main() -> int:
    flows = load_flows()
    print(f"New answers needed after earlier models, {TEAMS} simulated teams (median):")
    print(f"{'order':<24} {'asked':>6} {'new':>5} {'carried':>8}")
    for order in ORDERS:
        if not all(f in flows for f in order):
            continue
        saving = measure(flows, order)
        share = 1 - saving.new / saving.asked if saving.asked else 0.0
        print(f"{' -> '.join(order):<24} {saving.asked:>6g} {saving.new:>5g} {share:>8.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
