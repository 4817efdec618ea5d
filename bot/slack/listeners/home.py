"""The App Home tab: published when opened, refreshed when the person's teams change, and its
Start (pick a channel) and Resume elements, which ask the question in that channel privately."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.services.home import HomeNotice, NotInChannel, StartedIn
from bot.services.outcomes import Who
from bot.slack.blocks.home import build_home_view
from bot.slack.buttons import HOME_RESUME, HOME_START, HOME_START_PATTERN
from bot.slack.delivery import deliver
from bot.slack.deps import Deps, deps_of
from bot.slack.failures import report_failure
from bot.slack.messenger import ReplyTarget
from bot.slack.payloads import BadPayload, HomeClick, read_home_click

logger = logging.getLogger(__name__)


async def publish_home(deps: Deps, team_id: str, user_id: str, notice: HomeNotice | None = None) -> None:
    view = await deps.home.view(team_id, user_id, notice)
    sent = await deps.messenger.publish_home(user_id, build_home_view(view, deps.home.flows))
    if sent.error is not None:
        logger.warning("home_not_published", extra={"user": user_id, "error": sent.error})


async def refresh_team_homes(deps: Deps, who: Who) -> None:
    """After a result in ``who``'s channel: their Home tab and their teammates' (those who look)."""
    try:
        people = dict.fromkeys([who.user_id, *await deps.home.watchers(who)])
        for user_id in people:
            await publish_home(deps, who.team_id, user_id)
    except Exception:
        report_failure(logger, "home_refresh_failed")


async def handle_app_home_opened(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Someone opened the app's Home tab (Bolt acknowledges events itself): show their dashboard."""
    if event.get("tab") != "home":
        return
    user_id, team_id = event.get("user"), body.get("team_id")
    if not isinstance(user_id, str) or not isinstance(team_id, str):
        logger.warning("bad_payload", extra={"reason": "app_home_opened without user or team"})
        return
    deps = deps_of(context)

    async def opened() -> None:
        try:
            await deps.home.opened(team_id, user_id)
            await publish_home(deps, team_id, user_id)
        except Exception:
            report_failure(logger, "home_failed")

    deps.tasks.spawn(opened(), "home")


async def _can_ask_in(deps: Deps, click: HomeClick, channel_id: str) -> str | None:
    """The channel's name when the bot can ask questions there; otherwise the Home tab says why."""
    channel = await deps.messenger.channel_info(channel_id) if channel_id else None
    if channel is None or not channel.is_member or channel.is_archived:
        await publish_home(deps, click.team_id, click.user_id, NotInChannel(channel_id or "?"))
        return None
    return channel.name


async def start_from_home(deps: Deps, click: HomeClick) -> None:
    """A channel picked for a model: the first question, privately, in that channel."""
    flow_id, channel_id = click.action_id.removeprefix(f"{HOME_START}:"), click.value
    name = await _can_ask_in(deps, click, channel_id)
    if name is None:
        return
    who = Who(click.team_id, channel_id, click.user_id, name or None, click.user_name)
    outcome = await deps.assessments.start(who, flow_id)
    await deliver(deps, outcome, ReplyTarget(channel_id, click.user_id, None), from_click=False)
    await publish_home(deps, click.team_id, click.user_id, StartedIn(channel_id, flow_id))


async def resume_from_home(deps: Deps, click: HomeClick) -> None:
    """Resume on the Home tab: the current question, privately, in the assessment's channel."""
    mine = Who(click.team_id, "", click.user_id)
    underway = await deps.home.underway(mine, int(click.value)) if click.value.isdigit() else None
    if underway is None:  # finished or restarted meanwhile: the refreshed tab shows what is true now
        await publish_home(deps, click.team_id, click.user_id)
        return
    name = await _can_ask_in(deps, click, underway.channel_id)
    if name is None:
        return
    who = Who(click.team_id, underway.channel_id, click.user_id, name or None, click.user_name)
    outcome = await deps.assessments.resume(who)
    await deliver(deps, outcome, ReplyTarget(underway.channel_id, click.user_id, None), from_click=False)
    await publish_home(deps, click.team_id, click.user_id, StartedIn(underway.channel_id, underway.flow_id))


HomeWork = Callable[[Deps, HomeClick], Awaitable[None]]


def _home_click(
    name: str, work: HomeWork, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    try:
        click = read_home_click(body, action)
    except BadPayload as bad:
        logger.warning("bad_payload", extra={"action": name, "reason": str(bad)})
        return

    async def run() -> None:
        logger.info("home_click", extra={"action": name, "user": click.user_id})
        try:
            await work(deps, click)
        except Exception:
            report_failure(logger, "home_click_failed", extra={"action": name})

    deps.tasks.spawn(run(), f"home:{name}")


async def handle_home_start(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _home_click("start", start_from_home, body, action, context)


async def handle_home_resume(
    ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
) -> None:
    await ack()
    _home_click("resume", resume_from_home, body, action, context)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
    app.action(HOME_START_PATTERN)(handle_home_start)
    app.action(HOME_RESUME)(handle_home_resume)
