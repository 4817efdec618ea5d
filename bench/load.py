"""Load benchmark: a burst of clicks and a paced crowd, the bot against two floors, in one run.

    .venv/bin/python -m bench.load [--shape burst|paced|both] [--people N] [--clicks K] [--rounds R]
                                   [--database-url URL [--fresh-database]] [--profile FILE]

Three apps run as subprocesses on 127.0.0.1 against the same loopback Slack double living in this
process: the **bare** Bolt app (acks and sends one message: the floor of the stack), the **durable**
baseline (the bare app that, before replying, reads the person's last stored row and inserts one,
committed, on one connection: the least a bot that loses no answer must do) and the **bot**. Each
simulated person sends ``/maturity start google``, waits for the first question on its
response_url, then clicks the last practice of every question it receives, one click after the
previous reply arrived, K times. Shapes: **burst** (everyone clicks the moment a question
arrives) and **paced** (people read ~1 s first). Rounds interleave the apps (a fresh crowd per app
per round, the order rotating), so drift on the machine hits all three alike. Per click it records
the HTTP acknowledgement and the click-to-next-question time; per app the CPU time it used during
its measured crowds (per click) and its peak RSS (sampled every ~50 ms, and the kernel's VmHWM).
It prints the figures and the ratios to the targets of issue 11; it is a report, not a test: the
exit status is 0 even when a target is missed, non-zero only when the run itself failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import platform
import random
import secrets
import shutil
import statistics
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
FLOW = "google"  # best answers are asked 9 questions, so K <= 8 clicks stay in the flow
MAX_CLICKS = 9
MAX_PEOPLE = 500
WARMUP_PEOPLE = 3
WARMUP_CLICKS = 3
FORM = "application/x-www-form-urlencoded"

# Time budgets (seconds). Every wait below is bounded by one of these; TOTAL_BUDGET caps the run.
STARTUP_TIMEOUT = 30.0
REPLY_TIMEOUT = 10.0
WARMUP_BUDGET = 30.0
MEASURE_BUDGET = 60.0
TOTAL_BUDGET = 600.0
MAX_THINK = 2.0  # keeps the slowest run (13 clicks x 1.5 x 2 s per person) inside the budgets
RSS_INTERVAL = 0.05
STOP_TIMEOUT = 5.0

# Issue 11's targets (burst): next p95 <= 1.5x durable; ack p95 <= 1.0x bare; peak RSS <= 1.4x
# bare; CPU per click <= 2x durable.
TARGET_NEXT_VS_DURABLE = 1.5
TARGET_ACK_VS_BARE = 1.0
TARGET_RSS_VS_BARE = 1.4
TARGET_CPU_VS_DURABLE = 2.0


@dataclass(frozen=True)
class Shape:
    key: str
    people: int
    think: float  # mean seconds a person reads before each click; 0 = click at once
    rounds: int


SHAPES = {"burst": Shape("burst", 40, 0.0, 3), "paced": Shape("paced", 40, 1.0, 1)}


class RunFailed(Exception):
    """The benchmark itself could not run (not a missed target)."""


# -- subprocesses -------------------------------------------------------------------------------


@dataclass
class AppProcess:
    name: str
    module: str
    env: dict[str, str]
    log_dir: Path
    args: list[str] | None = None  # the interpreter's arguments (default: -m <module>)
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
                [sys.executable, *(self.args or ["-m", self.module])],
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
    round_next_p95: list[float] = field(default_factory=list)  # each round's own next p95, in order

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


@dataclass
class Running:
    """One app under test for the whole run: its process, its RSS sampler and its figures per shape."""

    app: AppProcess
    sampler: asyncio.Task[float] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    peak_rss_mb: float = 0.0
    hwm_mb: float | None = None
    startup_s: float = 0.0
    figures: dict[str, Figures] = field(default_factory=dict)


async def launch(app: AppProcess, load: Load, session: aiohttp.ClientSession) -> Running:
    """Start the app, sample its RSS from launch, wait until healthy, warm it up (not counted)."""
    running = Running(app)
    app.start()
    assert app.proc is not None
    running.sampler = asyncio.create_task(
        sample_rss(app.proc.pid, running.stop, time.perf_counter() + TOTAL_BUDGET)
    )
    running.startup_s = await app.wait_healthy(session)
    load.app_url, load.think = app.url, 0.0
    warmup = Figures(f"{app.name} warm-up")
    await load.crowd(f"W{app.name[:2].upper()}", WARMUP_PEOPLE, WARMUP_CLICKS, warmup, WARMUP_BUDGET)
    app.check_alive()
    if warmup.errors:
        raise RunFailed(f"{app.name} warm-up failed: {warmup.errors[:3]}\n{app.log_tail()}")
    return running


async def crowd_round(
    running: Running, load: Load, shape: Shape, round_number: int, people: int, clicks: int
) -> None:
    """One crowd of fresh people on one app; its CPU time and wall time are added to the shape."""
    app = running.app
    assert app.proc is not None
    figures = running.figures.setdefault(shape.key, Figures(app.name))
    load.app_url, load.think = app.url, shape.think
    # This process keeps every reply the double received: freeze what earlier crowds left, so a
    # full collection of our growing heap (tens of ms) does not land in the middle of a crowd.
    gc.collect()
    gc.freeze()
    started, app_cpu, load_cpu = time.perf_counter(), cpu_seconds(app.proc.pid), cpu_seconds()
    prefix = f"{shape.key[0].upper()}{round_number}{app.name[:2].upper()}"
    before = len(figures.next_ms)
    await load.crowd(prefix, people, clicks, figures, MEASURE_BUDGET)
    figures.round_next_p95.append(percentile(figures.next_ms[before:], 95))
    figures.wall_s += time.perf_counter() - started
    figures.app_cpu_s = (0.0 if math.isnan(figures.app_cpu_s) else figures.app_cpu_s) + (
        cpu_seconds(app.proc.pid) - app_cpu
    )
    figures.load_cpu_s = (0.0 if math.isnan(figures.load_cpu_s) else figures.load_cpu_s) + (
        cpu_seconds() - load_cpu
    )
    app.check_alive()


async def finish(running: Running) -> None:
    """Stop sampling, read the kernel's peak, stop the app and collect the problems it logged."""
    app = running.app
    running.stop.set()
    if running.sampler is not None:
        running.peak_rss_mb = await running.sampler
    running.hwm_mb = app.high_water_mark_mb()
    app.stop()
    problems = [
        line
        for line in app.log_lines()
        if '"level": "error"' in line
        or '"level": "warning"' in line
        or '"level": "critical"' in line
        or line.startswith(("Traceback", "ERROR", "WARNING", "CRITICAL"))
    ]
    for figures in running.figures.values():
        figures.log_problems = problems
        figures.peak_rss_mb, figures.hwm_mb, figures.startup_s = (
            running.peak_rss_mb,
            running.hwm_mb,
            running.startup_s,
        )


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


APPS = ("bare", "durable", "bot")


def print_shape(shape: Shape, figures: dict[str, Figures]) -> None:
    columns = (
        "app", "clicks", "errors", "ack p50", "ack p95", "next p50", "next p95", "CPU ms/click",
        "load ms/click",
    )  # fmt: skip
    row = "{:<8} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>13} {:>14}"
    print(row.format(*columns))
    for name in APPS:
        f = figures.get(name)
        if f is None:
            continue
        print(
            row.format(
                name,
                f.clicks,
                len(f.errors),
                fmt(percentile(f.ack_ms, 50)),
                fmt(percentile(f.ack_ms, 95)),
                fmt(percentile(f.next_ms, 50)),
                fmt(percentile(f.next_ms, 95)),
                fmt(cpu_per_click(f), 2),
                fmt(f.load_cpu_s / f.clicks * 1000 if f.clicks else math.nan, 2),
            )
        )
    print(
        "start -> first question p50/p95 (ms): "
        + "; ".join(
            f"{name} {fmt(percentile(figures[name].start_first_ms, 50))}/"
            f"{fmt(percentile(figures[name].start_first_ms, 95))}"
            for name in APPS
            if name in figures
        )
    )
    if any(len(f.round_next_p95) > 1 for f in figures.values()):
        print(
            "next p95 by round (ms): "
            + "; ".join(
                f"{name} {' '.join(fmt(v, 0) for v in figures[name].round_next_p95)}"
                for name in APPS
                if name in figures
            )
        )


def cpu_per_click(f: Figures) -> float:
    """The app's CPU milliseconds per measured click (the starts of its crowds included)."""
    return f.app_cpu_s / f.clicks * 1000 if f.clicks else math.nan


# What the chosen stack holds in memory before any code of ours: Bolt with aiohttp (the bare app),
# SQLAlchemy's asyncio extension with aiosqlite, pydantic and PyYAML. Issue 11's RSS target is
# measured against the bare app; this shows how much of the difference the stack itself is.
STACK_FLOOR_IMPORTS = (
    "aiohttp",
    "slack_bolt.async_app",
    "slack_sdk.webhook.async_client",
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "pydantic",
    "yaml",
)


def stack_floor_mb() -> float:
    """The RSS of a fresh interpreter that only imports :data:`STACK_FLOOR_IMPORTS` (MB)."""
    code = (
        f"import importlib, psutil\nfor m in {STACK_FLOOR_IMPORTS!r}: importlib.import_module(m)\n"
        "print(psutil.Process().memory_info().rss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return int(done.stdout.strip()) / 1e6


def print_report(shapes: list[Shape], running: dict[str, Running], header: list[str]) -> None:
    for line in header:
        print(line)
    for shape in shapes:
        print()
        think = f"think {shape.think:g} s" if shape.think else "clicking the moment a question arrives"
        print(f"{shape.key}: {shape.people} people, {think}, {shape.rounds} round(s) per app")
        print_shape(
            shape, {name: r.figures[shape.key] for name, r in running.items() if shape.key in r.figures}
        )
    print(
        "(ms; ack = until the POST to the app returned 200; next = from sending the click until the "
        "reply reached the response_url; CPU = the app's user+system time during its crowds / clicks;\n"
        " load = the same for this process, the load and the Slack double, which share the 2 cores)"
    )
    print()
    rss = "  ".join(f"{name} {fmt(r.peak_rss_mb)} MB (VmHWM {fmt(r.hwm_mb)})" for name, r in running.items())
    print(f"peak RSS: {rss}")
    floor = stack_floor_mb()
    print(
        "the stack alone (Bolt, aiohttp, SQLAlchemy asyncio, aiosqlite, pydantic, PyYAML imported, "
        f"nothing of ours): {fmt(floor)} MB"
    )
    for name, r in running.items():
        any_figures = next(iter(r.figures.values()), None)
        problems = any_figures.log_problems if any_figures else []
        print(f"{name}: start-up {r.startup_s:.2f}s; warnings/errors in its log {len(problems)}")
        for line in problems[:3]:
            print(f"  {name} log | {line[:400]}")
    bot, bare, durable = running.get("bot"), running.get("bare"), running.get("durable")
    if bot is None or bare is None or durable is None:
        return
    for shape in shapes:
        b, d, o = bare.figures[shape.key], durable.figures[shape.key], bot.figures[shape.key]
        applies = "" if shape.key == "burst" else " (targets are set for the burst)"
        print()
        print(f"{shape.key}: ratios and targets{applies}")

        def p95(f: Figures, what: str) -> float:
            return percentile(f.next_ms if what == "next" else f.ack_ms, 95)

        checks = [
            ("next p95 bot/durable", ratio(p95(o, "next"), p95(d, "next")), TARGET_NEXT_VS_DURABLE),
            ("next p95 bot/bare", ratio(p95(o, "next"), p95(b, "next")), None),
            ("ack p95 bot/bare", ratio(p95(o, "ack"), p95(b, "ack")), TARGET_ACK_VS_BARE),
            ("CPU/click bot/durable", ratio(cpu_per_click(o), cpu_per_click(d)), TARGET_CPU_VS_DURABLE),
            ("CPU/click bot/bare", ratio(cpu_per_click(o), cpu_per_click(b)), None),
            ("durable/bare next p95", ratio(p95(d, "next"), p95(b, "next")), None),
        ]
        if shape is shapes[0]:
            checks.append(("peak RSS bot/bare", ratio(bot.peak_rss_mb, bare.peak_rss_mb), TARGET_RSS_VS_BARE))
            checks.append(("RSS stack alone/bare", ratio(floor, bare.peak_rss_mb), None))
            checks.append(("peak RSS bot/stack alone", ratio(bot.peak_rss_mb, floor), None))
        for label, value, target in checks:
            verdict = (
                ""
                if target is None or applies
                else f"target <= {target}x  {'met' if value <= target else 'NOT met'}"
            )
            print(f"  {label:<24} {fmt(value, 2):>7}x   {verdict}")
        rounds = [ratio(a, z) for a, z in zip(o.round_next_p95, d.round_next_p95, strict=False)]
        if len(rounds) > 1:
            # Within a round the apps' crowds run back to back, so a round's ratio compares them
            # under nearly the same conditions; a slow spell of the machine shows as one odd round.
            print(
                f"  next p95 bot/durable by round: {' '.join(fmt(r, 2) for r in rounds)}"
                f" (median {fmt(statistics.median(rounds), 2)})"
            )


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=("burst", "paced", "both"), default="both", help="default both")
    parser.add_argument("--people", type=int, default=None, help="people per crowd (default 40)")
    parser.add_argument("--clicks", type=int, default=8, help="answer clicks per person (default 8)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="crowds per app and shape (burst 3, paced 1)"
    )
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
        "--only", choices=APPS, action="append", default=None, help="measure these apps only (repeatable)"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run the bot under cProfile, write its stats to this file and print where its time went",
    )
    args = parser.parse_args(argv)
    if args.people is not None and not 1 <= args.people <= MAX_PEOPLE:
        parser.error(f"--people must be between 1 and {MAX_PEOPLE}")
    if not 1 <= args.clicks <= MAX_CLICKS:
        parser.error(f"--clicks must be between 1 and {MAX_CLICKS}")
    if args.rounds is not None and not 1 <= args.rounds <= 10:
        parser.error("--rounds must be between 1 and 10")
    return args


def shapes_of(args: argparse.Namespace) -> list[Shape]:
    keys = ["burst", "paced"] if args.shape == "both" else [args.shape]
    return [
        Shape(
            key,
            args.people or SHAPES[key].people,
            SHAPES[key].think,
            args.rounds or SHAPES[key].rounds,
        )
        for key in keys
    ]


def durable_url(bot_url: str) -> str:
    """The durable baseline's database: its own SQLite file next to the bot's, or the same server."""
    if bot_url.startswith("sqlite"):
        return bot_url.replace("bench.db", "durable.db")
    return bot_url


def print_profile(path: Path, lines: int = 30) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(r"(bot|flows|models|slack_bolt|sqlalchemy)/", lines)
    print()
    print(f"bot profile ({path}):")
    print(out.getvalue())


async def run(args: argparse.Namespace) -> int:
    # No rate limits: no run here posts to a channel, and the floor being measured is the app's own.
    double = SlackDouble(rate_limits=False)
    await double.start()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-load-logs-"))
    shapes = shapes_of(args)
    people = max(shape.people for shape in shapes)
    connector = aiohttp.TCPConnector(limit=people + WARMUP_PEOPLE + 10)
    running: dict[str, Running] = {}
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT)
            ) as session,
            database(args.database_url, args.fresh_database) as (database_url, database_text),
        ):
            team = f"TB{secrets.token_hex(3).upper()}"  # per run, so a reused database has no old rows
            load = Load(
                double, SlackClient(lambda: load.app_url, double, session), team, args.channel_per_person
            )
            common = {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": double.api_url,
                "SLACK_APP_TOKEN": "",  # never Socket Mode, whatever the environment or .env says
                "LOG_LEVEL": "WARNING",
            }
            bot_args = ["-m", "bot"]
            if args.profile is not None:
                bot_args = ["-m", "cProfile", "-o", str(args.profile.resolve()), "-m", "bot"]
            apps = [
                AppProcess("bare", "bench.bare_app", common, log_dir),
                AppProcess(
                    "durable",
                    "bench.durable_app",
                    {**common, "DATABASE_URL": durable_url(database_url)},
                    log_dir,
                ),
                AppProcess(
                    "bot",
                    "bot",
                    {**common, "DATABASE_URL": database_url, "FLOWS_DIR": "", "MIGRATE_ON_START": "true"},
                    log_dir,
                    args=bot_args,
                ),
            ]
            apps = [app for app in apps if args.only is None or app.name in args.only]
            try:
                for app in apps:
                    running[app.name] = await launch(app, load, session)
                for shape in shapes:
                    for number in range(shape.rounds):
                        turn = number % len(apps)  # rotate who goes first, so drift hits all alike
                        for app in apps[turn:] + apps[:turn]:
                            await crowd_round(
                                running[app.name], load, shape, number + 1, shape.people, args.clicks
                            )
            finally:
                for one in running.values():
                    await finish(one)
        channels = "one channel per person" if args.channel_per_person else "all in one channel"
        cores = os.cpu_count()
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
        header = [
            "maturity-bot load benchmark",
            f"machine: {cores} logical cores ({usable} usable, {psutil.cpu_count(logical=False)} physical), "
            f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.system()} "
            f"{platform.machine()}",
            f"database: {database_text} (the durable baseline: "
            + (
                "its own SQLite file, WAL, one connection)"
                if database_url.startswith("sqlite")
                else "the same server, one connection)"
            ),
            f"each person: `/maturity start {FLOW}` then {args.clicks} answer clicks (last practice); "
            f"{channels}; warm-up {WARMUP_PEOPLE} people x {WARMUP_CLICKS} clicks per app, not counted",
            "apps: "
            + ", ".join(a.name for a in apps)
            + "; all three run at once, only one is driven at a time; "
            "the Slack double and the load run in this process"
            + ("; the bot runs under cProfile (slower)" if args.profile else ""),
        ]
        print_report(shapes, running, header)
        if args.profile is not None and args.profile.exists():
            print_profile(args.profile)
        failed = False
        for name, one in running.items():
            for key, figures in one.figures.items():
                if figures.errors:
                    failed = True
                    print(f"\n{name} ({key}): {len(figures.errors)} error(s), first ones:", file=sys.stderr)
                    for error in figures.errors[:5]:
                        print(f"  {error}", file=sys.stderr)
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
