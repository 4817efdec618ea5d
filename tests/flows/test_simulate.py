"""The questions-asked simulation behind the model picker's and the intro's estimates."""

from __future__ import annotations

import pytest

from bot.services.outcomes import ChooseModel
from bot.slack.blocks.messages import build_choose_model_message
from flows.loader import load_flows
from flows.simulate import SECONDS_PER_QUESTION, questions_asked, simulate
from playground.slack_api import all_text

FLOWS = load_flows()


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_the_simulation_is_repeatable_and_within_the_flow(flow_id: str) -> None:
    flow = FLOWS[flow_id]
    once, again = simulate(flow, teams=100, seed=7), simulate(flow, teams=100, seed=7)
    assert once == again
    assert 1 <= once.median <= once.worst <= len(flow.questions)
    asked = questions_asked(flow)
    assert asked.minutes * 60 >= asked.median * SECONDS_PER_QUESTION


def test_the_picker_shows_what_each_model_measures_its_length_and_which_to_pick() -> None:
    text = all_text(build_choose_model_message(ChooseModel(list(FLOWS.values()))))
    for flow in FLOWS.values():
        asked = questions_asked(flow)
        assert f"about {asked.median:g} questions (~{asked.minutes} min)" in text
    shortest = min(FLOWS.values(), key=lambda f: (questions_asked(f).median, f.id))
    assert f"Not sure? Start with *{shortest.title}*" in text
