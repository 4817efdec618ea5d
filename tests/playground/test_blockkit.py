"""The Block Kit checker the double applies to every surface: what passes, and every violation it catches."""

from __future__ import annotations

from typing import Any

import pytest

from playground.blockkit import block_kit_problems, too_long_only

Block = dict[str, Any]


def msg(*blocks: Block, text: str = "hi") -> dict[str, Any]:
    return {"text": text, "blocks": list(blocks)}


def ctx(block_id: str, n: int = 1) -> Block:
    return {"type": "context", "block_id": block_id, "elements": [{"type": "mrkdwn", "text": "x"}] * n}


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def option(text: str = "a", value: str = "a") -> dict[str, Any]:
    return {"text": plain(text), "value": value}


SECTION: Block = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}
BUTTON: Block = {"type": "button", "text": plain("x"), "action_id": "a", "value": "v"}
CONFIRM = {"title": plain("Sure?"), "text": plain("Really."), "confirm": plain("Yes"), "deny": plain("No")}
SELECT: Block = {
    "type": "static_select",
    "action_id": "s",
    "placeholder": plain("Pick"),
    "options": [option()],
}
IMAGE: Block = {"type": "image", "image_url": "https://example.com/a.png", "alt_text": "a chart"}


def actions(*elements: Block, block_id: str = "b") -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def test_a_message_using_every_supported_block_passes() -> None:
    """A message with every supported block and element, each within its limits, has no problems."""
    body = msg(
        {"type": "header", "text": plain("Result")},
        SECTION,
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 10, "accessory": BUTTON},
        {"type": "divider"},
        {**IMAGE, "title": plain("Chart")},
        ctx("b1", 10),
        ctx("b2"),
        actions(
            {**BUTTON, "style": "danger", "confirm": {**CONFIRM, "style": "danger"}},
            {
                **SELECT,
                "options": [option(str(n), str(n)) for n in range(100)],
                "initial_option": option("1", "1"),
            },
            {"type": "overflow", "action_id": "o", "options": [option(str(n), str(n)) for n in range(5)]},
        ),
    )
    assert block_kit_problems(body) == []


BAD_MESSAGES = {
    # Ported from tests/bot/test_blocks.py::test_the_checker_catches_violations.
    "51 blocks": msg(*[SECTION] * 51),
    "section text over 3000": msg({"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}),
    "11 fields": msg({"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}),
    "header over 150": msg({"type": "header", "text": plain("x" * 151)}),
    "duplicate action_ids": msg(actions(BUTTON, BUTTON)),
    "button value over 2000": msg(actions({**BUTTON, "value": "v" * 2001})),
    "action_id over 255": msg(actions({**BUTTON, "action_id": "a" * 256})),
    "block_id over 255": msg(actions(BUTTON, block_id="b" * 256)),
    "duplicate block_ids": msg(ctx("b"), ctx("b")),
    "11 context elements": msg(ctx("b", 11)),
    "blocks JSON over 12000": msg(*[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 5),
    # And the rest of the rules.
    "field over 2000": msg({"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}),
    "section with neither text nor fields": msg({"type": "section"}),
    "empty section text": msg({"type": "section", "text": {"type": "mrkdwn", "text": " "}}),
    "mrkdwn header": msg({"type": "header", "text": {"type": "mrkdwn", "text": "x"}}),
    "unknown block type": msg({"type": "carousel"}),
    "unknown text type": msg({"type": "section", "text": {"type": "html", "text": "x"}}),
    "button text over 75": msg(actions({**BUTTON, "text": plain("x" * 76)})),
    "mrkdwn button text": msg(actions({**BUTTON, "text": {"type": "mrkdwn", "text": "x"}})),
    "button style": msg(actions({**BUTTON, "style": "link"})),
    "26 actions elements": msg(actions(*[{**BUTTON, "action_id": f"a{n}"} for n in range(26)])),
    "empty actions": msg(actions()),
    "unsupported element": msg(actions({"type": "datepicker", "action_id": "d"})),
    "image without alt_text": msg({"type": "image", "image_url": "https://example.com/a.png"}),
    "image without image_url": msg({"type": "image", "alt_text": "a"}),
    "mrkdwn image title": msg({**IMAGE, "title": {"type": "mrkdwn", "text": "t"}}),
    "101 select options": msg(actions({**SELECT, "options": [option(str(n), str(n)) for n in range(101)]})),
    "option text over 75": msg(actions({**SELECT, "options": [option("x" * 76)]})),
    "option value over 150": msg(actions({**SELECT, "options": [option(value="v" * 151)]})),
    "initial option not offered": msg(actions({**SELECT, "initial_option": option("z", "z")})),
    "select without options": msg(actions({"type": "static_select", "action_id": "s"})),
    "6 overflow options": msg(
        actions({"type": "overflow", "options": [option(str(n), str(n)) for n in range(6)]})
    ),
    "confirm without deny": msg(
        actions({**BUTTON, "confirm": {k: v for k, v in CONFIRM.items() if k != "deny"}})
    ),
    "confirm title over 100": msg(actions({**BUTTON, "confirm": {**CONFIRM, "title": plain("x" * 101)}})),
    "confirm style": msg(actions({**BUTTON, "confirm": {**CONFIRM, "style": "loud"}})),
    "blocks not a list": {"text": "hi", "blocks": {"type": "divider"}},
    "text not a string": {"text": 5, "blocks": [SECTION]},
}


@pytest.mark.parametrize("body", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_each_kind_of_violation_is_caught(body: dict[str, Any]) -> None:
    """Every message that breaks one of Slack's limits yields at least one problem."""
    assert block_kit_problems(body)


def test_problems_point_at_the_offending_field() -> None:
    """A problem says what is wrong and where, as a JSON pointer, the way Slack's messages do."""
    problems = block_kit_problems(msg(SECTION, actions({**BUTTON, "text": plain("x" * 76)})))
    assert problems == [
        "must be less than 76 characters (is 76) [json-pointer:/blocks/1/elements/0/text/text]"
    ]


def test_size_alone_is_reported_as_too_long() -> None:
    """Size alone (msg_blocks_too_long) is told apart from a broken rule (invalid_blocks)."""
    big = msg(*[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 5)
    assert too_long_only(block_kit_problems(big))
    assert not too_long_only(block_kit_problems(msg({"type": "carousel"})))
    assert not too_long_only([])


def test_a_text_fallback_is_required_only_when_asked() -> None:
    """Slack takes blocks without text (it only warns); the project rule demanding a fallback is opt-in."""
    assert block_kit_problems(msg(SECTION, text="")) == []
    assert block_kit_problems(msg(SECTION, text=""), require_text=True)
    assert block_kit_problems(msg(SECTION), require_text=True) == []


def test_home_views_allow_100_blocks_and_no_more() -> None:
    """A Home tab takes 100 blocks (a message 50); 101 blocks, another type or over 250 kB are refused."""
    assert block_kit_problems({"type": "home", "blocks": [SECTION] * 100}, "home") == []
    assert block_kit_problems(msg(*[SECTION] * 100)) != []
    assert block_kit_problems({"type": "home", "blocks": [SECTION] * 101}, "home")
    assert block_kit_problems({"type": "modal", "blocks": [SECTION]}, "home")
    assert block_kit_problems({"type": "home"}, "home")
    assert block_kit_problems({"type": "home", "blocks": [], "private_metadata": "m" * 3001}, "home")
    ascii_view = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2999}}] * 80
    assert block_kit_problems({"type": "home", "blocks": ascii_view}, "home") == []  # about 245 kB
    accented = [{"type": "section", "text": {"type": "mrkdwn", "text": "é" * 2999}}] * 80
    assert block_kit_problems(
        {"type": "home", "blocks": accented}, "home"
    )  # same characters, twice the bytes
