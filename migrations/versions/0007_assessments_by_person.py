"""an index on assessments by person and channel: every click asks whether the person has an
assessment of another model in the channel (answers carry over only then), and the carried
answers are looked up the same way

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_assessments_person_channel", "assessments", ["person_id", "channel_id"])


def downgrade() -> None:
    op.drop_index("ix_assessments_person_channel", table_name="assessments")
