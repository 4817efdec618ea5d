"""Action ids and the compact button values that carry assessment id, revision and choice."""

from __future__ import annotations

import re

ANSWER = "answer"
BACK = "back"
PAUSE = "pause"
RESUME = "resume"
RESTART = "restart"
START = "start_model"

ANSWER_PATTERN = re.compile(rf"^{ANSWER}:\d+$")
START_PATTERN = re.compile(rf"^{START}:[a-z0-9_-]+$")


class BadValue(ValueError):
    """A button value that this app did not make (or an older version made differently)."""


def encode(*parts: int | str) -> str:
    return "|".join(str(p) for p in parts)


def decode_click(value: str) -> tuple[int, int, list[str]]:
    """Split ``assessment|revision|rest...`` into its typed parts."""
    parts = value.split("|")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise BadValue(value[:40])
    return int(parts[0]), int(parts[1]), parts[2:]
