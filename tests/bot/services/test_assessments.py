"""The assessment service against real, migrated SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services.assessments import AssessmentService
from bot.services.outcomes import (
    Completed,
    NothingInProgress,
    NotYours,
    QuestionNote,
    QuestionShown,
    StatusReport,
    Who,
)
from flows.engine import walk
from flows.loader import load_flows
from flows.schema import Flow
from models.db import session_factory
from models.tables import Answer, Assessment, Channel, Person, Result, Status, Workspace, utcnow

ANA = Who("T1", "C1", "U1", "general", "ana")
BOB = Who("T1", "C1", "U2", "general", "bob")


@pytest.fixture(scope="module")
def flows() -> dict[str, Flow]:
    return load_flows()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def service(engine: AsyncEngine, flows: dict[str, Flow]) -> AssessmentService:
    return AssessmentService(engine, flows)


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _stored(sessions: async_sessionmaker[AsyncSession], assessment_id: int) -> Assessment:
    async with sessions() as session:
        found = await session.get(Assessment, assessment_id)
        assert found is not None
        return found


async def _start(service: AssessmentService, flow_id: str = "google") -> QuestionShown:
    view = await service.start(ANA, flow_id)
    assert isinstance(view, QuestionShown)
    return view


@pytest.mark.parametrize("flow_id", ["google", "azure", "gigaom"])
async def test_best_answers_reach_the_top_level(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession], flow_id: str
) -> None:
    """Answering every question with its best option ends in a Completed at the top level, having
    asked what the engine's adaptive asking asks for those answers (a settled level's last question
    is left out)."""
    view = await _start(service, flow_id)
    assert (view.number, view.first, view.revision, view.answered) == (1, True, 0, 0)
    outcome: object = view
    asked = 0
    while isinstance(outcome, QuestionShown):
        q = outcome.question
        outcome = await service.answer(ANA, outcome.assessment_id, outcome.revision, q.id, q.best_option.id)
        asked += 1
    assert isinstance(outcome, Completed)
    flow = service.flows[flow_id]
    assert outcome.score.level == flow.max_level
    assert (outcome.user_id, outcome.channel_id) == ("U1", "C1")
    assert asked == len(walk(flow, lambda q: q.best_option)) < len(flow.questions)

    stored = await _stored(sessions, view.assessment_id)
    assert (stored.status, stored.revision, stored.current_question_id) == (Status.COMPLETED, asked, None)
    assert await _count(sessions, Answer) == asked
    assert await _count(sessions, Result) == 1


async def test_answer_with_a_stale_revision_changes_nothing(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A click carrying the wrong revision returns the current question with a note and writes nothing."""
    view = await _start(service)
    q = view.question
    outcome = await service.answer(ANA, view.assessment_id, view.revision + 5, q.id, q.best_option.id)
    assert isinstance(outcome, QuestionShown)
    assert outcome.note
    assert outcome.question.id == q.id
    assert outcome.revision == view.revision
    stored = await _stored(sessions, view.assessment_id)
    assert (stored.revision, stored.current_question_id) == (0, q.id)
    assert await _count(sessions, Answer) == 0


async def test_repeated_delivery_of_an_accepted_click_says_already_counted(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The same click delivered twice is counted once and the repeat is told so."""
    view = await _start(service)
    q = view.question
    first = await service.answer(ANA, view.assessment_id, view.revision, q.id, q.best_option.id)
    again = await service.answer(ANA, view.assessment_id, view.revision, q.id, q.best_option.id)
    assert isinstance(first, QuestionShown)
    assert isinstance(again, QuestionShown)
    assert again.note is QuestionNote.ALREADY_COUNTED
    assert again.question.id == first.question.id
    assert (await _stored(sessions, view.assessment_id)).revision == 1
    assert await _count(sessions, Answer) == 1


async def test_concurrent_answers_with_one_revision_advance_once(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Two racing answers with the same revision: exactly one is accepted, the other changes nothing."""
    view = await _start(service, "gigaom")
    for step in range(1, 6):
        q = view.question
        choices = [q.best_option.id, min(q.options, key=lambda o: o.credit).id]
        outcomes = await asyncio.gather(
            *(service.answer(ANA, view.assessment_id, view.revision, q.id, c) for c in choices)
        )
        assert all(isinstance(o, QuestionShown) for o in outcomes)
        advanced = [i for i, o in enumerate(outcomes) if isinstance(o, QuestionShown) and o.note is None]
        assert len(advanced) == 1, outcomes
        stored = await _stored(sessions, view.assessment_id)
        assert stored.revision == step
        assert await _count(sessions, Answer) == step
        async with sessions() as session:
            saved = await session.scalar(select(Answer.option_id).where(Answer.question_id == q.id))
        # The stored option is the winner's; the loser's option was never written.
        assert saved == choices[advanced[0]]
        winner = outcomes[advanced[0]]
        assert isinstance(winner, QuestionShown)
        assert winner.revision == step
        view = winner


async def test_a_click_after_one_this_process_accepted_is_written_without_reading_first(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The second click starts from what the first left (seen here by changing the stored question
    behind the service's back, without moving the revision: only a read would notice)."""
    view = await _start(service)
    q1 = view.question
    second = await service.answer(ANA, view.assessment_id, view.revision, q1.id, q1.best_option.id)
    assert isinstance(second, QuestionShown)
    async with sessions.begin() as session:
        await session.execute(
            update(Assessment).where(Assessment.id == view.assessment_id).values(current_question_id=q1.id)
        )
    q2 = second.question
    third = await service.answer(ANA, second.assessment_id, second.revision, q2.id, q2.best_option.id)
    assert isinstance(third, QuestionShown)
    assert third.note is None  # a read would have found the click not on the current question
    stored = await _stored(sessions, view.assessment_id)
    assert (stored.revision, stored.current_question_id) == (2, third.question.id)
    # A process without that memory reads first, and words the click from what is stored.
    fresh = AssessmentService(service.db, service.flows)
    q3 = third.question
    async with sessions.begin() as session:
        await session.execute(
            update(Assessment).where(Assessment.id == view.assessment_id).values(current_question_id=q1.id)
        )
    refused = await fresh.answer(ANA, third.assessment_id, third.revision, q3.id, q3.best_option.id)
    assert isinstance(refused, QuestionShown)
    assert refused.note is QuestionNote.NOT_CURRENT


async def test_an_old_message_clicked_after_back_is_told_so_though_this_process_remembered_it(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Back moved the assessment on; a click on the message from before Back changes nothing and
    gets the same note a process that reads first would give."""
    view = await _start(service)
    q1 = view.question
    second = await service.answer(ANA, view.assessment_id, view.revision, q1.id, q1.best_option.id)
    assert isinstance(second, QuestionShown)
    back = await service.back(ANA, second.assessment_id, second.revision)
    assert isinstance(back, QuestionShown)
    q2 = second.question
    stale = await service.answer(ANA, second.assessment_id, second.revision, q2.id, q2.best_option.id)
    assert isinstance(stale, QuestionShown)
    assert stale.note is QuestionNote.EARLIER_STEP
    assert (stale.question.id, stale.revision) == (q1.id, 2)
    assert await _count(sessions, Answer) == 1
    # And the click on the question Back showed works as usual.
    again = await service.answer(ANA, back.assessment_id, back.revision, q1.id, q1.best_option.id)
    assert isinstance(again, QuestionShown)
    assert again.note is None


async def test_what_a_process_remembers_about_assessments_is_bounded(
    service: AssessmentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.services.assessments.WARM_VIEWS", 2)
    for n in range(4):
        who = Who("T1", f"C{n}", "U1", "general", "ana")
        view = await service.start(who, "google")
        assert isinstance(view, QuestionShown)
        q = view.question
        await service.answer(who, view.assessment_id, view.revision, q.id, q.best_option.id)
    assert len(service._warm) == 2


async def test_a_foreign_user_gets_a_note_naming_the_owner(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Someone else clicking a person's question is told whose it is, and nothing changes."""
    view = await _start(service)
    q = view.question
    outcome = await service.answer(BOB, view.assessment_id, view.revision, q.id, q.best_option.id)
    assert outcome == NotYours("U1")
    assert (await _stored(sessions, view.assessment_id)).revision == 0
    assert await _count(sessions, Answer) == 0


async def test_back_on_the_first_question_returns_a_note(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Back on the first question shows it again with a note and does not move the revision."""
    view = await _start(service)
    outcome = await service.back(ANA, view.assessment_id, view.revision)
    assert isinstance(outcome, QuestionShown)
    assert outcome.question.id == view.question.id
    assert outcome.note is QuestionNote.FIRST_QUESTION
    assert (await _stored(sessions, view.assessment_id)).revision == 0


async def test_back_after_an_answer_shows_the_previous_answer_chosen(service: AssessmentService) -> None:
    """Back from the second question returns to the first with the earlier option marked as chosen."""
    view = await _start(service)
    q = view.question
    second = await service.answer(ANA, view.assessment_id, view.revision, q.id, q.best_option.id)
    assert isinstance(second, QuestionShown)
    outcome = await service.back(ANA, second.assessment_id, second.revision)
    assert isinstance(outcome, QuestionShown)
    assert (outcome.question.id, outcome.chosen, outcome.revision) == (q.id, q.best_option.id, 2)


async def test_status_for_an_unknown_person_creates_nothing(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Status for someone never seen is empty and inserts no rows."""
    outcome = await service.status(ANA)
    assert outcome == StatusReport(None)
    assert outcome.results == []
    for model in (Workspace, Channel, Person, Assessment):
        assert await _count(sessions, model) == 0


async def test_status_shows_the_assessment_in_progress(service: AssessmentService) -> None:
    """Status lists the assessment under way with its current question."""
    view = await _start(service, "azure")
    outcome = await service.status(ANA)
    assert outcome.in_progress is not None
    assert (outcome.in_progress.assessment_id, outcome.in_progress.question.id) == (
        view.assessment_id,
        view.question.id,
    )
    assert outcome.results == []


async def test_resume_after_finishing_says_the_last_one_is_complete(service: AssessmentService) -> None:
    """Resume with nothing under way tells a person who just finished that their result exists."""
    assert await service.resume(ANA) == NothingInProgress(finished_one=False)
    outcome: object = await _start(service)
    while isinstance(outcome, QuestionShown):
        q = outcome.question
        outcome = await service.answer(ANA, outcome.assessment_id, outcome.revision, q.id, q.best_option.id)
    assert await service.resume(ANA) == NothingInProgress(finished_one=True)


async def _take(
    service: AssessmentService, who: Who, flow_id: str
) -> tuple[dict[str, str], dict[str, QuestionShown]]:
    """Answer a model with best options; returns the answers and every question as it was shown."""
    outcome: object = await service.start(who, flow_id)
    answers: dict[str, str] = {}
    shown: dict[str, QuestionShown] = {}
    while isinstance(outcome, QuestionShown):
        q = outcome.question
        shown[q.id] = outcome
        answers[q.id] = q.best_option.id
        outcome = await service.answer(who, outcome.assessment_id, outcome.revision, q.id, q.best_option.id)
    assert isinstance(outcome, Completed)
    return answers, shown


def _expected_carries(flow: Flow, source: str, given: dict[str, str], asked: set[str]) -> dict[str, str]:
    expected = {}
    for q in flow.questions:
        for same in q.same_as:
            ours = same.options.get(given.get(same.question, "")) if same.flow == source else None
            if ours is not None and q.id in asked:
                expected[q.id] = ours
    return expected


async def test_answers_to_the_same_practice_carry_over_from_another_model(
    service: AssessmentService, flows: dict[str, Flow]
) -> None:
    """After Google, Azure's questions on the same practices come pre-selected with where the
    answer came from; they still take a click, and only this person's, this channel's answers count."""
    given, _ = await _take(service, ANA, "google")
    _, shown = await _take(service, ANA, "azure")
    carried = {qid: v.carried for qid, v in shown.items() if v.carried is not None}
    expected = _expected_carries(flows["azure"], "google", given, set(shown))
    assert expected  # the shipped flows link some practices
    assert {qid: c.option_id for qid, c in carried.items()} == expected
    assert {(c.flow_id, c.flow_title) for c in carried.values()} == {("google", flows["google"].title)}
    # bob in the same channel, and ana in another channel, start from nothing
    _, bobs = await _take(service, BOB, "azure")
    assert not [v for v in bobs.values() if v.carried]
    _, elsewhere = await _take(service, Who("T1", "C2", "U1"), "azure")
    assert not [v for v in elsewhere.values() if v.carried]


async def test_answers_older_than_90_days_do_not_carry_over(
    service: AssessmentService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _take(service, ANA, "google")
    async with sessions.begin() as session:
        await session.execute(update(Answer).values(answered_at=utcnow() - timedelta(days=91)))
    _, shown = await _take(service, ANA, "azure")
    assert not [v for v in shown.values() if v.carried]
