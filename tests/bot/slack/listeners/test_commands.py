"""The `/maturity` handler called directly: ack first, then the subcommand's reply at the double."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.runtime.background import Background
from bot.slack.deps import Deps
from bot.slack.listeners.commands import ROUTES, SUBCOMMANDS, handle_maturity_command, run_help
from models.db import create_engine
from playground.slack_api import SlackDouble, all_text, buttons
from tests.bot.slack.listeners.conftest import build_deps, command_payload, context_with, new_ack


async def test_start_acks_at_once_then_sends_the_first_question(deps: Deps, double: SlackDouble) -> None:
    """The handler acks with a 200 before any work, and the first question arrives at the response_url."""
    ack = new_ack()
    payload = command_payload("start google", double.response_url("k"))
    await handle_maturity_command(ack=ack, command=payload, context=context_with(deps))
    assert ack.response is not None
    assert ack.response.status == 200
    reply = await double.wait_for_reply("k")
    assert "Question 1 of" in all_text(reply)
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False


async def test_help_is_generated_from_the_subcommand_table(deps: Deps, double: SlackDouble) -> None:
    """Every row of the table appears in the help, and every name and alias routes somewhere."""
    await handle_maturity_command(
        ack=new_ack(), command=command_payload("help", double.response_url("h")), context=context_with(deps)
    )
    text = all_text(await double.wait_for_reply("h"))
    for sub in SUBCOMMANDS:
        assert f"`/maturity {sub.usage}`" in text
    assert "`google`" in text
    assert ROUTES["continue"] is ROUTES["resume"]
    assert set(ROUTES) >= {sub.name for sub in SUBCOMMANDS}


async def test_an_unknown_subcommand_gets_the_help_with_a_note(deps: Deps, double: SlackDouble) -> None:
    """A word that is no subcommand is named back (escaped) above the help, not silently ignored."""
    payload = command_payload("<frob> now", double.response_url("u"))
    await handle_maturity_command(ack=new_ack(), command=payload, context=context_with(deps))
    text = all_text(await double.wait_for_reply("u"))
    assert "I don't know `&lt;frob&gt;`" in text
    assert "/maturity status" in text
    assert run_help not in [sub.run for sub in SUBCOMMANDS if sub.name != "help"]


async def test_without_a_response_url_the_reply_is_an_ephemeral_post(deps: Deps, double: SlackDouble) -> None:
    """A request that brings no response_url is answered with chat.postEphemeral to that person."""
    await handle_maturity_command(
        ack=new_ack(), command=command_payload("start", None), context=context_with(deps)
    )
    await double.wait_until(lambda: bool(double.api_calls("chat.postEphemeral")))
    (call,) = double.api_calls("chat.postEphemeral")
    assert (call.params["channel"], call.params["user"]) == ("C111", "U111")
    assert double.replies == {}


async def test_our_own_failure_gets_an_apology(double: SlackDouble, tmp_path: Path) -> None:
    """When the service fails (here: a database without tables), the person gets an apology."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    async with aiohttp.ClientSession() as http:
        deps = build_deps(engine, double, http)
        payload = command_payload("start google", double.response_url("f"))
        await handle_maturity_command(ack=new_ack(), command=payload, context=context_with(deps))
        reply = await double.wait_for_reply("f")
        assert isinstance(deps.tasks, Background)
        await deps.tasks.drain()
    await engine.dispose()
    assert "Sorry, something went wrong on my side" in all_text(reply)
    assert buttons(reply) == []
