"""End to end: signed Slack requests to the running HTTP app, the Web API served by the double."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from bot.runtime.server import EVENTS_PATH
from flows.loader import load_flows
from playground.drive import answer_all, answer_buttons, click, command, finish
from playground.slack_api import Person, SlackClient, SlackDouble, all_text, button
from tests.e2e.conftest import RunningBot, bot_settings

FLOWS = load_flows()
TEAM_FLOWS = Path(__file__).resolve().parents[1] / "flows" / "data"


def _post_text(call: object) -> str:
    params = call.params  # type: ignore[attr-defined]
    blocks = params.get("blocks")
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks or []
    return all_text({"text": params["text"], "blocks": blocks})


@pytest.mark.parametrize("model", ["google", "azure", "gigaom"])
async def test_full_assessment_previews_privately_then_shares_to_the_channel(
    slack: SlackClient, double: SlackDouble, model: str
) -> None:
    """Best answers end in a private preview at the top level; nothing is posted until Share, then
    a compact post (the team's practice as reported by the person) and the details in its thread."""
    status, key = await slack.command(f"start {model.upper()}")
    assert status == 200
    first = await double.wait_for_reply(key)
    assert first["response_type"] == "ephemeral"
    assert "Question 1 of" in all_text(first)
    preview = await answer_all(slack, first, pick=-1)
    assert "Only you can see this" in all_text(preview)
    assert preview["replace_original"] is True
    assert double.api_calls("chat.postMessage") == []  # nothing without the click
    flow = FLOWS[model]
    top = flow.levels[-1]
    assert f"Level {top.number}: {top.name}" in all_text(preview)
    shared = await click(slack, button(preview, "Share in #ml-platform"))
    assert "Shared" in all_text(shared)
    await double.wait_until(lambda: len(double.api_calls("chat.postMessage")) >= 2, timeout=10)
    post, details = double.api_calls("chat.postMessage")[:2]
    assert post.params["channel"] == "C111"
    text = _post_text(post)
    assert f"Level {top.number}: {top.name}" in text
    assert "as <@U111> reported it" in text
    assert details.params["thread_ts"] == double.messages("C111")[0]["ts"]
    if len(flow.categories) > 1:
        for category in flow.categories:
            assert category.name in text  # the profile leads the post
            assert category.name in _post_text(details)


async def test_worst_answers_give_level_zero_and_tailored_next_steps(
    slack: SlackClient, double: SlackDouble
) -> None:
    """A team missing the basics lands at level 0 and is told first what it missed."""
    _, key = await slack.command("start google")
    preview = await answer_all(slack, await double.wait_for_reply(key), pick=0)
    await click(slack, button(preview, "Share in #ml-platform"))
    text = _post_text(double.api_calls("chat.postMessage")[0])
    assert "Level 0: Manual process" in text
    assert "Next steps towards level 1" in text
    first_question = FLOWS["google"].questions[0]
    assert first_question.advice[:40] in text


async def test_keep_private_posts_nothing_and_status_can_still_share(
    slack: SlackClient, double: SlackDouble
) -> None:
    """Keep private: nothing in the channel; the note and /maturity status keep a Share button."""
    preview = await finish(slack, "google", share=False)
    kept = await click(slack, button(preview, "Keep private"))
    assert "nothing was posted" in all_text(kept)
    status = await command(slack, "status")
    assert "not shared" in all_text(status)
    assert double.api_calls("chat.postMessage") == []
    shared = await click(slack, button(status, "Share Google Cloud MLOps maturity"))
    assert "Shared" in all_text(shared)
    await double.wait_until(lambda: len(double.messages("C111")) >= 1, timeout=10)
    again = await click(slack, button(kept, "Share in this channel"))  # a second press posts nothing more
    assert "Shared" in all_text(again)
    assert len([m for m in double.messages("C111") if not m.get("thread_ts")]) == 1


async def test_outside_the_channel_the_preview_says_how_to_invite_and_share_works_after(
    slack: SlackClient, double: SlackDouble
) -> None:
    """The bot is not a member: the preview says how to invite it; Share works after the invite."""
    double.add_channel("C222", "outside", is_member=False)
    outside = Person(channel_id="C222")
    preview = await finish(slack, "google", who=outside, share=False)
    assert "/invite @maturity-bot" in all_text(preview)
    double.join_channel("C222")  # someone types /invite @maturity-bot
    shared = await click(slack, button(preview, "Share in #outside"), outside)
    assert "Shared" in all_text(shared)
    assert len([m for m in double.messages("C222") if not m.get("thread_ts")]) == 1


async def test_someone_elses_share_button_posts_nothing(slack: SlackClient, double: SlackDouble) -> None:
    preview = await finish(slack, "google", share=False)
    bo = Person(user_id="U222", name="bo")
    note = await click(slack, button(preview, "Share in #ml-platform"), bo)
    assert "<@U111>" in all_text(note)
    assert double.api_calls("chat.postMessage") == []


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
            await click(slack, button(last, "Share in #ml-platform"))
            await double.wait_until(lambda: len(double.api_calls("chat.postMessage")) == 2, timeout=10)
    finally:
        await running.stop()
    assert "Level 2: Top" in all_text(last)
    (post, _details) = double.api_calls("chat.postMessage")
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


async def test_a_second_model_offers_the_answers_given_in_the_first(slack: SlackClient) -> None:
    """Through the app: after Google, Azure shows the carried answer pre-selected with where and
    when it was given; pressing it confirms it like any answer."""
    await finish(slack, "google", share=False)
    message = await command(slack, "start azure")
    for _ in range(40):
        text = all_text(message)
        if "From your *Google Cloud MLOps maturity* assessment on" in text:
            break
        message = await click(slack, answer_buttons(message)[-1])
    else:
        raise AssertionError("no carried answer shown")
    marked = [b for b in answer_buttons(message) if b["text"]["text"].startswith("✓ ")]
    assert len(marked) == 1
    assert marked[0].get("style") == "primary"
    number = text.split("Question ")[1].split(" of")[0]
    after = await click(slack, marked[0])
    assert f"Question {int(number) + 1} of" in all_text(after) or "Only you can see this" in all_text(after)
