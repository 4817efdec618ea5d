"""Check-in use cases: set, show and stop a channel's schedule, and run what is due.

Running is exactly once per occurrence: a due schedule is claimed by moving its ``next_due_at`` on
with a conditional update, and the occurrence is recorded under a unique (schedule, instant) pair,
in the same transaction that queues its post in the outbox. Two instances, two cron runs or cron
beside the in-process loop cannot both win; a crash after the commit leaves the post queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.services.nudges import queue_nudges
from bot.services.outcomes import Who
from bot.services.recurrence import Period, Rhythm, latest_occurrence, next_occurrence
from bot.services.team import TeamView, snapshot, team_view, view_from_payload, view_to_payload
from flows.schema import Flow
from models import commitments as commitments_repo
from models import outbox as outbox_repo
from models import repository as repo
from models import schedules as schedules_repo
from models.tables import ScheduleStatus, utcnow

logger = logging.getLogger(__name__)

SCHEDULE_KIND = "schedule"  # a schedule set, changed or turned off, announced in its channel
CHECKIN_KIND = "checkin"
LATE_AFTER = timedelta(minutes=15)  # a check-in posted later than this after its time says so
STALE_PERIODS = 2  # a member's result older than this many periods is called out as stale


@dataclass(frozen=True)
class ScheduleView:
    """A channel's schedule as people see it."""

    schedule_id: int
    period: str
    weekday: int | None
    day: int | None
    at: str  # "HH:MM"
    tz: str
    status: str
    paused_reason: str | None
    next_due_at: datetime | None
    snoozed_until: datetime | None
    set_by: str  # Slack user id

    @property
    def rhythm(self) -> Rhythm:
        hour, minute = (int(part) for part in self.at.split(":"))
        return Rhythm(Period(self.period), time(hour, minute), self.tz, weekday=self.weekday, day=self.day)


@dataclass(frozen=True)
class ScheduleShown:
    schedule: ScheduleView | None


@dataclass(frozen=True)
class ScheduleSet:
    schedule: ScheduleView
    previous: ScheduleView | None  # what it replaced, if anything


@dataclass(frozen=True)
class ScheduleStopped:
    schedule: ScheduleView


@dataclass(frozen=True)
class NoSchedule:
    """`/maturity checkin off` (or snooze) in a channel without a schedule."""


@dataclass(frozen=True)
class Snoozed:
    schedule: ScheduleView
    skipped: datetime  # the occurrence that will not be posted


@dataclass(frozen=True)
class ScheduleAnnouncement:
    """The outbox's message that a schedule was set, changed or turned off."""

    action: str  # "set" | "changed" | "off"
    user_id: str
    schedule: ScheduleView


@dataclass(frozen=True)
class OpenCommitment:
    commitment_id: int
    step: str
    since: datetime


@dataclass(frozen=True)
class CheckinPost:
    """The outbox's message for one occurrence: the team view as of its claim."""

    schedule: ScheduleView
    run_id: int
    due_at: datetime
    late: bool
    team: TeamView
    commitments: list[OpenCommitment] = field(default_factory=list)
    done_since: list[str] = field(default_factory=list)  # steps completed since the last check-in


@dataclass(frozen=True)
class RunReport:
    """What one pass over the due schedules did."""

    posted: int = 0  # occurrences claimed and queued
    late: int = 0  # of which posted late, on catch-up
    skipped: int = 0  # missed by more than a period, or snoozed
    lost_races: int = 0  # claimed by another runner first
    queued: tuple[int, ...] = ()  # the outbox ids of the posts queued


def _view(row: schedules_repo.ScheduleRow) -> ScheduleView:
    return ScheduleView(
        row.id, row.period, row.weekday, row.month_day, row.at_time, row.tz, row.status, row.paused_reason,
        row.next_due_at, row.snoozed_until, row.set_by_slack_user_id,
    )  # fmt: skip


def _dump(value: Any) -> Any:
    """Dataclasses to JSON-ready data (datetimes as ISO strings)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


def schedule_payload(view: ScheduleView) -> dict[str, Any]:
    return dict(_dump(asdict(view)))


def schedule_from_payload(data: dict[str, Any]) -> ScheduleView:
    moments = {
        k: datetime.fromisoformat(data[k]) if data.get(k) else None for k in ("next_due_at", "snoozed_until")
    }
    return ScheduleView(**{**data, **moments})


def announcement_from_payload(data: dict[str, Any]) -> ScheduleAnnouncement:
    return ScheduleAnnouncement(data["action"], data["user_id"], schedule_from_payload(data["schedule"]))


def checkin_from_payload(data: dict[str, Any]) -> CheckinPost:
    return CheckinPost(
        schedule_from_payload(data["schedule"]),
        int(data["run_id"]),
        datetime.fromisoformat(data["due_at"]),
        bool(data["late"]),
        view_from_payload(data["team"]),
        [
            OpenCommitment(int(c["commitment_id"]), str(c["step"]), datetime.fromisoformat(c["since"]))
            for c in data.get("commitments", [])
        ],
        [str(step) for step in data.get("done_since", [])],
    )


class CheckinService:
    def __init__(self, db: AsyncEngine, flows: dict[str, Flow]):
        self.db = db
        self.flows = flows

    async def show(self, who: Who) -> ScheduleShown:
        async with self.db.connect() as conn:
            channel = await repo.channel_row_id(conn, who.team_id, who.channel_id)
            row = await schedules_repo.get_for_channel(conn, channel) if channel is not None else None
        return ScheduleShown(_view(row) if row else None)

    async def set(self, who: Who, rhythm: Rhythm) -> ScheduleSet:
        """Set (or change) the channel's schedule; announced in the channel with the change."""
        now = utcnow()
        async with self.db.begin() as conn:
            actor = await repo.ensure_actor(
                conn, who.team_id, who.channel_id, who.user_id, who.channel_name, who.user_name
            )
            before = await schedules_repo.get_for_channel(conn, actor.channel_id)
            await schedules_repo.save(
                conn,
                channel_id=actor.channel_id,
                person_id=actor.person_id,
                period=rhythm.period.value,
                weekday=rhythm.weekday,
                month_day=rhythm.day,
                at_time=rhythm.at.strftime("%H:%M"),
                tz=rhythm.tz,
                next_due_at=next_occurrence(rhythm, now),
            )
            after = await schedules_repo.get_for_channel(conn, actor.channel_id)
            assert after is not None
            shown = _view(after)
            previous = _view(before) if before is not None and before.status != ScheduleStatus.OFF else None
            await self._announce(conn, who, "changed" if previous else "set", shown, now)
        logger.info("schedule_set", extra={"schedule_id": shown.schedule_id, "period": shown.period})
        return ScheduleSet(shown, previous)

    async def stop(self, who: Who) -> ScheduleStopped | NoSchedule:
        now = utcnow()
        async with self.db.begin() as conn:
            channel = await repo.channel_row_id(conn, who.team_id, who.channel_id)
            row = await schedules_repo.get_for_channel(conn, channel) if channel is not None else None
            if row is None or row.status == ScheduleStatus.OFF:
                return NoSchedule()
            await schedules_repo.set_status(conn, row.id, ScheduleStatus.OFF)
            shown = _view(row)
            await self._announce(conn, who, "off", shown, now)
        logger.info("schedule_off", extra={"schedule_id": shown.schedule_id})
        return ScheduleStopped(shown)

    @staticmethod
    async def _announce(
        conn: AsyncConnection, who: Who, action: str, view: ScheduleView, now: datetime
    ) -> None:
        await outbox_repo.enqueue(
            conn,
            kind=SCHEDULE_KIND,
            dedupe_key=f"{SCHEDULE_KIND}:{view.schedule_id}:{now.isoformat()}",
            team_id=who.team_id,
            channel_id=who.channel_id,
            user_id=who.user_id,
            ref_id=view.schedule_id,
            payload={"action": action, "user_id": who.user_id, "schedule": schedule_payload(view)},
        )

    async def run_due(
        self, now: datetime | None = None, *, on_queued: Callable[[], None] | None = None
    ) -> RunReport:
        """Claim every occurrence due at ``now`` and queue its post; safe to run anywhere, any time.

        Each occurrence is one transaction that locks its schedule, so runners in parallel share
        the work. ``on_queued`` is called after each post is committed (to wake a dispatcher, so
        posting starts while the rest are still being claimed). A schedule whose check-in cannot
        be prepared (a bug, a database error) is logged and left for the next pass, without
        holding up the others.
        """
        now = now or utcnow()
        report = RunReport()
        passed_over: set[int] = set()  # failed, or found claimed after all: not taken again this pass
        while True:
            taken: int | None = None
            before = report
            try:
                async with self.db.begin() as conn:
                    row = await schedules_repo.claim_next_due(conn, now, frozenset(passed_over))
                    if row is None:
                        return report
                    taken = row.id
                    report = await self._run_one(conn, row, now, report)
            except Exception:
                if taken is None:
                    raise  # the database itself: the caller reports it and tries again later
                passed_over.add(taken)
                logger.exception("checkin_failed", extra={"schedule_id": taken})
                continue
            if report.lost_races > before.lost_races:
                passed_over.add(taken)
            if on_queued is not None and len(report.queued) > len(before.queued):
                on_queued()

    async def _run_one(
        self, conn: AsyncConnection, row: schedules_repo.ScheduleRow, now: datetime, report: RunReport
    ) -> RunReport:
        view = _view(row)
        rhythm = view.rhythm
        assert row.next_due_at is not None
        # After downtime only the latest missed occurrence counts (once), and only within a period.
        occurrence = latest_occurrence(rhythm, now) or row.next_due_at
        following = next_occurrence(rhythm, now)
        if not await schedules_repo.advance(conn, row.id, row.next_due_at, following):
            return replace(report, lost_races=report.lost_races + 1)
        too_old = now - occurrence > rhythm.length
        snoozed = row.snoozed_until is not None and occurrence <= row.snoozed_until
        if too_old or snoozed:
            logger.info(
                "checkin_skipped",
                extra={"schedule_id": row.id, "due": occurrence.isoformat(), "snoozed": snoozed},
            )
            return replace(report, skipped=report.skipped + 1)
        late = now - occurrence > LATE_AFTER
        previous = await schedules_repo.previous_snapshot(conn, row.id, occurrence)
        under_way = await repo.in_progress_in_channel(conn, row.channel_id)
        team = await team_view(
            conn,
            row.channel_id,
            self.flows,
            now=now,
            stale_after=rhythm.length * STALE_PERIODS,
            previous=previous,
            under_way=under_way,
        )
        # When it was claimed (the real clock), so the next one can list what got done since.
        kept = {**snapshot(team), "due_at": occurrence.isoformat(), "claimed_at": utcnow().isoformat()}
        run_id = await schedules_repo.record_run(conn, row.id, occurrence, late=late, snapshot=kept)
        if run_id is None:
            return replace(report, lost_races=report.lost_races + 1)
        claimed = (previous or {}).get("claimed_at")
        since = datetime.fromisoformat(claimed) if claimed else None
        open_now = [
            OpenCommitment(c.id, c.step, c.created_at)
            for c in await commitments_repo.open_in_channel(conn, row.channel_id)
        ]
        done = [c.step for c in await commitments_repo.done_since(conn, row.channel_id, since)]
        post = CheckinPost(view, run_id, occurrence, late, team, open_now, done)
        await queue_nudges(
            conn,
            under_way,
            run_id=run_id,
            team_id=row.slack_team_id,
            slack_channel_id=row.slack_channel_id,
            now=now,
        )
        item = await outbox_repo.enqueue(
            conn,
            kind=CHECKIN_KIND,
            dedupe_key=f"{CHECKIN_KIND}:{run_id}",
            team_id=row.slack_team_id,
            channel_id=row.slack_channel_id,
            user_id=None,
            ref_id=row.id,
            payload=checkin_payload(post),
        )
        logger.info("checkin_queued", extra={"schedule_id": row.id, "run_id": run_id, "late": late})
        return replace(
            report, posted=report.posted + 1, late=report.late + int(late), queued=(*report.queued, item)
        )

    async def snooze(self, who: Who, schedule_id: int) -> Snoozed | NoSchedule:
        """Skip this channel's next check-in (one period)."""
        async with self.db.begin() as conn:
            row = await schedules_repo.get(conn, schedule_id)
            if row is None or row.slack_team_id != who.team_id or row.status != ScheduleStatus.ACTIVE:
                return NoSchedule()
            skipped = next_occurrence(_view(row).rhythm, utcnow())
            await schedules_repo.snooze(conn, row.id, skipped)
            row = await schedules_repo.get(conn, schedule_id)
            assert row is not None
        logger.info("checkin_snoozed", extra={"schedule_id": schedule_id})
        return Snoozed(_view(row), skipped)


def checkin_payload(post: CheckinPost) -> dict[str, Any]:
    return {
        "schedule": schedule_payload(post.schedule),
        "run_id": post.run_id,
        "due_at": post.due_at.isoformat(),
        "late": post.late,
        "team": _dump(view_to_payload(post.team)),
        "commitments": _dump([asdict(c) for c in post.commitments]),
        "done_since": list(post.done_since),
    }
