"""Check-in fan-out: thousands of channels due in the same minute, against Slack's rate limits.

    .venv/bin/python -m bench.fanout                       # 2,000 channels, SQLite then PostgreSQL
    .venv/bin/python -m bench.fanout --channels 300        # quick (~1 min a database)
    .venv/bin/python -m bench.fanout --runner cron         # two `python -m bot checkins` runs instead

A report, not a test: it prints figures and never asserts timings. Exit status 0 even when a target
is missed; 1 when the run itself failed; 130/143 when interrupted or terminated. Traffic stays on
127.0.0.1, every wait is bounded, the PostgreSQL server is a throwaway one (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import aiohttp
import psutil
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.children import Termination, forget, track
from bench.faults import (
    PG_OPTIONS,
    BotProcess,
    RunFailed,
    destroy_postgres,
    fresh_database,
    postgres_bin,
    start_postgres,
    stop_everything,
)
from flows.loader import load_flows
from models import repository as repo
from models import schedules as schedules_repo
from models.db import create_engine
from models.migrate import upgrade_engine
from models.outbox import outbox
from models.tables import ScheduleStatus, Status
from playground.ratelimit import RateLimits
from playground.slack_api import BOT_TOKEN, SIGNING_SECRET, SlackDouble
from playground.workspace import TEAM_ID

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.10
# The zones the channels' schedules are set in (each at the local time of the same instant), so
# the run also exercises the conversions: a half-hour offset and both hemispheres included.
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC")
PEOPLE = 60  # the pool the members of every channel are drawn from
LEAD = 25.0  # app runners: the due minute is at least this far after the schedules are written
STARTUP_TIMEOUT = 30.0
SETTLE = 3.0  # after the last post: time for a second copy to show up
CRON_EXIT_TIMEOUT = 30.0  # after the last post, how long the cron runs get to exit
POLL = 0.2


class CountingLimits(RateLimits):
    """The double's rate limits, counting the 429s they answer."""

    refused: int = 0

    def take(self, channel_id: str) -> int | None:
        wait = super().take(channel_id)
        if wait is not None:
            self.refused += 1
        return wait


@dataclass
class Figures:
    database: str
    channels: int
    cap: float
    runners: int
    posts: int = 0
    duplicates: int = 0
    lost: int = 0
    refused: int = 0
    wall: float | None = None
    claimed: int = 0  # check-in runs recorded in the database
    sent_rows: int = 0  # outbox rows settled as sent
    failed_rows: int = 0
    runner_cpu: float = 0.0
    exits: list[int | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def minimum(self) -> float:
        return self.channels / self.cap

    @property
    def ratio(self) -> float | None:
        return None if self.wall is None else self.wall / self.minimum


# -- the data -------------------------------------------------------------------------------------


async def seed(engine: AsyncEngine, channels: int, members: int, due: datetime, rng: random.Random) -> None:
    """``channels`` channels, each with ``members`` completed Google results and a weekly check-in
    due at ``due`` (set in one of ZONES at that instant's local time), written in bulk."""
    flow = load_flows()["google"]
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        workspace_id = await conn.scalar(
            insert(repo.workspaces)
            .values(slack_team_id=TEAM_ID, created_at=now)
            .returning(repo.workspaces.c.id)
        )
        await conn.execute(
            insert(repo.channels),
            [
                {
                    "workspace_id": workspace_id,
                    "slack_channel_id": channel_id(n),
                    "name": f"team-{n}",
                    "created_at": now,
                }
                for n in range(channels)
            ],
        )
        await conn.execute(
            insert(repo.people),
            [
                {
                    "workspace_id": workspace_id,
                    "slack_user_id": f"UF{n:04d}",
                    "name": f"person-{n}",
                    "created_at": now,
                }
                for n in range(PEOPLE)
            ],
        )
        channel_ids = dict(
            (await conn.execute(select(repo.channels.c.slack_channel_id, repo.channels.c.id))).all()
        )
        person_ids = dict((await conn.execute(select(repo.people.c.slack_user_id, repo.people.c.id))).all())
        rows = []
        for n in range(channels):
            for k in range(members):
                done = now - timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 1000))
                rows.append(
                    {
                        "person_id": person_ids[f"UF{(n + 7 * k) % PEOPLE:04d}"],
                        "channel_id": channel_ids[channel_id(n)],
                        "flow_id": flow.id,
                        "flow_version": flow.version,
                        "status": Status.COMPLETED,
                        "current_question_id": None,
                        "revision": 13,
                        "started_at": done - timedelta(minutes=10),
                        "updated_at": done,
                        "completed_at": done,
                    }
                )
        await conn.execute(insert(repo.assessments), rows)
        assessment_ids = (
            await conn.scalars(select(repo.assessments.c.id).order_by(repo.assessments.c.id))
        ).all()
        levels = [rng.choice((0, 0, 1, 1, 1, 2)) for _ in assessment_ids]
        await conn.execute(
            insert(repo.results),
            [
                {"assessment_id": a, "level": lv, "score": lv + rng.random() * 0.9, "created_at": now}
                for a, lv in zip(assessment_ids, levels, strict=True)
            ],
        )
        result_ids = (
            await conn.execute(select(repo.results.c.id, repo.results.c.level).order_by(repo.results.c.id))
        ).all()
        await conn.execute(
            insert(repo.result_categories),
            [
                {"result_id": r, "category_id": c.id, "position": p, "level": lv, "score": lv + 0.5}
                for r, lv in result_ids
                for p, c in enumerate(flow.categories)
            ],
        )
        schedule_rows = []
        for n in range(channels):
            local = due.astimezone(ZoneInfo(ZONES[n % len(ZONES)]))
            schedule_rows.append(
                {
                    "channel_id": channel_ids[channel_id(n)],
                    "period": "weekly",
                    "weekday": local.weekday(),
                    "month_day": None,
                    "at_time": local.strftime("%H:%M"),
                    "tz": ZONES[n % len(ZONES)],
                    "status": ScheduleStatus.ACTIVE,
                    "paused_reason": None,
                    "set_by_person_id": person_ids[f"UF{n % PEOPLE:04d}"],
                    "next_due_at": due,
                    "snoozed_until": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await conn.execute(insert(schedules_repo.schedules), schedule_rows)


def channel_id(n: int) -> str:
    return f"CF{n:05d}"


async def database_figures(engine: AsyncEngine, figures: Figures) -> None:
    async with engine.connect() as conn:
        figures.claimed = int(await conn.scalar(select(func.count()).select_from(schedules_repo.runs)) or 0)
        rows = await conn.execute(
            select(outbox.c.status, func.count()).where(outbox.c.kind == "checkin").group_by(outbox.c.status)
        )
        counts: dict[str, int] = {str(status): int(n) for status, n in rows.all()}
    figures.sent_rows = int(counts.get("sent", 0))
    figures.failed_rows = int(counts.get("failed", 0))


# -- the runners ----------------------------------------------------------------------------------


def runner_env(double: SlackDouble, database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": double.api_url,
        "SLACK_APP_TOKEN": "",  # never Socket Mode, whatever the environment or .env says
        "DATABASE_URL": database_url,
        "MIGRATE_ON_START": "false",  # migrated once, before the runners start
        "CHECKINS_IN_PROCESS": "true",
        "FLOWS_DIR": "",
        "LOG_LEVEL": "WARNING",
    }


def launch(args: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """`python -m bot <args>`, tracked so every exit path stops it."""
    command = [sys.executable, "-m", "bot", *args]
    return track(
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    )


def wait_all(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Wait up to ``timeout`` seconds in all for the processes to exit (they may not)."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


class Run:
    """One database: seed it, start the runners, watch the double until every channel has its post."""

    def __init__(self, args: argparse.Namespace, name: str, database_url: str, log_dir: Path):
        self.args = args
        self.name = name
        self.database_url = database_url
        self.log_dir = log_dir
        self.limits = CountingLimits(workspace_rate=args.cap, workspace_burst=args.burst)
        self.double = SlackDouble(limits=self.limits)
        self.figures = Figures(name, args.channels, args.cap, args.runners)

    def posted(self) -> list[int]:
        return [len(self.double.workspace.messages.get(channel_id(n), [])) for n in range(self.args.channels)]

    def last_post(self) -> float:
        stamps = [
            float(m.ts)
            for n in range(self.args.channels)
            for m in self.double.workspace.messages.get(channel_id(n), [])
        ]
        return max(stamps, default=0.0)

    async def wait_for_posts(self) -> None:
        deadline = time.monotonic() + self.figures.minimum * 3 + 90
        while time.monotonic() < deadline:
            if sum(1 for c in self.posted() if c) >= self.args.channels:
                return
            await asyncio.sleep(POLL)
        self.figures.problems.append(
            f"not every channel had its post {self.figures.minimum * 3 + 90:.0f} s after the start"
        )

    async def execute(self) -> Figures:
        await self.double.start()
        for n in range(self.args.channels):
            self.double.add_channel(channel_id(n), f"team-{n}")
        engine = create_engine(self.database_url)
        try:
            await upgrade_engine(engine)
            if self.args.runner == "app":
                await self._apps(engine)
            else:
                await self._crons(engine)
            await asyncio.sleep(SETTLE)
            counts = self.posted()
            self.figures.posts = sum(counts)
            self.figures.duplicates = sum(c - 1 for c in counts if c > 1)
            self.figures.lost = sum(1 for c in counts if c == 0)
            self.figures.refused = self.limits.refused
            await database_figures(engine, self.figures)
        finally:
            await engine.dispose()
            await self.double.stop()
        return self.figures

    async def _apps(self, engine: AsyncEngine) -> None:
        """`python -m bot` instances with their in-process schedulers, started before the due minute."""
        now = datetime.now(UTC)
        due = (now + timedelta(seconds=LEAD + 60)).replace(second=0, microsecond=0)
        await seed(engine, self.args.channels, self.args.members, due, random.Random(self.args.seed))
        runners = [
            BotProcess(runner_env(self.double, self.database_url), self.log_dir, f"{self.name}-{n}")
            for n in range(self.args.runners)
        ]
        async with aiohttp.ClientSession() as session:
            for runner in runners:
                await runner.start(session)
        if datetime.now(UTC) >= due:
            raise RunFailed("the runners were not up before the due minute")
        pids = [r.proc.pid for r in runners if r.proc is not None]
        cpu_before = cpu_of(pids)
        await asyncio.sleep((due - datetime.now(UTC)).total_seconds())
        await self.wait_for_posts()
        self.figures.wall = self.last_post() - due.timestamp() if self.last_post() else None
        await asyncio.sleep(SETTLE)
        self.figures.runner_cpu = cpu_of(pids) - cpu_before
        for runner in runners:
            self.figures.problems += [f"{runner.name}: {line[:200]}" for line in runner.log_problems()[:5]]
            runner.stop()

    async def _crons(self, engine: AsyncEngine) -> None:
        """`python -m bot checkins --now <due>` started at the same moment, as two hosts' cron would."""
        due = datetime.now(UTC).replace(second=0, microsecond=0)
        await seed(engine, self.args.channels, self.args.members, due, random.Random(self.args.seed))
        env = {**os.environ, **runner_env(self.double, self.database_url)}
        procs: list[subprocess.Popen[bytes]] = []
        logs = []
        started = time.time()
        for n in range(self.args.runners):
            log = (self.log_dir / f"{self.name}-cron-{n}.log").open("wb")
            logs.append(log)
            procs.append(launch(["checkins", "--now", due.isoformat()], env, log))
        seen: dict[int, float] = {}  # CPU seconds per process, last sampled while it ran

        async def sample() -> None:
            while True:
                for proc in procs:
                    if proc.poll() is None:
                        seen[proc.pid] = max(seen.get(proc.pid, 0.0), cpu_of([proc.pid]))
                await asyncio.sleep(POLL)

        sampler = asyncio.create_task(sample())
        try:
            await self.wait_for_posts()
            self.figures.wall = self.last_post() - started if self.last_post() else None
            await asyncio.to_thread(wait_all, procs, CRON_EXIT_TIMEOUT)
            self.figures.exits = [proc.poll() for proc in procs]
        finally:
            sampler.cancel()
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
                forget(proc)
                log.close()
        self.figures.runner_cpu = sum(seen.values())
        for n, proc in enumerate(procs):
            if proc.returncode != 0:
                tail = (
                    (self.log_dir / f"{self.name}-cron-{n}.log").read_text(errors="replace").splitlines()[-5:]
                )
                self.figures.problems.append(
                    f"cron run {n} exited with {proc.returncode}: {' | '.join(tail)[:400]}"
                )


# -- the report -----------------------------------------------------------------------------------

ROW = "{:<12} {:>6} {:>6} {:>5} {:>6} {:>8} {:>10} {:>7} {:>8} {:>9}"


def print_report(
    args: argparse.Namespace, figures: list[Figures], skipped: dict[str, str], postgres: str | None
) -> None:
    print()
    print(
        f"Check-in fan-out: {args.channels} channels due in the same minute, each with {args.members} "
        f"members' results; the Slack double allows {args.cap:g} chat.postMessage a second in the workspace "
        f"(burst {args.burst}) and 1 a second per channel (burst 4), answering 429 with Retry-After."
    )
    kind = (
        f"{args.runners} x `python -m bot` (in-process scheduler and outbox dispatcher)"
        if args.runner == "app"
        else f"{args.runners} x `python -m bot checkins --now <due minute>` started together"
    )
    print(f"Runners: {kind}, sharing one database. Minimum = posts / cap. Host: {os.cpu_count()} CPUs.")
    if postgres:
        print(f"PostgreSQL: {postgres}")
    print()
    print(
        ROW.format(
            "database", "posts", "dup", "lost", "429s", "wall s", "minimum s", "ratio", "CPU s", "target"
        )
    )
    for f in figures:
        ratio = f.ratio
        met = ratio is not None and ratio <= TARGET_RATIO and f.duplicates == 0 and f.lost == 0
        print(
            ROW.format(
                f.database,
                f.posts,
                f.duplicates,
                f.lost,
                f.refused,
                "-" if f.wall is None else f"{f.wall:.1f}",
                f"{f.minimum:.1f}",
                "-" if ratio is None else f"{ratio:.3f}x",
                f"{f.runner_cpu:.1f}",
                "met" if met else "NOT met",
            )
        )
    for name, reason in skipped.items():
        print(f"{name:<12} skipped: {reason}")
    print()
    print(f"Target: wall time at most {TARGET_RATIO:.2f}x the minimum, 0 duplicates, 0 lost.")
    for f in figures:
        print(
            f"{f.database}: database holds {f.claimed} check-in runs, {f.sent_rows} posts sent, "
            f"{f.failed_rows} failed" + (f"; cron exits {f.exits}" if f.exits else "")
        )
        for problem in f.problems:
            print(f"  problem: {problem}")


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=2000, help="channels due at once (default 2000)")
    parser.add_argument(
        "--members", type=int, default=3, help="members with a result per channel (default 3)"
    )
    parser.add_argument(
        "--cap", type=float, default=20.0, help="workspace-wide posts per second (default 20)"
    )
    parser.add_argument(
        "--burst", type=int, default=None, help="workspace burst (default: one second of the cap)"
    )
    parser.add_argument("--runners", type=int, default=2, help="runner processes (default 2)")
    parser.add_argument(
        "--runner", choices=("app", "cron"), default="app", help="what runs the check-ins (default app)"
    )
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server to use instead of a throwaway one"
    )
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if not 1 <= args.channels <= 10_000:
        parser.error("--channels must be between 1 and 10000")
    if not 0 <= args.members <= 10:
        parser.error("--members must be between 0 and 10")
    if not 1 <= args.cap <= 1000:
        parser.error("--cap must be between 1 and 1000")
    if not 1 <= args.runners <= 4:
        parser.error("--runners must be between 1 and 4")
    args.burst = args.burst or max(1, int(args.cap))
    return args


async def run(
    args: argparse.Namespace, figures: list[Figures], skipped: dict[str, str], pg: list[str]
) -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-fanout-logs-"))
    try:
        if args.skip_sqlite:
            skipped["SQLite"] = "--skip-sqlite"
        else:
            async with fresh_database(None, durable=True) as url:
                figures.append(await Run(args, "SQLite", url, log_dir).execute())
        if args.skip_postgres:
            skipped["PostgreSQL"] = "--skip-postgres"
            return
        if args.database_url:
            async with fresh_database(args.database_url, durable=False) as url:
                figures.append(await Run(args, "PostgreSQL", url, log_dir).execute())
            return
        binaries = postgres_bin()
        if binaries is None:
            skipped["PostgreSQL"] = "no PostgreSQL server binaries (initdb) found"
            return
        admin_url, directory = await asyncio.to_thread(start_postgres)
        try:
            pg.append(f"throwaway server from scripts/postgres ({binaries}; {PG_OPTIONS.replace('-c ', '')})")
            async with fresh_database(admin_url, durable=False) as url:
                figures.append(await Run(args, "PostgreSQL", url, log_dir).execute())
        finally:
            destroy_postgres(directory)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: list[Figures] = []
    skipped: dict[str, str] = {}
    pg: list[str] = []
    termination = Termination()
    budget = 2 * (args.channels / args.cap * 3 + 300)

    async def bounded() -> None:
        termination.arm()
        try:
            async with asyncio.timeout(budget):
                await run(args, figures, skipped, pg)
        finally:
            print_report(args, figures, skipped, pg[0] if pg else None)

    try:
        asyncio.run(bounded())
        return 0
    except RunFailed as exc:
        print(f"bench.fanout: run failed: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"bench.fanout: run failed: exceeded the budget of {budget:.0f}s", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"bench.fanout: {termination.word}", file=sys.stderr)
        return termination.exit_status()
    finally:
        stop_everything()


if __name__ == "__main__":
    sys.exit(main())
