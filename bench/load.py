"""Load benchmark: N people answering an assessment at once, bot versus a bare Bolt app.

    .venv/bin/python -m bench.load [--people N] [--clicks K] [--database-url URL [--fresh-database]]

Both apps run as subprocesses on 127.0.0.1, one after the other, against the same loopback Slack
double (playground/slack_api.py) living in this process. Each simulated person sends
``/maturity start google``, waits for the first question on its response_url, then clicks the
last answer button of every question it receives, one click after the previous reply arrived,
K times. Per click it records the HTTP acknowledgement time and the click-to-next-question time;
the app's RSS is sampled every ~50 ms. It prints figures and compares them with targets; it is a
report, not a test: the exit status is 0 even when a target is missed, and non-zero only when the
run itself failed (errors, a subprocess that died, a time budget exceeded).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy.engine import make_url

from bench.children import Termination, free_port, stop_all_children, stop_process, track
from playground.drive import answer_buttons
from playground.slack_api import BOT_TOKEN, SIGNING_SECRET, Person, SlackClient, SlackDouble

ROOT = Path(__file__).resolve().parent.parent
FLOW = "google"  # 13 questions; the last option of each never skips any, so K <= 12 stays in flow
MAX_CLICKS = 13
MAX_PEOPLE = 500
WARMUP_PEOPLE = 3
WARMUP_CLICKS = 3
FORM = "application/x-www-form-urlencoded"

# Time budgets (seconds). Every wait below is bounded by one of these; TOTAL_BUDGET caps the run.
STARTUP_TIMEOUT = 30.0
REPLY_TIMEOUT = 10.0
WARMUP_BUDGET = 30.0
MEASURE_BUDGET = 60.0
TOTAL_BUDGET = 150.0
MAX_THINK = 2.0  # keeps the slowest run (13 clicks x 1.5 x 2 s per person) inside the budgets
RSS_INTERVAL = 0.05
STOP_TIMEOUT = 5.0

TARGET_ACK_RATIO = 1.3
TARGET_NEXT_RATIO = 1.5
TARGET_RSS_MB = 150.0


class RunFailed(Exception):
    """The benchmark itself could not run (not a missed target)."""


# -- subprocesses -------------------------------------------------------------------------------


@dataclass
class AppProcess:
    name: str
    module: str
    env: dict[str, str]
    log_dir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self) -> None:
        self.port = free_port()
        env = {**os.environ, **self.env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        self.log_path = self.log_dir / f"{self.name}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        track(self.proc)

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise RunFailed(f"{self.name} process exited (status {code}).\n{self.log_tail()}")

    async def wait_healthy(self, session: aiohttp.ClientSession) -> float:
        """Poll GET /health until 200; returns the seconds it took."""
        started = time.perf_counter()
        deadline = started + STARTUP_TIMEOUT
        url = f"http://127.0.0.1:{self.port}/health"
        while time.perf_counter() < deadline:
            self.check_alive()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            await asyncio.sleep(0.1)
        raise RunFailed(
            f"{self.name} did not answer GET /health within {STARTUP_TIMEOUT:.0f}s.\n{self.log_tail()}"
        )

    def high_water_mark_mb(self) -> float | None:
        """The kernel's lifetime peak RSS (VmHWM) of the process, where /proc has it."""
        if self.proc is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def log_lines(self) -> list[str]:
        if self.log_path is None or not self.log_path.exists():
            return []
        return self.log_path.read_text(errors="replace").splitlines()

    def log_tail(self, lines: int = 20) -> str:
        tail = self.log_lines()[-lines:]
        return "\n".join(f"  | {line[:300]}" for line in tail) or "  (no output)"

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, STOP_TIMEOUT)


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Figures:
    name: str
    ack_ms: list[float] = field(default_factory=list)
    next_ms: list[float] = field(default_factory=list)
    start_ack_ms: list[float] = field(default_factory=list)
    start_first_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    completed: int = 0
    peak_rss_mb: float = 0.0
    hwm_mb: float | None = None
    startup_s: float = 0.0
    wall_s: float = 0.0
    app_cpu_s: float = math.nan  # CPU time (user+system) the app used during the measured run
    load_cpu_s: float = math.nan  # the same for this process (load generator and Slack double)
    log_problems: list[str] = field(default_factory=list)

    @property
    def clicks(self) -> int:
        return len(self.next_ms)


# -- the simulated people -----------------------------------------------------------------------


def reply_problem(message: dict[str, Any]) -> str | None:
    """Why a reply to an answer click is not a plain next question, or None when it is."""
    blocks = message.get("blocks") or []
    first = blocks[0] if blocks else {}
    if first.get("type") == "context":
        text = " ".join(str(e.get("text", "")) for e in first.get("elements", []))
        if ":information_source:" in text:
            return f"click not applied: {text[:120]}"
    if "something went wrong" in str(message.get("text", "")).lower():
        return "apology reply (the app failed on its side)"
    return None


@dataclass
class Load:
    double: SlackDouble
    client: SlackClient
    team_id: str
    channel_per_person: bool
    app_url: str = ""
    think: float = 0.0  # mean seconds a person reads before clicking; 0 = click at once (stress)
    rng: random.Random = field(default_factory=lambda: random.Random(2026))

    async def pause(self) -> None:
        """A person reading the question: uniform between 0.5x and 1.5x the mean think time."""
        if self.think > 0:
            await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))

    def person(self, prefix: str, n: int) -> Person:
        channel = f"C{prefix}{n:04d}" if self.channel_per_person else "C0BENCH"
        return Person(
            user_id=f"U{prefix}{n:04d}",
            channel_id=channel,
            team_id=self.team_id,
            name=f"{prefix.lower()}person{n}",
        )

    async def one_person(self, who: Person, clicks: int, figures: Figures) -> None:
        try:
            await self._one_person(who, clicks, figures)
        except (aiohttp.ClientError, TimeoutError) as exc:
            figures.errors.append(f"{who.user_id}: {type(exc).__name__}: {str(exc)[:120]}")

    async def _one_person(self, who: Person, clicks: int, figures: Figures) -> None:
        """Start an assessment, then answer ``clicks`` questions, each after the previous arrived."""
        if self.think > 0:
            await asyncio.sleep(self.think * self.rng.random())  # people do not all start at once
        sent = time.perf_counter()
        status, key = await self.client.command(f"start {FLOW}", who=who)
        acked = time.perf_counter()
        if status != 200:
            figures.errors.append(f"{who.user_id}: /maturity start answered HTTP {status}")
            return
        try:
            reply, arrived = await self.double.first_reply(key, REPLY_TIMEOUT)
        except TimeoutError:
            figures.errors.append(f"{who.user_id}: no first question within {REPLY_TIMEOUT:.0f}s")
            return
        figures.start_ack_ms.append((acked - sent) * 1000)
        figures.start_first_ms.append((arrived - sent) * 1000)
        for number in range(1, clicks + 1):
            choices = answer_buttons(reply)
            if not choices:
                problem = reply_problem(reply)
                if problem or number == 1:
                    figures.errors.append(
                        f"{who.user_id}: no answer buttons before click {number}: "
                        f"{problem or str(reply.get('text', ''))[:120]}"
                    )
                else:
                    figures.completed += 1  # the assessment finished before K clicks: stop here
                return
            await self.pause()
            body, key = self.client.click_body(choices[-1], who)
            sent = time.perf_counter()
            response = await self.client.post(body, FORM)
            acked = time.perf_counter()
            if response.status != 200:
                figures.errors.append(f"{who.user_id}: click {number} answered HTTP {response.status}")
                return
            try:
                reply, arrived = await self.double.first_reply(key, REPLY_TIMEOUT)
            except TimeoutError:
                figures.errors.append(
                    f"{who.user_id}: no reply to click {number} within {REPLY_TIMEOUT:.0f}s"
                )
                return
            figures.ack_ms.append((acked - sent) * 1000)
            figures.next_ms.append((arrived - sent) * 1000)
            problem = reply_problem(reply)
            if problem:
                figures.errors.append(f"{who.user_id}: click {number}: {problem}")
                return

    async def crowd(self, prefix: str, people: int, clicks: int, figures: Figures, budget: float) -> None:
        """Everyone at once; the whole crowd is bounded by ``budget`` seconds."""
        tasks = [self.one_person(self.person(prefix, n), clicks, figures) for n in range(1, people + 1)]
        try:
            async with asyncio.timeout(budget):
                await asyncio.gather(*tasks)
        except TimeoutError:
            figures.errors.append(f"{prefix} crowd did not finish within {budget:.0f}s")


def cpu_seconds(pid: int | None = None) -> float:
    """User plus system CPU seconds used so far by ``pid`` (default: this process)."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return math.nan
    return float(times.user + times.system)


async def sample_rss(pid: int, stop: asyncio.Event, deadline: float) -> float:
    """Peak RSS (MB) of process ``pid``, sampled every RSS_INTERVAL until ``stop`` or ``deadline``."""
    process = psutil.Process(pid)
    peak = 0
    while not stop.is_set() and time.perf_counter() < deadline:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, process.memory_info().rss)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RSS_INTERVAL):
                await stop.wait()
    return peak / (1024 * 1024)


async def measure(
    app: AppProcess, load: Load, session: aiohttp.ClientSession, people: int, clicks: int
) -> Figures:
    figures = Figures(app.name)
    app.start()
    try:
        assert app.proc is not None
        stop = asyncio.Event()
        sampler = asyncio.create_task(
            sample_rss(
                app.proc.pid,
                stop,
                time.perf_counter() + STARTUP_TIMEOUT + WARMUP_BUDGET + MEASURE_BUDGET + 10,
            )
        )
        try:
            load.app_url = app.url
            figures.startup_s = await app.wait_healthy(session)
            warmup = Figures(f"{app.name} warm-up")
            await load.crowd(
                f"W{app.name.upper()}", WARMUP_PEOPLE, min(clicks, WARMUP_CLICKS), warmup, WARMUP_BUDGET
            )
            app.check_alive()
            if warmup.errors:
                raise RunFailed(f"{app.name} warm-up failed: {warmup.errors[:3]}\n{app.log_tail()}")
            started, app_cpu, load_cpu = time.perf_counter(), cpu_seconds(app.proc.pid), cpu_seconds()
            await load.crowd(app.name.upper(), people, clicks, figures, MEASURE_BUDGET)
            figures.wall_s = time.perf_counter() - started
            figures.app_cpu_s = cpu_seconds(app.proc.pid) - app_cpu
            figures.load_cpu_s = cpu_seconds() - load_cpu
            app.check_alive()
        finally:
            stop.set()
            figures.peak_rss_mb = await sampler
        figures.hwm_mb = app.high_water_mark_mb()
    finally:
        app.stop()
    figures.log_problems = [
        line
        for line in app.log_lines()
        if '"level": "error"' in line
        or '"level": "warning"' in line
        or '"level": "critical"' in line
        or line.startswith(("Traceback", "ERROR", "WARNING", "CRITICAL"))
    ]
    return figures


# -- databases ----------------------------------------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def database(url: str | None, fresh: bool) -> Any:
    """Yield (database URL for the bot, description); temporary databases are removed afterwards."""
    if url is None:
        directory = tempfile.mkdtemp(prefix="bench-load-")
        try:
            yield f"sqlite+aiosqlite:///{directory}/bench.db", "SQLite, temporary file"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    backend = make_url(url).get_backend_name()
    if not fresh:
        yield url, f"{backend} at the given URL (rows are added to it)"
        return
    if backend != "postgresql":
        raise RunFailed("--fresh-database only works with a PostgreSQL URL")
    import asyncpg

    name = f"bench_load_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield (
            make_url(url).set(database=name).render_as_string(hide_password=False),
            f"PostgreSQL, fresh database {name} (dropped afterwards)",
        )
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(url), timeout=10)
        try:
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except asyncpg.PostgresSyntaxError:  # before PostgreSQL 13; the bot has stopped by now
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            await admin.close()


# -- report -------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def ratio(a: float, b: float) -> float:
    return a / b if b > 0 and not math.isnan(a) and not math.isnan(b) else math.nan


def print_report(results: list[Figures], header: list[str]) -> None:
    for line in header:
        print(line)
    print()
    columns = ("app", "clicks", "errors", "ack p50", "ack p95", "next p50", "next p95", "peak RSS MB")
    row = "{:<6} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>12}"
    print(row.format(*columns))
    for f in results:
        print(
            row.format(
                f.name,
                f.clicks,
                len(f.errors),
                fmt(percentile(f.ack_ms, 50)),
                fmt(percentile(f.ack_ms, 95)),
                fmt(percentile(f.next_ms, 50)),
                fmt(percentile(f.next_ms, 95)),
                fmt(f.peak_rss_mb),
            )
        )
    print(
        "(times in ms; ack = until the POST to the app returned 200; next = from sending the click "
        "until the reply reached the response_url)"
    )
    print()
    for f in results:
        throughput = f.clicks / f.wall_s if f.wall_s else math.nan
        print(
            f"{f.name}: start-up {f.startup_s:.2f}s; measured run {f.wall_s:.2f}s "
            f"({fmt(throughput)} clicks/s), CPU {fmt(f.app_cpu_s, 2)}s in the app "
            f"({fmt(f.app_cpu_s / max(f.clicks, 1) * 1000, 2)} ms/click) and {fmt(f.load_cpu_s, 2)}s in "
            f"the load generator; `/maturity start` ack p50/p95 "
            f"{fmt(percentile(f.start_ack_ms, 50))}/{fmt(percentile(f.start_ack_ms, 95))} ms, "
            f"first question p50/p95 {fmt(percentile(f.start_first_ms, 50))}/"
            f"{fmt(percentile(f.start_first_ms, 95))} ms; lifetime peak RSS (VmHWM) {fmt(f.hwm_mb)} MB; "
            f"finished early {f.completed}; warnings/errors in its log {len(f.log_problems)}"
        )
        for line in f.log_problems[:3]:
            print(f"  {f.name} log | {line[:400]}")
    by_name = {f.name: f for f in results}
    bot, bare = by_name.get("bot"), by_name.get("bare")
    if bot is None or bare is None:
        return
    ack = ratio(percentile(bot.ack_ms, 95), percentile(bare.ack_ms, 95))
    nxt = ratio(percentile(bot.next_ms, 95), percentile(bare.next_ms, 95))
    print()
    print("bot/bare ratios and targets:")
    checks = [
        ("ack p95 bot/bare", f"{fmt(ack, 2)}x", f"<= {TARGET_ACK_RATIO}x", ack <= TARGET_ACK_RATIO),
        (
            "next-question p95 bot/bare",
            f"{fmt(nxt, 2)}x",
            f"<= {TARGET_NEXT_RATIO}x",
            nxt <= TARGET_NEXT_RATIO,
        ),
        (
            "bot peak RSS",
            f"{fmt(bot.peak_rss_mb)} MB",
            f"< {TARGET_RSS_MB:.0f} MB",
            bot.peak_rss_mb < TARGET_RSS_MB,
        ),
    ]
    for label, value, target, met in checks:
        print(f"  {label:<28} {value:>10}   target {target:<9} {'met' if met else 'NOT met'}")


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=50, help="simulated people at once (default 50)")
    parser.add_argument("--clicks", type=int, default=8, help="answer clicks per person (default 8)")
    parser.add_argument(
        "--database-url", default=None, help="the bot's DATABASE_URL (default: a temporary SQLite file)"
    )
    parser.add_argument(
        "--fresh-database",
        action="store_true",
        help="with a PostgreSQL URL: create a new database on that server, drop it after",
    )
    parser.add_argument(
        "--channel-per-person",
        action="store_true",
        help="give each person their own channel (default: everyone in one channel)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds each person reads a question before clicking (0.5x-1.5x, seeded); "
        "default 0: everyone clicks the moment a question arrives (a stress test)",
    )
    parser.add_argument(
        "--only",
        choices=("bare", "bot"),
        default=None,
        help="measure one app only (no ratios; for investigating)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.people <= MAX_PEOPLE:
        parser.error(f"--people must be between 1 and {MAX_PEOPLE}")
    if not 0 <= args.think <= MAX_THINK:
        parser.error(f"--think must be between 0 and {MAX_THINK:.0f} seconds")
    if not 1 <= args.clicks <= MAX_CLICKS:
        parser.error(f"--clicks must be between 1 and {MAX_CLICKS}")
    return args


async def run(args: argparse.Namespace) -> int:
    # No rate limits: no run here posts to a channel, and the floor being measured is the app's own.
    double = SlackDouble(rate_limits=False)
    await double.start()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-load-logs-"))
    connector = aiohttp.TCPConnector(limit=args.people + WARMUP_PEOPLE + 10)
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT)
            ) as session,
            database(args.database_url, args.fresh_database) as (database_url, database_text),
        ):
            team = f"TB{secrets.token_hex(3).upper()}"  # per run, so a reused database has no old rows
            load = Load(
                double,
                SlackClient(lambda: load.app_url, double, session),
                team,
                args.channel_per_person,
                think=args.think,
            )
            common = {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": double.api_url,
                "SLACK_APP_TOKEN": "",  # never Socket Mode, whatever the environment or .env says
                "LOG_LEVEL": "WARNING",
            }
            apps = [
                AppProcess("bare", "bench.bare_app", common, log_dir),
                AppProcess(
                    "bot",
                    "bot",
                    {**common, "DATABASE_URL": database_url, "FLOWS_DIR": "", "MIGRATE_ON_START": "true"},
                    log_dir,
                ),
            ]
            apps = [app for app in apps if args.only in (None, app.name)]
            results = [await measure(app, load, session, args.people, args.clicks) for app in apps]
        channels = "one channel per person" if args.channel_per_person else "all in one channel"
        cores = os.cpu_count()
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
        header = [
            "maturity-bot load benchmark",
            f"machine: {cores} logical cores ({usable} usable, {psutil.cpu_count(logical=False)} physical), "
            f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.system()} "
            f"{platform.machine()}",
            f"database: {database_text}",
            f"load: {args.people} people at once, each `/maturity start {FLOW}` then {args.clicks} answer "
            f"clicks (last option); {channels}; warm-up {WARMUP_PEOPLE} people x {WARMUP_CLICKS} "
            "clicks per app, not counted",
            "think time: "
            + (
                f"{args.think:.2f}s mean (0.5x-1.5x) before each click, starts spread over {args.think:.2f}s"
                if args.think
                else "none (each person clicks as soon as a question arrives: a stress test)"
            ),
            "apps run one after the other on 127.0.0.1, bare first; the Slack double and the load run "
            "in this process",
        ]
        print_report(results, header)
        failed = False
        for figures in results:
            expected = args.people * args.clicks
            if figures.errors:
                failed = True
                print(f"\n{figures.name}: {len(figures.errors)} error(s), first ones:", file=sys.stderr)
                for error in figures.errors[:5]:
                    print(f"  {error}", file=sys.stderr)
            elif figures.clicks < expected and not figures.completed:
                failed = True
                print(
                    f"\n{figures.name}: only {figures.clicks} of {expected} clicks measured", file=sys.stderr
                )
        return 1 if failed else 0
    finally:
        await double.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    termination = Termination()

    async def bounded() -> int:
        termination.arm()
        async with asyncio.timeout(TOTAL_BUDGET):
            return await run(args)

    # Whatever happens (an error, Ctrl-C, SIGTERM, the budget running out), the apps are stopped.
    try:
        return asyncio.run(bounded())
    except RunFailed as exc:
        print(f"bench.load: run failed: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"bench.load: run failed: exceeded the total budget of {TOTAL_BUDGET:.0f}s", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"bench.load: {termination.word}", file=sys.stderr)
        return termination.exit_status()
    finally:
        stop_all_children()


if __name__ == "__main__":
    sys.exit(main())
