"""Check-ins through Slack: set in the setter's time zone, announced, posted once, snoozed, and cron."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bot.runtime.dispatcher import Dispatcher
from bot.services.checkins import ScheduleView
from bot.services.outcomes import Who
from bot.services.recurrence import next_occurrence
from models.tables import Assessment, OutboxMessage, Schedule, utcnow
from playground.drive import click, command, finish
from playground.slack_api import (
    BOT_TOKEN,
    Person,
    Scripted,
    SlackClient,
    SlackDouble,
    all_text,
    button,
    buttons,
)
from tests.e2e.conftest import RunningBot

ROOT = Path(__file__).resolve().parents[2]


async def _channel_texts(double: SlackDouble, channel: str = "C111") -> list[str]:
    return [all_text(m) for m in double.posts(channel)]


async def test_setting_showing_and_stopping_check_ins_in_the_setters_time_zone(
    slack: SlackClient, double: SlackDouble
) -> None:
    """Times are the setter's (users.info tz), shown with it; set and off are announced in the channel."""
    reply = all_text(await command(slack, "checkin weekly mon 9am"))
    assert "every Monday at 09:00 (Europe/Berlin)" in reply
    await double.wait_until(lambda: len(double.posts("C111")) == 1, timeout=10)
    (announcement,) = await _channel_texts(double)
    assert (
        "<@U111> set maturity check-ins for this channel: *every Monday at 09:00 (Europe/Berlin)*"
        in announcement
    )
    shown = all_text(await command(slack, "checkin"))
    assert "every Monday at 09:00 (Europe/Berlin)" in shown
    assert "Next check-in: *Mon" in shown
    assert "09:00" in shown
    off = all_text(await command(slack, "checkin off"))
    assert "off" in off
    await double.wait_until(lambda: len(double.posts("C111")) == 2, timeout=10)
    assert "turned off" in (await _channel_texts(double))[-1]


async def test_wrong_check_in_arguments_get_the_syntax_and_an_example(slack: SlackClient) -> None:
    """A schedule that cannot be read is answered with the right syntax and an example, not the help."""
    for args, complaint in [
        ("weekly funday 9am", "`funday` isn't a day of the week"),
        ("monthly 31 9am", "`31` isn't a day of the month"),
        ("weekly mon 25:00", "`25:00` isn't a time"),
        ("daily mon 9am", "`daily` isn't `weekly` or `monthly`"),
        ("weekly", "I need a rhythm, a day and a time"),
    ]:
        text = all_text(await command(slack, f"checkin {args}"))
        assert complaint in text
        assert "for example `/maturity checkin weekly mon 9:30`" in text
        assert "runs MLOps maturity assessments" not in text  # not the bare help


async def test_a_due_check_in_is_posted_once_with_buttons_that_never_replace_it(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """The scheduler posts a due check-in once; its buttons answer privately and leave it in place."""
    await command(slack, "checkin weekly mon 9am")
    assert bot.runtime is not None
    assert bot.runtime.scheduler is not None
    shown = await bot.runtime.deps.checkins.show(_ana())
    assert shown.schedule is not None
    assert shown.schedule.next_due_at is not None
    due = shown.schedule.next_due_at
    for _ in range(3):
        await bot.runtime.scheduler.run_once(due)
    await double.wait_until(lambda: len(double.posts("C111")) == 2, timeout=10)
    checkin = double.posts("C111")[-1]
    text = all_text(checkin)
    assert "Maturity check-in" in text
    assert "Nobody here has a maturity result yet" in text
    snoozed = await click(slack, button(checkin, "Snooze"), in_channel_message=True)
    assert "snoozed" in all_text(snoozed)
    assert snoozed["replace_original"] is False
    question = await click(slack, button(checkin, "Take Google"), in_channel_message=True)
    assert "Question 1 of" in all_text(question)
    assert question["replace_original"] is False  # the channel's check-in stays as it was
    assert len(double.posts("C111")) == 2  # posted once, however often the scheduler ran


def _ana() -> Who:
    """The default person of the e2e tests, as the services know them."""
    return Who("T111", "C111", "U111")


async def _announced_monday(bot: RunningBot, slack: SlackClient, double: SlackDouble) -> ScheduleView:
    """ana sets the channel's check-in to Monday 09:00 and the channel hears of it; the schedule."""
    await command(slack, "checkin weekly mon 9am")
    await double.wait_until(lambda: len(double.posts("C111")) == 1, timeout=10)
    assert bot.runtime is not None
    shown = await bot.runtime.deps.checkins.show(_ana())
    assert shown.schedule is not None
    assert shown.schedule.next_due_at is not None
    return shown.schedule


async def _cron(database_url: str, double: SlackDouble, now: datetime) -> tuple[int, str]:
    """Run `python -m bot checkins --now` as cron would; the double keeps answering meanwhile."""
    process = await _start_cron(database_url, double, now)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode() + stderr.decode()[-3000:]


async def _start_cron(database_url: str, double: SlackDouble, now: datetime) -> asyncio.subprocess.Process:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": double.api_url,
        "DATABASE_URL": database_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "checkins", "--now", now.isoformat(),
        env=env, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return process


async def test_the_cron_command_posts_what_is_due_once_and_reports_failures(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """`python -m bot checkins --now T` posts once and exits 0; a refused post exits 1 and pauses."""
    schedule = await _announced_monday(bot, slack, double)
    due = schedule.next_due_at
    assert due is not None
    code, output = await _cron(bot.settings.database_url, double, due)
    assert code == 0, output
    assert "check-ins posted: 1" in output
    code, output = await _cron(bot.settings.database_url, double, due)
    assert code == 0, output
    assert "check-ins posted: 0" in output
    assert sum("Maturity check-in" in t for t in await _channel_texts(double)) == 1
    double.leave_channel("C111")
    following = next_occurrence(schedule.rhythm, max(due, utcnow()))
    code, output = await _cron(bot.settings.database_url, double, following)
    assert code == 1, output
    assert "not_in_channel" in output
    paused = all_text(await command(slack, "checkin"))
    assert "Paused" in paused
    assert "/invite @maturity-bot" in paused


async def test_commitments_round_trip_from_a_result_through_check_ins(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Steps of a posted result become commitments (at most 3), check-ins list them, Done closes one."""
    await finish(slack, "google", pick=0)
    await double.wait_until(lambda: len(double.messages("C111")) == 2, 10)  # the post, its thread reply
    result, details = double.messages("C111")
    assert details["thread_ts"] == result["ts"]
    added = await click(slack, button(result, "Commit to 1"), in_channel_message=True)
    assert "Team commitment added (1 of 3 from this result)" in all_text(added)
    assert added["replace_original"] is False
    assert "already a team commitment" in all_text(
        await click(slack, button(result, "Commit to 1"), in_channel_message=True)
    )
    for n in (2, 3):
        await click(slack, button(result, f"Commit to {n}"), in_channel_message=True)
    limit = await click(slack, button(details, "Commit to 4"), in_channel_message=True)  # in the thread
    assert "already has 3 commitments" in all_text(limit)

    await command(slack, "checkin weekly mon 9am")
    assert bot.runtime is not None
    assert bot.runtime.scheduler is not None
    shown = await bot.runtime.deps.checkins.show(_ana())
    assert shown.schedule is not None
    assert shown.schedule.next_due_at is not None
    due = shown.schedule.next_due_at
    await bot.runtime.scheduler.run_once(due)
    await double.wait_until(lambda: _posted_with(double, "Open commitments") is not None, 10)
    checkin = _posted_with(double, "Open commitments")
    assert checkin is not None
    done_buttons = [b for b in buttons(checkin) if b["action_id"] == "commitment_done"]
    assert len(done_buttons) == 3
    assert "Marked done" in all_text(await click(slack, done_buttons[0], in_channel_message=True))
    assert "already marked done" in all_text(await click(slack, done_buttons[0], in_channel_message=True))
    still = [b for b in buttons(checkin) if b["action_id"] == "commitment_still"][1]  # the second one
    assert "still on it" in all_text(
        await click(slack, still, who=Person(user_id="U222", name="bo"), in_channel_message=True)
    )
    await bot.runtime.scheduler.run_once(next_occurrence(shown.schedule.rhythm, due))
    await double.wait_until(lambda: _posted_with(double, "Done since the last") is not None, 10)
    following = _posted_with(double, "Done since the last")
    assert following is not None
    assert len([b for b in buttons(following) if b["action_id"] == "commitment_done"]) == 2


def _posted_with(double: SlackDouble, text: str) -> dict[str, Any] | None:
    """The first message in #ml-platform whose text includes ``text``."""
    return next((m for m in double.posts("C111") if text in all_text(m)), None)


async def test_stalled_assessments_get_one_nudge_per_check_in_unless_away_or_off(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Three people left an assessment 4 days ago: one is nudged, one is on holiday, one turned nudges off."""
    ana, bo, chen = Person(), Person(user_id="U222", name="bo"), Person(user_id="U333", name="chen")
    for who in (ana, bo, chen):
        await command(slack, "start google", who)
    assert "Nudges are off" in all_text(await command(slack, "nudges off", chen))
    assert "nudges off" in all_text(await command(slack, "nudges maybe", chen))
    double.set_status("U222", "Vacation until Monday", ":palm_tree:")
    assert bot.runtime is not None
    async with bot.runtime.engine.begin() as conn:
        await conn.execute(update(Assessment).values(updated_at=utcnow() - timedelta(days=4)))
    await command(slack, "checkin weekly mon 9am")
    shown = await bot.runtime.deps.checkins.show(_ana())
    assert shown.schedule is not None
    assert shown.schedule.next_due_at is not None
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.run_once(shown.schedule.next_due_at)
    await double.wait_until(lambda: bool(double.ephemerals("C111", "U111")), timeout=10)
    (nudge,) = double.ephemerals("C111", "U111")
    assert "waiting for 4 days" in all_text(nudge)
    resumed = await click(slack, button(nudge, "Resume"))
    assert "Question 1 of" in all_text(resumed)
    await asyncio.sleep(0.5)  # the skipped ones are settled by now
    assert double.ephemerals("C111", "U222") == []  # on holiday
    assert double.ephemerals("C111", "U333") == []  # turned nudges off
    async with bot.runtime.engine.connect() as conn:
        kinds = (await conn.execute(select(OutboxMessage.slack_user_id, OutboxMessage.status)
                                    .where(OutboxMessage.kind == "nudge"))).all()  # fmt: skip
    assert sorted(kinds) == [("U111", "sent"), ("U222", "skipped")]  # one each, none for U333


async def test_two_cron_runs_racing_post_each_channels_check_in_once(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Two `python -m bot checkins` processes at the same moment share six due check-ins: each posted once."""
    channels = [f"C30{n:02d}" for n in range(6)]
    for channel in channels:
        double.add_channel(channel, f"team-{channel.lower()}")
        await command(slack, "checkin weekly mon 9am", Person(channel_id=channel))
    assert bot.runtime is not None
    shown = await bot.runtime.deps.checkins.show(Who("T111", channels[0], "U111"))
    assert shown.schedule is not None
    assert shown.schedule.next_due_at is not None
    due = shown.schedule.next_due_at
    runs = await asyncio.gather(*(_cron(bot.settings.database_url, double, due) for _ in range(2)))
    assert [code for code, _ in runs] == [0, 0], runs
    posted = [int(out.split("check-ins posted: ")[1].split()[0]) for _, out in runs]
    assert sum(posted) == 6
    for channel in channels:
        checkins = [m for m in double.messages(channel) if "Maturity check-in" in all_text(m)]
        assert len(checkins) == 1, channel


async def test_a_check_in_waits_out_a_rate_limit_and_an_archived_channel_pauses(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """A 429 on the check-in is waited out (posted once); an archived channel pauses the schedule."""
    schedule = await _announced_monday(bot, slack, double)
    due = schedule.next_due_at
    assert due is not None
    double.script("chat.postMessage", Scripted(retry_after=1))
    code, output = await _cron(bot.settings.database_url, double, due)
    assert code == 0, output
    assert sum("Maturity check-in" in t for t in await _channel_texts(double)) == 1
    assert len(double.api_calls("chat.postMessage")) == 3  # the announcement, the 429, the post
    double.archive_channel("C111")
    code, output = await _cron(bot.settings.database_url, double, next_occurrence(schedule.rhythm, due))
    assert code == 1
    assert "is_archived" in output
    assert "This channel was archived" in all_text(await command(slack, "checkin"))


async def test_a_sydney_check_in_across_the_southern_spring_forward(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Set by someone in Sydney for Sunday 02:30: on the day 02:30 does not exist it runs at 03:00, once."""
    chen = Person(user_id="U333", name="chen")
    reply = all_text(await command(slack, "checkin weekly sun 2:30am", chen))
    assert "every Sunday at 02:30 (Australia/Sydney)" in reply
    assert bot.runtime is not None
    assert bot.runtime.scheduler is not None
    schedule = (await bot.runtime.deps.checkins.show(Who("T111", "C111", "U333"))).schedule
    assert schedule is not None
    async with bot.runtime.engine.begin() as conn:  # as if set a week before the change
        await conn.execute(update(Schedule).values(next_due_at=datetime(2026, 9, 27, 16, 30, tzinfo=UTC)))
    before_change = datetime(2026, 9, 27, 16, 30, tzinfo=UTC)  # Sun 27 Sep 02:30 AEST
    at_change = datetime(2026, 10, 3, 16, 0, tzinfo=UTC)  # Sun 4 Oct: 02:30 skipped, 03:00 AEDT
    for moment in (before_change, at_change - timedelta(minutes=1), at_change, at_change):
        await bot.runtime.scheduler.run_once(moment)
    await double.wait_until(lambda: len(_checkins(double)) == 2, timeout=10)
    shown = (await bot.runtime.deps.checkins.show(Who("T111", "C111", "U333"))).schedule
    assert shown is not None
    assert shown.next_due_at == datetime(2026, 10, 10, 15, 30, tzinfo=UTC)  # Sun 11 Oct 02:30 AEDT
    await asyncio.sleep(0.3)
    assert len(_checkins(double)) == 2


def _checkins(double: SlackDouble) -> list[dict[str, Any]]:
    return [m for m in double.posts("C111") if "Maturity check-in" in all_text(m)]


async def _run_at(bot: RunningBot, *moments: datetime) -> None:
    assert bot.runtime is not None
    assert bot.runtime.scheduler is not None
    for moment in moments:
        await bot.runtime.scheduler.run_once(moment)


async def _due_from(bot: RunningBot, when: datetime) -> None:
    """Move the channel's next check-in to ``when`` (as if the schedule had been set before it).

    From here the test is the clock: the scheduler's wall-clock loop is stopped first, or its tick
    at the next minute would run everything due before today (the dates here are past) and move
    the schedule on by itself."""
    assert bot.runtime is not None
    assert bot.runtime.scheduler is not None
    await bot.runtime.scheduler.stop()
    async with bot.runtime.engine.begin() as conn:
        await conn.execute(update(Schedule).values(next_due_at=when))


async def _next_due(bot: RunningBot, who: Who) -> datetime | None:
    assert bot.runtime is not None
    shown = (await bot.runtime.deps.checkins.show(who)).schedule
    assert shown is not None
    return shown.next_due_at


async def test_a_berlin_monday_nine_oclock_stays_at_nine_across_both_clock_changes(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Monday 09:00 set in Berlin runs at 08:00 UTC in winter and 07:00 UTC in summer, once each."""
    reply = all_text(await command(slack, "checkin weekly mon 9am"))  # ana, Europe/Berlin
    assert "every Monday at 09:00 (Europe/Berlin)" in reply
    await _due_from(bot, datetime(2026, 3, 23, 8, 0, tzinfo=UTC))  # Mon 23 Mar 09:00 CET
    summer = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Mon 30 Mar 09:00 CEST, the day after the change
    await _run_at(bot, datetime(2026, 3, 23, 8, 0, tzinfo=UTC), summer - timedelta(minutes=1))
    assert await _next_due(bot, _ana()) == summer
    await _run_at(bot, summer, summer)
    await _due_from(bot, datetime(2026, 10, 19, 7, 0, tzinfo=UTC))  # Mon 19 Oct 09:00 CEST
    winter = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # Mon 26 Oct 09:00 CET, the day after
    await _run_at(bot, datetime(2026, 10, 19, 7, 0, tzinfo=UTC), winter - timedelta(hours=1), winter)
    await double.wait_until(lambda: len(_checkins(double)) == 4, timeout=10)
    assert await _next_due(bot, _ana()) == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    await asyncio.sleep(0.3)
    assert len(_checkins(double)) == 4


async def test_a_new_york_check_in_in_the_repeated_autumn_hour_runs_once(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """Sunday 01:30 set in New York on the night 01:00-02:00 happens twice: posted at the first 01:30 only."""
    bo = Person(user_id="U222", name="bo")
    reply = all_text(await command(slack, "checkin weekly sun 1:30am", bo))
    assert "every Sunday at 01:30 (America/New_York)" in reply
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # Sun 1 Nov 01:30 EDT
    repeated = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 again, now EST
    await _due_from(bot, first)
    await _run_at(bot, first, repeated, repeated + timedelta(minutes=1))
    await double.wait_until(lambda: len(_checkins(double)) == 1, timeout=10)
    assert await _next_due(bot, Who("T111", "C111", "U222")) == datetime(2026, 11, 8, 6, 30, tzinfo=UTC)
    await asyncio.sleep(0.3)
    assert len(_checkins(double)) == 1


async def test_a_crash_between_claim_and_post_is_posted_once_after_the_lease_runs_out(
    bot: RunningBot, slack: SlackClient, double: SlackDouble
) -> None:
    """The cron run claims the check-in and is killed (-9) with its post in flight, before Slack took
    it: running cron again posts nothing new, and once the dead run's lease has run out the app's
    dispatcher posts it, once."""
    due = (await _announced_monday(bot, slack, double)).next_due_at
    assert due is not None
    assert bot.runtime is not None
    app_dispatcher = bot.runtime.dispatcher
    await app_dispatcher.stop()  # the cron run alone takes the post (the app comes back below)
    double.script("chat.postMessage", Scripted(hang=True))
    calls = len(double.api_calls("chat.postMessage"))
    process = await _start_cron(bot.settings.database_url, double, due)
    try:
        await double.wait_until(lambda: len(double.api_calls("chat.postMessage")) > calls, timeout=30)
    finally:
        process.kill()
        await process.wait()
    async with bot.runtime.engine.connect() as conn:
        (item,) = (await conn.execute(select(OutboxMessage).where(OutboxMessage.kind == "checkin"))).all()
    assert (item.status, item.sent_ts) == ("pending", None)
    assert item.lease_owner is not None  # the dead run's
    code, output = await _cron(bot.settings.database_url, double, due)
    assert code == 0, output
    assert "check-ins posted: 0" in output
    assert _checkins(double) == []
    async with bot.runtime.engine.begin() as conn:  # as if the 60 s lease had passed
        await conn.execute(update(OutboxMessage).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    restarted = Dispatcher(app_dispatcher.outbox, app_dispatcher.sender, poll=0.1)
    restarted.start()
    try:
        await double.wait_until(lambda: len(_checkins(double)) == 1, timeout=15)
        await asyncio.sleep(0.5)
    finally:
        await restarted.stop()
    assert len(_checkins(double)) == 1
