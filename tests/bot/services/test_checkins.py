"""Check-in schedules on real databases: set, run exactly once, catch up, snooze, pause, team view."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.services.assessments import AssessmentService
from bot.services.checkins import (
    CheckinService,
    NoSchedule,
    ScheduleSet,
    ScheduleStopped,
    Snoozed,
    checkin_from_payload,
)
from bot.services.outbox import OutboxService
from bot.services.outcomes import Completed, QuestionShown, Who
from bot.services.ports import Undeliverable
from bot.services.recurrence import Period, Rhythm, next_occurrence
from flows.loader import load_flows
from models import schedules as repo
from models.tables import OutboxMessage

FLOWS = load_flows()
ANA = Who("T1", "C1", "U1", "ml", "ana")
MONDAY_9_BERLIN = Rhythm(Period.WEEKLY, time(9), "Europe/Berlin", weekday=0)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def _outbox(engine: AsyncEngine, kind: str) -> list[OutboxMessage]:
    async with AsyncSession(engine) as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.kind == kind))
        return list(rows.scalars())


async def _set_at(engine: AsyncEngine, when: datetime, rhythm: Rhythm = MONDAY_9_BERLIN) -> CheckinService:
    """A schedule set as if at ``when`` (its first occurrence is the next one after it)."""
    service = CheckinService(engine, FLOWS)
    done = await service.set(ANA, rhythm)
    assert isinstance(done, ScheduleSet)
    # Move the first occurrence to the one after ``when``, as if it had been set then.
    async with engine.begin() as conn:
        await conn.execute(repo.schedules.update().values(next_due_at=next_occurrence(rhythm, when)))
    return service


async def test_setting_a_schedule_announces_it_and_shows_the_next_run(engine: AsyncEngine) -> None:
    """Set, then show: the rhythm in its zone, who set it, the next run; the channel hears of it once."""
    service = CheckinService(engine, FLOWS)
    done = await service.set(ANA, MONDAY_9_BERLIN)
    assert done.previous is None
    assert (done.schedule.period, done.schedule.at, done.schedule.tz, done.schedule.set_by) == (
        "weekly",
        "09:00",
        "Europe/Berlin",
        "U1",
    )
    assert done.schedule.next_due_at is not None
    shown = await service.show(ANA)
    assert shown.schedule == done.schedule
    changed = await service.set(ANA, Rhythm(Period.MONTHLY, time(17), "UTC", day=3))
    assert changed.previous == done.schedule
    announcements = await _outbox(engine, "schedule")
    assert [a.payload["action"] for a in announcements] == ["set", "changed"]
    stopped = await service.stop(ANA)
    assert isinstance(stopped, ScheduleStopped)
    assert await service.stop(ANA) == NoSchedule()
    assert [a.payload["action"] for a in await _outbox(engine, "schedule")] == ["set", "changed", "off"]


async def test_an_occurrence_is_posted_once_however_often_runs_happen(engine: AsyncEngine) -> None:
    """Before its time nothing; at its time one post; runs again at that moment post nothing new."""
    service = await _set_at(engine, utc(2026, 3, 20))
    assert (await service.run_due(utc(2026, 3, 23, 7, 59))).posted == 0
    first = await service.run_due(utc(2026, 3, 23, 8, 0))
    assert (first.posted, first.late) == (1, 0)
    again = await asyncio.gather(*(service.run_due(utc(2026, 3, 23, 8, 0)) for _ in range(3)))
    assert sum(r.posted for r in again) == 0
    (post,) = await _outbox(engine, "checkin")
    assert checkin_from_payload(post.payload).due_at == utc(2026, 3, 23, 8, 0)
    following = await service.run_due(utc(2026, 3, 30, 7, 0))  # next Monday 09:00, now in CEST
    assert following.posted == 1


async def test_two_runners_racing_post_each_occurrence_once(engine: AsyncEngine) -> None:
    """Runners on separate services (as separate processes would be) claim one occurrence once."""
    await _set_at(engine, utc(2026, 3, 20))
    runners = [CheckinService(engine, FLOWS) for _ in range(4)]
    reports = await asyncio.gather(*(r.run_due(utc(2026, 3, 23, 8, 1)) for r in runners))
    assert sum(r.posted for r in reports) == 1
    assert len(await _outbox(engine, "checkin")) == 1


async def _channels_due(engine: AsyncEngine, count: int, when: datetime) -> CheckinService:
    """``count`` channels with the Monday 09:00 Berlin check-in, all due at the first one after ``when``."""
    service = CheckinService(engine, FLOWS)
    for n in range(count):
        await service.set(Who("T1", f"C{n + 1}", "U1", f"team-{n + 1}", "ana"), MONDAY_9_BERLIN)
    async with engine.begin() as conn:
        await conn.execute(repo.schedules.update().values(next_due_at=next_occurrence(MONDAY_9_BERLIN, when)))
    return service


async def test_many_runners_share_many_due_channels_each_posted_once(engine: AsyncEngine) -> None:
    """Four runners, thirty channels due at once: every channel's check-in is queued exactly once."""
    await _channels_due(engine, 30, utc(2026, 3, 20))
    runners = [CheckinService(engine, FLOWS) for _ in range(4)]
    woken: list[int] = []
    reports = await asyncio.gather(
        *(r.run_due(utc(2026, 3, 23, 8, 0), on_queued=lambda: woken.append(1)) for r in runners)
    )
    assert sum(r.posted for r in reports) == 30
    assert len(woken) == 30  # a dispatcher is woken as each post is queued, not at the end
    posts = [checkin_from_payload(m.payload) for m in await _outbox(engine, "checkin")]
    assert sorted(p.schedule.schedule_id for p in posts) == list(range(1, 31))


async def test_a_claimed_schedule_is_skipped_by_a_parallel_runner_not_waited_for(engine: AsyncEngine) -> None:
    """On PostgreSQL a runner preparing one check-in does not hold up another (SKIP LOCKED)."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: its runners take turns by design")
    await _channels_due(engine, 2, utc(2026, 3, 20))
    now = utc(2026, 3, 23, 8, 0)
    async with engine.begin() as first:
        mine = await repo.claim_next_due(first, now)
        async with asyncio.timeout(3), engine.begin() as second:
            theirs = await repo.claim_next_due(second, now)
            assert await repo.claim_next_due(second, now, frozenset({theirs.id} if theirs else ())) is None
    assert mine is not None
    assert theirs is not None
    assert mine.id != theirs.id


async def test_a_schedule_that_cannot_be_prepared_is_passed_over_not_blocking_the_others(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """A schedule whose time zone vanished from the system fails alone: logged, the others posted."""
    service = await _channels_due(engine, 3, utc(2026, 3, 20))
    async with engine.begin() as conn:
        await conn.execute(repo.schedules.update().where(repo.schedules.c.id == 1).values(tz="Mars/Olympus"))
    report = await service.run_due(utc(2026, 3, 23, 8, 0))
    assert report.posted == 2
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == ["checkin_failed"]
    async with engine.connect() as conn:
        broken = await repo.get(conn, 1)
    assert broken is not None
    assert broken.status == "active"


async def test_after_downtime_the_latest_missed_one_posts_once_marked_late(engine: AsyncEngine) -> None:
    """Three missed weeks: one catch-up post (late), for the latest of them; then the normal rhythm."""
    service = await _set_at(engine, utc(2026, 3, 1))
    report = await service.run_due(utc(2026, 3, 25, 12, 0))
    assert (report.posted, report.late) == (1, 1)
    (post,) = await _outbox(engine, "checkin")
    shown = checkin_from_payload(post.payload)
    assert (shown.due_at, shown.late) == (utc(2026, 3, 23, 8, 0), True)
    assert (await service.run_due(utc(2026, 3, 26))).posted == 0
    assert (await service.run_due(utc(2026, 3, 30, 7, 0))).posted == 1


async def test_snooze_skips_the_next_one_only(engine: AsyncEngine) -> None:
    """Snoozing skips the coming check-in; the one after it is posted."""
    service = await _set_at(engine, utc(2026, 3, 20))
    shown = await service.show(ANA)
    assert shown.schedule is not None
    snoozed = await service.snooze(ANA, shown.schedule.schedule_id)
    assert isinstance(snoozed, Snoozed)
    # The snooze covers the next occurrence after the real clock; run two weeks from it.
    skipped = snoozed.skipped
    async with engine.begin() as conn:
        await conn.execute(repo.schedules.update().values(next_due_at=skipped))
    assert (await service.run_due(skipped)).skipped == 1
    assert (await service.run_due(skipped + timedelta(days=7))).posted == 1


async def test_a_channel_the_bot_left_pauses_its_schedule(engine: AsyncEngine) -> None:
    """A check-in Slack refuses with not_in_channel pauses the schedule with that reason; set resumes."""
    service = await _set_at(engine, utc(2026, 3, 20))
    report = await service.run_due(utc(2026, 3, 23, 8, 0))
    outbox = OutboxService(engine, FLOWS)
    message = await outbox.claim(report.queued[0], "me")
    assert message is not None
    await outbox.settle(message, "me", Undeliverable("not_in_channel"))
    shown = await service.show(ANA)
    assert shown.schedule is not None
    assert (shown.schedule.status, shown.schedule.paused_reason) == ("paused", "not_in_channel")
    assert (await service.run_due(utc(2026, 3, 30, 8, 0))).posted == 0
    again = await service.set(ANA, MONDAY_9_BERLIN)
    assert again.schedule.status == "active"


async def _finish(engine: AsyncEngine, who: Who, flow_id: str, pick: int) -> Completed:
    service = AssessmentService(engine, FLOWS)
    outcome: object = await service.start(who, flow_id)
    while isinstance(outcome, QuestionShown):
        q = outcome.question
        option = q.practices[min(pick, len(q.practices) - 1)]
        outcome = await service.answer(who, outcome.assessment_id, outcome.revision, q.id, option.id)
    assert isinstance(outcome, Completed)
    return outcome


async def test_the_check_in_shows_the_team_median_and_its_change(engine: AsyncEngine) -> None:
    """The team level is the median of members' latest results; the next check-in shows the change."""
    service = await _set_at(engine, utc(2026, 3, 20))
    for n, pick in enumerate([0, 9, 9]):
        await _finish(engine, Who("T1", "C1", f"U{n}"), "google", pick)
    await AssessmentService(engine, FLOWS).start(Who("T1", "C1", "U7"), "azure")
    await service.run_due(utc(2026, 3, 23, 8, 0))
    (first,) = await _outbox(engine, "checkin")
    team = checkin_from_payload(first.payload).team
    (google,) = team.models
    assert (google.flow_id, google.level, len(google.members), google.change) == ("google", 2, 3, None)
    assert team.in_progress == [("U7", "azure")]
    await _finish(engine, Who("T1", "C1", "U1"), "google", 0)  # a member's newer result counts instead
    await service.run_due(utc(2026, 3, 30, 7, 0))
    second = next(p for p in await _outbox(engine, "checkin") if p.id != first.id)
    (google,) = checkin_from_payload(second.payload).team.models
    assert google.level == 0
    assert google.change is not None
    assert google.change < 0
