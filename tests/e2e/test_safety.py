"""End to end: restarts, duplicate, foreign and stale clicks, forged requests and odd input."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Answer, Assessment
from playground.drive import answer_buttons, click, command
from playground.slack_api import Person, SlackClient, SlackDouble, all_text, button, buttons, sign
from tests.e2e.conftest import RunningBot


async def start(slack: SlackClient, model: str = "google", who: Person | None = None) -> dict[str, Any]:
    return await command(slack, f"start {model}", who)


async def db_state(bot: RunningBot) -> tuple[int, int, str | None, int]:
    """(assessments, answers, current question, revision) of the newest assessment."""
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        assessments = await session.scalar(select(func.count()).select_from(Assessment))
        answers = await session.scalar(select(func.count()).select_from(Answer))
        newest = await session.scalar(select(Assessment).order_by(Assessment.id.desc()).limit(1))
        assert newest is not None
        return int(assessments or 0), int(answers or 0), newest.current_question_id, newest.revision


async def test_progress_survives_a_restart(bot: RunningBot, slack: SlackClient, double: SlackDouble) -> None:
    """After the process restarts, `/maturity resume` brings back exactly the question that was next."""
    first = await start(slack)
    second = await click(slack, answer_buttons(first)[-1])
    third = await click(slack, answer_buttons(second)[-1])
    await bot.restart()
    status, key = await slack.command("resume")
    assert status == 200
    resumed = await double.wait_for_reply(key)
    assert all_text(resumed) == all_text(third)
    assert "Question 3 of" in all_text(resumed)
    following = await click(slack, answer_buttons(resumed)[-1])
    assert "Question 4 of" in all_text(following)


async def test_the_same_click_delivered_twice_advances_once(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Two deliveries of one click, even concurrent, record one answer and move on one question."""
    first = await start(slack)
    body, key = slack.click_body(answer_buttons(first)[-1])
    responses = await asyncio.gather(
        slack.post(body, "application/x-www-form-urlencoded"),
        slack.post(body, "application/x-www-form-urlencoded"),
    )
    assert [r.status for r in responses] == [200, 200]
    await double.wait_for_reply(key, count=2)
    _, answers, current, revision = await db_state(bot)
    assert (answers, revision) == (1, 1)
    texts = [all_text(r) for r in double.replies[key]]
    assert all("Question 2 of" in t for t in texts)
    assert any("already counted" in t for t in texts)
    assert current is not None


async def test_a_stale_button_changes_nothing(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Clicking a button of an earlier question shows the current one with a note and stores nothing."""
    first = await start(slack)
    await click(slack, answer_buttons(first)[-1])
    before = await db_state(bot)
    stale = await click(slack, answer_buttons(first)[0])
    assert "earlier step; nothing changed" in all_text(stale)
    assert "Question 2 of" in all_text(stale)
    assert await db_state(bot) == before


async def test_someone_elses_click_changes_nothing(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """A click from another person on my question is refused gently and leaves my assessment alone."""
    first = await start(slack)
    before = await db_state(bot)
    note = await click(slack, answer_buttons(first)[-1], who=Person(user_id="U999", name="bo"))
    assert "belongs to <@U111>" in all_text(note)
    assert note["replace_original"] is False
    assert await db_state(bot) == before


async def test_forged_and_stale_signatures_are_rejected(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """A wrong signature or a timestamp older than five minutes gets 401 and no reply."""
    body = "command=%2Fmaturity&text=start+google&team_id=T111&channel_id=C111&user_id=U111"
    forged = await slack.post(body, "application/x-www-form-urlencoded", sign(body, secret="not-the-secret"))
    assert forged.status == 401
    old = await slack.post(body, "application/x-www-form-urlencoded", sign(body, int(time.time()) - 600))
    assert old.status == 401
    assert double.replies == {}
    assert await db_state_or_none(bot) is None


async def db_state_or_none(bot: RunningBot) -> int | None:
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        return await session.scalar(select(Assessment.id).limit(1))


async def test_back_changes_the_previous_answer(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Back shows the previous question with the earlier answer highlighted; a new answer replaces it."""
    first = await start(slack)
    assert [b["text"]["text"] for b in buttons(first)][-1] == "Pause"
    assert not any(b["action_id"] == "back" for b in buttons(first))
    second = await click(slack, answer_buttons(first)[-1])
    again = await click(slack, button(second, "← Back"))
    assert "Question 1 of" in all_text(again)
    highlighted = [b for b in answer_buttons(again) if b.get("style") == "primary"]
    assert highlighted == [answer_buttons(again)[-1]]
    changed = await click(slack, answer_buttons(again)[1])
    assert "Question 2 of" in all_text(changed)
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        stored = (await session.execute(select(Answer.question_id, Answer.option_id))).all()
    first_question = answer_buttons(first)[1]["value"].split("|")
    assert [(q, o) for q, o in stored] == [(first_question[2], first_question[3])]


async def test_pause_then_resume_and_restart(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Pause keeps answers; starting again offers resume or restart; restart keeps the old one as history."""
    first = await start(slack)
    second = await click(slack, answer_buttons(first)[-1])
    paused = await click(slack, button(second, "Pause"))
    assert "Paused" in all_text(paused)
    assert "1 of" in all_text(paused)
    offer = await start(slack, model="azure")
    assert "already have" in all_text(offer)
    resumed = await click(slack, button(offer, "Resume"))
    assert all_text(resumed) == all_text(second)
    offer = await start(slack, model="azure")
    fresh = await click(slack, button(offer, "Restart with azure"))
    assert "Microsoft Azure" in all_text(fresh)
    assert "Question 1 of" in all_text(fresh)
    assessments, answers, _, _ = await db_state(bot)
    assert (assessments, answers) == (2, 1)
    again = await click(slack, button(offer, "Restart with azure"))
    assert "already made" in all_text(again)
    assert (await db_state(bot))[0] == 2


async def test_commands_help_unknown_and_bare_start(slack: SlackClient, double: SlackDouble) -> None:
    """help lists the commands, an unknown word gets the help, bare start offers the models as buttons."""
    _, key = await slack.command("")
    assert "/maturity start" in all_text(await double.wait_for_reply(key))
    _, key = await slack.command("frobnicate now")
    reply = all_text(await double.wait_for_reply(key))
    assert "I don't know `frobnicate`" in reply
    assert "/maturity status" in reply
    _, key = await slack.command("start")
    picker = await double.wait_for_reply(key)
    assert [b["value"] for b in buttons(picker)] == ["azure", "gigaom", "google"]
    _, key = await slack.command("start cmmi")
    assert "I don't know the model `cmmi`" in all_text(await double.wait_for_reply(key))
    question = await click(slack, button(picker, "MLOps maturity (derived from GigaOm)"))
    assert "GigaOm" in all_text(question)
    assert "Question 1 of" in all_text(question)


async def test_status_shows_progress_and_results(slack: SlackClient, double: SlackDouble) -> None:
    """status shows nothing at first, then the assessment in progress, then the finished result."""
    _, key = await slack.command("status")
    assert "nothing" in all_text(await double.wait_for_reply(key))
    message = await start(slack)
    message = await click(slack, answer_buttons(message)[-1])
    _, key = await slack.command("status")
    assert "1 of" in all_text(await double.wait_for_reply(key))
    while answer_buttons(message):
        message = await click(slack, answer_buttons(message)[0])
    _, key = await slack.command("STATUS")
    text = all_text(await double.wait_for_reply(key))
    assert "Google Cloud MLOps maturity" in text
    assert "Level 0" in text
    assert "In progress:* nothing" in text


async def test_the_word_payload_in_a_command_is_not_lost(slack: SlackClient, double: SlackDouble) -> None:
    """`/maturity start payload` is read as a command (bolt 1.30 alone would drop it)."""
    status, key = await slack.command("start payload")
    assert status == 200
    assert "I don't know the model `payload`" in all_text(await double.wait_for_reply(key))


async def test_unreadable_bodies_get_400(slack: SlackClient, double: SlackDouble) -> None:
    """A broken interaction payload is answered 400, not 500, and nothing is sent."""
    response = await slack.post("payload=%7Bnot+json", "application/x-www-form-urlencoded")
    assert response.status == 400
    response = await slack.post('{"type": ', "application/json")
    assert response.status == 400
    assert double.replies == {}


async def test_garbled_button_values_get_a_note(slack: SlackClient, double: SlackDouble) -> None:
    """A button value this app did not make is refused with a note, not an error."""
    for element in (
        {"action_id": "answer:0", "value": "nonsense"},
        {"action_id": "back", "value": "12"},
        {"action_id": "restart", "value": "x|google"},
    ):
        note = await click(slack, element)
        assert "older message" in all_text(note)
    note = await click(slack, {"action_id": "answer:0", "value": "999|0|g0-x|y"})
    assert "no longer exists" in all_text(note)


async def test_url_verification_and_health(bot: RunningBot, slack: SlackClient) -> None:
    """The Events API handshake echoes its challenge and /health reports the database is up."""
    body = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
    response = await slack.post(body, "application/json")
    assert response.status == 200
    async with slack.session.post(
        bot.url + "/slack/events", data=body, headers={"Content-Type": "application/json", **sign(body)}
    ) as r:
        assert (await r.json())["challenge"] == "abc123"
    async with slack.session.get(bot.url + "/health") as r:
        assert r.status == 200
        assert (await r.json())["flows"] == ["azure", "gigaom", "google"]


async def test_two_starts_at_once_create_one_assessment(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Racing `/maturity start` commands from one person leave exactly one assessment in progress."""
    await start(slack, model="azure", who=Person(user_id="U222"))  # the person rows exist now
    results = await asyncio.gather(*(slack.command("start google") for _ in range(4)))
    assert [status for status, _ in results] == [200] * 4
    replies = [all_text(await double.wait_for_reply(key)) for _, key in results]
    assert sum("Question 1 of" in r for r in replies) == 1
    assert sum("already have" in r for r in replies) == 3
    assert bot.runtime is not None
    async with AsyncSession(bot.runtime.engine) as session:
        flows = (await session.execute(select(Assessment.flow_id).order_by(Assessment.id))).scalars().all()
    assert flows == ["azure", "google"]


async def test_progress_is_kept_per_channel(slack: SlackClient, double: SlackDouble) -> None:
    """One person can run an assessment in two channels; resume in each brings back that channel's own."""
    here, there = Person(channel_id="C111"), Person(channel_id="C222")
    first_here = await start(slack, model="google", who=here)
    await click(slack, answer_buttons(first_here)[-1], who=here)
    await start(slack, model="azure", who=there)
    _, key = await slack.command("resume", here)
    assert "Google Cloud" in all_text(await double.wait_for_reply(key))
    assert "Question 2 of" in all_text(double.replies[key][0])
    _, key = await slack.command("resume", there)
    reply = all_text(await double.wait_for_reply(key))
    assert "Microsoft Azure" in reply
    assert "Question 1 of" in reply
