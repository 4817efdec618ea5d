"""Use cases of the assessment conversation: start, answer, go back, pause, resume, status.

Each function takes plain Slack ids and values (never payload dicts), owns its transaction, and
returns a small view object that a ``build_*`` function renders. Concurrency is settled by the
database: a click is accepted only if its conditional update on the assessment's revision wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows import engine
from flows.schema import Flow, Question
from models import repository as repo
from models.tables import Status

logger = logging.getLogger(__name__)

ALREADY_COUNTED = "That click was already counted; here is where you are."


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
    score: engine.Score
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
    results: list[tuple[Flow | None, repo.PastResult]] = field(default_factory=list)
    flow_titles: dict[str, str] = field(default_factory=dict)


Outcome = QuestionView | ResultView | Note | ChooseModel | ResumeOrRestart | Paused


class AssessmentService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], flows: dict[str, Flow]):
        self.sessions = sessions
        self.flows = flows

    # -- reading ---------------------------------------------------------------------------------

    def find_flow(self, name: str) -> Flow | None:
        return self.flows.get(name.strip().lower())

    def _usable_answers(self, flow: Flow, answers: dict[str, str]) -> dict[str, str]:
        """Answers that still fit the flow (a flow file may have changed since they were given)."""
        usable = {}
        for question_id, option_id in answers.items():
            question = flow.question(question_id)
            if question is not None and question.option(option_id) is not None:
                usable[question_id] = option_id
        return usable

    def _view(
        self,
        flow: Flow,
        assessment_id: int,
        revision: int,
        question: Question,
        answers: dict[str, str],
        note: str | None = None,
    ) -> QuestionView:
        askable = [q.id for q in engine.questions_to_ask(flow, answers)]
        number = askable.index(question.id) + 1 if question.id in askable else len(askable)
        answered, total = engine.progress(flow, answers)
        return QuestionView(
            flow,
            assessment_id,
            revision,
            question,
            answers.get(question.id),
            number,
            answered,
            total,
            number == 1,
            note,
        )

    async def _current_view(
        self, session: AsyncSession, view: repo.AssessmentView, note: str | None = None
    ) -> QuestionView | Note:
        a = view.assessment
        flow = self.flows.get(a.flow_id)
        if flow is None:
            return Note(
                f"The model `{a.flow_id}` of this assessment is no longer installed. "
                "Start a new one with `/maturity start`."
            )
        answers = self._usable_answers(flow, await repo.answers_of(session, a.id))
        question = flow.question(a.current_question_id or "") or engine.next_question(flow, answers)
        if question is None:
            # Every question has an answer but the last click was lost; show the last one again.
            question = engine.questions_to_ask(flow, answers)[-1]
        return self._view(flow, a.id, a.revision, question, answers, note)

    # -- starting ------------------------------------------------------------------------------

    async def start(self, who: Who, flow_name: str | None) -> Outcome:
        """`/maturity start [model]`: begin, or offer resume/restart when one is under way here."""
        if not flow_name:
            return ChooseModel(self.sorted_flows())
        flow = self.find_flow(flow_name)
        if flow is None:
            return ChooseModel(self.sorted_flows(), note=f"I don't know the model `{flow_name[:40]}`.")
        async with self.sessions.begin() as session:
            actor = await repo.ensure_actor(
                session, who.team_id, who.channel_id, who.user_id, who.channel_name, who.user_name
            )
            current = await repo.in_progress(session, actor.person_id, actor.channel_id)
            if current is None:
                try:
                    async with session.begin_nested():
                        return await self._create(session, actor, flow)
                except IntegrityError:
                    # A second start from the same person raced us and won; offer that one.
                    current = await repo.in_progress(session, actor.person_id, actor.channel_id)
                    if current is None:
                        raise
            view = await repo.get_assessment(session, current.id)
            assert view is not None
            shown = await self._current_view(session, view)
            if isinstance(shown, Note):
                return shown
            return ResumeOrRestart(shown, flow)

    async def _create(self, session: AsyncSession, actor: repo.Actor, flow: Flow) -> QuestionView:
        first = engine.next_question(flow, {})
        assert first is not None  # a valid flow has questions
        assessment = await repo.create_assessment(session, actor, flow.id, flow.version, first.id)
        logger.info("assessment_started", extra={"assessment_id": assessment.id, "flow": flow.id})
        return self._view(flow, assessment.id, assessment.revision, first, {})

    async def restart(self, who: Who, assessment_id: int, flow_name: str) -> Outcome:
        """Abandon the assessment in progress (kept as history) and start ``flow_name`` afresh."""
        flow = self.find_flow(flow_name)
        if flow is None:
            return ChooseModel(self.sorted_flows(), note=f"I don't know the model `{flow_name[:40]}`.")
        async with self.sessions.begin() as session:
            view = await repo.get_assessment(session, assessment_id)
            if view is None or view.slack_user_id != who.user_id:
                return Note("That button isn't yours. Start your own with `/maturity start`.")
            if not await repo.abandon(session, assessment_id):
                return Note(
                    "That choice was already made. Use `/maturity resume` to see where you are.", replace=True
                )
            actor = repo.Actor(0, view.assessment.channel_id, view.assessment.person_id)
            logger.info("assessment_abandoned", extra={"assessment_id": assessment_id})
            return await self._create(session, actor, flow)

    # -- answering -----------------------------------------------------------------------------

    async def _load_for_click(
        self, who: Who, assessment_id: int, revision: int, choice: tuple[str, str] | None = None
    ) -> tuple[repo.AssessmentView, Flow, dict[str, str]] | Outcome:
        """Load an assessment for a click, or the note to send when the click cannot apply.

        ``choice`` is the (question, option) an answer button carries, used to tell a repeated
        delivery of an accepted click from a click on an out-of-date message.
        """
        async with self.sessions() as session:
            view = await repo.get_assessment(session, assessment_id)
            if view is None or view.slack_team_id != who.team_id:
                return Note("That assessment no longer exists. Start a new one with `/maturity start`.")
            if view.slack_user_id != who.user_id:
                return Note(
                    f"That assessment belongs to <@{view.slack_user_id}>, so your click changed "
                    "nothing. Start your own with `/maturity start`."
                )
            a = view.assessment
            if a.status == Status.COMPLETED:
                return Note(
                    "That assessment is already complete. `/maturity status` shows its result.", replace=True
                )
            if a.status != Status.IN_PROGRESS:
                return Note(
                    "That assessment was replaced by a newer one. `/maturity resume` shows where you are.",
                    replace=True,
                )
            flow = self.flows.get(a.flow_id)
            if flow is None:
                return Note(
                    f"The model `{a.flow_id}` is no longer installed. Start a new assessment "
                    "with `/maturity start`."
                )
            answers = self._usable_answers(flow, await repo.answers_of(session, a.id))
            if a.revision != revision:
                repeated = choice is not None and answers.get(choice[0]) == choice[1]
                note = (
                    ALREADY_COUNTED
                    if repeated
                    else "That button was from an earlier step; nothing changed. Here is where you are."
                )
                return await self._current_view(session, view, note=note)
            return view, flow, answers

    async def answer(
        self, who: Who, assessment_id: int, revision: int, question_id: str, option_id: str
    ) -> Outcome:
        """Record one answer and move on: the next question, or the result when it was the last."""
        loaded = await self._load_for_click(who, assessment_id, revision, (question_id, option_id))
        if not isinstance(loaded, tuple):
            return loaded
        view, flow, answers = loaded
        question = flow.question(question_id)
        if (
            question is None
            or question.option(option_id) is None
            or view.assessment.current_question_id != question_id
        ):
            async with self.sessions() as session:
                return await self._current_view(
                    session, view, note="That button doesn't match the current question; nothing changed."
                )
        answers = {**answers, question_id: option_id}
        following = engine.next_question(flow, answers, after=question_id)
        done = following is None
        async with self.sessions.begin() as session:
            claimed = await repo.claim_revision(
                session,
                assessment_id,
                revision,
                None if done else following.id if following else None,
                Status.COMPLETED if done else Status.IN_PROGRESS,
            )
            if not claimed:
                # A duplicate delivery or a racing click got there first: change nothing.
                await session.rollback()
                return await self._after_lost_race(who, assessment_id)
            await repo.save_answer(session, assessment_id, question_id, option_id)
            if following is not None:
                return self._view(flow, assessment_id, revision + 1, following, answers)
            score = engine.score_assessment(flow, answers)
            result = await repo.add_result(session, assessment_id, score)
        logger.info(
            "assessment_completed",
            extra={
                "assessment_id": assessment_id,
                "flow": flow.id,
                "level": score.level,
                "score": score.score,
            },
        )
        return ResultView(
            flow,
            assessment_id,
            result.id,
            view.slack_user_id,
            view.slack_channel_id,
            score,
            engine.tailored_next_steps(flow, score),
        )

    async def _after_lost_race(self, who: Who, assessment_id: int) -> Outcome:
        logger.info("click_ignored", extra={"assessment_id": assessment_id, "reason": "duplicate"})
        async with self.sessions() as session:
            view = await repo.get_assessment(session, assessment_id)
            if view is None or view.assessment.status != Status.IN_PROGRESS:
                return Note("That answer was already recorded.")
            return await self._current_view(session, view, note=ALREADY_COUNTED)

    async def back(self, who: Who, assessment_id: int, revision: int) -> Outcome:
        """Show the previous question again so its answer can be changed."""
        loaded = await self._load_for_click(who, assessment_id, revision)
        if not isinstance(loaded, tuple):
            return loaded
        view, flow, answers = loaded
        current = view.assessment.current_question_id or ""
        previous = engine.previous_question(flow, answers, current)
        if previous is None:
            async with self.sessions() as session:
                return await self._current_view(session, view, note="This is the first question.")
        async with self.sessions.begin() as session:
            if not await repo.claim_revision(session, assessment_id, revision, previous.id):
                await session.rollback()
                return await self._after_lost_race(who, assessment_id)
        return self._view(flow, assessment_id, revision + 1, previous, answers)

    async def pause(self, who: Who, assessment_id: int, revision: int) -> Outcome:
        """Stop for now; the assessment stays in progress and `resume` brings it back."""
        loaded = await self._load_for_click(who, assessment_id, revision)
        if not isinstance(loaded, tuple):
            return loaded
        _view, flow, answers = loaded
        answered, total = engine.progress(flow, answers)
        logger.info("assessment_paused", extra={"assessment_id": assessment_id})
        return Paused(flow, answered, total)

    async def resume(self, who: Who, assessment_id: int | None = None) -> Outcome:
        """Bring back the current question of this person's assessment in this channel."""
        async with self.sessions() as session:
            if assessment_id is None:
                actor = await self._find_actor(session, who)
                current = (
                    None
                    if actor is None
                    else await repo.in_progress(session, actor.person_id, actor.channel_id)
                )
                if current is None:
                    return Note(
                        "You have no assessment in progress in this channel. "
                        "Start one with `/maturity start`."
                    )
                assessment_id = current.id
            view = await repo.get_assessment(session, assessment_id)
            if view is None or view.slack_user_id != who.user_id or view.slack_team_id != who.team_id:
                return Note("That button isn't yours. Start your own with `/maturity start`.")
            if view.assessment.status != Status.IN_PROGRESS:
                return Note(
                    "That assessment is no longer in progress. `/maturity status` shows your results.",
                    replace=True,
                )
            return await self._current_view(session, view)

    async def _find_actor(self, session: AsyncSession, who: Who) -> repo.Actor | None:
        # Reading must not create rows: look the ids up without inserting.
        return await repo.find_actor(session, who.team_id, who.channel_id, who.user_id)

    async def status(self, who: Who) -> StatusView:
        """This person's assessment in progress and latest results in this channel."""
        async with self.sessions() as session:
            actor = await self._find_actor(session, who)
            if actor is None:
                return StatusView(None)
            current = await repo.in_progress(session, actor.person_id, actor.channel_id)
            in_progress = None
            if current is not None:
                view = await repo.get_assessment(session, current.id)
                shown = await self._current_view(session, view) if view else None
                in_progress = shown if isinstance(shown, QuestionView) else None
            results = await repo.latest_results(session, actor.person_id, actor.channel_id)
        return StatusView(in_progress, [(self.flows.get(r.flow_id), r) for r in results])

    async def record_post(self, result_id: int, ts: str | None, error: str | None) -> None:
        async with self.sessions.begin() as session:
            await repo.record_post(session, result_id, ts, error)

    def sorted_flows(self) -> list[Flow]:
        return sorted(self.flows.values(), key=lambda f: f.id)


def format_when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "?"
