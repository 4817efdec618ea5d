"""What is stored: typed SQLAlchemy 2 tables. Only migrations create them.

Slack ids (team, channel, user) are first-class columns; every completed assessment keeps its
result as history, and all conversation state lives here so any instance can serve any click.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Status(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ABANDONED = "abandoned"  # replaced by a restart; kept, never deleted


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slack_team_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("workspace_id", "slack_channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slack_channel_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("workspace_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the person turned nudges off (`/maturity nudges off`); None: nudges are on.
    nudges_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the person last opened the app's Home tab: whose Home is refreshed when their team changes.
    home_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        # At most one assessment in progress per person and channel; the database enforces it so
        # two instances racing on `/maturity start` cannot both create one.
        Index(
            "uq_assessments_one_in_progress",
            "person_id",
            "channel_id",
            unique=True,
            sqlite_where=text("status = 'in_progress'"),
            postgresql_where=text("status = 'in_progress'"),
        ),
        Index("ix_assessments_channel_status", "channel_id", "status"),
        # A person's assessments in a channel: asked on every click (repository._OTHERS_HERE).
        Index("ix_assessments_person_channel", "person_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(String(40))
    flow_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=Status.IN_PROGRESS)
    # The question on screen; None once complete. `revision` grows with every accepted click, so a
    # button carrying an older revision is recognisably stale or a duplicate delivery.
    current_question_id: Mapped[str | None] = mapped_column(String(40))
    revision: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    answers: Mapped[list[Answer]] = relationship(back_populates="assessment", lazy="raise")


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(40))
    option_id: Mapped[str] = mapped_column(String(40))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="answers", lazy="raise")


class Result(Base):
    __tablename__ = "results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), unique=True)
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Where the summary went: the channel message ts, or why it could not be posted.
    posted_ts: Mapped[str | None] = mapped_column(String(40))
    post_error: Mapped[str | None] = mapped_column(String(100))

    categories: Mapped[list[ResultCategory]] = relationship(
        back_populates="result", lazy="raise", order_by="ResultCategory.position"
    )


class ResultCategory(Base):
    __tablename__ = "result_categories"
    __table_args__ = (UniqueConstraint("result_id", "category_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id", ondelete="CASCADE"))
    category_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)

    result: Mapped[Result] = relationship(back_populates="categories", lazy="raise")


class OutboxStatus(StrEnum):
    PENDING = "pending"  # to be delivered (possibly leased by a dispatcher right now)
    SENT = "sent"
    SKIPPED = "skipped"  # not sent on purpose when it was due (a nudge to someone who is away)
    FAILED = "failed"  # Slack refused it for good, or retries ran out; kept, and can be re-queued


class OutboxMessage(Base):
    """A message that must reach Slack because of a state change, written in that change's transaction.

    ``payload`` holds domain data (what happened), never Slack markup: the Slack edge renders it when
    it is delivered. Dispatchers claim due rows with a lease, so several instances share the work
    and a crashed one's rows are picked up once its lease expires.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "available_at"),
        Index("ix_outbox_ref", "kind", "ref_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # One message per cause, however often it is queued (e.g. "result:17").
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    slack_team_id: Mapped[str] = mapped_column(String(32))
    slack_channel_id: Mapped[str] = mapped_column(String(32))
    slack_user_id: Mapped[str | None] = mapped_column(String(32))  # whom it is about; told of failures
    ref_id: Mapped[int | None] = mapped_column(Integer)  # the row it is about (a result id)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # not before
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_ts: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(String(100))  # the last one
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # person told of failure
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # Slack refused a check-in for good (bot removed, channel archived); see reason
    OFF = "off"  # turned off with `/maturity checkin off`; kept, so turning it on again is one command


class Schedule(Base):
    """A channel's check-in rhythm: weekly or monthly at a local time in an IANA zone."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "status", "next_due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), unique=True)
    period: Mapped[str] = mapped_column(String(10))  # weekly | monthly
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday, for weekly
    month_day: Mapped[int | None] = mapped_column(Integer)  # 1..28, for monthly
    at_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", wall-clock time in tz
    tz: Mapped[str] = mapped_column(String(64))  # IANA name, from the person who set it
    status: Mapped[str] = mapped_column(String(10), default=ScheduleStatus.ACTIVE)
    paused_reason: Mapped[str | None] = mapped_column(String(100))
    set_by_person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    # The next occurrence to claim (UTC); claiming it moves it on, conditionally, so it happens once.
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CheckinRun(Base):
    """One occurrence of a schedule, claimed once (the unique pair) and kept as history."""

    __tablename__ = "checkin_runs"
    __table_args__ = (UniqueConstraint("schedule_id", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # posted on catch-up after downtime
    # What was posted (the team's levels among it), so the next check-in can say what changed.
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CommitmentStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class Commitment(Base):
    """A next step a team took on from a result, followed up at each check-in; kept as history."""

    __tablename__ = "commitments"
    __table_args__ = (
        UniqueConstraint("result_id", "step_index"),
        Index("ix_commitments_channel", "channel_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id", ondelete="CASCADE"))
    step_index: Mapped[int] = mapped_column(Integer)  # position among the result's next steps
    step: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(10), default=CommitmentStatus.OPEN)
    created_by_person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CommitmentUpdate(Base):
    """Who said what about a commitment, and when: done, still on it, or dropped."""

    __tablename__ = "commitment_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(10))  # done | still | drop
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TeamLevel(Base):
    """A channel's team level on one model now: the median of its members' latest results.

    Maintained in the transaction that stores each result (and rebuilt when a person's data is
    deleted), so the leaderboard ranks thousands of channels from one indexed table.
    """

    __tablename__ = "team_levels"
    __table_args__ = (
        UniqueConstraint("channel_id", "flow_id"),
        Index("ix_team_levels_rank", "workspace_id", "flow_id", "level", "score"),
        Index("ix_team_levels_progress", "workspace_id", "flow_id", "progress"),
        Index("ix_team_levels_baseline", "workspace_id", "flow_id", "baseline_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(String(40))
    members: Mapped[int] = mapped_column(Integer)  # people with a result on this model here
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    last_activity: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the newest result
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Progress over the leaderboard's window: the finer score at its start (``baseline_at``, a
    # midnight UTC; the team's first score if it is younger), and the score now minus that. Kept
    # current as results come in, and moved on once a day by the first leaderboard read.
    baseline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    baseline_score: Mapped[float | None] = mapped_column(Float)
    progress: Mapped[float | None] = mapped_column(Float)


class TeamLevelHistory(Base):
    """The team level after each result, as history: the 90-day change and the trend chart."""

    __tablename__ = "team_level_history"
    __table_args__ = (Index("ix_team_level_history_at", "channel_id", "flow_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when the result came in
    members: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
