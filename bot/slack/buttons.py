"""Action ids and the compact button values that carry assessment id, revision and choice.

The value formats are a contract with every button already sitting in someone's Slack: change
them only in a way that still reads the old ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANSWER = "answer"
BACK = "back"
PAUSE = "pause"
RESUME = "resume"
RESTART = "restart"
START = "start_model"
COMMIT = "commit"  # take on a result's next step: "commit:<n>", the value "<result id>|<n>"
COMMITMENT_ACTIONS = {"commitment_done": "done", "commitment_still": "still", "commitment_drop": "drop"}
SNOOZE = "checkin_snooze"  # skip a channel's next check-in; the value is the schedule id
REPOST = "repost"  # "Post again" on a result that could not be posted; the value is the outbox id
SHARE_RESULT = "share_result"  # "Share in #channel" on a result preview; the value is the result id
KEEP_PRIVATE = "keep_private"  # "Keep private" on a result preview; the value is the result id
LEADERBOARD = "leaderboard"  # "leaderboard:<model>": show that model's board; the value "<model>|<0|1>"
LEADERBOARD_SHARE = "leaderboard_share"  # post the board in the channel; the value as above
HOME_START = "home_start"  # "home_start:<model>": a channel picked on the Home tab to take it in
HOME_RESUME = "home_resume"  # Resume on the Home tab; the value is the assessment id
FORGET = "forget_me"  # "Delete my data" (after a confirm dialog); the value is "me"
TREND_CHART = "trend_chart"  # a trend chart sent by DM; the value "team", or "improved|<model>"

ANSWER_PATTERN = re.compile(rf"^{ANSWER}:\d+$")
START_PATTERN = re.compile(rf"^{START}:[a-z0-9_-]+$")
COMMIT_PATTERN = re.compile(rf"^{COMMIT}:\d+$")
COMMITMENT_PATTERN = re.compile(r"^commitment_(done|still|drop)$")
LEADERBOARD_PATTERN = re.compile(rf"^{LEADERBOARD}:[a-z0-9_-]+$")
HOME_START_PATTERN = re.compile(rf"^{HOME_START}:[a-z0-9_-]+$")


class BadValue(ValueError):
    """A button value that this app did not make (or an older version made differently)."""


@dataclass(frozen=True)
class Step:
    """Which assessment a question button belongs to, and at which revision it was shown."""

    assessment_id: int
    revision: int


@dataclass(frozen=True)
class AnswerChoice:
    step: Step
    question_id: str
    option_id: str


def encode(*parts: int | str) -> str:
    return "|".join(str(p) for p in parts)


def answer_value(assessment_id: int, revision: int, question_id: str, option_id: str) -> str:
    return encode(assessment_id, revision, question_id, option_id)


def step_value(assessment_id: int, revision: int) -> str:
    return encode(assessment_id, revision)


def restart_value(assessment_id: int, flow_id: str) -> str:
    return encode(assessment_id, flow_id)


def _split_step(value: str) -> tuple[Step, list[str]]:
    parts = value.split("|")
    if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        raise BadValue(value[:40])
    return Step(int(parts[0]), int(parts[1])), parts[2:]


def decode_answer(value: str) -> AnswerChoice:
    """``assessment|revision|question|option`` from an answer button."""
    step, rest = _split_step(value)
    if len(rest) != 2:
        raise BadValue(value[:40])
    return AnswerChoice(step, rest[0], rest[1])


def decode_step(value: str) -> Step:
    """``assessment|revision`` from Back and Pause (extra parts from older versions are ignored)."""
    return _split_step(value)[0]


RESUME_CURRENT = "current"  # a Resume button that brings back whatever is in progress in the channel


def decode_resume(value: str) -> int | None:
    """The assessment id a Resume button carries (None: the one in progress in the channel)."""
    if value == RESUME_CURRENT:
        return None
    if not value.isdigit():
        raise BadValue(value[:40])
    return int(value)


def decode_result(value: str) -> int:
    """The result id a Share / Keep private button carries."""
    if not value.isdigit():
        raise BadValue(value[:40])
    return int(value)


def decode_repost(value: str) -> int:
    """The outbox id a Post again button carries."""
    if not value.isdigit():
        raise BadValue(value[:40])
    return int(value)


def decode_commit(value: str) -> tuple[int, int]:
    """``result|step index`` from a commit button."""
    parts = value.split("|")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise BadValue(value[:40])
    return int(parts[0]), int(parts[1])


def decode_restart(value: str) -> tuple[int, str]:
    """``assessment|flow`` from a Restart button: the assessment to abandon, the model to start."""
    parts = value.split("|")
    if len(parts) != 2 or not parts[0].isdigit():
        raise BadValue(value[:40])
    return int(parts[0]), parts[1]


def leaderboard_value(flow_id: str, improved: bool) -> str:
    return encode(flow_id, int(improved))


def decode_leaderboard(value: str) -> tuple[str, bool]:
    """``model|0`` (by level) or ``model|1`` (most improved) from a leaderboard button."""
    parts = value.split("|")
    if len(parts) != 2 or parts[1] not in {"0", "1"} or not re.fullmatch(r"[a-z0-9_-]{1,40}", parts[0]):
        raise BadValue(value[:40])
    return parts[0], parts[1] == "1"
