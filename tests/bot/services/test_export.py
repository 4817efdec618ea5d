"""Export (CSV, JSON, formula neutralising) and forget-me on real databases."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.export_job import run_export
from bot.runtime.settings import Settings
from bot.services.assessments import AssessmentService
from bot.services.commitments import CommitmentService
from bot.services.export import ExportService, neutralise, to_csv
from bot.services.leaderboard import LeaderboardService
from bot.services.outcomes import Completed, QuestionShown, ShareResult, Who
from flows.loader import load_flows
from models import outbox as outbox_repo
from models import repository as repo
from models.commitments import commitments, updates
from models.outbox import CHART_KIND, NUDGE_KIND, outbox

FLOWS = load_flows()


async def _finish(engine: AsyncEngine, who: Who, flow_id: str, pick: int = -1) -> Completed:
    service = AssessmentService(engine, FLOWS)
    outcome: object = await service.start(who, flow_id)
    while isinstance(outcome, QuestionShown):
        q = outcome.question
        outcome = await service.answer(
            who, outcome.assessment_id, outcome.revision, q.id, q.practices[pick].id
        )
    assert isinstance(outcome, Completed)
    shared = await service.share(who, outcome.result_id)
    assert isinstance(shared, ShareResult)
    return shared.completed


def test_cells_a_spreadsheet_would_run_are_neutralised() -> None:
    assert [neutralise(v) for v in ("=1+2", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "ana", 3, -2.5)] == [
        "'=1+2", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ana", 3, -2.5,
    ]  # fmt: skip


async def test_the_csv_has_a_row_per_assessment_with_its_categories(engine: AsyncEngine) -> None:
    await _finish(engine, Who("T1", "C1", "U1", "ml", '=HYPERLINK("x")'), "azure")
    await _finish(engine, Who("T1", "C1", "U2", "ml", "bo"), "google", pick=0)
    await _finish(engine, Who("T1", "C2", "U2", "other", "bo"), "google")
    rows = await ExportService(engine, FLOWS).rows("T1", "C1")
    table = list(csv.DictReader(io.StringIO(to_csv(rows, FLOWS))))
    assert [(r["user_id"], r["model"]) for r in table] == [("U1", "azure"), ("U2", "google")]
    assert table[0]["person"] == '\'=HYPERLINK("x")'
    azure = [c.id for c in FLOWS["azure"].categories]
    assert all(table[0][f"azure:{c}:level"] != "" for c in azure)
    assert all(table[1][f"azure:{c}:level"] == "" for c in azure)
    assert table[1]["flow_version"] == FLOWS["google"].version
    assert table[0]["completed_at"] >= table[0]["started_at"]


async def test_the_command_line_export_writes_json_for_one_channel_since_a_date(
    engine: AsyncEngine, database_url: str
) -> None:
    await _finish(engine, Who("T1", "C1", "U1"), "google")
    await _finish(engine, Who("T1", "C2", "U1"), "google")
    out = io.StringIO()
    settings = Settings(database_url=database_url, slack_bot_token="", slack_signing_secret="")
    written = await run_export(settings, FLOWS, form="json", channel_id="C1", out=out)
    assert written == 1
    (row,) = json.loads(out.getvalue())
    assert (row["channel_id"], row["model"], row["user_id"]) == ("C1", "google", "U1")
    assert row["categories"]


async def test_forgetting_a_person_deletes_exactly_their_data_and_recomputes_their_teams(
    engine: AsyncEngine,
) -> None:
    ana, bo = Who("T1", "C1", "U1", "ml", "ana"), Who("T1", "C1", "U2", "ml", "bo")
    mine = await _finish(engine, ana, "google")
    await _finish(engine, Who("T1", "C2", "U1", "other", "ana"), "azure")
    theirs = await _finish(engine, bo, "google", pick=0)
    await AssessmentService(engine, FLOWS).start(ana, "azure")  # one under way too
    commitments_service = CommitmentService(engine, FLOWS)
    await commitments_service.commit(bo, mine.result_id, 0)  # bo commits to a step of ana's result
    await commitments_service.commit(ana, theirs.result_id, 0)  # ana commits to one of bo's
    async with engine.begin() as conn:  # a chart and a nudge of hers still queued
        for kind in (CHART_KIND, NUDGE_KIND):
            await outbox_repo.enqueue(
                conn, kind=kind, dedupe_key=f"{kind}:x", team_id="T1", channel_id="C1", user_id="U1",
                ref_id=mine.result_id, payload={},
            )  # fmt: skip
    forgotten = await ExportService(engine, FLOWS).forget(ana)
    assert (forgotten.assessments, forgotten.results) == (3, 2)
    assert forgotten.answers > 0
    assert forgotten.commitments == 2  # the one she made, and the one made on her result
    async with engine.connect() as conn:
        left = (await conn.execute(select(repo.assessments.c.person_id))).scalars().all()
        people = dict((await conn.execute(select(repo.people.c.slack_user_id, repo.people.c.id))).all())
        assert set(left) == {people["U2"]}
        assert await conn.scalar(select(func.count()).select_from(commitments)) == 0
        assert await conn.scalar(select(func.count()).select_from(updates)) == 0
        owners = (await conn.execute(select(outbox.c.kind, outbox.c.slack_user_id))).all()
        # Her results' posts, charts and nudges: none left queued; bo's result post stays.
        assert {tuple(row) for row in owners} == {("result", "U2")}
        name = await conn.scalar(select(repo.people.c.name).where(repo.people.c.id == people["U1"]))
    assert name is None
    board = await LeaderboardService(engine, FLOWS, min_members=1).show(bo, "google")
    assert [(s.channel_id, s.members) for s in getattr(board, "standings", [])] == [("C1", 1)]
    assert await ExportService(engine, FLOWS).forget(ana) == type(forgotten)()  # nothing left
