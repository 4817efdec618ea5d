"""Small functions that read and write the tables. They never commit: services own transactions.

They use SQLAlchemy Core statements on the mapped tables: a click runs five of them, and Core
costs a fraction of the ORM's unit-of-work machinery per statement (see bench/). Each function
takes an ``AsyncConnection`` (what services use) or an ``AsyncSession`` (handy in tests).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Table, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from models import onetrip
from models.db import autocommit, release
from models.tables import (
    Answer,
    Assessment,
    Channel,
    Person,
    Result,
    ResultCategory,
    Status,
    Workspace,
    as_utc,
    utcnow,
)

Db = AsyncConnection | AsyncSession
T = TypeVar("T")

# The mapped classes define the schema (and migrations compare against them); statements here use
# their tables directly.
assessments = cast(Table, Assessment.__table__)
answers = cast(Table, Answer.__table__)
channels = cast(Table, Channel.__table__)
people = cast(Table, Person.__table__)
results = cast(Table, Result.__table__)
result_categories = cast(Table, ResultCategory.__table__)
workspaces = cast(Table, Workspace.__table__)


def _dialect(db: Db) -> str:
    bind = db.get_bind() if isinstance(db, AsyncSession) else db
    return bind.dialect.name


def insert_for(db: Db, table: Any) -> Any:
    """A dialect-specific INSERT that supports ON CONFLICT (SQLite and PostgreSQL both do)."""
    return postgresql.insert(table) if _dialect(db) == "postgresql" else sqlite.insert(table)


@dataclass(frozen=True)
class Actor:
    """Database ids for the Slack team, channel and person behind a request."""

    workspace_id: int
    channel_id: int
    person_id: int


@dataclass(frozen=True)
class AssessmentRow:
    id: int
    person_id: int
    channel_id: int
    flow_id: str
    flow_version: str
    status: str
    current_question_id: str | None
    revision: int
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None


ASSESSMENT_COLUMNS = [assessments.c[name] for name in AssessmentRow.__dataclass_fields__]


def _assessment(row: Row[Any] | Any) -> AssessmentRow:
    return AssessmentRow(*row[: len(ASSESSMENT_COLUMNS)])


async def _get_or_create(db: Db, table: Any, keys: dict[str, Any], extra: dict[str, Any]) -> int:
    criteria = [table.c[k] == v for k, v in keys.items()]
    found = await db.scalar(select(table.c.id).where(*criteria))
    if found is not None:
        return int(found)
    await db.execute(insert_for(db, table).values(**keys, **extra).on_conflict_do_nothing())
    # Another instance may have inserted the row between our select and insert; read it back.
    created = await db.scalar(select(table.c.id).where(*criteria))
    assert created is not None, "ON CONFLICT DO NOTHING left no row behind"
    return int(created)


async def ensure_actor(
    db: Db,
    team_id: str,
    channel_id: str,
    user_id: str,
    channel_name: str | None = None,
    user_name: str | None = None,
) -> Actor:
    """Find or create the workspace, channel and person rows for these Slack ids."""
    found = await find_actor(db, team_id, channel_id, user_id)
    if found is not None:  # the usual case: one query instead of three
        return found
    now = utcnow()
    workspace = await _get_or_create(db, workspaces, {"slack_team_id": team_id}, {"created_at": now})
    channel = await _get_or_create(
        db,
        channels,
        {"workspace_id": workspace, "slack_channel_id": channel_id},
        {"name": channel_name, "created_at": now},
    )
    person = await _get_or_create(
        db,
        people,
        {"workspace_id": workspace, "slack_user_id": user_id},
        {"name": user_name, "created_at": now},
    )
    return Actor(workspace, channel, person)


def _sqlite_get_or_create(table: Any, keys: tuple[str, ...], extra: tuple[str, ...]) -> tuple[Any, Any]:
    values = {name: bindparam(name, type_=table.c[name].type) for name in (*keys, *extra)}
    create = onetrip.SqliteSql.of(sqlite.insert(table).values(values).on_conflict_do_nothing())
    find = onetrip.SqliteSql.of(
        select(table.c.id).where(*[table.c[k] == bindparam(k, type_=table.c[k].type) for k in keys])
    )
    return create, find


_START_SQLITE = {
    "workspace": _sqlite_get_or_create(workspaces, ("slack_team_id",), ("created_at",)),
    "channel": _sqlite_get_or_create(channels, ("workspace_id", "slack_channel_id"), ("name", "created_at")),
    "person": _sqlite_get_or_create(people, ("workspace_id", "slack_user_id"), ("name", "created_at")),
}
_CREATE_ASSESSMENT_SQLITE = onetrip.SqliteSql.of(
    sqlite.insert(assessments)
    .values({c.name: bindparam(c.name, type_=c.type) for c in ASSESSMENT_COLUMNS if c.name != "id"})
    .returning(*ASSESSMENT_COLUMNS)
)


Names = tuple[str, str, str, str | None, str | None]  # team, channel, user, channel name, user name


async def start_in_one_trip(
    db: AsyncConnection, who: Names, flow_id: str, flow_version: str, first_question_id: str
) -> tuple[Actor, AssessmentRow | None] | None:
    """Find or create the workspace, channel and person rows and start an assessment, committed, in
    one trip: one call into SQLite's thread, or one PostgreSQL statement (:func:`_start_postgres`).
    The assessment is None when one is already in progress for this person here (nothing is started
    then; the rows found or created are kept); the whole answer is None on PostgreSQL when a row
    another request created a moment ago is not yet visible (the caller takes the usual path).
    (On SQLite the app uses :class:`WriteLog`, which commits the starts and clicks that arrive
    together in one trip.)"""
    if not onetrip.is_sqlite(db):
        return await _start_postgres(db, who, flow_id, flow_version, first_question_id)
    return _started(await _write_one(db, _start_job(who, flow_id, flow_version, first_question_id)))


_StartedRow = tuple[Actor, tuple[Any, ...] | None]


def _started(written: _StartedRow) -> tuple[Actor, AssessmentRow | None]:
    actor, row = written
    if row is None:
        return actor, None
    return actor, _assessment(_CREATE_ASSESSMENT_SQLITE.rows([row])[0])


def _start_job(
    who: Names, flow_id: str, flow_version: str, first_question_id: str
) -> Callable[[sqlite3.Connection], _StartedRow]:
    """In SQLite's thread, inside the batch's transaction: the rows found or created, and the new
    assessment's row (None when one is in progress for this person here already)."""
    team_id, channel_id, user_id, channel_name, user_name = who
    now = utcnow()

    def ensure(connection: sqlite3.Connection, kind: str, values: dict[str, Any]) -> int:
        create, find = _START_SQLITE[kind]
        found = connection.execute(find.sql, find.params(values)).fetchone()
        if found is None:
            connection.execute(create.sql, create.params(values))
            found = connection.execute(find.sql, find.params(values)).fetchone()
        return int(found[0])

    def job(connection: sqlite3.Connection) -> _StartedRow:
        workspace = ensure(connection, "workspace", {"slack_team_id": team_id, "created_at": now})
        channel = ensure(
            connection,
            "channel",
            {
                "workspace_id": workspace,
                "slack_channel_id": channel_id,
                "name": channel_name,
                "created_at": now,
            },
        )
        person = ensure(
            connection,
            "person",
            {"workspace_id": workspace, "slack_user_id": user_id, "name": user_name, "created_at": now},
        )
        values = {
            "person_id": person,
            "channel_id": channel,
            "flow_id": flow_id,
            "flow_version": flow_version,
            "status": Status.IN_PROGRESS,
            "current_question_id": first_question_id,
            "revision": 0,
            "started_at": now,
            "updated_at": now,
            "completed_at": None,
        }
        try:
            row = connection.execute(
                _CREATE_ASSESSMENT_SQLITE.sql, _CREATE_ASSESSMENT_SQLITE.params(values)
            ).fetchone()
        except sqlite3.IntegrityError:  # one is in progress here already (a unique index)
            row = None
        return Actor(workspace, channel, person), row

    return job


_START_POSTGRES = onetrip.PgSql.of(
    text(
        """
WITH w_new AS (
    INSERT INTO workspaces (slack_team_id, created_at) VALUES (:team, :now)
    ON CONFLICT DO NOTHING RETURNING id
), w AS (
    SELECT id FROM w_new UNION ALL SELECT id FROM workspaces WHERE slack_team_id = :team LIMIT 1
), c_new AS (
    INSERT INTO channels (workspace_id, slack_channel_id, name, created_at)
    SELECT w.id, :channel, :channel_name, :now FROM w
    ON CONFLICT DO NOTHING RETURNING id
), c AS (
    SELECT id FROM c_new UNION ALL
    SELECT channels.id FROM channels JOIN w ON channels.workspace_id = w.id
    WHERE channels.slack_channel_id = :channel LIMIT 1
), p_new AS (
    INSERT INTO people (workspace_id, slack_user_id, name, created_at)
    SELECT w.id, :user, :user_name, :now FROM w
    ON CONFLICT DO NOTHING RETURNING id
), p AS (
    SELECT id FROM p_new UNION ALL
    SELECT people.id FROM people JOIN w ON people.workspace_id = w.id
    WHERE people.slack_user_id = :user LIMIT 1
), a AS (
    INSERT INTO assessments (person_id, channel_id, flow_id, flow_version, status,
                             current_question_id, revision, started_at, updated_at)
    SELECT p.id, c.id, :flow_id, :flow_version, 'in_progress', :first_question_id, 0, :now, :now
    FROM p, c
    ON CONFLICT DO NOTHING
    RETURNING id, person_id, channel_id, flow_id, flow_version, status, current_question_id,
              revision, started_at, updated_at, completed_at
)
SELECT w.id, c.id, p.id, a.* FROM w CROSS JOIN c CROSS JOIN p LEFT JOIN a ON true
"""
    ).bindparams(
        bindparam("now", type_=workspaces.c.created_at.type),
        bindparam("team", type_=workspaces.c.slack_team_id.type),
        bindparam("channel", type_=channels.c.slack_channel_id.type),
        bindparam("channel_name", type_=channels.c.name.type),
        bindparam("user", type_=people.c.slack_user_id.type),
        bindparam("user_name", type_=people.c.name.type),
        bindparam("flow_id", type_=assessments.c.flow_id.type),
        bindparam("flow_version", type_=assessments.c.flow_version.type),
        bindparam("first_question_id", type_=assessments.c.current_question_id.type),
    )
)


async def _start_postgres(
    db: AsyncConnection, who: Names, flow_id: str, flow_version: str, first_question_id: str
) -> tuple[Actor, AssessmentRow | None] | None:
    """PostgreSQL's start in one statement (data-modifying CTEs), committed by itself."""
    team_id, channel_id, user_id, channel_name, user_name = who
    db = await autocommit(db)
    rows = await _START_POSTGRES.fetch(
        db,
        {
            "now": utcnow(),
            "team": team_id,
            "channel": channel_id,
            "channel_name": channel_name,
            "user": user_id,
            "user_name": user_name,
            "flow_id": flow_id,
            "flow_version": flow_version,
            "first_question_id": first_question_id,
        },
    )
    if not rows:
        return None
    row = rows[0]
    actor = Actor(int(row[0]), int(row[1]), int(row[2]))
    return actor, (AssessmentRow(*row[3:]) if row[3] is not None else None)


async def find_actor(db: Db, team_id: str, channel_id: str, user_id: str) -> Actor | None:
    """The ids for these Slack ids if all three rows exist; reads only."""
    row = (
        await db.execute(
            select(workspaces.c.id, channels.c.id, people.c.id)
            .join(channels, channels.c.workspace_id == workspaces.c.id)
            .join(people, people.c.workspace_id == workspaces.c.id)
            .where(
                workspaces.c.slack_team_id == team_id,
                channels.c.slack_channel_id == channel_id,
                people.c.slack_user_id == user_id,
            )
        )
    ).first()
    return Actor(row[0], row[1], row[2]) if row else None


async def in_progress(db: Db, person_id: int, channel_id: int) -> AssessmentRow | None:
    row = (
        await db.execute(
            select(*ASSESSMENT_COLUMNS).where(
                assessments.c.person_id == person_id,
                assessments.c.channel_id == channel_id,
                assessments.c.status == Status.IN_PROGRESS,
            )
        )
    ).first()
    return _assessment(row) if row else None


@dataclass(frozen=True)
class GivenAnswer:
    flow_id: str
    question_id: str
    option_id: str
    answered_at: datetime


_RECENT = (
    select(assessments.c.flow_id, answers.c.question_id, answers.c.option_id, answers.c.answered_at)
    .join(answers, answers.c.assessment_id == assessments.c.id)
    .where(
        assessments.c.person_id == bindparam("person_id"),
        assessments.c.channel_id == bindparam("channel_id"),
        answers.c.answered_at >= bindparam("since"),
    )
    .order_by(answers.c.answered_at.desc(), answers.c.id.desc())
)
_RECENT_QUERY = onetrip.Query(_RECENT)


async def recent_answers(
    db: Db, person_id: int, channel_id: int, flow_ids: set[str], since: datetime
) -> list[GivenAnswer]:
    """This person's answers in this channel to the given models since ``since``, newest first."""
    params = {"person_id": person_id, "channel_id": channel_id, "since": since}
    rows = await _RECENT_QUERY.all(db, params)  # one trip: a question is on its way
    return [GivenAnswer(f, q, o, as_utc(at)) for f, q, o, at in rows if f in flow_ids]


async def create_assessment(
    db: Db, actor: Actor, flow_id: str, flow_version: str, first_question_id: str
) -> AssessmentRow:
    """Insert a new in-progress assessment; a concurrent one raises IntegrityError."""
    now = utcnow()
    row = (
        await db.execute(
            assessments.insert()
            .values(
                person_id=actor.person_id,
                channel_id=actor.channel_id,
                flow_id=flow_id,
                flow_version=flow_version,
                status=Status.IN_PROGRESS,
                current_question_id=first_question_id,
                revision=0,
                started_at=now,
                updated_at=now,
            )
            .returning(*ASSESSMENT_COLUMNS)
        )
    ).one()
    return _assessment(row)


@dataclass(frozen=True)
class AssessmentView:
    """An assessment with its answers and the Slack ids of its owner and channel."""

    assessment: AssessmentRow
    slack_team_id: str
    slack_user_id: str
    slack_channel_id: str
    answers: dict[str, str]  # question id -> option id
    # Whether this person has an assessment of another model in this channel: only then can an
    # answer carry over (see recent_answers), so only then is it worth a trip to look.
    others_here: bool = True


_OTHER = assessments.alias("other")
_OTHERS_HERE = (
    select(_OTHER.c.id)
    .where(
        _OTHER.c.person_id == assessments.c.person_id,
        _OTHER.c.channel_id == assessments.c.channel_id,
        _OTHER.c.flow_id != assessments.c.flow_id,
    )
    .exists()
)

_VIEW = (
    select(
        *ASSESSMENT_COLUMNS,
        workspaces.c.slack_team_id,
        people.c.slack_user_id,
        channels.c.slack_channel_id,
        _OTHERS_HERE.label("others_here"),
        answers.c.question_id,
        answers.c.option_id,
    )
    .join(people, people.c.id == assessments.c.person_id)
    .join(channels, channels.c.id == assessments.c.channel_id)
    .join(workspaces, workspaces.c.id == channels.c.workspace_id)
    .outerjoin(answers, answers.c.assessment_id == assessments.c.id)
    .where(assessments.c.id == bindparam("assessment_id"))
)


_VIEW_QUERY = onetrip.Query(_VIEW)


async def get_assessment(db: Db, assessment_id: int) -> AssessmentView | None:
    """An assessment with its answers and owner, in one round trip (every click starts here)."""
    rows = await _VIEW_QUERY.all(db, {"assessment_id": assessment_id})
    if not rows:
        return None
    width = len(ASSESSMENT_COLUMNS)
    team, user, channel, others_here = rows[0][width : width + 4]
    given = {row[-2]: row[-1] for row in rows if row[-2] is not None}
    return AssessmentView(_assessment(rows[0]), team, user, channel, given, bool(others_here))


_CLAIM = (
    update(assessments)
    .where(
        assessments.c.id == bindparam("assessment_id"),
        assessments.c.revision == bindparam("expected_revision"),
        assessments.c.status == Status.IN_PROGRESS,
    )
    .values(
        revision=bindparam("new_revision"),
        current_question_id=bindparam("new_question_id"),
        status=bindparam("new_status"),
        updated_at=bindparam("now"),
        completed_at=bindparam("completed_at"),
    )
)


async def claim_revision(
    db: Db,
    assessment_id: int,
    expected_revision: int,
    current_question_id: str | None,
    status: Status = Status.IN_PROGRESS,
) -> bool:
    """Move an in-progress assessment on by one accepted click; False if someone got there first.

    This conditional update is the only guard against duplicate and racing clicks, so call it as
    the first write of the transaction (on SQLite that takes the write lock up front).
    """
    now = utcnow()
    result = await db.execute(
        _CLAIM,
        {
            "assessment_id": assessment_id,
            "expected_revision": expected_revision,
            "new_revision": expected_revision + 1,
            "new_question_id": current_question_id,
            "new_status": status,
            "now": now,
            "completed_at": now if status is Status.COMPLETED else None,
        },
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult at run time; typed as Result


def _build_save_answer(dialect: str) -> Any:
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(answers)
    return stmt.on_conflict_do_update(
        index_elements=[answers.c.assessment_id, answers.c.question_id],
        set_={"option_id": stmt.excluded.option_id, "answered_at": stmt.excluded.answered_at},
    )


# Built once per dialect: constructing an upsert costs more than running it.
_SAVE_ANSWER = {name: _build_save_answer(name) for name in ("postgresql", "sqlite")}


_SAVE_ANSWER_VALUES: dict[str, Any] = {
    "assessment_id": bindparam("assessment_id"),
    "question_id": bindparam("question_id"),
    "option_id": bindparam("option_id"),
    "answered_at": bindparam("answered_at"),
}
_CLAIM_SQLITE = onetrip.SqliteSql.of(_CLAIM)
_SAVE_ANSWER_SQLITE = onetrip.SqliteSql.of(_SAVE_ANSWER["sqlite"].values(_SAVE_ANSWER_VALUES))


def _claimed_and_saved() -> Any:
    """PostgreSQL: the claim and the answer as one statement (a data-modifying CTE)."""
    claimed = _CLAIM.returning(assessments.c.id).cte("claimed")
    ins = postgresql.insert(answers).from_select(
        ["assessment_id", "question_id", "option_id", "answered_at"],
        select(
            claimed.c.id,
            bindparam("question_id", type_=answers.c.question_id.type),
            bindparam("option_id", type_=answers.c.option_id.type),
            bindparam("answered_at", type_=answers.c.answered_at.type),
        ),
    )
    return ins.on_conflict_do_update(
        index_elements=[answers.c.assessment_id, answers.c.question_id],
        set_={"option_id": ins.excluded.option_id, "answered_at": ins.excluded.answered_at},
    ).returning(answers.c.assessment_id)


_CLAIM_AND_SAVE_POSTGRES = onetrip.PgSql.of(_claimed_and_saved())


def _click_params(
    assessment_id: int, expected_revision: int, next_question_id: str, question_id: str, option_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    now = utcnow()
    claim = {
        "assessment_id": assessment_id,
        "expected_revision": expected_revision,
        "new_revision": expected_revision + 1,
        "new_question_id": next_question_id,
        "new_status": Status.IN_PROGRESS,
        "now": now,
        "completed_at": None,
    }
    answer = {
        "assessment_id": assessment_id,
        "question_id": question_id,
        "option_id": option_id,
        "answered_at": now,
    }
    return claim, answer


async def record_answer(
    db: AsyncConnection,
    assessment_id: int,
    expected_revision: int,
    next_question_id: str,
    question_id: str,
    option_id: str,
) -> bool:
    """Accept a click that does not finish the assessment: claim its revision and store its answer,
    committed, in one round trip (one statement on PostgreSQL, run in autocommit mode; one call into
    SQLite's thread). False when another delivery or a racing click got there first; nothing is
    written then. ``db`` must not be in a transaction. (On SQLite the app uses :class:`WriteLog`,
    which commits the clicks and starts that arrive together in one trip.)
    """
    claim, answer = _click_params(assessment_id, expected_revision, next_question_id, question_id, option_id)
    if not onetrip.is_sqlite(db):
        db = await autocommit(db)  # committed by itself (refused inside an open transaction)
        return len(await _CLAIM_AND_SAVE_POSTGRES.fetch(db, {**claim, **answer})) == 1
    return bool(await _write_one(db, _click_job(claim, answer)))


def _click_job(claim: dict[str, Any], answer: dict[str, Any]) -> Callable[[sqlite3.Connection], bool]:
    """In SQLite's thread, inside the batch's transaction: the click claimed and, if the claim
    holds, its answer stored; whether it was claimed."""
    claim_params, answer_params = _CLAIM_SQLITE.params(claim), _SAVE_ANSWER_SQLITE.params(answer)

    def job(connection: sqlite3.Connection) -> bool:
        claimed = connection.execute(_CLAIM_SQLITE.sql, claim_params).rowcount == 1
        if claimed:
            connection.execute(_SAVE_ANSWER_SQLITE.sql, answer_params)
        return claimed

    return job


def _write_batch(
    jobs: list[Callable[[sqlite3.Connection], Any]], connection: sqlite3.Connection
) -> list[Any]:
    """In SQLite's thread: each job in a savepoint of its own (one that fails does not take the
    others with it: its result is the error), all committed together."""
    if connection.in_transaction:
        raise RuntimeError("writes are batched on a connection outside any transaction")
    results: list[Any] = []
    try:
        connection.execute("BEGIN")
        for job in jobs:
            connection.execute("SAVEPOINT job")
            try:
                results.append(job(connection))
                connection.execute("RELEASE job")
            except sqlite3.Error as error:
                connection.execute("ROLLBACK TO job")
                connection.execute("RELEASE job")
                results.append(error)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return results


async def _write_one(db: AsyncConnection, job: Callable[[sqlite3.Connection], T]) -> T:
    """One job written and committed on its own, in one trip to SQLite's thread."""
    (written,) = await onetrip.run(db, partial(_write_batch, [job]))
    if isinstance(written, BaseException):
        raise written
    return cast(T, written)


class WriteLog:
    """SQLite's one writer, shared by the starts and the clicks that move an assessment on: group
    commit.

    A start or click queues its work and waits; one task takes everything queued, writes it in one
    trip to SQLite's thread and one commit (a savepoint each), and answers each (started, claimed,
    lost to a racing click, or failed), while those arriving meanwhile queue for the next trip. The
    writer is held once per trip instead of once per request (a crowd's `/maturity start`s no
    longer queue one by one in front of its first clicks), and nobody is answered before the commit.
    """

    MAX_BATCH = 200

    def __init__(self, engine: AsyncEngine):
        self.engine = engine
        self._queued: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(
        self,
        assessment_id: int,
        expected_revision: int,
        next_question_id: str,
        question_id: str,
        option_id: str,
    ) -> bool:
        """:func:`record_answer`, written with whatever else is queued."""
        claim, answer = _click_params(
            assessment_id, expected_revision, next_question_id, question_id, option_id
        )
        return bool(await self._submit(_click_job(claim, answer)))

    async def start(
        self, who: Names, flow_id: str, flow_version: str, first_question_id: str
    ) -> tuple[Actor, AssessmentRow | None]:
        """:func:`start_in_one_trip`, written with whatever else is queued."""
        return _started(await self._submit(_start_job(who, flow_id, flow_version, first_question_id)))

    async def _submit(self, job: Callable[[sqlite3.Connection], Any]) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queued.append((job, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="write_log")
        return await done

    async def _flush(self) -> None:
        while self._queued:
            batch, self._queued = self._queued[: self.MAX_BATCH], self._queued[self.MAX_BATCH :]
            try:
                conn = await self.engine.connect()
                try:
                    written = await onetrip.run(conn, partial(_write_batch, [job for job, _ in batch]))
                finally:
                    await release(conn)  # the one writer, free for the next batch at once
            except Exception as exc:  # nothing of this batch was committed: each one says so
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, written, strict=True):
                if done.done():
                    continue  # its request was cancelled (shutdown); what it wrote is stored all the same
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)


async def save_answer(db: Db, assessment_id: int, question_id: str, option_id: str) -> None:
    """Record (or change) the one answer to a question in an assessment."""
    await db.execute(
        _SAVE_ANSWER[_dialect(db)],
        {"assessment_id": assessment_id, "question_id": question_id, "option_id": option_id,
         "answered_at": utcnow()},
    )  # fmt: skip


async def abandon(db: Db, assessment_id: int) -> bool:
    """Mark an in-progress assessment as replaced by a restart; its answers stay stored."""
    result = await db.execute(
        update(assessments)
        .where(assessments.c.id == assessment_id, assessments.c.status == Status.IN_PROGRESS)
        .values(
            status=Status.ABANDONED,
            current_question_id=None,
            updated_at=utcnow(),
            revision=assessments.c.revision + 1,
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # a CursorResult at run time; typed as Result


@dataclass(frozen=True)
class InProgress:
    slack_user_id: str
    flow_id: str
    assessment_id: int
    updated_at: datetime
    nudges_on: bool


async def in_progress_in_channel(db: Db, channel_id: int) -> list[InProgress]:
    """Assessments under way in a channel, with whose they are and when they last moved."""
    rows = await db.execute(
        select(
            people.c.slack_user_id,
            assessments.c.flow_id,
            assessments.c.id,
            assessments.c.updated_at,
            people.c.nudges_off_at,
        )
        .join(people, people.c.id == assessments.c.person_id)
        .where(assessments.c.channel_id == channel_id, assessments.c.status == Status.IN_PROGRESS)
        .order_by(assessments.c.updated_at)
    )
    return [
        InProgress(user, flow, assessment, as_utc(moved), off is None)
        for user, flow, assessment, moved, off in rows.all()
    ]


async def set_nudges(db: Db, person_id: int, on: bool) -> None:
    await db.execute(
        update(people).where(people.c.id == person_id).values(nudges_off_at=None if on else utcnow())
    )


async def channel_row_id(db: Db, team_id: str, channel_id: str) -> int | None:
    """The database id of a Slack channel, if it has been seen."""
    found = await db.scalar(
        select(channels.c.id)
        .join(workspaces, workspaces.c.id == channels.c.workspace_id)
        .where(workspaces.c.slack_team_id == team_id, channels.c.slack_channel_id == channel_id)
    )
    return int(found) if found is not None else None
