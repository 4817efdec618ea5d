"""team levels: each channel's level per model now, and after each result (for the leaderboard);
when each person last opened the Home tab

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:40:00
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=40), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("last_activity", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("baseline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("baseline_score", sa.Float(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_team_levels_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_team_levels_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_levels")),
        sa.UniqueConstraint("channel_id", "flow_id", name=op.f("uq_team_levels_channel_id")),
    )
    op.create_index("ix_team_levels_rank", "team_levels", ["workspace_id", "flow_id", "level", "score"])
    op.create_index("ix_team_levels_progress", "team_levels", ["workspace_id", "flow_id", "progress"])
    op.create_index("ix_team_levels_baseline", "team_levels", ["workspace_id", "flow_id", "baseline_at"])
    op.create_table(
        "team_level_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("flow_id", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_team_level_history_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_level_history")),
    )
    op.create_index("ix_team_level_history_at", "team_level_history", ["channel_id", "flow_id", "at"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("home_seen_at", sa.DateTime(timezone=True), nullable=True))
    _backfill()


def _backfill() -> None:
    """Replay the results already stored, in order, as if each had just come in (the rule of
    models/teams.py: median_low of the members' latest levels, median of their finer scores)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT a.channel_id, a.flow_id, a.person_id, r.level, r.score, a.completed_at, c.workspace_id "
            "FROM assessments a JOIN results r ON r.assessment_id = a.id "
            "JOIN channels c ON c.id = a.channel_id "
            "WHERE a.status = 'completed' ORDER BY a.channel_id, a.flow_id, a.completed_at, a.id"
        )
    ).all()
    teams: dict[tuple[int, str], dict[int, tuple[int, float]]] = {}
    latest_at: dict[tuple[int, str], object] = {}
    workspace: dict[int, int] = {}
    history = []
    for channel_id, flow_id, person_id, level, score, completed_at, workspace_id in rows:
        key = (channel_id, flow_id)
        members = teams.setdefault(key, {})
        members[person_id] = (level, score)
        latest_at[key] = completed_at
        workspace[channel_id] = workspace_id
        history.append(
            {
                "channel_id": channel_id,
                "flow_id": flow_id,
                "at": completed_at,
                "members": len(members),
                "level": statistics.median_low(v[0] for v in members.values()),
                "score": round(statistics.median(v[1] for v in members.values()), 2),
            }
        )
    if history:
        op.bulk_insert(sa.table("team_level_history", *(sa.column(k) for k in history[0])), history)
    current = [
        {
            "workspace_id": workspace[channel_id],
            "channel_id": channel_id,
            "flow_id": flow_id,
            "members": len(members),
            "level": statistics.median_low(v[0] for v in members.values()),
            "score": round(statistics.median(v[1] for v in members.values()), 2),
            "last_activity": latest_at[(channel_id, flow_id)],
        }
        for (channel_id, flow_id), members in teams.items()
    ]
    for row in current:
        bind.execute(
            sa.text(
                "INSERT INTO team_levels (workspace_id, channel_id, flow_id, members, level, score, "
                "last_activity, updated_at) VALUES (:workspace_id, :channel_id, :flow_id, :members, :level, "
                ":score, :last_activity, CURRENT_TIMESTAMP)"
            ),
            row,
        )


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("home_seen_at")
    op.drop_index("ix_team_level_history_at", table_name="team_level_history")
    op.drop_table("team_level_history")
    op.drop_index("ix_team_levels_baseline", table_name="team_levels")
    op.drop_index("ix_team_levels_progress", table_name="team_levels")
    op.drop_index("ix_team_levels_rank", table_name="team_levels")
    op.drop_table("team_levels")
