"""Check-in rhythms in real time zones, across daylight saving in both hemispheres."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.services.recurrence import (
    Period,
    Rhythm,
    RhythmError,
    RhythmPart,
    latest_occurrence,
    next_occurrence,
    parse_rhythm,
    parse_time,
    wall_clock_instant,
)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly(day: int, hour: int, minute: int, tz: str) -> Rhythm:
    return Rhythm(Period.WEEKLY, time(hour, minute), tz, weekday=day)


def run(rhythm: Rhythm, start: datetime, count: int) -> list[datetime]:
    out, moment = [], start
    for _ in range(count):
        moment = next_occurrence(rhythm, moment)
        out.append(moment)
    return out


def test_berlin_monday_nine_stays_nine_local_across_both_changes() -> None:
    """Monday 09:00 Europe/Berlin is 08:00 UTC in winter and 07:00 UTC in summer, every week."""
    rhythm = weekly(0, 9, 0, "Europe/Berlin")
    assert run(rhythm, utc(2026, 3, 20, 0, 0), 3) == [
        utc(2026, 3, 23, 8, 0),
        utc(2026, 3, 30, 7, 0),  # clocks went forward on Sunday 29 March
        utc(2026, 4, 6, 7, 0),
    ]
    assert run(rhythm, utc(2026, 10, 17, 0, 0), 2) == [
        utc(2026, 10, 19, 7, 0),
        utc(2026, 10, 26, 8, 0),  # and back on Sunday 25 October
    ]


@pytest.mark.parametrize(
    ("tz", "spring_day", "expected"),
    [
        ("Europe/Berlin", (2026, 3, 29), utc(2026, 3, 29, 1, 0)),  # 02:30 does not exist: 03:00 CEST
        ("America/New_York", (2026, 3, 8), utc(2026, 3, 8, 7, 0)),  # 03:00 EDT
        ("Australia/Sydney", (2026, 10, 4), utc(2026, 10, 3, 16, 0)),  # southern spring: 03:00 AEDT
    ],
)
def test_a_time_missing_on_the_spring_forward_day_runs_at_the_first_valid_minute_after(
    tz: str, spring_day: tuple[int, int, int], expected: datetime
) -> None:
    """Sunday 02:30 on the day the clocks jump from 02:00 to 03:00 runs at 03:00 local, once."""
    rhythm = weekly(6, 2, 30, tz)
    day_before = datetime(*spring_day, tzinfo=UTC) - timedelta(days=1)
    assert next_occurrence(rhythm, day_before) == expected


@pytest.mark.parametrize(
    ("tz", "autumn_day", "first"),
    [
        ("Europe/Berlin", (2026, 10, 25), utc(2026, 10, 25, 0, 30)),  # 02:30 CEST, not 02:30 CET
        ("America/New_York", (2026, 11, 1), utc(2026, 11, 1, 5, 30)),  # 01:30 EDT, not 01:30 EST
        ("Australia/Sydney", (2026, 4, 5), utc(2026, 4, 4, 15, 30)),  # southern autumn: 02:30 AEDT
    ],
)
def test_a_time_repeated_on_the_autumn_day_runs_once(
    tz: str, autumn_day: tuple[int, int, int], first: datetime
) -> None:
    """Sunday at a time the clocks pass twice runs at its first passing only; the next run is a week on."""
    hour = 1 if tz == "America/New_York" else 2
    rhythm = weekly(6, hour, 30, tz)
    day_before = datetime(*autumn_day, tzinfo=UTC) - timedelta(days=1)
    assert next_occurrence(rhythm, day_before) == first
    following = next_occurrence(rhythm, first)
    assert (following - first).days == 7


def test_sydney_monday_nine_follows_the_southern_changes() -> None:
    """Monday 09:00 Australia/Sydney is 22:00 UTC (Sunday) in its summer and 23:00 UTC in its winter."""
    rhythm = weekly(0, 9, 0, "Australia/Sydney")
    assert run(rhythm, utc(2026, 3, 27, 0, 0), 2) == [utc(2026, 3, 29, 22, 0), utc(2026, 4, 5, 23, 0)]


def test_monthly_on_a_day_every_month_has() -> None:
    """Monthly on the 28th fires every month, February included, at the local time."""
    rhythm = Rhythm(Period.MONTHLY, time(17, 30), "America/New_York", day=28)
    assert run(rhythm, utc(2026, 1, 1, 0, 0), 3) == [
        utc(2026, 1, 28, 22, 30),
        utc(2026, 2, 28, 22, 30),
        utc(2026, 3, 28, 21, 30),  # EDT from 8 March
    ]


def test_the_occurrence_itself_is_not_after_itself() -> None:
    """next_occurrence is strictly after its argument; latest_occurrence includes the boundary."""
    rhythm = weekly(0, 9, 0, "Europe/Berlin")
    monday = utc(2026, 3, 23, 8, 0)
    assert next_occurrence(rhythm, monday) == utc(2026, 3, 30, 7, 0)
    assert next_occurrence(rhythm, utc(2026, 3, 23, 7, 59)) == monday
    assert latest_occurrence(rhythm, monday) == monday
    assert latest_occurrence(rhythm, utc(2026, 3, 23, 7, 59)) == utc(2026, 3, 16, 8, 0)


def test_wall_clock_instant_in_a_gap_and_an_overlap() -> None:
    """The shared helper: a gap moves forward to its end, an overlap takes the first passing."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    assert wall_clock_instant(datetime(2026, 3, 29).date(), time(2, 0), berlin) == utc(2026, 3, 29, 1, 0)
    assert wall_clock_instant(datetime(2026, 10, 25).date(), time(2, 59), berlin) == utc(2026, 10, 25, 0, 59)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00", time(9)), ("9:30", time(9, 30)), ("17:05", time(17, 5)), ("9am", time(9)),
     ("5:30pm", time(17, 30)), ("12am", time(0)), ("12pm", time(12)), (" 7 PM ", time(19))],
)  # fmt: skip
def test_times_in_24_and_12_hour_forms(text: str, expected: time) -> None:
    """Both 24-hour times and 12-hour times with am/pm are understood."""
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "9", "13pm", "0am", "9:75", "noonish", ""])
def test_impossible_times_are_refused_with_a_reason(text: str) -> None:
    """Impossible or incomplete times raise RhythmError naming what was typed."""
    with pytest.raises(RhythmError):
        parse_time(text)


def test_rhythms_parse_from_command_words() -> None:
    """`weekly mon 9am` and `monthly 3rd 17:00` parse; wrong days, periods and zones say what is wrong."""
    assert parse_rhythm(["weekly", "Mon", "9am"], "Europe/Berlin") == weekly(0, 9, 0, "Europe/Berlin")
    assert parse_rhythm(["monthly", "3rd", "17:00"], "UTC") == Rhythm(Period.MONTHLY, time(17), "UTC", day=3)
    for words, tz, part, given in [
        (["weekly", "funday", "9am"], "UTC", RhythmPart.WEEKDAY, "funday"),
        (["monthly", "31", "9am"], "UTC", RhythmPart.MONTH_DAY, "31"),
        (["daily", "mon", "9am"], "UTC", RhythmPart.PERIOD, "daily"),
        (["weekly", "mon"], "UTC", RhythmPart.SHAPE, "weekly mon"),
        (["weekly", "mon", "9am"], "Mars/Olympus", RhythmPart.ZONE, "Mars/Olympus"),
        (["weekly", "t", "9am"], "UTC", RhythmPart.WEEKDAY, "t"),
        (["weekly", "mon", "25:00"], "UTC", RhythmPart.TIME, "25:00"),
    ]:
        with pytest.raises(RhythmError) as raised:
            parse_rhythm(words, tz)
        assert (raised.value.part, raised.value.given) == (part, given)
