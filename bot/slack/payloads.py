"""Reading Slack's payloads into plain values: who asked, where to reply, what they typed or clicked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.services.outcomes import Who
from bot.slack.messenger import ReplyTarget


@dataclass(frozen=True)
class CommandRequest:
    """`/maturity <subcommand> <args...>` from one person in one channel."""

    who: Who
    target: ReplyTarget
    subcommand: str  # lowercased; "help" when the text was empty
    args: list[str]


@dataclass(frozen=True)
class ClickRequest:
    """A click on one of the app's buttons (or a choice in one of its selects)."""

    who: Who
    target: ReplyTarget
    action_id: str
    value: str


def read_command(command: dict[str, Any]) -> CommandRequest:
    who = Who(
        team_id=command.get("team_id", ""),
        channel_id=command.get("channel_id", ""),
        user_id=command.get("user_id", ""),
        channel_name=command.get("channel_name"),
        user_name=command.get("user_name"),
    )
    words = (command.get("text") or "").split()
    return CommandRequest(
        who,
        ReplyTarget(who.channel_id, who.user_id, command.get("response_url") or None),
        words[0].lower() if words else "help",
        words[1:],
    )


def read_click(body: dict[str, Any], action: dict[str, Any]) -> ClickRequest:
    user = body.get("user") or {}
    team = body.get("team") or {}
    channel = body.get("channel") or {}
    container = body.get("container") or {}
    who = Who(
        team_id=team.get("id") or user.get("team_id", ""),
        channel_id=channel.get("id") or container.get("channel_id", ""),
        user_id=user.get("id", ""),
        channel_name=channel.get("name"),
        user_name=user.get("username") or user.get("name"),
    )
    value = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    return ClickRequest(
        who,
        ReplyTarget(who.channel_id, who.user_id, body.get("response_url") or None),
        str(action.get("action_id", "")),
        str(value),
    )
