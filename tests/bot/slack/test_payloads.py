"""Reading Slack payloads into plain requests: ids, reply target, subcommand and value."""

from __future__ import annotations

from bot.services.outcomes import Who
from bot.slack.messenger import ReplyTarget
from bot.slack.payloads import read_click, read_command


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
