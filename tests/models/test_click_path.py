"""The click path's short cuts, on real databases: one-trip reads and writes, group commit on SQLite,
a start in one trip, read-only readers, and migrations that only load Alembic when needed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

from models import repository as repo
from models.db import autocommit, create_engine, create_read_engine, is_unreachable
from models.migrate import head_revision, needs_upgrade, upgrade_engine
from models.repository import answers, assessments
from models.tables import Status, utcnow

ROOT = Path(__file__).resolve().parents[2]


async def _started(engine: AsyncEngine, user: str) -> int:
    async with engine.begin() as conn:
        actor = await repo.ensure_actor(conn, "T1", "C1", user, "general", user)
        return (await repo.create_assessment(conn, actor, "google", "2", "q1")).id


async def _answers(engine: AsyncEngine) -> dict[int, list[tuple[str, str]]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(answers.c.assessment_id, answers.c.question_id, answers.c.option_id))
        ).all()
    found: dict[int, list[tuple[str, str]]] = {}
    for assessment_id, question, option in rows:
        found.setdefault(assessment_id, []).append((question, option))
    return found


async def test_record_answer_claims_once_and_reads_back_as_sqlalchemy_would(engine: AsyncEngine) -> None:
    """One trip stores the answer and moves the revision; a second delivery of the same click loses."""
    assessment_id = await _started(engine, "U1")
    async with engine.connect() as conn:
        conn = await autocommit(conn)  # as the click path runs it on PostgreSQL
        assert await repo.record_answer(conn, assessment_id, 0, "q2", "q1", "yes")
        assert not await repo.record_answer(conn, assessment_id, 0, "q2", "q1", "yes")
        view = await repo.get_assessment(conn, assessment_id)
    assert view is not None
    assert (view.assessment.revision, view.assessment.current_question_id) == (1, "q2")
    assert view.answers == {"q1": "yes"}
    async with engine.connect() as conn:  # the same row through SQLAlchemy's own path
        stored = (
            await conn.execute(select(assessments.c.updated_at).where(assessments.c.id == assessment_id))
        ).one()
    assert view.assessment.updated_at == stored[0]


async def test_the_view_says_whether_the_person_has_another_model_here_to_carry_answers_from(
    engine: AsyncEngine,
) -> None:
    """Only an assessment of another model, by the same person, in the same channel counts."""

    async def create(user: str, channel: str, flow: str, status: Status = Status.COMPLETED) -> int:
        async with engine.begin() as conn:
            actor = await repo.ensure_actor(conn, "T1", channel, user, channel, user)
            if status == Status.IN_PROGRESS:
                return (await repo.create_assessment(conn, actor, flow, "2", "q1")).id
            now = utcnow()
            row = {"person_id": actor.person_id, "channel_id": actor.channel_id, "flow_id": flow}
            inserted = assessments.insert().values(
                **row, flow_version="2", status=status, revision=1, started_at=now, updated_at=now
            )
            return int((await conn.execute(inserted.returning(assessments.c.id))).scalar_one())

    async def others_here(assessment_id: int) -> bool:
        async with engine.connect() as conn:
            view = await repo.get_assessment(await autocommit(conn), assessment_id)
        assert view is not None
        return view.others_here

    first = await create("U1", "C1", "google", Status.IN_PROGRESS)
    assert not await others_here(first)
    await create("U1", "C1", "google")  # the same model again
    await create("U1", "C2", "azure")  # another channel
    await create("U2", "C1", "azure")  # another person
    assert not await others_here(first)
    await create("U1", "C1", "azure", Status.ABANDONED)
    assert await others_here(first)


async def test_group_commit_answers_every_click_and_settles_duplicates(engine: AsyncEngine) -> None:
    """Thirty clicks at once (and a repeated one, and one for no assessment) are written in few trips:
    each is answered after its commit, the repeat and the unknown one lose, nothing else is lost."""
    if engine.dialect.name != "sqlite":
        pytest.skip("group commit is SQLite's (PostgreSQL writes each click in one statement)")
    ids = [await _started(engine, f"U{n}") for n in range(30)]
    log = repo.WriteLog(engine)
    clicks = [log.record(i, 0, "q2", "q1", f"o{i}") for i in ids]
    clicks.append(log.record(ids[0], 0, "q2", "q1", "again"))  # the same click delivered twice
    clicks.append(log.record(10**9, 0, "q2", "q1", "x"))  # an assessment that does not exist
    results = await asyncio.gather(*clicks)
    assert results == [True] * 30 + [False, False]
    stored = await _answers(engine)
    assert stored == {i: [("q1", f"o{i}")] for i in ids}


async def test_group_commit_starts_a_crowd_with_its_clicks_and_refuses_a_second_start(
    engine: AsyncEngine,
) -> None:
    """Twenty starts at once in a new channel (one person twice) and clicks on existing assessments
    are written together: one channel row, one assessment per person, every click claimed."""
    if engine.dialect.name != "sqlite":
        pytest.skip("group commit is SQLite's")
    ids = [await _started(engine, f"U{n}") for n in range(5)]
    log = repo.WriteLog(engine)
    starts = [log.start(("T1", "C7", f"V{n}", "crowd", f"v{n}"), "google", "2", "q1") for n in range(20)]
    starts.append(log.start(("T1", "C7", "V3", "crowd", "v3"), "google", "2", "q1"))  # the same person
    clicks = [log.record(i, 0, "q2", "q1", "yes") for i in ids]
    started, clicked = await asyncio.gather(asyncio.gather(*starts), asyncio.gather(*clicks))
    assert clicked == [True] * 5
    new = [assessment for _, assessment in started if assessment is not None]
    assert len(new) == 20
    assert len({actor.channel_id for actor, _ in started}) == 1
    assert len({assessment.id for assessment in new}) == 20
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM assessments"))).scalar_one()
    assert count == 25


async def test_a_start_in_one_trip_creates_the_rows_and_refuses_a_second(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the one-trip start is SQLite's")
    who = ("T9", "C9", "U9", "ml", "ana")
    async with engine.connect() as conn:
        once = await repo.start_in_one_trip(conn, who, "google", "2", "q1")
        twice = await repo.start_in_one_trip(conn, who, "google", "2", "q1")
    assert once is not None  # on SQLite a start always answers
    assert twice is not None
    (actor, first), (again_actor, again) = once, twice
    assert first is not None
    assert (first.status, first.revision, first.current_question_id) == (Status.IN_PROGRESS, 0, "q1")
    assert again is None  # one is in progress here: nothing more is started
    assert again_actor == actor
    async with engine.connect() as conn:
        found = await repo.find_actor(conn, "T9", "C9", "U9")
    assert found == actor


async def test_readers_of_an_sqlite_file_cannot_write(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_engine(engine)
    reader = create_read_engine(engine)
    try:
        assert reader is not engine
        async with reader.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM assessments"))).scalar() == 0
            with pytest.raises(DBAPIError, match="readonly"):
                await conn.execute(text("DELETE FROM assessments"))
    finally:
        await reader.dispose()
        await engine.dispose()
    memory = create_engine("sqlite+aiosqlite://")
    assert create_read_engine(memory) is memory  # an in-memory database has one connection
    await memory.dispose()


async def test_a_database_at_the_newest_revision_needs_no_migration(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await needs_upgrade(engine)  # new and empty
        await upgrade_engine(engine)
        assert not await needs_upgrade(engine)
        async with engine.connect() as conn:
            assert (
                await conn.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar() == head_revision()
    finally:
        await engine.dispose()


def test_the_serving_process_loads_neither_alembic_nor_an_unused_driver() -> None:
    """What only start-up, the CLI or PostgreSQL need stays out of an app serving from SQLite."""
    code = (
        "import sys, bot.runtime.server, bot.runtime.wiring, bot.cli;"
        "heavy = ('alembic', 'mako', 'asyncpg', 'matplotlib', 'pydantic_settings');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("status", [Status.IN_PROGRESS])
async def test_record_answer_refuses_inside_a_transaction_on_sqlite(
    engine: AsyncEngine, status: Status
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's one-trip write")
    assessment_id = await _started(engine, "U1")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE assessments SET revision = revision"))  # a transaction is open
        with pytest.raises(RuntimeError, match="outside any transaction"):
            await repo.record_answer(conn, assessment_id, 0, "q2", "q1", "yes")


async def test_record_answer_on_postgres_is_refused_inside_a_transaction(engine: AsyncEngine) -> None:
    """A write that commits by itself must not run where an open transaction would swallow it."""
    if engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL's one-statement write")
    assessment_id = await _started(engine, "U1")
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # begins a transaction
        with pytest.raises(Exception, match="isolation_level may not be altered"):
            await repo.record_answer(conn, assessment_id, 0, "q2", "q1", "yes")


async def test_a_connection_lost_under_a_one_trip_read_is_an_outage_and_never_handed_out_again(
    engine: AsyncEngine,
) -> None:
    """asyncpg's own error for a closed connection becomes a disconnect, and the pool drops it."""
    if engine.dialect.name == "sqlite":
        pytest.skip("the one-trip PostgreSQL read")
    assessment_id = await _started(engine, "U1")
    async with engine.connect() as conn:
        conn = await autocommit(conn)
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        async with engine.connect() as other:
            pid = driver.get_server_pid()
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)
        with pytest.raises(DisconnectionError) as lost:
            await repo.get_assessment(conn, assessment_id)
        assert is_unreachable(lost.value)
        assert conn.invalidated
    async with engine.connect() as conn:  # a new connection serves the next click
        assert await repo.get_assessment(await autocommit(conn), assessment_id) is not None


async def test_a_start_in_one_statement_creates_the_rows_and_refuses_a_second(engine: AsyncEngine) -> None:
    """PostgreSQL: the rows and the assessment in one statement; a second start while one is in
    progress starts nothing; an existing person and channel are found, not duplicated."""
    if engine.dialect.name == "sqlite":
        pytest.skip("the one-statement start is PostgreSQL's")
    who = ("T9", "C9", "U9", "ml", "ana")
    async with engine.connect() as conn:
        first = await repo.start_in_one_trip(conn, who, "google", "2", "q1")
    async with engine.connect() as conn:
        again = await repo.start_in_one_trip(conn, who, "google", "2", "q1")
    async with engine.connect() as conn:
        bo = await repo.start_in_one_trip(conn, ("T9", "C9", "U8", "ml", "bo"), "azure", "2", "a1")
    assert first is not None
    assert again is not None
    assert bo is not None
    actor, assessment = first
    assert assessment is not None
    assert (assessment.status, assessment.revision, assessment.current_question_id) == (
        Status.IN_PROGRESS,
        0,
        "q1",
    )
    assert again == (actor, None)
    assert (bo[0].workspace_id, bo[0].channel_id) == (actor.workspace_id, actor.channel_id)
    assert bo[0].person_id != actor.person_id
    async with engine.connect() as conn:
        assert await repo.find_actor(conn, "T9", "C9", "U9") == actor
        view = await repo.get_assessment(conn, assessment.id)
    assert view is not None
    assert (view.slack_team_id, view.slack_user_id, view.slack_channel_id) == ("T9", "U9", "C9")
