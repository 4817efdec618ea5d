"""Button values: what the app writes it can read back, and what it never wrote is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.slack.buttons import (
    ANSWER_PATTERN,
    START_PATTERN,
    AnswerChoice,
    BadValue,
    Step,
    answer_value,
    decode_answer,
    decode_restart,
    decode_resume,
    decode_step,
    restart_value,
    step_value,
)


def test_values_round_trip() -> None:
    """Every value the builders write decodes to the ids it was made from."""
    assert decode_answer(answer_value(12, 3, "g1-train", "weekly")) == AnswerChoice(
        Step(12, 3), "g1-train", "weekly"
    )
    assert decode_step(step_value(12, 3)) == Step(12, 3)
    assert decode_resume("12") == 12
    assert decode_restart(restart_value(12, "azure")) == (12, "azure")


def test_the_wire_format_of_buttons_already_in_slack_is_kept() -> None:
    """Buttons posted by earlier versions (`id|revision|question|option`) still decode the same."""
    assert answer_value(7, 0, "q", "o") == "7|0|q|o"
    assert step_value(7, 1) == "7|1"
    assert restart_value(7, "google") == "7|google"
    assert decode_step("7|1|extra") == Step(7, 1)


@pytest.mark.parametrize(
    ("decode", "value"),
    [
        (decode_answer, "nonsense"),
        (decode_answer, "1|2|only-question"),
        (decode_answer, "x|2|q|o"),
        (decode_step, "12"),
        (decode_step, "a|b"),
        (decode_resume, "12|3"),
        (decode_restart, "x|google"),
        (decode_restart, "12"),
    ],
)
def test_values_the_app_never_wrote_are_refused(decode: Callable[[str], object], value: str) -> None:
    """A garbled or foreign value raises BadValue (the listener turns it into a 'nothing changed' note)."""
    with pytest.raises(BadValue):
        decode(value)


def test_action_id_patterns() -> None:
    """Answer buttons are numbered per question; model buttons carry the model id."""
    assert ANSWER_PATTERN.match("answer:0")
    assert not ANSWER_PATTERN.match("answer:x")
    assert START_PATTERN.match("start_model:gigaom")
    assert not START_PATTERN.match("start_model:Bad Id")
