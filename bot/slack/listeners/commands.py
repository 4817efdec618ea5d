"""The `/maturity` slash command, routed by a table of subcommands that also writes the help."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.services.outcomes import Who
from bot.services.recurrence import RhythmError, parse_rhythm
from bot.slack.blocks.checkins import (
    CheckinReply,
    build_bad_schedule_message,
    build_checkin_reply,
    build_nudges_set_message,
    build_nudges_usage_message,
)
from bot.slack.blocks.leaderboard import (
    build_leaderboard_message,
    build_leaderboard_shared,
    build_leaderboard_usage,
)
from bot.slack.blocks.messages import COMMAND, HelpEntry, build_help_message
from bot.slack.blocks.notices import build_bad_request_message
from bot.slack.blocks.privacy import build_export_reply, build_forget_prompt, build_forget_usage
from bot.slack.blocks.team import build_team_status_message
from bot.slack.delivery import apologise, deliver
from bot.slack.deps import Deps, deps_of
from bot.slack.failures import report_failure
from bot.slack.messenger import ReplyTarget
from bot.slack.payloads import BadPayload, CommandRequest, read_command
from models.tables import utcnow

logger = logging.getLogger(__name__)

Run = Callable[[Deps, CommandRequest], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    """One row of the table: what the person types, what it does, and the function that does it."""

    name: str
    usage: str  # how it is typed after the command, shown in the help
    summary: str  # what it does, shown in the help (mrkdwn; ``{models}`` lists the installed models)
    run: Run
    aliases: tuple[str, ...] = ()


async def run_start(deps: Deps, request: CommandRequest) -> None:
    """`start [model]`: begin an assessment, or offer the models when none (or an unknown one) is named."""
    model = request.args[0] if request.args else None
    await deliver(deps, await deps.assessments.start(request.who, model), request.target, from_click=False)


async def run_resume(deps: Deps, request: CommandRequest) -> None:
    """`resume`: bring back the current question."""
    await deliver(deps, await deps.assessments.resume(request.who), request.target, from_click=False)


async def run_status(deps: Deps, request: CommandRequest) -> None:
    """`status`: the assessment in progress and the latest results in this channel; `status team`:
    the channel's team view."""
    args = [arg.lower() for arg in request.args]
    if args == ["team"]:
        status = await deps.team.status(request.who)
        await deps.messenger.reply(request.target, build_team_status_message(status, deps.team.flows))
        return
    await deliver(deps, await deps.assessments.status(request.who), request.target, from_click=False)


async def run_help(deps: Deps, request: CommandRequest) -> None:
    """`help`, and anything unrecognised: the commands, generated from the table."""
    known = request.subcommand in ROUTES
    message = build_help_message(help_entries(deps), unknown=None if known else request.subcommand[:30])
    await deps.messenger.reply(request.target, message)


async def run_checkin(deps: Deps, request: CommandRequest) -> None:
    """`checkin [weekly <day> <time> | monthly <day> <time> | off]`: show, set or stop the rhythm."""
    args, who = request.args, request.who
    reply: CheckinReply
    if not args:
        reply = await deps.checkins.show(who)
    elif args[0].lower() == "off" and len(args) == 1:
        reply = await deps.checkins.stop(who)
    else:
        # Times are the setter's own: their Slack time zone (UTC when Slack cannot say).
        person = await deps.messenger.user_info(who.user_id)
        try:
            rhythm = parse_rhythm(args, (person.tz if person else None) or "UTC")
        except RhythmError as error:
            await deps.messenger.reply(request.target, build_bad_schedule_message(error))
            return
        reply = await deps.checkins.set(who, rhythm)
    await deps.messenger.reply(request.target, build_checkin_reply(reply))


async def run_nudges(deps: Deps, request: CommandRequest) -> None:
    """`nudges on|off`: whether check-ins remind this person of a stalled assessment."""
    choice = request.args[0].lower() if len(request.args) == 1 else ""
    if choice not in {"on", "off"}:
        await deps.messenger.reply(request.target, build_nudges_usage_message())
        return
    done = await deps.nudges.set(request.who, on=choice == "on")
    await deps.messenger.reply(request.target, build_nudges_set_message(done))


async def run_leaderboard(deps: Deps, request: CommandRequest) -> None:
    """`leaderboard [model] [improved] [post]`: the workspace's teams ranked, privately or in the channel."""
    flow_id: str | None = None
    improved = post = False
    for word in (arg.lower() for arg in request.args):
        if word in deps.leaderboard.flows and flow_id is None:
            flow_id = word
        elif word in {"improved", "most-improved", "progress"}:
            improved = True
        elif word in {"post", "share"}:
            post = True
        else:
            await deps.messenger.reply(request.target, build_leaderboard_usage(word))
            return
    await show_leaderboard(deps, request.who, request.target, flow_id, improved, post=post)


async def show_leaderboard(
    deps: Deps,
    who: Who,
    target: ReplyTarget,
    flow_id: str | None,
    improved: bool,
    *,
    post: bool,
    replace: bool = False,
) -> None:
    """Show the leaderboard to the person, or post it in the channel (telling them only if that fails)."""
    board = await deps.leaderboard.show(who, flow_id, improved=improved)
    flows = deps.leaderboard.flows
    if not post:
        await deps.messenger.reply(
            target, build_leaderboard_message(board, flows, who.channel_id), replace=replace
        )
        return
    sent = await deps.messenger.post_message(
        who.channel_id, build_leaderboard_message(board, flows, who.channel_id, shared=True)
    )
    if sent.error is not None:
        await deps.messenger.reply(target, build_leaderboard_shared(who.channel_id, sent.error))


async def run_export(deps: Deps, request: CommandRequest) -> None:
    """`export`: a CSV of this channel's completed results, sent to the person in a DM."""
    who = request.who
    count, content = await deps.export.channel_csv(who)
    error: str | None = None
    if count:
        day = utcnow().strftime("%Y-%m-%d")
        sent = await deps.messenger.send_file_to_person(
            who.user_id,
            content=content.encode("utf-8"),
            filename=f"maturity-results-{who.channel_name or who.channel_id}-{day}.csv",
            title=f"Maturity results of #{who.channel_name or who.channel_id}, {day}",
            alt_text=f"A CSV file of {count} completed maturity assessments",
            initial_comment=f"The completed maturity results of <#{who.channel_id}>, as you asked.",
        )
        error = sent.error
    await deps.messenger.reply(request.target, build_export_reply(count, error))


async def run_forget(deps: Deps, request: CommandRequest) -> None:
    """`forget me`: after a confirm dialog, delete the person's answers, results and commitments."""
    if [arg.lower() for arg in request.args] != ["me"]:
        await deps.messenger.reply(request.target, build_forget_usage())
        return
    await deps.messenger.reply(request.target, build_forget_prompt())


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "start",
        "start <model>",
        "start an assessment ({models}); `" + COMMAND + " start` lets you pick",
        run_start,
    ),
    Subcommand("resume", "resume", "bring back your current question", run_resume, aliases=("continue",)),
    Subcommand(
        "status",
        "status [team]",
        "your assessment in progress and latest results in this channel; `team`: this channel's team view",
        run_status,
    ),
    Subcommand(
        "checkin",
        "checkin [weekly <day> <time> | monthly <1-28> <time> | off]",
        "see or set this channel's check-ins, in your time zone",
        run_checkin,
    ),
    Subcommand(
        "leaderboard",
        "leaderboard [model] [improved] [post]",
        "the workspace's teams ranked by level (or by progress); `post` shares it here",
        run_leaderboard,
    ),
    Subcommand("export", "export", "a CSV of this channel's completed results, sent to you", run_export),
    Subcommand(
        "forget",
        "forget me",
        "delete your answers, results and commitments everywhere (asks first)",
        run_forget,
    ),
    Subcommand(
        "nudges", "nudges on|off", "whether check-ins remind you of an unfinished assessment", run_nudges
    ),
    Subcommand("help", "help", "this message", run_help),
)

ROUTES: dict[str, Subcommand] = {name: sub for sub in SUBCOMMANDS for name in (sub.name, *sub.aliases)}


def help_entries(deps: Deps) -> list[HelpEntry]:
    models = ", ".join(f"`{flow.id}`" for flow in deps.assessments.sorted_flows())
    return [HelpEntry(sub.usage, sub.summary.format(models=models)) for sub in SUBCOMMANDS]


async def handle_maturity_command(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
    """Acknowledge `/maturity` at once, then run its subcommand in the background."""
    await ack()
    deps = deps_of(context)
    try:
        request = read_command(command)
    except BadPayload as bad:
        logger.warning("bad_payload", extra={"reason": str(bad)})
        if bad.target is not None:
            deps.tasks.spawn(deps.messenger.reply(bad.target, build_bad_request_message()), "bad_payload")
        return
    deps.tasks.spawn(run_command(deps, request), "command")


async def run_command(deps: Deps, request: CommandRequest) -> None:
    """Route the request to its subcommand; our own failures get an apology, never silence."""
    sub = ROUTES.get(request.subcommand)
    logger.info(
        "command",
        extra={
            "sub": request.subcommand[:20],
            "user": request.who.user_id,
            "channel": request.who.channel_id,
        },
    )
    try:
        await (sub.run if sub else run_help)(deps, request)
    except Exception:
        report_failure(logger, "command_failed", extra={"sub": request.subcommand[:20]})
        await apologise(deps, request.target)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(handle_maturity_command)
