"""The App Home tab through Slack: published when opened, started and resumed from, kept fresh."""

from __future__ import annotations

from typing import Any

from playground.drive import answer_buttons, finish
from playground.slack_api import Person, SlackClient, SlackDouble, all_text

ANA, BO = Person("U111", name="ana"), Person("U222", name="bo")


async def _home(slack: SlackClient, double: SlackDouble, who: Person = ANA) -> dict[str, Any]:
    publishes = len(double.api_calls("views.publish"))
    assert await slack.open_home(who) == 200
    await double.wait_until(lambda: len(double.api_calls("views.publish")) > publishes)
    return double.home_views[who.user_id]


def _text(view: dict[str, Any]) -> str:
    return all_text({"blocks": view["blocks"]})


def _element(view: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} in the Home tab")


async def test_opening_home_shows_the_dashboard_and_it_starts_an_assessment_in_a_channel(
    slack: SlackClient, double: SlackDouble
) -> None:
    view = await _home(slack, double)
    assert "Your MLOps maturity" in _text(view)
    assert "You have no result yet" in _text(view)
    publishes = len(double.api_calls("views.publish"))
    assert await slack.home_click(_element(view, "home_start:google"), ANA, picked="C222") == 200
    await double.wait_until(lambda: len(double.api_calls("views.publish")) > publishes)
    (question,) = double.ephemerals("C222", "U111")
    assert answer_buttons(question)  # the first question, privately, in the channel picked
    view = double.home_views["U111"]
    assert "question is waiting in <#C222>" in _text(view)
    assert "in <#C222>: 0 answered" in _text(view)
    publishes = len(double.api_calls("views.publish"))
    assert await slack.home_click(_element(view, "home_resume"), ANA) == 200
    await double.wait_until(lambda: len(double.api_calls("views.publish")) > publishes)
    assert len(double.ephemerals("C222", "U111")) == 2  # the question again


async def test_a_channel_without_the_bot_is_named_on_the_home_tab(
    slack: SlackClient, double: SlackDouble
) -> None:
    double.add_channel("C777", "no-bot-here", is_member=False)
    view = await _home(slack, double)
    publishes = len(double.api_calls("views.publish"))
    await slack.home_click(_element(view, "home_start:azure"), ANA, picked="C777")
    await double.wait_until(lambda: len(double.api_calls("views.publish")) > publishes)
    assert "I'm not in <#C777>" in _text(double.home_views["U111"])
    assert double.ephemerals("C777", "U111") == []


async def test_results_show_with_their_trend_and_a_teammates_result_refreshes_the_tab(
    slack: SlackClient, double: SlackDouble
) -> None:
    await finish(slack, "google", pick=0, who=BO)
    await _home(slack, double, BO)  # bo looks at his Home tab
    await finish(slack, "google", who=ANA)
    await double.wait_until(lambda: "2 of 3" in _text(double.home_views["U222"]))  # refreshed for bo
    view = await _home(slack, double)
    text = _text(view)
    assert "*Google" in text
    assert "your first result" in text
    assert "<#C111> Google" in text
    await finish(slack, "google", pick=0, who=ANA)
    text = _text(await _home(slack, double))
    assert "since your previous result" in text
    assert "↓" in text
