"""The command line, run as a real process: help, flow checks, refusing to start, migrate."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.services.assessments import AssessmentService
from bot.services.outcomes import Completed, QuestionShown, Who
from flows.loader import load_flows
from models.db import create_engine
from models.migrate import upgrade_engine

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ...` with only the variables given (plus PATH), so no real .env leaks in."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    """--help names serve, migrate and flows, and the settings it reads."""
    done = run("--help")
    assert done.returncode == 0
    for word in ("serve", "migrate", "flows", "SLACK_BOT_TOKEN", "DATABASE_URL", "FLOWS_DIR"):
        assert word in done.stdout


def test_missing_credentials_exit_2_without_traceback(tmp_path: Path) -> None:
    """Without tokens the bot names what is missing, points to the README and exits 2."""
    done = run(env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, cwd=tmp_path)
    assert done.returncode == 2
    assert "missing SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in done.stderr
    assert "README" in done.stderr
    assert "Traceback" not in done.stderr
    socket = run(env={"SLACK_APP_TOKEN": "xapp-1-abc"}, cwd=tmp_path)
    assert socket.returncode == 2
    assert "missing SLACK_BOT_TOKEN (needed in Socket Mode)" in socket.stderr


def test_flows_check_reports_file_line_and_key(tmp_path: Path) -> None:
    """`flows check` passes the shipped flows and names file, line and key of a broken one."""
    ok = run("flows", "check", cwd=tmp_path)
    assert ok.returncode == 0
    assert "ok  google" in ok.stdout
    broken = tmp_path / "team.yaml"
    broken.write_text("id: team\ntitle: Team\nversion: 1\nlevles: []\n")
    bad = run("flows", "check", str(broken), cwd=tmp_path)
    assert bad.returncode == 1
    assert f"{broken}:4 [levles]: unknown key (check its spelling)" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_bot_refuses_to_start_with_a_broken_flow(tmp_path: Path) -> None:
    """A broken file in FLOWS_DIR stops start-up with the problem named and exit status 2."""
    (tmp_path / "team.yaml").write_text("id: team\n")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s" * 12, "FLOWS_DIR": str(tmp_path)}
    done = run(env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "refusing to start" in done.stderr
    assert "team.yaml:1 [title]: Field required" in done.stderr
    assert "Traceback" not in done.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    """`python -m bot migrate` upgrades an empty SQLite file to the latest schema."""
    db = tmp_path / "bot.db"
    done = run("migrate", env={"DATABASE_URL": f"sqlite:///{db}"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    import sqlite3

    with sqlite3.connect(db) as connection:
        tables = {r[0] for r in connection.execute("select name from sqlite_master where type='table'")}
    assert {"assessments", "answers", "results", "alembic_version"} <= tables


@pytest.mark.parametrize("value", ["abc", "70000"])
def test_a_bad_setting_is_named(value: str, tmp_path: Path) -> None:
    """An invalid PORT is reported by name with exit status 2."""
    done = run(env={"PORT": value}, cwd=tmp_path)
    assert done.returncode == 2
    assert "PORT" in done.stderr
    assert "Traceback" not in done.stderr


def test_export_writes_the_results_as_json_or_csv_to_stdout(tmp_path: Path) -> None:
    """`python -m bot export`: every completed result of the workspace; --channel and --since narrow it."""
    url = f"sqlite:///{tmp_path}/x.db"

    async def seed() -> None:
        engine = create_engine(url)
        await upgrade_engine(engine)
        service = AssessmentService(engine, load_flows())
        for channel, name in (("C1", "=cmd|' /C calc'!A0"), ("C2", "bo")):
            who = Who("T1", channel, f"U{channel}", channel.lower(), name)
            outcome: object = await service.start(who, "google")
            while isinstance(outcome, QuestionShown):
                q = outcome.question
                outcome = await service.answer(
                    who, outcome.assessment_id, outcome.revision, q.id, q.options[0].id
                )
            assert isinstance(outcome, Completed)
        await engine.dispose()

    asyncio.run(seed())
    env = {"DATABASE_URL": url}
    everything = run("export", "--format", "json", env=env, cwd=tmp_path)
    assert everything.returncode == 0, everything.stderr
    assert sorted(row["channel_id"] for row in json.loads(everything.stdout)) == ["C1", "C2"]
    one = run("export", "--channel", "C1", env=env, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    lines = one.stdout.splitlines()
    assert lines[0].startswith("assessment_id,user_id,person,channel_id,model")
    assert len(lines) == 2
    assert ",'=cmd|' /C calc'!A0," in lines[1]  # neutralised: a spreadsheet shows it, never runs it
    later = run("export", "--since", "2999-01-01", env=env, cwd=tmp_path)
    assert later.stdout.splitlines()[1:] == []
    assert "0 result(s) exported." in later.stderr
    wrong = run("export", "--team", "T9", env=env, cwd=tmp_path)
    assert wrong.returncode == 2
    assert "no workspace T9" in wrong.stderr
