"""`python -m bot export`: completed results as CSV or JSON on stdout (the rows of `/maturity export`)."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

from bot.runtime.settings import Settings
from bot.services.export import ExportService, to_csv, to_json
from flows.schema import Flow
from models import export as export_repo
from models.db import create_engine


class ExportError(Exception):
    """Why the export cannot run (printed as is)."""


async def run_export(
    settings: Settings,
    flows: dict[str, Flow],
    *,
    form: str = "csv",
    channel_id: str | None = None,
    since: datetime | None = None,
    team_id: str | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Write the rows; returns how many were written."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            teams = await export_repo.workspace_ids(conn)
        if team_id is None:
            if len(teams) > 1:
                raise ExportError(
                    f"the database holds several workspaces ({', '.join(teams)}): pick one with --team"
                )
            team_id = teams[0] if teams else None
        elif team_id not in teams:
            raise ExportError(f"no workspace {team_id} in the database")
        rows = await ExportService(engine, flows).rows(team_id, channel_id, since) if team_id else []
    finally:
        await engine.dispose()
    out.write(to_json(rows) if form == "json" else to_csv(rows, flows))
    return len(rows)
