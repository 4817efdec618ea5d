"""End to end: signed Slack requests to the running HTTP app, the Web API served by the double."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.runtime.server import EVENTS_PATH
from flows.loader import load_flows
from playground.drive import answer_all, answer_buttons, click, command
from playground.slack_api import SlackClient, SlackDouble, all_text, button
from tests.e2e.conftest import RunningBot, bot_settings

FLOWS = load_flows()
TEAM_FLOWS = Path(__file__).resolve().parents[1] / "flows" / "data"


@pytest.mark.parametrize("model", ["google", "azure", "gigaom"])
async def test_full_assessment_posts_the_result_to_the_channel(
    slack: SlackClient, double: SlackDouble, model: str
) -> None:
    """Answering every question of a model with its best option posts its top level to the channel."""
    status, key = await slack.command(f"start {model.upper()}")
    assert status == 200
    first = await double.wait_for_reply(key)
    assert first["response_type"] == "ephemeral"
    assert "Question 1 of" in all_text(first)
    last = await answer_all(slack, first, pick=-1)
    assert "Done!" in all_text(last)
    assert last["replace_original"] is True
    posts = double.api_calls("chat.postMessage")
    assert len(posts) == 1
    post = posts[0].params
    assert post["channel"] == "C111"
    flow = FLOWS[model]
    text = all_text(
        {
            "text": post["text"],
            "blocks": post["blocks"]
            if isinstance(post["blocks"], list)
            else __import__("json").loads(post["blocks"]),
        }
    )
    top = flow.levels[-1]
    assert f"Level {top.number}: {top.name}" in text
    assert "<@U111>" in text
    if len(flow.categories) > 1:
        for category in flow.categories:
            assert category.name in text


async def test_worst_answers_give_level_zero_and_tailored_next_steps(
    slack: SlackClient, double: SlackDouble
) -> None:
    """A team missing the basics lands at level 0 and is told first what it missed."""
    _, key = await slack.command("start google")
    await answer_all(slack, await double.wait_for_reply(key), pick=0)
    post = double.api_calls("chat.postMessage")[0].params
    text = post["text"] + str(post["blocks"])
    assert "Level 0: Manual process" in text
    assert "Next steps towards level 1" in text
    first_question = FLOWS["google"].questions[0]
    assert first_question.advice[:40] in text


async def test_a_teams_own_flow_from_flows_dir_runs_in_slack(database_url: str, double: SlackDouble) -> None:
    """A flow file in FLOWS_DIR can be started, answered and scored through Slack like a shipped one."""
    data = TEAM_FLOWS
    running = RunningBot(
        bot_settings(database_url, double).model_copy(update={"flows_dir": data}), load_flows([data])
    )
    await running.start()
    try:
        async with aiohttp.ClientSession() as session:
            slack = SlackClient(lambda: running.url + EVENTS_PATH, double, session)
            _, key = await slack.command("start tiny")
            last = await answer_all(slack, await double.wait_for_reply(key), pick=-1)
    finally:
        await running.stop()
    assert "Done!" in all_text(last)
    (post,) = double.api_calls("chat.postMessage")
    assert "Level 2: Top" in post.params["text"]


async def test_a_conversation_that_forgives_resume_buttons_a_confirmed_restart_and_a_marked_answer(
    slack: SlackClient,
) -> None:
    """Pause and the help carry Resume (ephemeral questions vanish when Slack reloads); Restart asks
    first; after Back the earlier answer is marked with ✓ in words."""
    first = await command(slack, "start google")
    second = await click(slack, answer_buttons(first)[-1])
    back = await click(slack, button(second, "← Back"))
    marked = [b["text"]["text"] for b in answer_buttons(back) if b["text"]["text"].startswith("✓ ")]
    assert len(marked) == 1
    assert "✓ marks your earlier answer" in all_text(back)
    paused = await click(slack, button(back, "Pause"))
    assert "Paused" in all_text(paused)
    resumed = await click(slack, button(paused, "Resume"))
    assert answer_buttons(resumed)  # the question is back
    helped = await command(slack, "help")
    again = await click(slack, button(helped, "Resume my assessment"))
    assert answer_buttons(again)
    offer = await command(slack, "start azure")
    restart = button(offer, "Restart with azure")
    assert restart["confirm"]["confirm"]["text"] == "Start over"
    assert "kept but not scored" in restart["confirm"]["text"]["text"]
