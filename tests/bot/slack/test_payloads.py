"""Reading Slack payloads into plain requests: ids, reply target, subcommand and value."""

from __future__ import annotations

from typing import Any

import pytest

from bot.services.outcomes import Who
from bot.slack.messenger import ReplyTarget
from bot.slack.payloads import BadPayload, envelope_problem, read_click, read_command


def test_a_command_is_read_into_who_target_subcommand_and_args() -> None:
    """The subcommand is lowercased, the rest kept as typed, and the response_url becomes the target."""
    request = read_command(
        {
            "team_id": "T1",
            "channel_id": "C1",
            "channel_name": "ml",
            "user_id": "U1",
            "user_name": "ana",
            "text": "  START  Google extra ",
            "response_url": "https://hooks.example/1",
        }
    )
    assert request.who == Who("T1", "C1", "U1", "ml", "ana")
    assert request.target == ReplyTarget("C1", "U1", "https://hooks.example/1")
    assert (request.subcommand, request.args) == ("start", ["Google", "extra"])


def test_an_empty_command_means_help_and_no_response_url_means_none() -> None:
    """Bare `/maturity` asks for help; a payload without response_url leaves the target without one."""
    request = read_command({"team_id": "T1", "channel_id": "C1", "user_id": "U1", "text": ""})
    assert (request.subcommand, request.args) == ("help", [])
    assert request.target.response_url is None


def test_a_click_finds_team_and_channel_wherever_slack_puts_them() -> None:
    """Team from `user.team_id` and channel from `container` when the top-level fields are missing."""
    body = {
        "user": {"id": "U1", "name": "ana", "team_id": "T1"},
        "container": {"channel_id": "C9"},
        "response_url": "https://hooks.example/2",
    }
    click = read_click(body, {"action_id": "pause", "value": "3|4"})
    assert click.who == Who("T1", "C9", "U1", None, "ana")
    assert (click.action_id, click.value) == ("pause", "3|4")
    assert click.target == ReplyTarget("C9", "U1", "https://hooks.example/2")


def test_a_select_click_carries_its_selected_value() -> None:
    """A select sends `selected_option` instead of `value`; either is read as the click's value."""
    body = {"user": {"id": "U1", "team_id": "T1"}, "channel": {"id": "C1"}}
    click = read_click(body, {"action_id": "start_model:x", "selected_option": {"value": "azure"}})
    assert click.value == "azure"


def command(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "team_id": "T1",
        "channel_id": "C1",
        "user_id": "U1",
        "text": "start",
        "response_url": "https://hooks.example/1",
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_id", ""),
        ("user_id", "U 1"),
        ("user_id", "U1\x00"),
        ("user_id", "u111"),
        ("user_id", "U" + "1" * 32),
        ("user_id", "C111"),
        ("user_id", None),
        ("user_id", 111),
        ("channel_id", "U111"),
        ("channel_id", "C1\n"),
        ("team_id", "C111"),
        ("team_id", "T"),
    ],
)
def test_unusable_ids_are_refused_with_a_reason_and_a_way_to_answer(field: str, value: object) -> None:
    """Empty, spaced, NUL, lower-case, overlong, wrong-kind or non-string ids raise BadPayload."""
    with pytest.raises(BadPayload, match=field.split("_")[0]) as caught:
        read_command(command(**{field: value}))
    assert caught.value.target == ReplyTarget("", "", "https://hooks.example/1")


def test_every_kind_of_slack_id_slack_uses_is_accepted() -> None:
    """Enterprise (E), private and DM channels (G, D), and W/B users pass, up to 32 characters."""
    for team, channel, user in (("E1", "G1", "W1"), ("T" + "A" * 31, "D" + "9" * 31, "B" + "Z" * 31)):
        who = read_command(command(team_id=team, channel_id=channel, user_id=user)).who
        assert (who.team_id, who.channel_id, who.user_id) == (team, channel, user)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("an\x00a", "ana"),
        ("n" * 300, "n" * 100),
        ("\x00", None),
        ("  ", None),
        ("\ud800bo", "?bo"),
        (["ana"], None),
        (None, None),
    ],
)
def test_names_are_cleaned_for_every_database(given: object, stored: str | None) -> None:
    """NUL bytes and lone surrogates go, names are clipped to 100 characters, empty ones become None."""
    who = read_command(command(user_name=given, channel_name=given)).who
    assert (who.user_name, who.channel_name) == (stored, stored)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://a b", "https://a>|<!channel>", 5, ""])
def test_an_unusable_response_url_is_not_used(url: object) -> None:
    """A response_url that is no http(s) URL is never used, for a reply or for a refusal's note."""
    assert read_command(command(response_url=url)).target.response_url is None
    with pytest.raises(BadPayload) as caught:
        read_command(command(response_url=url, user_id=""))
    assert caught.value.target is None


def test_command_text_that_is_not_a_string_is_refused() -> None:
    """A JSON command whose text is a list cannot be split into words: BadPayload, not a crash."""
    with pytest.raises(BadPayload, match="text"):
        read_command(command(text=["start"]))


CLICK = {
    "user": {"id": "U1", "name": "ana", "team_id": "T1"},
    "team": {"id": "T1"},
    "channel": {"id": "C1", "name": "ml"},
    "response_url": "https://hooks.example/2",
}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"user": "U1"}, "user is not an object"),
        ({"channel": ["C1"]}, "channel is not an object"),
        ({"team": None, "user": {"id": "U1"}}, "bad team id"),
        ({"channel": {"id": ""}}, "bad channel id"),
        ({"user": {"id": "U1\x00", "team_id": "T1"}}, "bad user id"),
    ],
)
def test_clicks_with_wrong_shapes_are_refused(changes: dict[str, object], reason: str) -> None:
    """A click whose user, team or channel Slack would never send raises BadPayload with the reason."""
    with pytest.raises(BadPayload, match=reason) as caught:
        read_click({**CLICK, **changes}, {"action_id": "pause", "value": "1|2"})
    assert caught.value.target == ReplyTarget("", "", "https://hooks.example/2")


def test_a_click_value_that_is_not_text_becomes_empty() -> None:
    """A non-string value or a select whose option is not an object reads as "" (a stale button)."""
    assert read_click(CLICK, {"action_id": "answer:0", "value": {"x": 1}}).value == ""
    assert read_click(CLICK, {"action_id": "start_model:x", "selected_option": "azure"}).value == ""
    with pytest.raises(BadPayload, match="action_id"):
        read_click(CLICK, {"action_id": 5})


REAL_SHAPES = [
    {
        "type": "block_actions",
        "user": {"id": "U1", "username": "ana", "team_id": "T1"},
        "team": {"id": "T1", "domain": "acme"},
        "channel": {"id": "C1", "name": "ml"},
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1", "is_ephemeral": False},
        "message": {"type": "message", "user": "U2", "text": "hi", "blocks": [], "team": "T1"},
        "enterprise": None,
        "response_url": "https://hooks.example/3",
        "actions": [
            {
                "type": "button",
                "action_id": "answer:0",
                "block_id": "q",
                "text": {"type": "plain_text", "text": "Yes"},
                "value": "1|0|q|o",
            }
        ],
    },
    {
        "type": "block_actions",
        "user": {"id": "U1", "team_id": "T1"},
        "team": None,
        "container": {"type": "view", "view_id": "V1"},
        "view": {"type": "home", "callback_id": "", "id": "V1"},
        "actions": [{"type": "static_select", "action_id": "pick", "selected_option": {"value": "x"}}],
    },
    {
        "type": "event_callback",
        "team_id": "T1",
        "authorizations": [{"enterprise_id": None, "team_id": "T1", "user_id": "U9", "is_bot": True}],
        "event": {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"},
    },
    {
        "type": "event_callback",
        "event": {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "message": {"type": "message", "user": "U1", "text": "new"},
            "previous_message": {"type": "message", "user": "U1", "text": "old"},
        },
    },
    {"type": "url_verification", "challenge": "abc", "token": "x"},
    {"command": "/maturity", "text": "start", "team_id": "T1", "channel_id": "C1", "user_id": "U1"},
]


@pytest.mark.parametrize("body", REAL_SHAPES)
def test_the_shapes_slack_sends_pass_the_envelope_check(body: dict[str, Any]) -> None:
    """Clicks in messages and the App Home, events, the handshake and a command are all routable."""
    assert envelope_problem(body) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"type": 5}, "type is not a string"),
        ({"user": ["id"]}, "user is neither an object nor an id"),
        ({"channel": 5}, "channel is neither an object nor an id"),
        ({"container": "C1"}, "container is not an object"),
        ({"type": "block_actions", "actions": []}, "an interaction without actions"),
        ({"type": "block_actions", "actions": [{"value": "x"}]}, "an action without action_id"),
        ({"type": "block_actions", "actions": "x"}, "actions is not a list of objects"),
        ({"authorizations": [{"team_id": ["T1"]}]}, "authorizations: team_id is not a string"),
        ({"type": "event_callback", "event": {"type": "x", "user": ["id"]}}, "event: user is neither"),
        ({"type": "event_callback", "event": {}}, "event without type"),
        ({"type": "view_submission", "view": {"type": "modal"}}, "view without callback_id"),
        ({"event": {"type": "x", "message": {"user": 5}}}, "event: message: user is neither"),
    ],
)
def test_envelopes_bolt_would_crash_on_are_named(body: dict[str, Any], reason: str) -> None:
    """Each field Bolt reads with the wrong type is named, so the front door can answer 400."""
    problem = envelope_problem(body)
    assert problem is not None
    assert problem.startswith(reason)


def test_the_envelope_check_stops_where_bolt_stops_reading() -> None:
    """A body nesting `actions` thousands deep is checked without recursing past Bolt's own depth."""
    body: dict[str, Any] = {}
    inner = body
    for _ in range(5000):
        inner["actions"] = [{}]
        inner = inner["actions"][0]
    inner["user"] = ["not", "checked"]
    assert envelope_problem(body) is None
