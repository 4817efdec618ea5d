"""Button clicks: answers, Back, Pause, Resume, Restart and the model picker.

Each handler acks at once and hands the click to the background: the value is decoded into plain
ids, one service method runs, and the outcome is rendered for the person.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.services.outcomes import Completed, KeptPrivate, Outcome, Stale
from bot.services.team import trend_series
from bot.slack.blocks.checkins import build_checkin_reply
from bot.slack.blocks.commitments import build_commitment_reply
from bot.slack.blocks.notices import build_bad_request_message
from bot.slack.blocks.privacy import build_chart_sent, build_forgotten
from bot.slack.buttons import (
    ANSWER_PATTERN,
    BACK,
    COMMIT,
    COMMIT_PATTERN,
    COMMITMENT_ACTIONS,
    COMMITMENT_PATTERN,
    FORGET,
    KEEP_PRIVATE,
    LEADERBOARD_PATTERN,
    LEADERBOARD_SHARE,
    PAUSE,
    REPOST,
    RESTART,
    RESUME,
    SHARE_RESULT,
    SNOOZE,
    START_PATTERN,
    TREND_CHART,
    BadValue,
    decode_answer,
    decode_commit,
    decode_leaderboard,
    decode_repost,
    decode_restart,
    decode_result,
    decode_resume,
    decode_step,
)
from bot.slack.charts import Series, render, trend_alt_text, trend_png
from bot.slack.delivery import apologise, deliver
from bot.slack.deps import Deps, deps_of
from bot.slack.failures import report_failure
from bot.slack.listeners.commands import show_leaderboard
from bot.slack.listeners.home import refresh_team_homes
from bot.slack.payloads import BadPayload, ClickRequest, read_click

logger = logging.getLogger(__name__)

UseCase = Callable[[Deps, ClickRequest], Awaitable[Outcome]]
ClickWork = Callable[[Deps, ClickRequest], Awaitable[None]]


def _shows(use: UseCase) -> ClickWork:
    """The work of an assessment button: run ``use`` and show its outcome to the clicker."""

    async def work(deps: Deps, click: ClickRequest) -> None:
        outcome = await use(deps, click)
        await deliver(
            deps, outcome, click.target, from_click=click.in_ephemeral, channel_name=click.who.channel_name
        )
        if isinstance(outcome, Completed):  # the team changed: the Home tabs showing it follow
            deps.tasks.spawn(refresh_team_homes(deps, click.who), "home_refresh")

    return work


def _in_background(
    name: str, work: ClickWork, context: AsyncBoltContext, body: dict[str, Any], action: dict[str, Any]
) -> None:
    """Read the click (after the ack) and run it in the background; an unreadable one gets a note."""
    deps = deps_of(context)
    try:
        click = read_click(body, action)
    except BadPayload as bad:
        logger.warning("bad_payload", extra={"action": name, "reason": str(bad)})
        if bad.target is not None:
            deps.tasks.spawn(deps.messenger.reply(bad.target, build_bad_request_message()), "bad_payload")
        return
    if not deps.tasks.spawn(run_click(deps, name, work, click), f"click:{name}"):
        logger.warning("click_shed", extra={"action": name})  # backlog full; clicking again works


async def run_click(deps: Deps, name: str, work: ClickWork, click: ClickRequest) -> None:
    """Do one click's work; an unreadable value changes nothing, our failure gets an apology."""
    logger.info("click", extra={"action": name, "user": click.who.user_id, "value": click.value[:60]})
    try:
        try:
            await work(deps, click)
        except BadValue:
            await deliver(deps, Stale(), click.target, from_click=False)
    except Exception:
        report_failure(logger, "click_failed", extra={"action": name})
        await apologise(deps, click.target)


async def answer(deps: Deps, click: ClickRequest) -> Outcome:
    choice = decode_answer(click.value)
    step = choice.step
    return await deps.assessments.answer(
        click.who, step.assessment_id, step.revision, choice.question_id, choice.option_id
    )


async def back(deps: Deps, click: ClickRequest) -> Outcome:
    step = decode_step(click.value)
    return await deps.assessments.back(click.who, step.assessment_id, step.revision)


async def pause(deps: Deps, click: ClickRequest) -> Outcome:
    step = decode_step(click.value)
    return await deps.assessments.pause(click.who, step.assessment_id, step.revision)


async def resume(deps: Deps, click: ClickRequest) -> Outcome:
    return await deps.assessments.resume(click.who, decode_resume(click.value))


async def restart(deps: Deps, click: ClickRequest) -> Outcome:
    assessment_id, flow_id = decode_restart(click.value)
    return await deps.assessments.restart(click.who, assessment_id, flow_id)


async def start(deps: Deps, click: ClickRequest) -> Outcome:
    return await deps.assessments.start(click.who, click.value)


async def repost(deps: Deps, click: ClickRequest) -> Outcome:
    return await deps.outbox.repost(click.who, decode_repost(click.value))


async def share_result(deps: Deps, click: ClickRequest) -> Outcome:
    return await deps.assessments.share(click.who, decode_result(click.value))


async def keep_private(deps: Deps, click: ClickRequest) -> Outcome:
    return KeptPrivate(decode_result(click.value))


async def handle_answer_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """An answer: record it, then show the next question or share the result."""
    await ack()
    _in_background("answer", _shows(answer), context, body, action)


async def handle_back_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Back: show the previous question so its answer can be changed."""
    await ack()
    _in_background("back", _shows(back), context, body, action)


async def handle_pause_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Pause: stop for now; the answers stay saved."""
    await ack()
    _in_background("pause", _shows(pause), context, body, action)


async def handle_resume_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Resume (offered when starting again): bring back the assessment in progress."""
    await ack()
    _in_background("resume", _shows(resume), context, body, action)


async def handle_restart_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Restart: keep the unfinished assessment as history and start the chosen model afresh."""
    await ack()
    _in_background("restart", _shows(restart), context, body, action)


async def handle_model_chosen(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """A model from the picker: start it."""
    await ack()
    _in_background("start", _shows(start), context, body, action)


async def handle_repost_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Post again: queue a result that could not be posted and try it now."""
    await ack()
    _in_background("repost", _shows(repost), context, body, action)


async def handle_share_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _in_background("share_result", _shows(share_result), context, body, action)


async def handle_keep_private_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _in_background("keep_private", _shows(keep_private), context, body, action)


async def snooze(deps: Deps, click: ClickRequest) -> None:
    """Snooze: skip this channel's next check-in; the clicker is told privately."""
    if not click.value.isdigit():
        raise BadValue(click.value[:40])
    reply = await deps.checkins.snooze(click.who, int(click.value))
    await deps.messenger.reply(click.target, build_checkin_reply(reply))


async def handle_snooze_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Snooze on a check-in: skip the channel's next one."""
    await ack()
    _in_background("snooze", snooze, context, body, action)


async def leaderboard(deps: Deps, click: ClickRequest) -> None:
    """A model or "Most improved" on a leaderboard: that board, in place of the private one."""
    flow_id, improved = decode_leaderboard(click.value)
    await show_leaderboard(
        deps, click.who, click.target, flow_id, improved, post=False, replace=click.in_ephemeral
    )


async def handle_leaderboard_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _in_background("leaderboard", leaderboard, context, body, action)


async def share_leaderboard(deps: Deps, click: ClickRequest) -> None:
    """ "Share in channel" on a private leaderboard: post it for everyone, say so privately."""
    flow_id, improved = decode_leaderboard(click.value)
    await show_leaderboard(deps, click.who, click.target, flow_id, improved, post=True)


async def handle_leaderboard_shared(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _in_background("leaderboard_share", share_leaderboard, context, body, action)


async def forget(deps: Deps, click: ClickRequest) -> None:
    """ "Delete my data", confirmed: delete it, take down their result posts, say what went."""
    forgotten = await deps.export.forget(click.who)
    deleted = 0
    for channel_id, ts in forgotten.posts:
        if (await deps.messenger.delete_message(channel_id, ts)).error is None:
            deleted += 1
    await deps.messenger.reply(click.target, build_forgotten(forgotten, deleted), replace=click.in_ephemeral)


async def handle_forget_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _in_background("forget", forget, context, body, action)


async def trend_chart(deps: Deps, click: ClickRequest) -> None:
    """ "Trend chart" on a team view or the most improved: drawn, and sent to the clicker's DM."""
    who = click.who
    if click.value == "team":
        series = trend_series(await deps.team.status(who))
        flows = deps.team.flows
        title, max_level = "Team levels over time", max((f.max_level for f in flows.values()), default=4)
        what = "team trend chart"
    elif (
        click.value.startswith("improved|")
        and click.value.removeprefix("improved|") in deps.leaderboard.flows
    ):
        flow = deps.leaderboard.flows[click.value.removeprefix("improved|")]
        series = await deps.leaderboard.improved_trends(who, flow.id)
        title, max_level, what = f"Most improved teams: {flow.title}", flow.max_level, "most improved chart"
    else:
        raise BadValue(click.value[:40])
    lines = [Series(name, points) for name, points in series if points]
    error: str | None = "no_data" if not any(len(s.points) > 1 for s in lines) else None
    if error is None:
        sent = await deps.messenger.send_file_to_person(
            who.user_id,
            content=await render(partial(trend_png, title, lines, max_level)),
            filename="maturity-trend.png",
            title=title,
            alt_text=trend_alt_text(title, lines),
            initial_comment=f"{title}, as of today (<#{who.channel_id}>).",
        )
        error = sent.error
    await deps.messenger.reply(click.target, build_chart_sent(error, what))


async def handle_trend_chart_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _in_background("trend_chart", trend_chart, context, body, action)


async def commitment(deps: Deps, click: ClickRequest) -> None:
    """Commit to a result's step, or update a commitment; the clicker is answered privately."""
    if click.action_id.startswith(f"{COMMIT}:"):
        result_id, step_index = decode_commit(click.value)
        reply = await deps.commitments.commit(click.who, result_id, step_index)
    else:
        if not click.value.isdigit():
            raise BadValue(click.value[:40])
        reply = await deps.commitments.update(
            click.who, int(click.value), COMMITMENT_ACTIONS[click.action_id]
        )
    await deps.messenger.reply(click.target, build_commitment_reply(reply))


async def handle_commitment_clicked(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Commit to a step (on a result) or Done / Still on it / Drop (on a check-in)."""
    await ack()
    _in_background("commitment", commitment, context, body, action)


def register(app: AsyncApp) -> None:
    app.action(ANSWER_PATTERN)(handle_answer_clicked)
    app.action(BACK)(handle_back_clicked)
    app.action(PAUSE)(handle_pause_clicked)
    app.action(RESUME)(handle_resume_clicked)
    app.action(RESTART)(handle_restart_clicked)
    app.action(START_PATTERN)(handle_model_chosen)
    app.action(REPOST)(handle_repost_clicked)
    app.action(SHARE_RESULT)(handle_share_clicked)
    app.action(KEEP_PRIVATE)(handle_keep_private_clicked)
    app.action(SNOOZE)(handle_snooze_clicked)
    app.action(COMMIT_PATTERN)(handle_commitment_clicked)
    app.action(COMMITMENT_PATTERN)(handle_commitment_clicked)
    app.action(LEADERBOARD_PATTERN)(handle_leaderboard_clicked)
    app.action(LEADERBOARD_SHARE)(handle_leaderboard_shared)
    app.action(FORGET)(handle_forget_clicked)
    app.action(TREND_CHART)(handle_trend_chart_clicked)
