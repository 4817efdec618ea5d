"""What a use case returns: small immutable views that the ``build_*`` functions render."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.engine import Score
from flows.schema import Flow, Question
from models.results import PastResult


@dataclass(frozen=True)
class Who:
    """The Slack identity behind a request."""

    team_id: str
    channel_id: str
    user_id: str
    channel_name: str | None = None
    user_name: str | None = None


@dataclass(frozen=True)
class QuestionView:
    flow: Flow
    assessment_id: int
    revision: int
    question: Question
    chosen: str | None  # the option chosen earlier, when the person came back to this question
    number: int  # 1-based position among the questions that will be asked
    answered: int
    total: int
    first: bool
    note: str | None = None


@dataclass(frozen=True)
class ResultView:
    flow: Flow
    assessment_id: int
    result_id: int
    user_id: str
    channel_id: str
    score: Score
    steps: list[str]


@dataclass(frozen=True)
class Note:
    """A short message for the person only; ``replace`` swaps out the message they clicked in."""

    text: str
    replace: bool = False


@dataclass(frozen=True)
class ChooseModel:
    flows: list[Flow]
    note: str | None = None


@dataclass(frozen=True)
class ResumeOrRestart:
    in_progress: QuestionView
    requested: Flow


@dataclass(frozen=True)
class Paused:
    flow: Flow
    answered: int
    total: int


@dataclass(frozen=True)
class StatusView:
    in_progress: QuestionView | None
    results: list[tuple[Flow | None, PastResult]] = field(default_factory=list)


Outcome = QuestionView | ResultView | Note | ChooseModel | ResumeOrRestart | Paused
