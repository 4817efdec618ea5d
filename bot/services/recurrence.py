"""When a channel's check-ins happen: a weekly or monthly rhythm at a wall-clock time in an IANA zone.

Pure functions of the rhythm and a moment, so daylight saving can be tested exhaustively. Local
times are what people mean ("Monday 09:00 in Berlin" stays 09:00 across the clock changes); a time
that does not exist on a spring-forward day happens at the first valid minute after it, and a time
that happens twice on the autumn day happens once, the first time.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_MONTH_DAY = 28  # every month has it, so "monthly on the 28th" never skips a month


class Period(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Rhythm:
    """Every week on ``weekday`` (0 = Monday) or every month on ``day``, at ``at`` local time in ``tz``."""

    period: Period
    at: time
    tz: str
    weekday: int | None = None
    day: int | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def length(self) -> timedelta:
        """About one period: how late a missed check-in may still be posted, and what 'snooze' skips."""
        return timedelta(days=7 if self.period is Period.WEEKLY else 28)


class RhythmPart(StrEnum):
    """Which part of a schedule could not be read (the Slack edge words the reply)."""

    SHAPE = "shape"  # not `weekly <day> <time>` / `monthly <day> <time>`
    PERIOD = "period"
    WEEKDAY = "weekday"
    MONTH_DAY = "month_day"
    TIME = "time"
    ZONE = "zone"


class RhythmError(ValueError):
    """Arguments that do not describe a rhythm: which part, and what was given for it."""

    def __init__(self, part: RhythmPart, given: str = ""):
        super().__init__(f"{part.value}: {given[:40]!r}")
        self.part = part
        self.given = given[:40]


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")


def parse_time(text: str) -> time:
    """`09:00`, `9:30`, `17:05`, `9am`, `5:30pm`, `12am` (midnight), `12pm` (noon)."""
    found = _TIME.match(text.strip().lower())
    if not found:
        raise RhythmError(RhythmPart.TIME, text)
    hour, minute, half = int(found[1]), int(found[2] or 0), found[3]
    if half is not None:
        if not 1 <= hour <= 12:
            raise RhythmError(RhythmPart.TIME, text)
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif found[2] is None:
        raise RhythmError(RhythmPart.TIME, text)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise RhythmError(RhythmPart.TIME, text)
    return time(hour, minute)


def parse_weekday(text: str) -> int:
    """`mon`, `Monday`, `tues`, ... (any unambiguous start of at least three letters)."""
    word = text.strip().lower()
    matches = [n for n, name in enumerate(WEEKDAYS) if len(word) >= 3 and name.startswith(word)]
    if len(matches) != 1:
        raise RhythmError(RhythmPart.WEEKDAY, text)
    return matches[0]


def parse_month_day(text: str) -> int:
    word = text.strip().lower().removesuffix("st").removesuffix("nd").removesuffix("rd").removesuffix("th")
    if not word.isdigit() or not 1 <= int(word) <= MAX_MONTH_DAY:
        raise RhythmError(RhythmPart.MONTH_DAY, text)
    return int(word)


def check_zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise RhythmError(RhythmPart.ZONE, tz) from None
    return tz


def parse_rhythm(words: list[str], tz: str) -> Rhythm:
    """`weekly <day> <time>` or `monthly <1-28> <time>`, in the time zone ``tz``."""
    if len(words) != 3:
        raise RhythmError(RhythmPart.SHAPE, " ".join(words))
    period = words[0].lower()
    if period == Period.WEEKLY:
        return Rhythm(Period.WEEKLY, parse_time(words[2]), check_zone(tz), weekday=parse_weekday(words[1]))
    if period == Period.MONTHLY:
        return Rhythm(Period.MONTHLY, parse_time(words[2]), check_zone(tz), day=parse_month_day(words[1]))
    raise RhythmError(RhythmPart.PERIOD, words[0])


def wall_clock_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``day`` at ``at`` in ``zone``.

    In a spring-forward gap the local time does not exist: the first valid minute after it is used.
    In an autumn overlap it exists twice: the first one is used, so it happens once.
    """
    local = datetime.combine(day, at)
    for minutes in range(0, 24 * 60):  # gaps are an hour (rarely two): this ends within the first few
        candidate = local + timedelta(minutes=minutes)
        aware = candidate.replace(tzinfo=zone, fold=0)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == candidate:
            return aware.astimezone(UTC)
    raise AssertionError(f"no valid local time after {local} in {zone}")


def _days_from(rhythm: Rhythm, start: date) -> list[date]:
    """Candidate days on or after ``start``: enough to find the next occurrence whatever the zone."""
    if rhythm.period is Period.WEEKLY:
        assert rhythm.weekday is not None
        first = start + timedelta(days=(rhythm.weekday - start.weekday()) % 7)
        return [first + timedelta(weeks=n) for n in range(3)]
    assert rhythm.day is not None
    days = []
    year, month = start.year, start.month
    for _ in range(3):
        if rhythm.day <= calendar.monthrange(year, month)[1]:
            days.append(date(year, month, rhythm.day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def next_occurrence(rhythm: Rhythm, after: datetime) -> datetime:
    """The first instant strictly after ``after`` (aware) at which the rhythm fires, in UTC."""
    zone = rhythm.zone
    local_day = after.astimezone(zone).date() - timedelta(days=1)
    start = local_day.replace(day=1) if rhythm.period is Period.MONTHLY else local_day
    for day in _days_from(rhythm, start):
        instant = wall_clock_instant(day, rhythm.at, zone)
        if instant > after:
            return instant
    raise AssertionError("a rhythm fires at least once in three periods")


def latest_occurrence(rhythm: Rhythm, at_or_before: datetime) -> datetime | None:
    """The last instant at or before ``at_or_before`` at which the rhythm fired, looking back about
    one period (None when it did not fire in that window)."""
    probe = at_or_before - rhythm.length - timedelta(days=3)
    latest = None
    while (instant := next_occurrence(rhythm, probe)) <= at_or_before:
        latest, probe = instant, instant
    return latest
