"""Reading Slack's payloads into plain values: who asked, where to reply, what they typed or clicked.

Slack sends well-formed payloads; anything else (a forged or garbled request signed with a leaked
secret, a test harness, a future Slack change) is refused here, with a short reason, before it can
reach Bolt's routing or the services: :func:`envelope_problem` for the fields Bolt reads,
:class:`BadPayload` from :func:`read_command` / :func:`read_click` for what the app itself needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.services.outcomes import Who
from bot.slack.messenger import ReplyTarget

# Slack ids: upper-case letters and digits, a prefix letter by kind. The tables store them in
# String(32), so longer ones are refused rather than cut.
TEAM_ID = re.compile(r"[TE][A-Z0-9]{1,31}")
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,31}")
USER_ID = re.compile(r"[UWB][A-Z0-9]{1,31}")
NAME_LENGTH = 100  # the tables' String(100); PostgreSQL refuses longer, SQLite would keep them
RESPONSE_URL = re.compile(r"https?://[^\s<>|]{1,2000}")

# The fields Bolt reads (wherever they appear) to route a request and fill its context, with the
# types Slack sends; Bolt raises on other types, which would turn a bad request into a 500.
_STRING_FIELDS = (
    "type",
    "subtype",
    "command",
    "callback_id",
    "action_id",
    "block_id",
    "team_id",
    "channel_id",
    "user_id",
    "enterprise_id",
    "response_url",
    "function_execution_id",
)
_PARTY_FIELDS = ("user", "team", "channel", "enterprise")  # an object, or its id as a string
_OBJECT_FIELDS = ("container", "view", "event", "message", "previous_message", "item", "assistant_thread")
_OBJECT_LIST_FIELDS = ("actions", "authorizations", "response_urls")
_NESTED_FIELDS = ("event", "message", "previous_message", "item", "assistant_thread")
_REQUIRED_STRINGS = {"event": ("type",), "view": ("type", "callback_id")}  # Bolt indexes these
_MAX_DEPTH = 3  # body -> event -> message -> item is as deep as Bolt looks


class BadPayload(ValueError):
    """A payload the app cannot act on; ``str()`` is a short reason for the log.

    ``target`` is where the person can still be told, when the payload had a usable response_url.
    """

    def __init__(self, reason: str, target: ReplyTarget | None = None):
        super().__init__(reason)
        self.target = target


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
    # Clicked in a message only this person sees (a question), which a reply may replace; a click in
    # a channel message (a check-in, a result) must never replace what everyone sees.
    in_ephemeral: bool = True


def _object_problem(data: dict[str, Any], depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return None  # deeper than Bolt reads; stopping also bounds the recursion
    for key in _STRING_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key} is not a string"
    for key in _PARTY_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], dict | str):
            return f"{key} is neither an object nor an id"
    for key in _OBJECT_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} is not an object"
    for key in _OBJECT_LIST_FIELDS:
        items = data.get(key)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return f"{key} is not a list of objects"
        for item in items:
            if problem := _object_problem(item, depth + 1):
                return f"{key}: {problem}"
    for key, required in _REQUIRED_STRINGS.items():
        part = data.get(key)
        missing = [r for r in required if not isinstance(part.get(r), str)] if isinstance(part, dict) else []
        if missing:
            return f"{key} without {missing[0]}"
    for key in _NESTED_FIELDS:
        if isinstance(data.get(key), dict) and (problem := _object_problem(data[key], depth + 1)):
            return f"{key}: {problem}"
    return None


def envelope_problem(body: dict[str, Any]) -> str | None:
    """Why Bolt could not route ``body`` without raising, or None when it can."""
    if problem := _object_problem(body, 0):
        return problem
    if body.get("type") in ("block_actions", "interactive_message"):
        actions = body.get("actions")
        if not actions:
            return "an interaction without actions"
        if body["type"] == "block_actions" and not all(isinstance(a.get("action_id"), str) for a in actions):
            return "an action without action_id"
    return None


def _slack_id(value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"bad {what} id")
    return value


def clean_name(value: object) -> str | None:
    """A display name as the tables can hold it on every database: no NUL, at most 100 characters."""
    if not isinstance(value, str):
        return None
    # PostgreSQL refuses NUL bytes and lone surrogates (from JSON escapes) that SQLite would store.
    name = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    return name[:NAME_LENGTH] or None


def usable_response_url(value: object) -> str | None:
    """The response_url when it looks like one (http(s), no spaces or mrkdwn brackets), else None."""
    return value if isinstance(value, str) and RESPONSE_URL.fullmatch(value) else None


def _who(team: object, channel: object, user: object, channel_name: object, user_name: object) -> Who:
    return Who(
        team_id=_slack_id(team, TEAM_ID, "team"),
        channel_id=_slack_id(channel, CHANNEL_ID, "channel"),
        user_id=_slack_id(user, USER_ID, "user"),
        channel_name=clean_name(channel_name),
        user_name=clean_name(user_name),
    )


def _fallback_target(response_url: str | None) -> ReplyTarget | None:
    # The ids were unusable, so only the response_url can still reach the person.
    return ReplyTarget("", "", response_url) if response_url else None


def read_command(command: dict[str, Any]) -> CommandRequest:
    """The command's ids, names, reply target and words; :class:`BadPayload` when unusable."""
    response_url = usable_response_url(command.get("response_url"))
    text = command.get("text") or ""
    try:
        if not isinstance(text, str):
            raise ValueError("text is not a string")
        who = _who(
            command.get("team_id"),
            command.get("channel_id"),
            command.get("user_id"),
            command.get("channel_name"),
            command.get("user_name"),
        )
    except ValueError as exc:
        raise BadPayload(f"command: {exc}", _fallback_target(response_url)) from None
    words = text.split()
    return CommandRequest(
        who,
        ReplyTarget(who.channel_id, who.user_id, response_url),
        words[0].lower() if words else "help",
        words[1:],
    )


def _part(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not an object")
    return value


def read_click(body: dict[str, Any], action: dict[str, Any]) -> ClickRequest:
    """The clicker's ids, names, reply target and the action's id and value; :class:`BadPayload`
    when unusable. Team and channel are taken from wherever Slack put them."""
    response_url = usable_response_url(body.get("response_url"))
    try:
        user, team = _part(body, "user"), _part(body, "team")
        channel, container = _part(body, "channel"), _part(body, "container")
        who = _who(
            team.get("id") or user.get("team_id"),
            channel.get("id") or container.get("channel_id"),
            user.get("id"),
            channel.get("name"),
            user.get("username") or user.get("name"),
        )
        action_id = action.get("action_id")
        if not isinstance(action_id, str) or not action_id:
            raise ValueError("action without action_id")
    except ValueError as exc:
        raise BadPayload(f"click: {exc}", _fallback_target(response_url)) from None
    value = action.get("value")
    selected = action.get("selected_option")
    if not (isinstance(value, str) and value) and isinstance(selected, dict):
        value = selected.get("value")
    return ClickRequest(
        who,
        ReplyTarget(who.channel_id, who.user_id, response_url),
        action_id,
        value if isinstance(value, str) else "",
        in_ephemeral=container.get("is_ephemeral") is True,
    )


@dataclass(frozen=True)
class HomeClick:
    """A click on the Home tab: no channel and no response_url, only the person and the element."""

    team_id: str
    user_id: str
    user_name: str | None
    action_id: str
    value: str  # a button's value, or the conversation a conversations_select picked


def read_home_click(body: dict[str, Any], action: dict[str, Any]) -> HomeClick:
    """The clicker and what they clicked on their Home tab; :class:`BadPayload` when unusable."""
    try:
        user, team = _part(body, "user"), _part(body, "team")
        team_id = _slack_id(team.get("id") or user.get("team_id"), TEAM_ID, "team")
        user_id = _slack_id(user.get("id"), USER_ID, "user")
        action_id = action.get("action_id")
        if not isinstance(action_id, str) or not action_id:
            raise ValueError("action without action_id")
    except ValueError as exc:
        raise BadPayload(f"home click: {exc}", None) from None
    value = action.get("value") or action.get("selected_conversation") or ""
    if not isinstance(value, str) or len(value) > 100:
        value = ""
    return HomeClick(team_id, user_id, clean_name(user.get("username") or user.get("name")), action_id, value)
