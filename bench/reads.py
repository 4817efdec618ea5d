"""Read-side benchmark: the leaderboard, a team view and a Home tab over a large workspace.

    .venv/bin/python -m bench.reads                        # 10,000 channels x 20 members x 12 results
    .venv/bin/python -m bench.reads --channels 1000        # quick
    .venv/bin/python -m bench.reads --plans                # and the query plans each read relied on

A report, not a test: it prints p50/p95 per read and never asserts timings (exit status 0 even
when a target is missed; 1 when the run itself failed). Each database is seeded in bulk with the
rows the app would have written (assessments, results, their categories, the team levels and their
history), then each read runs through the app's own services and Block Kit builders on the app's
engine settings. All traffic stays local; the PostgreSQL server is a throwaway one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.faults import PG_OPTIONS, RunFailed, destroy_postgres, fresh_database, postgres_bin, start_postgres
from bot.services.home import HomeService
from bot.services.leaderboard import LeaderboardService
from bot.services.outcomes import Who
from bot.services.team import TeamService
from bot.slack.blocks.home import build_home_view
from bot.slack.blocks.leaderboard import build_leaderboard_message
from bot.slack.blocks.team import build_team_status_message
from bot.slack.charts import Axis, Series, radar_png, trend_png
from flows.loader import load_flows
from flows.schema import Flow
from models.db import create_engine
from models.migrate import upgrade_engine
from models.teams import team_level

TEAM = "T111"
TARGET_MS = 100.0
CHART_TARGET_MS = 300.0
ANSWERED_CHANNELS = 500  # channels whose members' latest answers are seeded (the team views read them)
BATCH = 200  # channels generated and written at a time


@dataclass(frozen=True)
class Shape:
    channels: int
    members: int
    assessments: int  # completed per member and channel
    people: int


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)  # milliseconds

    def p(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the rows -------------------------------------------------------------------------------------


TABLES: dict[str, tuple[str, ...]] = {
    "workspaces": ("id", "slack_team_id", "created_at"),
    "channels": ("id", "workspace_id", "slack_channel_id", "name", "created_at"),
    "people": ("id", "workspace_id", "slack_user_id", "name", "created_at"),
    "assessments": (
        "id", "person_id", "channel_id", "flow_id", "flow_version", "status", "current_question_id",
        "revision", "started_at", "updated_at", "completed_at",
    ),
    "results": ("id", "assessment_id", "level", "score", "created_at"),
    "result_categories": ("result_id", "category_id", "position", "level", "score"),
    "answers": ("assessment_id", "question_id", "option_id", "answered_at"),
    "team_levels": (
        "workspace_id", "channel_id", "flow_id", "members", "level", "score", "last_activity", "updated_at",
    ),
    "team_level_history": ("channel_id", "flow_id", "at", "members", "level", "score"),
}  # fmt: skip


def person_of(channel: int, member: int, shape: Shape) -> int:
    """Distinct members per channel, each person in about channels x members / people channels."""
    return 1 + (channel * 37 + member * (shape.people // shape.members)) % shape.people


def generate(
    shape: Shape, flows: dict[str, Flow], now: datetime, first: int, last: int
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of channels ``first``..``last`` (1-based, inclusive), as the app would have written them."""
    rng = random.Random(first)
    rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in TABLES}
    start = now - timedelta(days=365)
    per_channel = shape.members * shape.assessments
    for channel in range(first, last + 1):
        rows["channels"].append((channel, 1, f"CR{channel:05d}", f"team-{channel}", start))
        by_flow: dict[str, list[tuple[datetime, int, int, float]]] = {}
        latest: dict[tuple[int, str], int] = {}
        for member in range(shape.members):
            person = person_of(channel, member, shape)
            for k in range(shape.assessments):
                flow = flows["azure" if k % 3 == 2 else "google"]
                assessment = (channel - 1) * per_channel + member * shape.assessments + k + 1
                done = start + timedelta(days=k * 360 / shape.assessments + rng.uniform(0, 20))
                progress = k / max(1, shape.assessments - 1)
                levels = [
                    max(0, min(flow.max_level, round(progress * flow.max_level + rng.uniform(-1.2, 0.8))))
                    for _ in flow.categories
                ]
                scores = [min(float(flow.max_level), lv + rng.random() * 0.95) for lv in levels]
                level, score = min(levels), min(scores)
                rows["assessments"].append(
                    (assessment, person, channel, flow.id, flow.version, "completed", None,
                     len(flow.questions), done - timedelta(minutes=12), done, done)
                )  # fmt: skip
                rows["results"].append((assessment, assessment, level, score, done))
                rows["result_categories"] += [
                    (assessment, c.id, n, levels[n], scores[n]) for n, c in enumerate(flow.categories)
                ]
                by_flow.setdefault(flow.id, []).append((done, person, level, score))
                latest[(person, flow.id)] = assessment
        for flow_id, results in by_flow.items():
            members: dict[int, tuple[int, float]] = {}
            for done, person, level, score in sorted(results):
                members[person] = (level, score)
                team, finer = team_level([v[0] for v in members.values()], [v[1] for v in members.values()])
                rows["team_level_history"].append((channel, flow_id, done, len(members), team, finer))
            team, finer = team_level([v[0] for v in members.values()], [v[1] for v in members.values()])
            last_done = max(r[0] for r in results)
            rows["team_levels"].append((1, channel, flow_id, len(members), team, finer, last_done, now))
        if channel <= ANSWERED_CHANNELS:
            for (_person, flow_id), assessment in latest.items():
                for question in flows[flow_id].questions:
                    option = rng.choice(question.options)
                    rows["answers"].append((assessment, question.id, option.id, now))
    return rows


# -- writing them ---------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
    return value


class SqliteWriter:
    def __init__(self, path: str):
        self.db = sqlite3.connect(path)
        self.db.execute("PRAGMA synchronous=OFF")

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        columns = TABLES[table]
        marks = ", ".join("?" for _ in columns)
        self.db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            ([_sqlite_value(v) for v in row] for row in rows),
        )

    async def finish(self) -> None:
        self.db.commit()
        self.db.close()


class PostgresWriter:
    def __init__(self, connection: Any):
        self.db = connection

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        await self.db.copy_records_to_table(table, records=rows, columns=list(TABLES[table]))

    async def finish(self) -> None:
        for table in ("workspaces", "channels", "people", "assessments", "results"):
            await self.db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await self.db.execute("ANALYZE")  # what autovacuum would have done by the time data is this size
        await self.db.close()


async def seed(url: str, shape: Shape, flows: dict[str, Flow], now: datetime) -> float:
    """Migrate, then write the whole workspace in bulk; returns the seconds it took."""
    started = time.perf_counter()
    engine = create_engine(url)
    await upgrade_engine(engine)
    await engine.dispose()
    writer: SqliteWriter | PostgresWriter
    if url.startswith("sqlite"):
        writer = SqliteWriter(url.split("///", 1)[1])
    else:
        import asyncpg

        from bench.faults import asyncpg_dsn

        writer = PostgresWriter(await asyncpg.connect(asyncpg_dsn(url), timeout=10))
    start = now - timedelta(days=400)
    await writer.write("workspaces", [(1, TEAM, start)])
    await writer.write(
        "people", [(p, 1, f"UR{p:04d}", f"person-{p}", start) for p in range(1, shape.people + 1)]
    )
    for first in range(1, shape.channels + 1, BATCH):
        rows = generate(shape, flows, now, first, min(shape.channels, first + BATCH - 1))
        for table in ("channels", "assessments", "results", "result_categories", "answers", "team_levels",
                      "team_level_history"):  # fmt: skip
            if rows[table]:
                await writer.write(table, rows[table])
        print(
            f"  seeded {min(shape.channels, first + BATCH - 1)} of {shape.channels} channels",
            end="\r",
            flush=True,
        )
    await writer.finish()
    print()
    return time.perf_counter() - started


# -- reading --------------------------------------------------------------------------------------


class Statements:
    """The SQL each read sends, captured once (for --plans)."""

    def __init__(self, engine: AsyncEngine):
        self.seen: list[tuple[str, Any]] = []
        self.on = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._capture)

    def _capture(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if self.on:
            self.seen.append((statement, parameters))


async def timed(timing: Timing, samples: int, run: Callable[[int], Awaitable[object]]) -> None:
    for n in range(samples + 10):
        started = time.perf_counter()
        await run(n)
        if n >= 10:  # the first ten warm the caches and the pool
            timing.samples.append((time.perf_counter() - started) * 1000)


async def measure(
    url: str, shape: Shape, flows: dict[str, Flow], samples: int, plans: bool
) -> tuple[list[Timing], list[str]]:
    engine = create_engine(url)
    statements = Statements(engine)
    rng = random.Random(7)
    board = LeaderboardService(engine, flows)
    team = TeamService(engine, flows)
    home = HomeService(engine, flows)

    def channel() -> str:
        return f"CR{rng.randint(1, shape.channels):05d}"

    async def leaderboard(_n: int) -> None:
        where = channel()
        build_leaderboard_message(await board.show(Who(TEAM, where, "UR0001")), flows, where)

    async def improved(_n: int) -> None:
        where = channel()
        build_leaderboard_message(await board.show(Who(TEAM, where, "UR0001"), improved=True), flows, where)

    async def team_view(_n: int) -> None:
        where = f"CR{rng.randint(1, min(shape.channels, ANSWERED_CHANNELS)):05d}"
        build_team_status_message(await team.status(Who(TEAM, where, "UR0001")), flows)

    async def home_tab(_n: int) -> None:
        person = f"UR{rng.randint(1, shape.people):04d}"
        build_home_view(await home.view(TEAM, person), flows)

    reads = [
        ("leaderboard", leaderboard),
        ("leaderboard, most improved", improved),
        ("team view (status team)", team_view),
        ("Home tab", home_tab),
    ]
    timings = []
    explained: list[str] = []
    try:
        for name, run in reads:
            timing = Timing(name)
            await timed(timing, samples, run)
            timings.append(timing)
            if plans:
                statements.seen, statements.on = [], True
                await run(0)
                statements.on = False
                explained.append(f"-- {name}")
                explained += await explain(engine, statements.seen)
    finally:
        await engine.dispose()
    return timings, explained


async def explain(engine: AsyncEngine, seen: list[tuple[str, Any]]) -> list[str]:
    lines = []
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
            plan = [" ".join(str(v) for v in row[-1:]) for row in rows]
            lines.append("   " + " ".join(statement.split())[:150])
            lines += [f"      {p}" for p in plan[:8]]
    return lines


def chart_timings(samples: int) -> list[Timing]:
    flow_axes = [Axis(f"Category {n}", n % 5, n % 5 + 0.4) for n in range(5)]
    now = datetime.now(UTC)
    series = [
        Series(f"model {m}", [(now - timedelta(days=7 * n), 1 + n / 30) for n in range(50)]) for m in range(3)
    ]
    radar, trend = Timing("radar chart (5 categories)"), Timing("trend chart (3 lines x 50 points)")
    radar_png("warm-up", flow_axes, 4)  # the first chart imports matplotlib
    drawings: list[tuple[Timing, Callable[[], bytes]]] = [
        (radar, lambda: radar_png("Radar", flow_axes, 4)),
        (trend, lambda: trend_png("Trend", series, 4)),
    ]
    for timing, draw in drawings:
        for _ in range(samples):
            started = time.perf_counter()
            draw()
            timing.samples.append((time.perf_counter() - started) * 1000)
    return [radar, trend]


# -- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=10_000, help="channels (teams), default 10000")
    parser.add_argument(
        "--members", type=int, default=20, help="members with results per channel, default 20"
    )
    parser.add_argument(
        "--assessments", type=int, default=12, help="completed per member and channel, default 12"
    )
    parser.add_argument("--people", type=int, default=1000, help="people in the workspace, default 1000")
    parser.add_argument("--samples", type=int, default=200, help="timed runs per read, default 200")
    parser.add_argument("--plans", action="store_true", help="print the query plans of each read")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server to use instead of a throwaway one"
    )
    args = parser.parse_args(argv)
    if args.people < args.members or args.people % args.members:
        parser.error("--people must be a multiple of --members")
    if not 1 <= args.channels <= 50_000:
        parser.error("--channels must be between 1 and 50000")
    return args


async def run(args: argparse.Namespace) -> int:
    flows = load_flows()
    shape = Shape(args.channels, args.members, args.assessments, args.people)
    now = datetime.now(UTC)
    results: dict[str, list[Timing]] = {}
    plans: dict[str, list[str]] = {}
    seeded: dict[str, float] = {}

    async def one(name: str, url: str) -> None:
        print(
            f"{name}: seeding {shape.channels} channels x {shape.members} members "
            f"x {shape.assessments} results"
        )
        seeded[name] = await seed(url, shape, flows, now)
        results[name], plans[name] = await measure(url, shape, flows, args.samples, args.plans)

    if not args.skip_sqlite:
        async with fresh_database(None, durable=False) as url:
            await one("SQLite", url)
    pg_note = ""
    if not args.skip_postgres:
        if args.database_url:
            async with fresh_database(args.database_url, durable=False) as url:
                await one("PostgreSQL", url)
        elif postgres_bin() is not None:
            admin_url, directory = await asyncio.to_thread(start_postgres)
            try:
                pg_note = f" (throwaway server, {PG_OPTIONS.replace('-c ', '')})"
                async with fresh_database(admin_url, durable=False) as url:
                    await one("PostgreSQL", url)
            finally:
                destroy_postgres(directory)
        else:
            print("PostgreSQL skipped: no server binaries (initdb) found")
    charts = chart_timings(max(10, args.samples // 10))
    report(shape, results, seeded, charts, pg_note)
    for name, lines in plans.items():
        if lines:
            print(f"\nQuery plans, {name}:")
            print("\n".join(lines))
    return 0


def report(
    shape: Shape,
    results: dict[str, list[Timing]],
    seeded: dict[str, float],
    charts: list[Timing],
    pg_note: str,
) -> None:
    rows = shape.channels * shape.members * shape.assessments
    print(
        f"\nRead-side benchmark: {shape.channels} channels x {shape.members} members x {shape.assessments} "
        f"completed assessments ({rows:,} results, {shape.people} people, each in about "
        f"{shape.channels * shape.members // shape.people} channels). "
        "Milliseconds, service read plus Block Kit build."
    )
    for name, seconds in seeded.items():
        print(f"  {name}: seeded in {seconds:.0f} s{pg_note if name == 'PostgreSQL' else ''}")
    names = list(results)
    header = f"{'read':<32}" + "".join(f"{n + ' p50':>18}{n + ' p95':>18}" for n in names) + f"{'target':>12}"
    print(header)
    reads = [t.name for t in next(iter(results.values()), [])]
    for n, read in enumerate(reads):
        cells = "".join(
            f"{results[name][n].p(0.5):>18.1f}{results[name][n].p(0.95):>18.1f}" for name in names
        )
        met = all(results[name][n].p(0.95) < TARGET_MS for name in names)
        print(f"{read:<32}{cells}{('met' if met else 'NOT met'):>12}")
    for timing in charts:
        met = timing.p(0.95) < CHART_TARGET_MS
        print(
            f"{timing.name:<32}{timing.p(0.5):>18.1f}{timing.p(0.95):>18.1f}   (p50, p95)"
            f"{('met' if met else 'NOT met'):>12}"
        )
    print(
        f"Targets: p95 under {TARGET_MS:.0f} ms for each read on each database; "
        f"charts under {CHART_TARGET_MS:.0f} ms."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except RunFailed as exc:
        print(f"bench.reads: run failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench.reads: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
