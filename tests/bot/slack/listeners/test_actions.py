"""Click handlers called directly: ack first, then the outcome rendered at the click's response_url."""

from __future__ import annotations

from typing import Any

from bot.slack.deps import Deps
from bot.slack.listeners.actions import (
    handle_answer_clicked,
    handle_back_clicked,
    handle_model_chosen,
    handle_pause_clicked,
    handle_restart_clicked,
    handle_resume_clicked,
)
from bot.slack.listeners.commands import handle_maturity_command
from playground.drive import answer_buttons
from playground.slack_api import SlackDouble, all_text, button
from tests.bot.slack.listeners.conftest import click_payload, command_payload, context_with, new_ack


async def _first_question(deps: Deps, double: SlackDouble, model: str = "google") -> dict[str, Any]:
    key = f"start-{model}-{len(double.replies)}"
    payload = command_payload(f"start {model}", double.response_url(key))
    await handle_maturity_command(ack=new_ack(), command=payload, context=context_with(deps))
    return await double.wait_for_reply(key)


async def test_an_answer_acks_and_replaces_the_question(deps: Deps, double: SlackDouble) -> None:
    """Clicking an answer acks with a 200 and replaces the question with question 2."""
    first = await _first_question(deps, double)
    ack = new_ack()
    body, action = click_payload(answer_buttons(first)[-1], double.response_url("a"))
    await handle_answer_clicked(ack=ack, body=body, action=action, context=context_with(deps))
    assert ack.response is not None
    assert ack.response.status == 200
    reply = await double.wait_for_reply("a")
    assert "Question 2 of" in all_text(reply)
    assert reply["replace_original"] is True


async def test_back_pause_and_resume_handlers(deps: Deps, double: SlackDouble) -> None:
    """Back shows question 1 again, Pause says so, and Resume from a start offer brings it back."""
    first = await _first_question(deps, double)
    body, action = click_payload(answer_buttons(first)[-1], double.response_url("a"))
    await handle_answer_clicked(ack=new_ack(), body=body, action=action, context=context_with(deps))
    second = await double.wait_for_reply("a")
    body, action = click_payload(button(second, "← Back"), double.response_url("b"))
    await handle_back_clicked(ack=new_ack(), body=body, action=action, context=context_with(deps))
    again = await double.wait_for_reply("b")
    assert "Question 1 of" in all_text(again)
    body, action = click_payload(button(again, "Pause"), double.response_url("p"))
    await handle_pause_clicked(ack=new_ack(), body=body, action=action, context=context_with(deps))
    assert "Paused" in all_text(await double.wait_for_reply("p"))
    offer = await _first_question(deps, double, "azure")
    body, action = click_payload(button(offer, "Resume"), double.response_url("r"))
    await handle_resume_clicked(ack=new_ack(), body=body, action=action, context=context_with(deps))
    assert "Google Cloud" in all_text(await double.wait_for_reply("r"))


async def test_restart_and_the_model_picker(deps: Deps, double: SlackDouble) -> None:
    """Restart starts the chosen model afresh; choosing a model from the picker starts it."""
    await _first_question(deps, double)
    offer = await _first_question(deps, double, "azure")
    body, action = click_payload(button(offer, "Restart with azure"), double.response_url("x"))
    await handle_restart_clicked(ack=new_ack(), body=body, action=action, context=context_with(deps))
    assert "Microsoft Azure" in all_text(await double.wait_for_reply("x"))
    body, action = click_payload(
        {"action_id": "start_model:gigaom", "value": "gigaom"}, double.response_url("m")
    )
    await handle_model_chosen(ack=new_ack(), body=body, action=action, context=context_with(deps))
    assert "already have" in all_text(await double.wait_for_reply("m"))


async def test_a_garbled_value_is_acked_and_answered_with_a_note(deps: Deps, double: SlackDouble) -> None:
    """A value this app never made is still acked, and the person is told nothing changed."""
    ack = new_ack()
    body, action = click_payload({"action_id": "answer:0", "value": "not|a|value"}, double.response_url("g"))
    await handle_answer_clicked(ack=ack, body=body, action=action, context=context_with(deps))
    assert ack.response is not None
    reply = await double.wait_for_reply("g")
    assert "older message" in all_text(reply)
    assert reply["replace_original"] is False
