"""Repository functions against real, migrated SQLite and PostgreSQL databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from flows.engine import CategoryResult, Score
from models import repository as repo
from models import results as results_repo
from models.db import session_factory
from models.tables import (
    Answer,
    Assessment,
    Channel,
    Person,
    Result,
    ResultCategory,
    Status,
    Workspace,
)


class Boom(Exception):
    """Raised on purpose inside a transaction."""


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


async def _count(sessions: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _actor(
    sessions: async_sessionmaker[AsyncSession], user: str = "U1", channel: str = "C1"
) -> repo.Actor:
    async with sessions.begin() as session:
        return await repo.ensure_actor(session, "T1", channel, user, "general", "ana")


async def _start(sessions: async_sessionmaker[AsyncSession], actor: repo.Actor) -> int:
    async with sessions.begin() as session:
        assessment = await repo.create_assessment(session, actor, "google", "1", "q1")
        return assessment.id


async def _complete(sessions: async_sessionmaker[AsyncSession], assessment_id: int, revision: int) -> None:
    async with sessions.begin() as session:
        assert await repo.claim_revision(session, assessment_id, revision, None, Status.COMPLETED)


async def _assessment(sessions: async_sessionmaker[AsyncSession], assessment_id: int) -> Assessment:
    async with sessions() as session:
        found = await session.get(Assessment, assessment_id)
        assert found is not None
        return found


def _score(level: int, *categories: tuple[str, int, float]) -> Score:
    return Score(
        level,
        float(level) + 0.5,
        tuple(CategoryResult(c, lv, sc, ()) for c, lv, sc in categories),
    )


async def test_ensure_actor_is_idempotent(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Ensuring the same Slack ids twice returns the same ids and leaves one row per table."""
    first = await _actor(sessions)
    second = await _actor(sessions)
    assert first == second
    for model in (Workspace, Channel, Person):
        assert await _count(sessions, model) == 1


async def test_ensure_actor_separates_people_and_channels(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Another person or channel in the same workspace gets its own row but shares the workspace."""
    ana = await _actor(sessions, "U1", "C1")
    bob = await _actor(sessions, "U2", "C1")
    elsewhere = await _actor(sessions, "U1", "C2")
    assert ana.workspace_id == bob.workspace_id == elsewhere.workspace_id
    assert ana.person_id == elsewhere.person_id != bob.person_id
    assert ana.channel_id == bob.channel_id != elsewhere.channel_id
    assert await _count(sessions, Person) == 2
    assert await _count(sessions, Channel) == 2


async def test_find_actor_reads_without_creating(sessions: async_sessionmaker[AsyncSession]) -> None:
    """`find_actor` returns None for unknown ids and inserts nothing; known ids are found."""
    async with sessions() as session:
        assert await repo.find_actor(session, "T1", "C1", "U1") is None
    assert await _count(sessions, Workspace) == 0
    actor = await _actor(sessions)
    async with sessions() as session:
        assert await repo.find_actor(session, "T1", "C1", "U1") == actor


async def test_only_one_assessment_in_progress_per_person_and_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A second in-progress assessment for the same person and channel violates the partial unique index."""
    actor = await _actor(sessions)
    await _start(sessions, actor)
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            await repo.create_assessment(session, actor, "azure", "1", "a1")
    assert await _count(sessions, Assessment) == 1


async def test_in_progress_in_another_channel_is_allowed(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The same person may have one assessment in progress in each channel."""
    await _start(sessions, await _actor(sessions, "U1", "C1"))
    await _start(sessions, await _actor(sessions, "U1", "C2"))
    assert await _count(sessions, Assessment) == 2


@pytest.mark.parametrize("finish", ["completed", "abandoned"])
async def test_new_assessment_allowed_after_the_first_ends(
    sessions: async_sessionmaker[AsyncSession], finish: str
) -> None:
    """Once the in-progress assessment is completed or abandoned, a new one can start."""
    actor = await _actor(sessions)
    first = await _start(sessions, actor)
    if finish == "completed":
        await _complete(sessions, first, 0)
    else:
        async with sessions.begin() as session:
            assert await repo.abandon(session, first)
    second = await _start(sessions, actor)
    assert second != first
    async with sessions() as session:
        current = await repo.in_progress(session, actor.person_id, actor.channel_id)
        assert current is not None
        assert current.id == second
    assert (await _assessment(sessions, first)).status == finish


async def test_claim_revision_succeeds_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The first claim of a revision wins and bumps it; a second claim of the same revision returns False."""
    assessment_id = await _start(sessions, await _actor(sessions))
    async with sessions.begin() as session:
        assert await repo.claim_revision(session, assessment_id, 0, "q2")
    async with sessions.begin() as session:
        assert not await repo.claim_revision(session, assessment_id, 0, "q3")
    stored = await _assessment(sessions, assessment_id)
    assert (stored.revision, stored.current_question_id) == (1, "q2")
    async with sessions.begin() as session:
        assert await repo.claim_revision(session, assessment_id, 1, "q3")
    assert (await _assessment(sessions, assessment_id)).revision == 2


async def test_claim_revision_completes_and_stamps_completed_at(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Claiming with COMPLETED marks the assessment complete, clears the question and sets completed_at."""
    assessment_id = await _start(sessions, await _actor(sessions))
    await _complete(sessions, assessment_id, 0)
    stored = await _assessment(sessions, assessment_id)
    assert stored.status == Status.COMPLETED
    assert stored.current_question_id is None
    assert stored.completed_at is not None


async def test_claim_revision_does_nothing_on_a_completed_assessment(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A completed assessment cannot be claimed again, even with its current revision."""
    assessment_id = await _start(sessions, await _actor(sessions))
    await _complete(sessions, assessment_id, 0)
    async with sessions.begin() as session:
        assert not await repo.claim_revision(session, assessment_id, 1, "q1")
    stored = await _assessment(sessions, assessment_id)
    assert (stored.status, stored.revision, stored.current_question_id) == (Status.COMPLETED, 1, None)


async def test_save_answer_upserts(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Answering a question twice keeps one row per question with the latest option."""
    assessment_id = await _start(sessions, await _actor(sessions))
    async with sessions.begin() as session:
        await repo.save_answer(session, assessment_id, "q1", "no")
        await repo.save_answer(session, assessment_id, "q2", "yes")
    async with sessions.begin() as session:
        await repo.save_answer(session, assessment_id, "q1", "yes")
    async with sessions() as session:
        view = await repo.get_assessment(session, assessment_id)
        assert view is not None
        assert view.answers == {"q1": "yes", "q2": "yes"}
    assert await _count(sessions, Answer) == 2


async def test_add_result_and_latest_results(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Results keep their categories in order, and `latest_results` lists them newest first."""
    actor = await _actor(sessions)
    ids = []
    for level in (1, 2):
        assessment_id = await _start(sessions, actor)
        await _complete(sessions, assessment_id, 0)
        async with sessions.begin() as session:
            await results_repo.add_result(
                session,
                assessment_id,
                _score(level, ("zeta", level, 1.5), ("alpha", 0, 0.25), ("mid", 3, 3.0)),
            )
        ids.append(assessment_id)

    async with sessions() as session:
        rows = (await session.execute(select(ResultCategory).order_by(ResultCategory.id))).scalars().all()
        assert [(c.category_id, c.position) for c in rows[:3]] == [("zeta", 0), ("alpha", 1), ("mid", 2)]
        latest = await results_repo.latest_results(session, actor.person_id, actor.channel_id)

    assert [r.assessment_id for r in latest] == ids[::-1]
    newest = latest[0]
    assert (newest.flow_id, newest.level, newest.score) == ("google", 2, 2.5)
    assert newest.categories == (("zeta", 2, 1.5), ("alpha", 0, 0.25), ("mid", 3, 3.0))
    assert newest.completed_at is not None


async def test_latest_results_respects_the_limit_and_the_owner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """`latest_results` returns at most `limit` rows and only this person's results in this channel."""
    ana = await _actor(sessions, "U1")
    bob = await _actor(sessions, "U2")
    for actor in (ana, ana, ana, bob):
        assessment_id = await _start(sessions, actor)
        await _complete(sessions, assessment_id, 0)
        async with sessions.begin() as session:
            await results_repo.add_result(session, assessment_id, _score(0, ("c", 0, 0.0)))
    async with sessions() as session:
        assert len(await results_repo.latest_results(session, ana.person_id, ana.channel_id, limit=2)) == 2
        assert len(await results_repo.latest_results(session, ana.person_id, ana.channel_id)) == 3
        assert len(await results_repo.latest_results(session, bob.person_id, bob.channel_id)) == 1


async def test_completed_assessments_are_kept_as_history(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Two completed assessments for the same person and channel both remain stored."""
    actor = await _actor(sessions)
    for _ in range(2):
        await _complete(sessions, await _start(sessions, actor), 0)
    async with sessions() as session:
        statuses = (await session.execute(select(Assessment.status))).scalars().all()
    assert statuses == [Status.COMPLETED, Status.COMPLETED]


async def test_record_post_stores_where_the_result_went(sessions: async_sessionmaker[AsyncSession]) -> None:
    """`record_post` saves the posted message ts or the reason the post failed."""
    assessment_id = await _start(sessions, await _actor(sessions))
    async with sessions.begin() as session:
        result_id = await results_repo.add_result(session, assessment_id, _score(0, ("c", 0, 0.0)))
    async with sessions.begin() as session:
        await results_repo.record_post(session, result_id, None, "not_in_channel")
    async with sessions() as session:
        stored = await session.get(Result, result_id)
        assert stored is not None
        assert (stored.posted_ts, stored.post_error) == (None, "not_in_channel")


async def _write_everything_then_fail(sessions: async_sessionmaker[AsyncSession], assessment_id: int) -> None:
    """A service-shaped transaction: every kind of repository write, then an error before commit."""
    async with sessions.begin() as session:
        await repo.ensure_actor(session, "T2", "C9", "U9")
        assert await repo.claim_revision(session, assessment_id, 0, "q2")
        await repo.save_answer(session, assessment_id, "q1", "yes")
        result_id = await results_repo.add_result(session, assessment_id, _score(1, ("c", 1, 1.0)))
        await results_repo.record_post(session, result_id, "1700000000.1", None)
        assert await repo.abandon(session, assessment_id)
        raise Boom


async def test_repositories_never_commit(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Repository writes followed by an exception inside `sessions.begin()` leave the database unchanged."""
    actor = await _actor(sessions)
    assessment_id = await _start(sessions, actor)

    with pytest.raises(Boom):
        await _write_everything_then_fail(sessions, assessment_id)

    assert await _count(sessions, Workspace) == 1
    assert await _count(sessions, Person) == 1
    assert await _count(sessions, Answer) == 0
    assert await _count(sessions, Result) == 0
    assert await _count(sessions, ResultCategory) == 0
    stored = await _assessment(sessions, assessment_id)
    assert (stored.revision, stored.current_question_id, stored.status) == (0, "q1", Status.IN_PROGRESS)
