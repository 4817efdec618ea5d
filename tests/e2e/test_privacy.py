"""Export and forget-me through Slack: a CSV in the person's DM; data deleted after a confirm."""

from __future__ import annotations

import asyncio
import csv
import io

from sqlalchemy import select

from models.tables import OutboxMessage
from playground.drive import click, command, finish
from playground.slack_api import Person, Scripted, SlackClient, SlackDouble, all_text, button, buttons
from tests.e2e.conftest import RunningBot

ANA, BO = Person("U111", name="ana"), Person("U222", name="bo")


async def test_export_sends_the_channels_results_as_a_csv_in_a_dm(
    slack: SlackClient, double: SlackDouble
) -> None:
    assert "nothing to export" in all_text(await command(slack, "export"))
    await finish(slack, "google", who=ANA)
    await finish(slack, "azure", who=BO)
    reply = all_text(await command(slack, "export", BO))
    assert "I sent you a CSV of this channel's 2 completed results" in reply
    (sent,) = [f for f in double.files.values() if f.completed]
    assert sent.channel == "D222"  # bo's DM with the bot
    assert sent.filename is not None
    assert sent.filename.endswith(".csv")
    assert sent.content is not None
    table = list(csv.DictReader(io.StringIO(sent.content.decode())))
    assert sorted((r["user_id"], r["model"]) for r in table) == [("U111", "google"), ("U222", "azure")]


async def test_a_result_kept_private_is_exported_only_for_its_owner(
    slack: SlackClient, double: SlackDouble
) -> None:
    """Keep private means nobody else exports it; its owner's own export still has it."""
    preview = await finish(slack, "google", who=ANA, share=False)
    await click(slack, button(preview, "Keep private"), ANA)
    await finish(slack, "azure", who=BO)
    assert "this channel's 1 completed result" in all_text(await command(slack, "export", BO))
    assert "this channel's 2 completed results" in all_text(await command(slack, "export", ANA))
    bos, anas = sorted((f for f in double.files.values() if f.completed), key=lambda f: str(f.channel))[::-1]
    assert (bos.channel, anas.channel) == ("D222", "D111")
    assert bos.content is not None
    assert "U111" not in bos.content.decode()


async def test_forget_me_asks_first_then_deletes_exactly_that_persons_data(
    slack: SlackClient, double: SlackDouble
) -> None:
    await finish(slack, "google", who=ANA)
    await finish(slack, "google", who=BO)
    assert len(double.posts("C111")) == 2  # both results posted
    await double.wait_until(lambda: len(double.messages("C111")) == 4, timeout=10)  # and their details
    usage = all_text(await command(slack, "forget"))
    assert "/maturity forget me" in usage
    prompt = await command(slack, "forget me", ANA)
    assert "cannot be undone" in all_text(prompt)
    delete = button(prompt, "Delete my data")
    assert delete["confirm"]["style"] == "danger"  # Slack asks before it sends the click
    done = await click(slack, delete, ANA)
    text = all_text(done)
    assert "1 assessment with 13 answers" in text or "1 assessment with" in text
    assert "1 result, and 2 result messages in channels" in text  # the post and its thread reply
    remaining = [all_text(m) for m in double.posts("C111")]
    assert len(remaining) == 1
    assert len(double.messages("C111")) == 2  # bo's post and its thread reply
    assert "<@U222>" in remaining[0]
    status = all_text(await command(slack, "status", ANA))
    assert "<@U111>" not in status
    again = await click(slack, buttons(prompt)[0], ANA)
    assert "Nothing to delete" in all_text(again)


async def test_a_multi_category_result_gets_its_radar_chart_in_the_thread(
    slack: SlackClient, double: SlackDouble
) -> None:
    await finish(slack, "azure", who=ANA)
    (result,) = double.posts("C111")
    await double.wait_until(lambda: any(f.completed for f in double.files.values()), timeout=10)
    (chart,) = [f for f in double.files.values() if f.completed]
    assert (chart.channel, chart.thread_ts) == ("C111", result["ts"])
    assert chart.content is not None
    assert chart.content.startswith(b"\x89PNG")
    assert chart.alt_txt is not None
    assert "People level" in chart.alt_txt  # the numbers, in words


async def test_without_files_write_the_result_still_arrives_in_full(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """The chart cannot be uploaded (missing_scope): the text result is posted all the same, and the
    chart is recorded as failed for that reason, not retried forever."""
    double.script("files.getUploadURLExternal", Scripted(error="missing_scope", times=5))
    await finish(slack, "gigaom", who=ANA)
    (result,) = double.posts("C111")
    assert "<@U111>" in all_text(result)
    assert bot.runtime is not None
    engine = bot.runtime.engine

    async def chart_state() -> tuple[str, str | None] | None:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(OutboxMessage.status, OutboxMessage.error).where(
                        OutboxMessage.kind == "result_chart"
                    )
                )
            ).first()
        return (row[0], row[1]) if row else None

    for _ in range(50):
        if await chart_state() == ("failed", "missing_scope"):
            break
        await asyncio.sleep(0.1)
    assert await chart_state() == ("failed", "missing_scope")
    assert not any(f.completed for f in double.files.values())
