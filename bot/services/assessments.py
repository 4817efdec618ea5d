"""Use cases of the assessment conversation: start, answer, go back, pause, resume, status.

Each method takes plain Slack ids and values (never payload dicts), owns its transaction, and
returns an outcome from :mod:`bot.services.outcomes` (plain data; the Slack edge words it). Concurrency is
settled by the database: a click is accepted only if its conditional update on the assessment's
revision wins, so duplicate deliveries and racing instances cannot advance twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.services.outbox import queue_result
from bot.services.outcomes import (
    AlreadyChosen,
    AlreadyComplete,
    AlreadyRecorded,
    AssessmentGone,
    Carried,
    ChooseModel,
    Completed,
    FlowRemoved,
    NothingInProgress,
    NotYours,
    Outcome,
    Paused,
    QuestionNote,
    QuestionShown,
    Replaced,
    ResumeOrRestart,
    ShareResult,
    StatusReport,
    Who,
)
from flows import engine
from flows.engine import Score
from flows.schema import Flow, Question
from models import repository as repo
from models import results as results_repo
from models import teams as teams_repo
from models.db import LazyConnection
from models.tables import Status, utcnow

logger = logging.getLogger(__name__)

CLICK_SLOTS = 10  # answer clicks on the database at once (PostgreSQL's pool holds 10)
WARM_VIEWS = 2048  # assessments whose state after this process's last accepted click is kept
CARRY_OVER = timedelta(days=90)  # answers to the same practice in another model this recent are offered


class _LostRace(Exception):
    """Another delivery of this click, or a racing click, was accepted first."""


class AssessmentService:
    def __init__(
        self,
        db: AsyncEngine,
        flows: dict[str, Flow],
        *,
        click_grace: float = 30.0,
        reads: AsyncEngine | None = None,
    ):
        self.db = db
        # Where an answer click reads (models.db.create_read_engine): SQLite's readers, or ``db``.
        self.reads = reads or db
        # SQLite: the starts and the clicks that move on are written together (group commit).
        self.write_log = repo.WriteLog(db) if db.dialect.name == "sqlite" else None
        # Answer clicks work on the database CLICK_SLOTS at a time, in arrival order: a burst is
        # served nearer first come, first served than all at once (bench.load: burst p95 about a
        # tenth lower on both databases), and no click waits for a pooled connection mid-way.
        self._admission = asyncio.Semaphore(CLICK_SLOTS)
        # Each assessment as this process's last accepted click left it (see _warm_view).
        self._warm: OrderedDict[int, repo.AssessmentView] = OrderedDict()
        self.flows = flows
        # How long dispatchers leave a new result to the click that completed it (see queue_result).
        self.click_grace = click_grace

    def find_flow(self, name: str) -> Flow | None:
        return self.flows.get(name.strip().lower())

    def sorted_flows(self) -> list[Flow]:
        return sorted(self.flows.values(), key=lambda f: f.id)

    # -- building views --------------------------------------------------------------------------

    @staticmethod
    def _usable_answers(flow: Flow, answers: dict[str, str]) -> dict[str, str]:
        """Answers that still fit the flow (a flow file may have changed since they were given)."""
        return {
            q: o
            for q, o in answers.items()
            if (question := flow.question(q)) is not None and question.option(o) is not None
        }

    async def _view(
        self,
        conn: AsyncConnection | None,
        owner: tuple[int, int] | None,
        flow: Flow,
        assessment_id: int,
        revision: int,
        question: Question,
        answers: dict[str, str],
        note: QuestionNote | None = None,
    ) -> QuestionShown:
        """The question to show; ``owner`` is the (person, channel) row ids, to look for an answer
        that carries over (None: nothing can, see :meth:`_owner`)."""
        askable = [q.id for q in engine.questions_to_ask(flow, answers)]
        number = askable.index(question.id) + 1 if question.id in askable else len(askable)
        answered = sum(1 for q in askable if q in answers)
        chosen = answers.get(question.id)
        carried = None
        if chosen is None and owner is not None:
            assert conn is not None, "looking for a carried answer takes a connection"
            carried = await self._carried(conn, owner, question)
        return QuestionShown(
            flow, assessment_id, revision, question, chosen, number, answered, len(askable), number == 1,
            note, carried,
        )  # fmt: skip

    async def _carried(
        self, conn: AsyncConnection, owner: tuple[int, int], question: Question
    ) -> Carried | None:
        """The newest answer to the same practice in another model, here, in the last 90 days."""
        if not question.same_as:
            return None
        sources = {same.flow: same for same in question.same_as if same.flow in self.flows}
        if not sources:
            return None
        since = utcnow() - CARRY_OVER
        for given in await repo.recent_answers(conn, owner[0], owner[1], set(sources), since):
            same = sources[given.flow_id]
            ours = same.options.get(given.option_id) if given.question_id == same.question else None
            if ours is not None and question.option(ours) is not None:
                title = self.flows[given.flow_id].title
                return Carried(ours, given.flow_id, title, given.answered_at)
        return None

    @staticmethod
    def _owner(view: repo.AssessmentView) -> tuple[int, int] | None:
        """Where to look for carried answers: None when the person has no assessment of another
        model in this channel (one in progress per person and channel, so none can appear while
        this one runs), which saves the lookup's trip on nearly every click of a first assessment."""
        a = view.assessment
        return (a.person_id, a.channel_id) if view.others_here else None

    async def _current_view(
        self, conn: AsyncConnection, view: repo.AssessmentView, note: QuestionNote | None = None
    ) -> QuestionShown | FlowRemoved:
        """The question an assessment is on, as stored."""
        a = view.assessment
        flow = self.flows.get(a.flow_id)
        if flow is None:
            return FlowRemoved(a.flow_id)
        answers = self._usable_answers(flow, view.answers)
        question = flow.question(a.current_question_id or "") or engine.next_question(flow, answers)
        if question is None:
            # Every question has an answer but the last click was lost; show the last one again.
            question = engine.questions_to_ask(flow, answers)[-1]
        return await self._view(conn, self._owner(view), flow, a.id, a.revision, question, answers, note)

    # -- starting --------------------------------------------------------------------------------

    async def start(self, who: Who, flow_name: str | None) -> Outcome:
        """`/maturity start [model]`: begin, or offer resume/restart when one is under way here."""
        if not flow_name:
            return ChooseModel(self.sorted_flows())
        flow = self.find_flow(flow_name)
        if flow is None:
            return ChooseModel(self.sorted_flows(), unknown=flow_name[:40])
        # The rows and the assessment in one trip to SQLite's writer, or one PostgreSQL statement;
        # when one is in progress here already, Resume or Restart is offered the usual way below.
        # Starts take turns on the database with the answer clicks (a crowd starts together).
        async with self._admission:
            started = await self._start_in_one_trip(who, flow)
        if started is not None:
            return started
        async with self.db.begin() as conn:
            actor = await repo.ensure_actor(
                conn, who.team_id, who.channel_id, who.user_id, who.channel_name, who.user_name
            )
            current = await repo.in_progress(conn, actor.person_id, actor.channel_id)
            if current is None:
                try:
                    async with conn.begin_nested():
                        return await self._create(conn, actor, flow)
                except IntegrityError:
                    # A second start from the same person raced us and won; offer that one.
                    current = await repo.in_progress(conn, actor.person_id, actor.channel_id)
                    if current is None:
                        raise
            view = await repo.get_assessment(conn, current.id)
            assert view is not None
            shown = await self._current_view(conn, view)
            return shown if isinstance(shown, FlowRemoved) else ResumeOrRestart(shown, flow)

    async def _start_in_one_trip(self, who: Who, flow: Flow) -> QuestionShown | None:
        """Start ``flow`` in one trip to the database; None when one is in progress here (or, on
        PostgreSQL, when a row created concurrently was not yet visible): the caller then goes the
        usual way."""
        first = self._first_question(flow)
        names = (who.team_id, who.channel_id, who.user_id, who.channel_name, who.user_name)
        # On PostgreSQL the reads engine is the database's own: one connection serves both.
        async with LazyConnection(self.reads) as lazy:
            started: tuple[repo.Actor, repo.AssessmentRow | None] | None
            if self.write_log is not None:  # SQLite: with the other starts and clicks of this moment
                started = await self.write_log.start(names, flow.id, flow.version, first.id)
            else:
                conn = await lazy.get()
                started = await repo.start_in_one_trip(conn, names, flow.id, flow.version, first.id)
            actor, assessment = started if started is not None else (None, None)
            if actor is None or assessment is None:
                return None
            logger.info("assessment_started", extra={"assessment_id": assessment.id, "flow": flow.id})
            # Only a question with a same practice in another model can carry an answer over.
            owner = (actor.person_id, actor.channel_id) if first.same_as else None
            reader = await lazy.get() if owner else None
            return await self._view(reader, owner, flow, assessment.id, assessment.revision, first, {})

    @staticmethod
    def _first_question(flow: Flow) -> Question:
        first = engine.next_question(flow, {})
        assert first is not None  # a valid flow has questions
        return first

    async def _create(self, conn: AsyncConnection, actor: repo.Actor, flow: Flow) -> QuestionShown:
        first = self._first_question(flow)
        assessment = await repo.create_assessment(conn, actor, flow.id, flow.version, first.id)
        logger.info("assessment_started", extra={"assessment_id": assessment.id, "flow": flow.id})
        owner = (actor.person_id, actor.channel_id)
        return await self._view(conn, owner, flow, assessment.id, assessment.revision, first, {})

    async def restart(self, who: Who, assessment_id: int, flow_name: str) -> Outcome:
        """Abandon the assessment in progress (kept as history) and start ``flow_name`` afresh."""
        flow = self.find_flow(flow_name)
        if flow is None:
            return ChooseModel(self.sorted_flows(), unknown=flow_name[:40])
        async with self.db.begin() as conn:
            view = await repo.get_assessment(conn, assessment_id)
            if view is None or view.slack_team_id != who.team_id:
                return AssessmentGone()
            if view.slack_user_id != who.user_id:
                return NotYours(view.slack_user_id)
            if not await repo.abandon(conn, assessment_id):
                return AlreadyChosen()
            logger.info("assessment_abandoned", extra={"assessment_id": assessment_id})
            a = view.assessment
            return await self._create(conn, repo.Actor(0, a.channel_id, a.person_id), flow)

    # -- clicks on a question ----------------------------------------------------------------------

    @staticmethod
    def _refuse(
        view: repo.AssessmentView | None, who: Who
    ) -> AssessmentGone | NotYours | AlreadyComplete | Replaced | None:
        """Why this person cannot act on this assessment now, or None when they can."""
        if view is None or view.slack_team_id != who.team_id:
            return AssessmentGone()
        if view.slack_user_id != who.user_id:
            return NotYours(view.slack_user_id)
        if view.assessment.status == Status.COMPLETED:
            return AlreadyComplete()
        if view.assessment.status != Status.IN_PROGRESS:
            return Replaced()
        return None

    def _ready(
        self, view: repo.AssessmentView | None, who: Who
    ) -> tuple[repo.AssessmentView, Flow, dict[str, str]] | Outcome:
        """The assessment, its flow and usable answers, or why this person cannot act on it."""
        refused = self._refuse(view, who)
        if refused is not None:
            return refused
        assert view is not None
        flow = self.flows.get(view.assessment.flow_id)
        if flow is None:
            return FlowRemoved(view.assessment.flow_id)
        return view, flow, self._usable_answers(flow, view.answers)

    def _warm_view(self, assessment_id: int, revision: int) -> repo.AssessmentView | None:
        """The assessment as this process's last accepted click on it left it, if that was at
        ``revision``: then the click needs no read before its write.

        Safe without asking the database, because the write decides: it claims ``revision`` and
        fails unless the assessment is still there, in progress, at that revision; every change to
        an assessment's answers or question moves its revision on (a claim, Back, a restart); ids
        are never reused on PostgreSQL, and on SQLite (one process) an id reused after forget-me
        starts at revision 0, whose first click goes the usual way and replaces the entry (entries
        are kept only at revision 1 or later). A failed claim drops the entry and reads.
        """
        view = self._warm.get(assessment_id)
        if view is None or view.assessment.revision != revision:
            return None
        self._warm.move_to_end(assessment_id)
        return view

    def _warm_click(
        self, who: Who, assessment_id: int, revision: int, question_id: str
    ) -> tuple[repo.AssessmentView, Flow, dict[str, str]] | None:
        """A warm view ready for this click when it is the plain case (this person's assessment,
        on the question clicked); anything else (None) is read from the database, which words it."""
        warm = self._warm_view(assessment_id, revision)
        ready = self._ready(warm, who) if warm is not None else None
        if not isinstance(ready, tuple) or ready[0].assessment.current_question_id != question_id:
            return None
        return ready

    def _keep_warm(self, view: repo.AssessmentView) -> None:
        self._warm[view.assessment.id] = view
        self._warm.move_to_end(view.assessment.id)
        if len(self._warm) > WARM_VIEWS:
            self._warm.popitem(last=False)

    async def _load_for_click(
        self,
        conn: AsyncConnection,
        who: Who,
        assessment_id: int,
        revision: int,
        choice: tuple[str, str] | None = None,
    ) -> tuple[repo.AssessmentView, Flow, dict[str, str]] | Outcome:
        """Load an assessment for a click, or the note to send when the click cannot apply.

        ``choice`` is the (question, option) an answer button carries, used to tell a repeated
        delivery of an accepted click from a click on an out-of-date message.
        """
        view = await repo.get_assessment(conn, assessment_id)
        ready = self._ready(view, who)
        if not isinstance(ready, tuple):
            return ready
        view, flow, answers = ready
        a = view.assessment
        if a.revision != revision:
            repeated = choice is not None and answers.get(choice[0]) == choice[1]
            note = QuestionNote.ALREADY_COUNTED if repeated else QuestionNote.EARLIER_STEP
            return await self._current_view(conn, view, note=note)
        return view, flow, answers

    async def answer(
        self, who: Who, assessment_id: int, revision: int, question_id: str, option_id: str
    ) -> Outcome:
        async with self._admission:
            return await self._answer(who, assessment_id, revision, question_id, option_id)

    async def _answer(
        self, who: Who, assessment_id: int, revision: int, question_id: str, option_id: str
    ) -> Outcome:
        """Record one answer and move on: the next question, or the result when it was the last.

        A click that moves on reads the assessment (unless this process's last accepted click
        on it left it at this revision: _warm_view), builds the next question, then claims its
        revision and stores the answer, committed, in one round trip (repo.record_answer on
        PostgreSQL; on SQLite repo.WriteLog, which commits the clicks arriving together in one
        trip): the conditional update settles duplicates and races, and nothing is shown before the
        commit. The last answer claims, stores, scores and keeps the result in one transaction.
        """
        warm = self._warm_click(who, assessment_id, revision, question_id)
        try:
            async with LazyConnection(self.reads) as lazy:
                loaded: tuple[repo.AssessmentView, Flow, dict[str, str]] | Outcome
                if warm is None:
                    choice = (question_id, option_id)
                    conn = await lazy.get()
                    loaded = await self._load_for_click(conn, who, assessment_id, revision, choice)
                else:
                    loaded = warm
                if not isinstance(loaded, tuple):
                    return loaded
                view, flow, answers = loaded
                question = flow.question(question_id)
                if (
                    question is None
                    or question.option(option_id) is None
                    or view.assessment.current_question_id != question_id
                ):
                    note = QuestionNote.NOT_CURRENT
                    return await self._current_view(await lazy.get(), view, note=note)
                answers = {**answers, question_id: option_id}
                following = engine.next_question(flow, answers, after=question_id)
                if following is not None:
                    # The next question is ready before the write, so the writer is held for one
                    # trip only; it is shown only once that write has committed.
                    owner = self._owner(view)
                    shown = await self._view(
                        await lazy.get() if owner else None, owner, flow, assessment_id, revision + 1,
                        following, answers,
                    )  # fmt: skip
                    click = (assessment_id, revision, following.id, question_id, option_id)
                    if self.write_log is None:  # PostgreSQL: one statement on this connection
                        recorded = await repo.record_answer(await lazy.get(), *click)
            if following is not None:
                if self.write_log is not None:
                    recorded = await self.write_log.record(*click)
                if not recorded:
                    raise _LostRace
                moved = replace(view.assessment, revision=revision + 1, current_question_id=following.id)
                given = {**view.answers, question_id: option_id}
                self._keep_warm(replace(view, assessment=moved, answers=given))
                return shown
            self._warm.pop(assessment_id, None)
            async with self.db.begin() as conn:
                if not await repo.claim_revision(conn, assessment_id, revision, None, Status.COMPLETED):
                    raise _LostRace
                await repo.save_answer(conn, assessment_id, question_id, option_id)
                score = engine.score_assessment(flow, answers)
                result_id = await results_repo.add_result(conn, assessment_id, score)
                await teams_repo.refresh(conn, view.assessment.channel_id, flow.id)
                # Nothing goes to the channel yet: the person sees a private preview and decides.
                # If that reply is lost, `/maturity status` shows the result with its Share button.
                completed = self._completed(view, flow, result_id, answers, score)
        except _LostRace:
            if warm is not None:
                # Someone moved the assessment on since this process last did: forget what it
                # remembered and answer the click as if it had read first (the database words it:
                # "already counted" for a repeat, "an earlier step" for an old message).
                kept = self._warm.get(assessment_id)
                if kept is not None and kept.assessment.revision == revision:
                    del self._warm[assessment_id]
                return await self._answer(who, assessment_id, revision, question_id, option_id)
            return await self._after_lost_race(assessment_id)
        logger.info(
            "assessment_completed",
            extra={
                "assessment_id": assessment_id,
                "flow": flow.id,
                "maturity_level": score.level,
                "maturity_score": score.score,
            },
        )
        return completed

    async def share(self, who: Who, result_id: int) -> Outcome:
        """Share in the channel: queue the result's post (once, however often it is pressed).

        The result is shown as it was scored; a result of an older version of its model than the
        one installed now is not rescored silently: it is refused with a note instead.
        """
        async with self.db.begin() as conn:
            assessment_id = await results_repo.assessment_of(conn, result_id)
            view = await repo.get_assessment(conn, assessment_id) if assessment_id is not None else None
            if view is None or (view.slack_team_id, view.slack_channel_id) != (who.team_id, who.channel_id):
                return AssessmentGone()
            if view.slack_user_id != who.user_id:
                return NotYours(view.slack_user_id)
            flow = self.flows.get(view.assessment.flow_id)
            if flow is None or flow.version != view.assessment.flow_version:
                return FlowRemoved(view.assessment.flow_id)
            answers = self._usable_answers(flow, view.answers)
            score = engine.score_assessment(flow, answers)
            completed = self._completed(view, flow, result_id, answers, score)
            # The click that shares delivers it itself (and tells the person how it went); if its
            # process dies, a dispatcher takes it once the grace is over.
            outbox_id = await queue_result(conn, view.slack_team_id, completed, delay=self.click_grace)
        logger.info("result_shared", extra={"result_id": result_id, "outbox_id": outbox_id})
        return ShareResult(replace(completed, outbox_id=outbox_id))

    @staticmethod
    def _completed(
        view: repo.AssessmentView, flow: Flow, result_id: int, answers: dict[str, str], score: Score
    ) -> Completed:
        """A completed assessment's result, with the next steps its answers call for."""
        return Completed(
            flow, view.assessment.id, result_id, view.slack_user_id, view.slack_channel_id, score,
            engine.tailored_next_steps(flow, score, answers), outbox_id=0,
        )  # fmt: skip

    async def _after_lost_race(self, assessment_id: int) -> Outcome:
        logger.info("click_ignored", extra={"assessment_id": assessment_id, "reason": "duplicate"})
        async with self.db.connect() as conn:
            view = await repo.get_assessment(conn, assessment_id)
            if view is None or view.assessment.status != Status.IN_PROGRESS:
                return AlreadyRecorded()
            return await self._current_view(conn, view, note=QuestionNote.ALREADY_COUNTED)

    async def back(self, who: Who, assessment_id: int, revision: int) -> Outcome:
        """Show the previous question again so its answer can be changed."""
        try:
            async with self.db.begin() as conn:
                loaded = await self._load_for_click(conn, who, assessment_id, revision)
                if not isinstance(loaded, tuple):
                    return loaded
                view, flow, answers = loaded
                previous = engine.previous_question(flow, answers, view.assessment.current_question_id or "")
                if previous is None:
                    return await self._current_view(conn, view, note=QuestionNote.FIRST_QUESTION)
                if not await repo.claim_revision(conn, assessment_id, revision, previous.id):
                    raise _LostRace
                owner = self._owner(view)
                return await self._view(conn, owner, flow, assessment_id, revision + 1, previous, answers)
        except _LostRace:
            return await self._after_lost_race(assessment_id)

    async def pause(self, who: Who, assessment_id: int, revision: int) -> Outcome:
        """Stop for now; the assessment stays in progress and `resume` brings it back."""
        async with self.db.connect() as conn:
            loaded = await self._load_for_click(conn, who, assessment_id, revision)
        if not isinstance(loaded, tuple):
            return loaded
        _view, flow, answers = loaded
        answered, total = engine.progress(flow, answers)
        logger.info("assessment_paused", extra={"assessment_id": assessment_id})
        return Paused(flow, answered, total, assessment_id)

    # -- reading -----------------------------------------------------------------------------------

    async def resume(self, who: Who, assessment_id: int | None = None) -> Outcome:
        """Bring back the current question of this person's assessment in this channel."""
        async with self.db.connect() as conn:
            if assessment_id is None:
                actor = await repo.find_actor(conn, who.team_id, who.channel_id, who.user_id)
                current = None
                if actor is not None:
                    current = await repo.in_progress(conn, actor.person_id, actor.channel_id)
                if current is None:
                    finished = actor is not None and bool(
                        await results_repo.latest_results(conn, actor.person_id, actor.channel_id, limit=1)
                    )
                    return NothingInProgress(finished_one=finished)
                assessment_id = current.id
            view = await repo.get_assessment(conn, assessment_id)
            refused = self._refuse(view, who)
            if refused is not None:
                return refused
            assert view is not None
            return await self._current_view(conn, view)

    async def status(self, who: Who) -> StatusReport:
        """This person's assessment in progress and latest results in this channel."""
        async with self.db.connect() as conn:
            # Reading must not create rows: look the ids up without inserting.
            actor = await repo.find_actor(conn, who.team_id, who.channel_id, who.user_id)
            if actor is None:
                return StatusReport(None)
            current = await repo.in_progress(conn, actor.person_id, actor.channel_id)
            in_progress = None
            if current is not None:
                view = await repo.get_assessment(conn, current.id)
                shown = await self._current_view(conn, view) if view else None
                in_progress = shown if isinstance(shown, QuestionShown) else None
            results = await results_repo.latest_results(conn, actor.person_id, actor.channel_id)
        return StatusReport(in_progress, [(self.flows.get(r.flow_id), r) for r in results])
