"""Check-in messages: the schedule (shown, set, stopped, snoozed), its announcement, and the check-in."""

from __future__ import annotations

from datetime import datetime
from typing import Any, assert_never
from zoneinfo import ZoneInfo

from bot.services.checkins import (
    CheckinPost,
    NoSchedule,
    ScheduleAnnouncement,
    ScheduleSet,
    ScheduleShown,
    ScheduleStopped,
    ScheduleView,
    Snoozed,
)
from bot.services.nudges import NudgePost, NudgesSet
from bot.services.recurrence import WEEKDAYS, RhythmError, RhythmPart
from bot.slack.blocks.commitments import commitment_blocks
from bot.slack.blocks.kit import actions, button, context, escape, header, message, section
from bot.slack.blocks.messages import COMMAND
from bot.slack.buttons import RESUME, SNOOZE, START
from flows.schema import Flow

SYNTAX = (
    f"`{COMMAND} checkin weekly <mon..sun> <time>` or `{COMMAND} checkin monthly <1-28> <time>`, "
    f"for example `{COMMAND} checkin weekly mon 9:30` or `{COMMAND} checkin monthly 1 5pm`; "
    f"`{COMMAND} checkin off` stops it."
)

PAUSE_REASONS = {
    "not_in_channel": "I was removed from this channel. Invite me back with `/invite @maturity-bot` and set "
    "the schedule again.",
    "channel_not_found": "I can't see this channel any more. Invite me back and set the schedule again.",
    "is_archived": "This channel was archived.",
    "restricted_action": "This workspace doesn't let apps post here.",
}


def rhythm_words(view: ScheduleView) -> str:
    """ "every Monday at 09:00 (Europe/Berlin)" / "on the 3rd of every month at 17:00 (UTC)"."""
    if view.weekday is not None:
        when = f"every {WEEKDAYS[view.weekday].capitalize()}"
    else:
        day = view.day or 1
        suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        when = f"on the {day}{suffix} of every month"
    return f"{when} at {view.at} ({escape(view.tz)})"


def local_time(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y, %H:%M")


def _status_line(view: ScheduleView) -> str:
    if view.status == "paused":
        reason = PAUSE_REASONS.get(
            view.paused_reason or "", f"Slack answered `{escape(view.paused_reason or '')}`."
        )
        return f":double_vertical_bar: Paused: {reason}"
    if view.status == "off":
        return f"Turned off. Set it again with {SYNTAX}"
    lines = []
    if view.next_due_at is not None:
        lines.append(f"Next check-in: *{local_time(view.next_due_at, view.tz)}* ({escape(view.tz)}).")
    if (
        view.snoozed_until is not None
        and view.next_due_at is not None
        and view.next_due_at <= view.snoozed_until
    ):
        lines.append("That one is snoozed; the one after it will be posted.")
    return " ".join(lines)


def build_schedule_message(shown: ScheduleShown) -> dict[str, Any]:
    """`/maturity checkin`: the schedule, its time zone and the next run, or why it is paused."""
    if shown.schedule is None:
        text = f"This channel has no check-ins yet. Set a rhythm with {SYNTAX}"
        return message(text, [section(text)])
    view = shown.schedule
    text = (
        f":calendar: Check-ins here: *{rhythm_words(view)}*, set by <@{view.set_by}>.\n{_status_line(view)}"
    )
    return message(text, [section(text)])


def build_schedule_set_message(done: ScheduleSet) -> dict[str, Any]:
    text = f":white_check_mark: Check-ins set: *{rhythm_words(done.schedule)}*. {_status_line(done.schedule)}"
    return message(text, [section(text)])


def build_schedule_stopped_message(done: ScheduleStopped) -> dict[str, Any]:
    text = f"Check-ins here are off (they were {rhythm_words(done.schedule)})."
    return message(text, [section(text)])


def build_no_schedule_message(_: NoSchedule) -> dict[str, Any]:
    text = f"This channel has no check-ins to change. Set a rhythm with {SYNTAX}"
    return message(text, [section(text)])


def build_snoozed_message(done: Snoozed) -> dict[str, Any]:
    text = (
        f":zzz: The check-in of {local_time(done.skipped, done.schedule.tz)} ({escape(done.schedule.tz)}) "
        "is snoozed; the next one after it will be posted as usual."
    )
    return message(text, [section(text)])


_PARTS = {
    RhythmPart.SHAPE: "I need a rhythm, a day and a time.",
    RhythmPart.PERIOD: "`{given}` isn't `weekly` or `monthly`.",
    RhythmPart.WEEKDAY: "`{given}` isn't a day of the week (mon, tue, wed, thu, fri, sat, sun).",
    RhythmPart.MONTH_DAY: "`{given}` isn't a day of the month from 1 to 28 (every month has those).",
    RhythmPart.TIME: "`{given}` isn't a time like 09:00, 17:30, 9am or 5:30pm.",
    RhythmPart.ZONE: "Your Slack time zone `{given}` isn't one I know; set it in your Slack profile.",
}


def build_bad_schedule_message(error: RhythmError) -> dict[str, Any]:
    """The right syntax and an example, never the bare help."""
    text = f"{_PARTS[error.part].format(given=escape(error.given))} Use {SYNTAX}"
    return message(text, [section(text)])


def build_announcement_message(announcement: ScheduleAnnouncement) -> dict[str, Any]:
    """Posted in the channel when someone sets, changes or stops its check-ins."""
    view, who = announcement.schedule, f"<@{announcement.user_id}>"
    match announcement.action:
        case "off":
            text = f":calendar: {who} turned off this channel's maturity check-ins."
        case "changed":
            text = f":calendar: {who} changed this channel's maturity check-ins to *{rhythm_words(view)}*."
        case _:
            text = f":calendar: {who} set maturity check-ins for this channel: *{rhythm_words(view)}*."
    if announcement.action != "off" and view.next_due_at is not None:
        text += f" The first one is on {local_time(view.next_due_at, view.tz)}."
    return message(text, [section(text)])


def _change(change: float | None) -> str:
    if change is None:
        return "first check-in with results"
    if abs(change) < 0.005:
        return "no change since the last check-in"
    arrow = ":arrow_up:" if change > 0 else ":arrow_down:"
    return f"{arrow} {change:+.2f} since the last check-in"


def build_checkin_message(post: CheckinPost, flows: dict[str, Flow]) -> dict[str, Any]:
    """The check-in posted to the channel: the team per model, who is under way, and buttons."""
    team = post.team
    title = "Maturity check-in" + (" (late: I was offline at its time)" if post.late else "")
    blocks: list[dict[str, Any]] = [header(title)]
    if not team.models:
        blocks.append(
            section(
                "Nobody here has a maturity result yet. Take an assessment: it takes a few minutes, "
                "only you see the questions, and the result with next steps is posted here."
            )
        )
    for model in team.models[:10]:
        flow = flows.get(model.flow_id)
        title_text = escape(flow.title) if flow else f"`{escape(model.flow_id)}`"
        level_name = escape(flow.level(model.level).name) if flow and model.level <= flow.max_level else ""
        lines = [
            f"*{title_text}*: team level *{model.level} {level_name}* (median score {model.score:.2f}, "
            f"{len(model.members)} member{'s' if len(model.members) != 1 else ''} with a result); "
            f"{_change(model.change)}"
        ]
        if model.weakest and flow is not None:
            names = {c.id: c.name for c in flow.categories}
            weakest = ", ".join(f"{escape(names.get(c, c))} at level {level}" for c, level in model.weakest)
            lines.append(f"Weakest: {weakest}")
        blocks.append(section("\n".join(lines)))
    if team.in_progress:
        people = ", ".join(f"<@{user}>" for user, _flow in team.in_progress[:20])
        blocks.append(context(f":hourglass_flowing_sand: Under way: {people}"))
    if team.stale:
        people = ", ".join(f"<@{user}>" for user in team.stale[:20])
        blocks.append(
            context(f":hourglass: Results older than two check-in periods: {people}. Time to retake?")
        )
    blocks += commitment_blocks(post)
    used = [m.flow_id for m in team.models if m.flow_id in flows] or sorted(flows)
    buttons = [
        button(("Retake " if team.models else "Take ") + flows[f].title, f"{START}:{f}", f) for f in used[:4]
    ]
    buttons.append(button("Snooze next check-in", SNOOZE, str(post.schedule.schedule_id)))
    blocks.append(actions(f"checkin:{post.run_id}", buttons))
    blocks.append(context(f"Check-ins {rhythm_words(post.schedule)}. `{COMMAND} checkin` to see or change."))
    summary = ", ".join(f"{m.flow_id} level {m.level}" for m in team.models) or "no results yet"
    return message(f"Maturity check-in: {summary}", blocks)


CheckinReply = ScheduleShown | ScheduleSet | ScheduleStopped | NoSchedule | Snoozed


def build_checkin_reply(reply: CheckinReply) -> dict[str, Any]:
    """The person's reply to a check-in command or button; every kind has its message."""
    match reply:
        case ScheduleShown():
            return build_schedule_message(reply)
        case ScheduleSet():
            return build_schedule_set_message(reply)
        case ScheduleStopped():
            return build_schedule_stopped_message(reply)
        case NoSchedule():
            return build_no_schedule_message(reply)
        case Snoozed():
            return build_snoozed_message(reply)
        case _:
            assert_never(reply)


def build_nudge_message(nudge: NudgePost, flows: dict[str, Flow]) -> dict[str, Any]:
    """The private reminder to resume a stalled assessment, with a Resume button."""
    flow = flows.get(nudge.flow_id)
    title = escape(flow.title) if flow else f"`{escape(nudge.flow_id)}`"
    days = max(1, (datetime.now(nudge.untouched_since.tzinfo) - nudge.untouched_since).days)
    text = (
        f":wave: Your *{title}* assessment here has been waiting for {days} days. Pick it up where you "
        f"left off? (`{COMMAND} nudges off` stops these reminders.)"
    )
    return message(
        text,
        [
            section(text),
            actions(
                f"nudge:{nudge.assessment_id}",
                [button("Resume", RESUME, str(nudge.assessment_id), "primary")],
            ),
        ],
    )


def build_nudges_set_message(done: NudgesSet) -> dict[str, Any]:
    text = (
        "Nudges are on: a check-in reminds you privately of an assessment left waiting for 3 days."
        if done.on
        else f"Nudges are off: check-ins won't remind you of unfinished assessments (`{COMMAND} nudges on`)."
    )
    return message(text, [section(text)])


def build_nudges_usage_message() -> dict[str, Any]:
    text = (
        f"Use `{COMMAND} nudges off` to stop reminders of unfinished assessments, "
        f"`{COMMAND} nudges on` to get them."
    )
    return message(text, [section(text)])
