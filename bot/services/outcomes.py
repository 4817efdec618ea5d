"""What the use cases take and return: plain, immutable data about the domain.

No wording lives here: no mrkdwn, no mentions, no commands to type. The Slack edge renders each
outcome (exhaustively, so a new outcome without a renderer fails the type check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from flows.engine import Score
from flows.schema import Flow, Question
from models.results import PastResult


@dataclass(frozen=True)
class Who:
    """The Slack identity behind a request: plain ids and names, never a payload."""

    team_id: str
    channel_id: str
    user_id: str
    channel_name: str | None = None
    user_name: str | None = None


class QuestionNote(StrEnum):
    """Why a question is shown again instead of the one a click asked for."""

    ALREADY_COUNTED = "already_counted"  # a repeated delivery of a click that was accepted
    EARLIER_STEP = "earlier_step"  # a button of a question that has been answered since
    NOT_CURRENT = "not_current"  # a button that does not match the question on screen
    FIRST_QUESTION = "first_question"  # Back on the first question


@dataclass(frozen=True)
class Carried:
    """An answer this person gave to the same practice in another model, offered here."""

    option_id: str
    flow_id: str
    flow_title: str
    answered_at: datetime


@dataclass(frozen=True)
class QuestionShown:
    """The question an assessment is on, with where it stands."""

    flow: Flow
    assessment_id: int
    revision: int
    question: Question
    chosen: str | None  # the option chosen earlier, when the person came back to this question
    number: int  # 1-based position among the questions that will be asked
    answered: int
    total: int
    first: bool
    note: QuestionNote | None = None
    carried: Carried | None = None  # pre-selected from another model (only while unanswered here)


@dataclass(frozen=True)
class Completed:
    """A stored result: the last answer was accepted and the result kept (history).

    Nothing goes to the channel until the person presses Share; then ``outbox_id`` is its queued
    channel post (0 before that).
    """

    flow: Flow
    assessment_id: int
    result_id: int
    user_id: str
    channel_id: str
    score: Score
    steps: list[str]
    outbox_id: int


class PostStatus(StrEnum):
    POSTED = "posted"
    QUEUED = "queued"  # Slack is busy (rate limit, errors, a slow answer): it will go out shortly
    FAILED = "failed"  # Slack refused it for good; this reply tells the person, with the fix
    FAILED_TOLD = "failed_told"  # refused for good, and the person was already told elsewhere


@dataclass(frozen=True)
class ResultShared:
    """A completed result after trying to post it to its channel."""

    completed: Completed
    status: PostStatus
    error: str | None = None


@dataclass(frozen=True)
class ChooseModel:
    """No model (or an unknown one) was named: offer the installed ones."""

    flows: list[Flow]
    unknown: str | None = None  # the name that matched no model


@dataclass(frozen=True)
class ResumeOrRestart:
    """An assessment is already in progress here; the person asked to start ``requested``."""

    in_progress: QuestionShown
    requested: Flow


@dataclass(frozen=True)
class Paused:
    flow: Flow
    answered: int
    total: int
    assessment_id: int = 0  # what its Resume button brings back


@dataclass(frozen=True)
class StatusReport:
    """This person's assessment in progress and latest results in one channel."""

    in_progress: QuestionShown | None
    results: list[tuple[Flow | None, PastResult]] = field(default_factory=list)


@dataclass(frozen=True)
class NotYours:
    """A click on someone else's assessment; ``owner`` is their Slack user id when known."""

    owner: str | None = None


@dataclass(frozen=True)
class AssessmentGone:
    """The assessment a button names does not exist (or belongs to another workspace)."""


@dataclass(frozen=True)
class AlreadyComplete:
    """A click on an assessment that has finished."""


@dataclass(frozen=True)
class Replaced:
    """A click on an assessment that a restart replaced."""


@dataclass(frozen=True)
class AlreadyChosen:
    """The resume-or-restart offer was already answered."""


@dataclass(frozen=True)
class AlreadyRecorded:
    """A repeated last answer: the assessment is no longer in progress because it was counted."""


@dataclass(frozen=True)
class FlowRemoved:
    """The assessment's model is no longer installed."""

    flow_id: str


@dataclass(frozen=True)
class NothingInProgress:
    """Resume with no assessment in progress in this channel."""

    finished_one: bool = False  # the person does have a result here (their last one is complete)


@dataclass(frozen=True)
class ResultPreview:
    """The private preview of a result, with Share / Keep private.

    ``in_channel`` is False when the bot is known not to be a member of the channel (the preview
    then says how to invite it; Share works after the invite).
    """

    completed: Completed
    channel_name: str | None = None
    in_channel: bool = True


@dataclass(frozen=True)
class ShareResult:
    """Share was pressed: the result's channel post is queued (``completed.outbox_id``); deliver it."""

    completed: Completed


@dataclass(frozen=True)
class KeptPrivate:
    """Keep private was pressed: nothing is posted; Share stays available."""

    result_id: int


@dataclass(frozen=True)
class AlreadyPosted:
    """ "Post again" on a result that is in the channel by now."""


@dataclass(frozen=True)
class PostStillQueued:
    """ "Post again" on a result that is still queued (or being posted right now)."""


@dataclass(frozen=True)
class Stale:
    """A button from a message this version of the app cannot read; nothing changed."""


Notice = (
    NotYours
    | AssessmentGone
    | AlreadyComplete
    | Replaced
    | AlreadyChosen
    | AlreadyRecorded
    | FlowRemoved
    | NothingInProgress
    | AlreadyPosted
    | PostStillQueued
    | Stale
)
"""Short answers to a request that changed nothing."""

Reply = (
    QuestionShown
    | ResultPreview
    | ResultShared
    | KeptPrivate
    | ChooseModel
    | ResumeOrRestart
    | Paused
    | StatusReport
    | Notice
)
"""Everything that is shown to the person who asked."""

Outcome = Reply | Completed | ShareResult
"""Everything a use case of the assessment conversation returns."""
