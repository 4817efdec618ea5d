"""The Slack app manifests match what the code serves."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.runtime.server import EVENTS_PATH
from bot.slack.blocks.messages import COMMAND

SLACK = Path(__file__).resolve().parents[1] / "slack"


@pytest.mark.parametrize("name", ["manifest.yaml", "manifest.socket-mode.yaml"])
def test_manifest_declares_the_command_interactivity_and_scopes(name: str) -> None:
    """Both manifests declare /maturity, interactivity and the scopes the code uses."""
    manifest = yaml.safe_load((SLACK / name).read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "users:read",
        "channels:read",
        "groups:read",
        "files:write",
        "im:write",
    }
    socket = manifest["settings"]["socket_mode_enabled"]
    assert socket is (name == "manifest.socket-mode.yaml")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    if not socket:
        assert manifest["settings"]["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
        assert command["url"].endswith(EVENTS_PATH)
        assert manifest["settings"]["interactivity"]["request_url"].endswith(EVENTS_PATH)
