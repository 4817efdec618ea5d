"""Fault table: does the bot keep its promises when its process is killed or its database goes away?

    .venv/bin/python -m bench.faults [--tries N] [--people P] [--seed S] [--outage SECONDS]
                                     [--database-url URL] [--skip-postgres] [--async-commit]
                                     [--recovery-window SECONDS] [--budget SECONDS]

The real bot runs as a subprocess (``python -m bot``) on 127.0.0.1 against the loopback Slack double
(playground/slack_api.py, rate limits ON) living in this process. P simulated people each send
``/maturity start google`` and click the last option of every question (13 questions) the moment
its reply arrives; results go to two channels (three people in four to the first, so a burst of
results there meets Slack's rate limit of about one post per second and is queued). Once a seeded
random number of clicks (15% to 100% of the burst) has been sent, and a seeded random 0 to 2 times
the median click->reply time later (so that it finds the clicks in flight at any stage), a fault
strikes, and the people carry on as a person in Slack would:

- **kill -9 mid-burst**: SIGKILL the bot and restart it at once on the same database (a fresh
  SQLite file per try, or a fresh database on the ``--database-url`` PostgreSQL server). A person
  whose click or command got no reply waits for the new process and sends ``/maturity resume``,
  then continues from the question it returns (an "already complete" note, or "nothing in
  progress" after they clicked the last answer, means they are done).
- **PostgreSQL outage**: a throwaway server from ``scripts/postgres`` (only when PostgreSQL server
  binaries exist; not with ``--skip-postgres``), a fresh database per try. Mid-burst the server is
  stopped (``pg_ctl -m immediate stop``), left down ``--outage`` seconds and started again with
  the options scripts/postgres uses. A click answered with the apology is resent after a pause
  (bounded); a click with no reply is recovered with ``/maturity resume``. The bench databases get
  ``synchronous_commit = on`` (as production servers have it; the throwaway server is started with
  it off, under which an immediate stop may forget commits it already acknowledged);
  ``--async-commit`` keeps the server's setting.

After the people are done, the run waits until every result is in its channel and no outbox row is
pending, or until ``--recovery-window`` seconds after the last restart (stretched, to at most 75 s,
while a pending row waits out a lease or a Retry-After, so that what its delivery does is counted,
not guessed), then reads the database (``answers``, ``results``, ``outbox``) and the channels.
Columns:

- tries: independent runs of the scenario (a fresh database each).
- clicks: answer clicks sent in total (resends after an apology and clicks that met a dead process
  included).
- confirmed-lost: answers the person saw confirmed (the reply to the click was the next question
  or Done) that are missing from the ``answers`` table at the end (assessment and question ids come
  from the button values ``assessment|revision|question|option``).
- results: completed assessments (rows in ``results``); tries x people when everyone finished.
- posts-lost: results with no message in their channel once the recovery window has passed.
- posts-doubled: results posted to their channel more than once (messages mentioning the person;
  each person completes exactly one assessment per try).
- still-queued: outbox rows still pending at the end: a post yet to come (a second copy when the
  result is already in its channel).
- worst click->reply: the longest time from sending a click to its reply arriving, among clicks
  that got a reply (an apology counts as a reply).
- no-reply: clicks that never got a reply (their process died, or was down when they were sent).
- apologies: clicks and commands answered with "Sorry, something went wrong on my side".

Under the table, one line per try says when the fault struck, what the people went through, how
long after the last restart everything was posted, the outbox at the end, the 429s and the bot's
logged errors. It also counts questions *asked again*: a question shown again after its answer was
confirmed (the database forgot a confirmed answer and the person gave it again, so it is not
missing at the end); the last line counts those as broken promises too.

It is a report, not a test: the exit status is 0 whether or not the promises were kept (the table
and the last line say so), 1 when the run itself failed (the bot or the database server would not
start, the time budget ran out), 130/143 when interrupted or terminated. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import glob
import json
import math
import os
import platform
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench.children import Termination, forget, free_port, stop_all_children, stop_process, track
from playground.drive import answer_buttons
from playground.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Person,
    SlackClient,
    SlackDouble,
    all_text,
    buttons,
)

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SCRIPT = ROOT / "scripts" / "postgres"
FLOW = "google"  # 13 questions; the last option of each never skips one
QUESTIONS = 13
CHANNELS = 2
FORM = "application/x-www-form-urlencoded"
RESULT_POST_WAIT = 5.0  # the bot's default, set explicitly so a .env cannot change it
# The server options scripts/postgres starts with (host, port and socket directory are added).
PG_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"

# Every wait is bounded by one of these (seconds).
STARTUP_TIMEOUT = 30.0  # the bot answering GET /health (imports, migrations)
ACK_TIMEOUT = 10.0  # one POST to the bot
REPLY_TIMEOUT = 20.0  # a reply to a click or command; later than that counts as none
KILL_GRACE = 0.3  # after a SIGKILL, how long a reply already on the wire may take to land
RETRY_PAUSE = 1.0  # a person's pause before resending a click answered with the apology
MAX_APOLOGY_RESENDS = 20  # then the person falls back to `/maturity resume`
MAX_ACTIONS = 12 * QUESTIONS  # clicks plus commands per person and try
PEOPLE_BUDGET = 75.0  # all people of a try, plus the outage
PG_CTL_TIMEOUT = 60.0
SETTLE = 2.0  # after everything is posted: time for a second copy to show up
EXTENDED_WINDOW = 75.0  # the most a held-back post may stretch the recovery window (the bot's lease: 60 s)
DUE_SLACK = 5.0  # after a held-back post becomes due: time for a dispatcher to poll and post it
CLEANUP = 20.0  # seconds of the budget kept for stopping the bot and the server
POLL = 0.5
STOP_TIMEOUT = 10.0
DEFAULT_BUDGET = 175.0
# The fault strikes once a seeded random number of clicks between FAULT_FROM of the burst and its
# very last click has been sent, then after a seeded random 0..FAULT_ROUNDS times the median
# click->reply time so far (at most FAULT_MAX_DELAY): so it lands anywhere in the life of the
# clicks in flight (before they reach the database, between commit and reply, while a completing
# click posts its result), from early answers to the last ones.
FAULT_FROM = 0.15
FAULT_ROUNDS = 2.0
FAULT_MAX_DELAY = 0.5

APOLOGY = "something went wrong on my side"


def channel_of(person: int) -> int:
    """Three people in four post to the first channel, so their results meet its rate limit."""
    return 1 if person % 4 == 3 else 0


class RunFailed(Exception):
    """The run itself could not go on (not a broken promise)."""


# -- processes we start ----------------------------------------------------------------------------

_CHILDREN: list[subprocess.Popen[bytes]] = []
_PG_DIRS: list[Path] = []  # throwaway PostgreSQL servers still running


def stop_everything() -> None:
    """Last resort on any exit: our bot processes, then our PostgreSQL servers."""
    stop_all_children()
    for directory in list(_PG_DIRS):
        with contextlib.suppress(Exception):
            destroy_postgres(directory)


@dataclass
class Generation:
    """One bot process: when it was launched, and an event set once it has been killed."""

    number: int
    launched: float
    killed: asyncio.Event = field(default_factory=asyncio.Event)


class BotProcess:
    """`python -m bot` on one fixed loopback port, restartable on the same database."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str):
        self.env = env
        self.log_dir = log_dir
        self.name = name
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.generations: list[Generation] = []
        self.up = asyncio.Event()  # set while a healthy process is serving

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def log_paths(self) -> list[Path]:
        return [self.log_dir / f"{self.name}-{g.number}.log" for g in self.generations]

    def _launch(self) -> None:
        generation = Generation(len(self.generations) + 1, time.perf_counter())
        self.generations.append(generation)
        env = {**os.environ, **self.env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        with (self.log_dir / f"{self.name}-{generation.number}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        track(self.proc)

    async def start(self, session: aiohttp.ClientSession) -> float:
        """Launch a process and wait (bounded) for GET /health; returns the seconds it took."""
        self._launch()
        started = time.perf_counter()
        deadline = started + STARTUP_TIMEOUT
        health = f"http://127.0.0.1:{self.port}/health"
        while time.perf_counter() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RunFailed(f"the bot exited with status {self.proc.returncode}\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(health, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        self.up.set()
                        return time.perf_counter() - started
            await asyncio.sleep(0.1)
        raise RunFailed(
            f"the bot did not answer GET /health within {STARTUP_TIMEOUT:.0f}s\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        self.up.clear()
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
            forget(self.proc)
        self.generations[-1].killed.set()

    def stop(self) -> None:
        self.up.clear()
        if self.proc is not None:
            stop_process(self.proc, STOP_TIMEOUT)

    def serving_at(self, moment: float) -> Generation:
        """The process that was listening at ``moment`` (the last one launched before it)."""
        found = self.generations[0]
        for generation in self.generations:
            if generation.launched <= moment:
                found = generation
        return found

    async def wait_up(self) -> None:
        async with asyncio.timeout(STARTUP_TIMEOUT + PEOPLE_BUDGET):
            await self.up.wait()

    def log_lines(self) -> list[str]:
        lines: list[str] = []
        for path in self.log_paths():
            if path.exists():
                lines += path.read_text(errors="replace").splitlines()
        return lines

    def log_tail(self, count: int = 15) -> str:
        paths = [p for p in self.log_paths() if p.exists()]
        tail = paths[-1].read_text(errors="replace").splitlines()[-count:] if paths else []
        return "\n".join(f"  | {line[:300]}" for line in tail) or "  (no output)"

    def log_problems(self) -> list[str]:
        return [
            line
            for line in self.log_lines()
            if '"level": "error"' in line or '"level": "critical"' in line or line.startswith("Traceback")
        ]


# -- PostgreSQL ------------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The server binaries, found as scripts/postgres finds them (without installing any)."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    for directory in sorted(glob.glob("/usr/lib/postgresql/*/bin")):
        if os.access(Path(directory) / "initdb", os.X_OK):
            return Path(directory)
    return None


def as_owner(command: list[str]) -> list[str]:
    """As root, run ``command`` as the postgres user, like scripts/postgres's as_owner."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def destroy_postgres(directory: Path) -> None:
    subprocess.run(
        [str(POSTGRES_SCRIPT), "stop", str(directory)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=PG_CTL_TIMEOUT,
        check=False,
    )
    if directory in _PG_DIRS:
        _PG_DIRS.remove(directory)


def start_postgres() -> tuple[str, Path]:
    """`scripts/postgres start`: (admin URL, PGTEST_DIR)."""
    done = subprocess.run(
        [str(POSTGRES_SCRIPT), "start"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=PG_CTL_TIMEOUT + 30,
        check=False,
    )
    exports = dict(re.findall(r"export (\w+)=(\S+)", done.stdout.decode()))
    if "PGTEST_DIR" in exports:
        _PG_DIRS.append(Path(exports["PGTEST_DIR"]))
    if done.returncode != 0 or "TEST_POSTGRES_URL" not in exports or "PGTEST_DIR" not in exports:
        raise RunFailed(f"scripts/postgres start failed: {done.stderr.decode(errors='replace')[-800:]}")
    return exports["TEST_POSTGRES_URL"], Path(exports["PGTEST_DIR"])


@dataclass
class PostgresServer:
    admin_url: str
    directory: Path
    binaries: Path

    @property
    def port(self) -> int:
        port = make_url(self.admin_url).port
        if port is None:
            raise RunFailed(f"no port in {self.admin_url}")
        return port

    async def _pg_ctl(self, *args: str) -> None:
        command = as_owner([str(self.binaries / "pg_ctl"), "-D", str(self.directory / "data"), *args])
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            async with asyncio.timeout(PG_CTL_TIMEOUT):
                _, stderr = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RunFailed(f"pg_ctl {args[-1]} took longer than {PG_CTL_TIMEOUT:.0f}s") from None
        if proc.returncode != 0:
            raise RunFailed(f"pg_ctl {args[-1]} failed: {stderr.decode(errors='replace')[-500:]}")

    async def stop_now(self) -> None:
        """The server goes away: every connection reset, new ones refused (no checkpoint)."""
        await self._pg_ctl("-m", "immediate", "stop")

    async def start(self) -> None:
        """Started again as scripts/postgres starts it (crash recovery first)."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.directory} {PG_OPTIONS}"
        log = str(self.directory / "server.log")
        await self._pg_ctl("-l", log, "-w", "-t", str(int(PG_CTL_TIMEOUT)), "-o", options, "start")

    async def version(self) -> str:
        import asyncpg

        connection = await asyncpg.connect(asyncpg_dsn(self.admin_url), timeout=10)
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The URL with the async driver the bot uses (what it does with DATABASE_URL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.get_backend_name() == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str | None, durable: bool) -> AsyncIterator[str]:
    """A new empty database for one try: a temporary SQLite file, or `bench_faults_<hex>` on the
    PostgreSQL server of ``admin_url`` (with ``synchronous_commit = on`` when ``durable``)."""
    if admin_url is None:
        directory = tempfile.mkdtemp(prefix="bench-faults-db-")
        try:
            yield f"sqlite+aiosqlite:///{directory}/bot.db"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import asyncpg

    name = f"bench_faults_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        if durable:
            await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
    finally:
        await admin.close()
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass
class Snapshot:
    """What the database holds at the end of a try."""

    answers: dict[tuple[int, str], str]  # (assessment id, question id) -> option id
    results: list[tuple[int, str, str]]  # (result id, person's Slack id, channel id)
    outbox: dict[str, int]  # status -> rows
    pending_due: list[float]  # per pending outbox row: seconds until a dispatcher may take it


def seconds_until(value: object) -> float:
    """Seconds from now until a stored timestamp (PostgreSQL gives datetimes, SQLite strings)."""
    if value is None:
        return 0.0
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


async def read_database(url: str) -> Snapshot:
    connect_args = {"timeout": 10} if make_url(url).get_backend_name() == "postgresql" else {}
    engine = create_async_engine(async_url(url), poolclass=NullPool, connect_args=connect_args)
    try:
        async with asyncio.timeout(20), engine.connect() as conn:
            answers = {
                (int(row[0]), str(row[1])): str(row[2])
                for row in await conn.execute(
                    text("SELECT assessment_id, question_id, option_id FROM answers")
                )
            }
            results = [
                (int(row[0]), str(row[1]), str(row[2]))
                for row in await conn.execute(
                    text(
                        "SELECT r.id, p.slack_user_id, c.slack_channel_id FROM results r "
                        "JOIN assessments a ON a.id = r.assessment_id "
                        "JOIN people p ON p.id = a.person_id JOIN channels c ON c.id = a.channel_id"
                    )
                )
            ]
            outbox = {
                str(row[0]): int(row[1])
                for row in await conn.execute(text("SELECT status, COUNT(*) FROM outbox GROUP BY status"))
            }
            pending_due = [
                max(seconds_until(row[0]), seconds_until(row[1]))
                for row in await conn.execute(
                    text("SELECT available_at, lease_expires_at FROM outbox WHERE status = 'pending'")
                )
            ]
    finally:
        await engine.dispose()
    return Snapshot(answers, results, outbox, pending_due)


# -- what the people see ---------------------------------------------------------------------------


class Kind(enum.Enum):
    QUESTION = "question"
    DONE = "done"  # the private result preview, or a note after Share (the result exists either way)
    APOLOGY = "apology"
    COMPLETE = "already complete"
    NOTHING = "nothing in progress"
    IN_PROGRESS = "one already in progress"
    RECORDED = "answer already recorded"
    OTHER = "something else"


def classify(message: dict[str, Any]) -> Kind:
    words = all_text(message)
    lowered = words.lower()
    if APOLOGY in lowered:
        return Kind.APOLOGY
    if answer_buttons(message):
        return Kind.QUESTION
    if any(w in words for w in ("Only you can see this", "Shared:", "Kept private")) or any(
        w in lowered for w in ("couldn't post your result", "will appear in this channel shortly")
    ):
        return Kind.DONE
    if "already complete" in lowered:
        return Kind.COMPLETE
    if "no assessment in progress" in lowered:
        return Kind.NOTHING
    if "already have" in lowered and "in progress" in lowered:
        return Kind.IN_PROGRESS
    if "already recorded" in lowered:
        return Kind.RECORDED
    return Kind.OTHER


def question_of(button: dict[str, Any]) -> tuple[int, str, str]:
    """(assessment id, question id, option id) from an answer button's ``a|revision|q|o`` value."""
    parts = str(button.get("value", "")).split("|")
    if len(parts) != 4 or not parts[0].isdigit():
        raise RunFailed(f"unexpected answer button value {button.get('value')!r}")
    return int(parts[0]), parts[2], parts[3]


def is_last_question(message: dict[str, Any]) -> bool:
    """ "Question N of N" in the question's context line."""
    for part in all_text(message).split("Question ")[1:]:
        words = part.split()
        if len(words) >= 3 and words[1] == "of" and words[0] == words[2]:
            return True
    return False


def says_nothing_changed(message: dict[str, Any]) -> bool:
    """A question shown with a note that the click was not applied."""
    return "nothing changed" in all_text(message).lower()


@dataclass
class TryFigures:
    scenario: str
    number: int
    people: int
    clicks: int = 0
    no_reply: int = 0
    apologies: int = 0
    resumes: int = 0
    latencies: list[float] = field(default_factory=list)
    confirmed: set[tuple[int, str, str]] = field(default_factory=set)
    asked_again: int = 0  # questions shown again after their answer was confirmed (the database went back)
    finished: int = 0
    waiting: int = 0  # clicks sent whose reply has not come (yet)
    problems: list[str] = field(default_factory=list)
    fault: str = "not injected"
    recovered_at: float | None = None  # perf_counter of the last restart (bot or server)
    all_posted_after: float | None = None  # seconds after the last restart
    confirmed_lost: int = 0
    results: int = 0
    posts_lost: int = 0
    posts_doubled: int = 0
    outbox: dict[str, int] = field(default_factory=dict)
    still_queued: int = 0  # outbox rows still pending at the end
    window: float | None = None  # the recovery window, when a queued post extended it
    refused_posts: int = 0  # chat.postMessage calls the double refused (429)
    log_problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def worst(self) -> float:
        return max(self.latencies) if self.latencies else math.nan


@dataclass
class Trigger:
    """Set once ``at`` clicks have been sent in this try: the fault strikes then."""

    at: int
    sent: int = 0
    fired: asyncio.Event = field(default_factory=asyncio.Event)

    def click(self) -> None:
        self.sent += 1
        if self.sent >= self.at:
            self.fired.set()


@dataclass
class Crowd:
    double: SlackDouble
    client: SlackClient
    bot: BotProcess
    figures: TryFigures
    trigger: Trigger

    async def _reply(self, key: str, sent: float) -> tuple[dict[str, Any], float] | None:
        """The first reply to ``key`` and when it arrived, or None when none came (bounded)."""
        killed = self.bot.serving_at(sent).killed
        reply = asyncio.ensure_future(self.double.first_reply(key, REPLY_TIMEOUT))
        death = asyncio.ensure_future(killed.wait())
        try:
            await asyncio.wait({reply, death}, return_when=asyncio.FIRST_COMPLETED)
            if not reply.done():  # the process that took the request died; the reply may be on the wire
                await asyncio.wait({reply}, timeout=KILL_GRACE)
            if not reply.done():
                return None
            try:
                return reply.result()
            except TimeoutError:
                return None
        finally:
            for task in (reply, death):
                task.cancel()
            await asyncio.gather(reply, death, return_exceptions=True)

    async def _post(self, body: str, key: str, click: bool) -> tuple[dict[str, Any], float, float] | None:
        """POST a signed body; (reply, sent, arrived) or None when the app or its reply never came."""
        if click:
            self.figures.clicks += 1
            self.trigger.click()
        sent = time.perf_counter()
        try:
            response = await self.client.post(body, FORM)
        except (aiohttp.ClientError, TimeoutError):
            return None
        if response.status != 200:
            self.figures.problems.append(f"the bot answered HTTP {response.status}")
            return None
        got = await self._reply(key, sent)
        return None if got is None else (got[0], sent, got[1])

    async def _command(self, who: Person, words: str) -> dict[str, Any] | None:
        """`/maturity <words>` once the bot is up; its reply, or None when none came."""
        await self.bot.wait_up()
        sent = time.perf_counter()
        try:
            status, key = await self.client.command(words, who)
        except (aiohttp.ClientError, TimeoutError):
            return None
        if status != 200:
            self.figures.problems.append(f"/maturity {words} answered HTTP {status}")
            return None
        got = await self._reply(key, sent)
        if got is None:
            return None
        if classify(got[0]) is Kind.APOLOGY:
            self.figures.apologies += 1
        return got[0]

    async def _click(self, button: dict[str, Any], who: Person) -> dict[str, Any] | None:
        body, key = self.client.click_body(button, who)
        self.figures.waiting += 1
        try:
            got = await self._post(body, key, click=True)
        finally:
            self.figures.waiting -= 1
        if got is None:
            self.figures.no_reply += 1
            return None
        message, sent, arrived = got
        self.figures.latencies.append(arrived - sent)
        return message

    def _check_not_asked_again(self, question: dict[str, Any]) -> None:
        """Count a question shown again although its answer was confirmed (it can only move on)."""
        shown = question_of(answer_buttons(question)[-1])
        if any(c[:2] == shown[:2] for c in self.figures.confirmed):
            self.figures.asked_again += 1

    async def _share(self, who: Person, preview: dict[str, Any] | None) -> bool:
        """Press Share on the preview (or, its reply lost, on `/maturity status`) until Slack's
        answer to that click arrives: the post is queued once, however often it is pressed."""
        message = preview
        for _ in range(MAX_ACTIONS):
            share = next((b for b in buttons(message or {}) if b.get("action_id") == "share_result"), None)
            if share is None:
                message = await self._command(who, "status")
                if message is not None and not any(
                    b.get("action_id") == "share_result" for b in buttons(message)
                ):
                    return True  # shared already: status offers no Share
                continue
            reply = await self._click(share, who)
            if reply is not None and classify(reply) is Kind.DONE:
                return True
            message = None if reply is None or classify(reply) is not Kind.APOLOGY else message
            await asyncio.sleep(RETRY_PAUSE)
        self.figures.problems.append(f"{who.user_id}: could not share the result")
        return False

    async def walk(self, who: Person) -> None:
        try:
            if await self._walk(who):
                self.figures.finished += 1
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.figures.problems.append(f"{who.user_id}: {type(exc).__name__} {str(exc)[:100]}")

    async def _walk(self, who: Person) -> bool:
        """One person: start, answer every question, recover from whatever happens. True when done."""
        current: dict[str, Any] | None = None
        need_start, seen_question, clicked_last, resends = True, False, False, 0
        for _ in range(MAX_ACTIONS):
            if current is None:
                words = f"start {FLOW}" if need_start else "resume"
                if not need_start:
                    self.figures.resumes += 1
                reply = await self._command(who, words)
                need_start = False  # unanswered start: it may exist already, so ask for it back
                kind = None if reply is None else classify(reply)
                if reply is None or kind is Kind.APOLOGY:
                    await asyncio.sleep(RETRY_PAUSE)
                elif kind is Kind.QUESTION:
                    current, seen_question = reply, True
                    self._check_not_asked_again(current)
                elif kind is Kind.NOTHING and clicked_last:
                    return await self._share(who, None)  # the last click completed it; reply lost
                elif kind is Kind.NOTHING and not seen_question:
                    need_start = True  # the first start never happened
                elif kind is Kind.IN_PROGRESS:
                    pass  # resume next time round
                else:
                    self.figures.problems.append(
                        f"{who.user_id}: /maturity {words} answered {kind.value if kind else '-'}: "
                        f"{all_text(reply)[:120]!r}"
                    )
                    return False
                continue
            choice = answer_buttons(current)[-1]
            clicked = question_of(choice)
            clicked_last = clicked_last or is_last_question(current)
            reply = await self._click(choice, who)
            kind = None if reply is None else classify(reply)
            if reply is None:
                current, resends = None, 0  # `/maturity resume` brings back where they are
            elif kind is Kind.APOLOGY:
                self.figures.apologies += 1
                resends += 1
                if resends > MAX_APOLOGY_RESENDS:
                    current, resends = None, 0
                await asyncio.sleep(RETRY_PAUSE)  # then the same click again
            elif kind is Kind.DONE:
                self.figures.confirmed.add(clicked)
                return await self._share(who, reply)
            elif kind is Kind.QUESTION:
                resends = 0
                shown = question_of(answer_buttons(reply)[-1])
                if shown[:2] != clicked[:2] and not says_nothing_changed(reply):
                    self.figures.confirmed.add(clicked)  # the next question: this answer is in
                current = reply
                self._check_not_asked_again(current)
            elif kind is Kind.COMPLETE:
                return True
            elif kind is Kind.RECORDED:
                current, resends = None, 0
            else:
                self.figures.problems.append(
                    f"{who.user_id}: a click answered {kind.value if kind else '-'}: "
                    f"{all_text(reply)[:120]!r}"
                )
                current = None
        self.figures.problems.append(f"{who.user_id}: not done after {MAX_ACTIONS} clicks and commands")
        return False


# -- scenarios ---------------------------------------------------------------------------------------

Inject = Callable[[BotProcess, TryFigures, aiohttp.ClientSession], Awaitable[None]]


@dataclass
class Scenario:
    name: str
    code: str  # in the people's and channels' ids
    admin_url: str | None  # None: SQLite
    durable: bool
    inject: Inject
    tries: list[TryFigures] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None


@dataclass
class Bench:
    args: argparse.Namespace
    double: SlackDouble
    session: aiohttp.ClientSession
    log_dir: Path
    rng: random.Random
    budget_end: float  # perf_counter when the run's budget runs out
    app_url: str = ""
    # One client for the whole run: its response_url keys must never repeat, as the double keeps
    # every reply it received by key.
    client: SlackClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = SlackClient(lambda: self.app_url, self.double, self.session)

    def bot_env(self, database_url: str) -> dict[str, str]:
        return {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.double.api_url,
            "SLACK_APP_TOKEN": "",  # never Socket Mode, whatever the environment or .env says
            "DATABASE_URL": database_url,
            "FLOWS_DIR": "",
            "MIGRATE_ON_START": "true",
            "RESULT_POST_WAIT": str(RESULT_POST_WAIT),
            "LOG_LEVEL": "WARNING",
        }

    async def run_scenario(self, scenario: Scenario) -> None:
        started = time.perf_counter()
        try:
            for number in range(1, self.args.tries + 1):
                scenario.tries.append(await self.one_try(scenario, number))
        finally:
            scenario.seconds = time.perf_counter() - started

    async def one_try(self, scenario: Scenario, number: int) -> TryFigures:
        started = time.perf_counter()
        people = self.args.people
        figures = TryFigures(scenario.name, number, people)
        prefix = f"F{scenario.code}{number}"
        channels = [f"C{prefix}{chr(ord('A') + c)}" for c in range(CHANNELS)]
        for channel in channels:
            self.double.add_channel(channel, f"faults-{channel.lower()}")
        crowd_people = [
            Person(f"U{prefix}P{n:03d}", channels[channel_of(n)], "T0FAULTS", f"person{n}")
            for n in range(people)
        ]
        clicks = people * QUESTIONS
        trigger = Trigger(self.rng.randint(max(1, int(FAULT_FROM * clicks)), clicks))
        rounds = self.rng.uniform(0.0, FAULT_ROUNDS)
        async with fresh_database(scenario.admin_url, scenario.durable) as database_url:
            bot = BotProcess(self.bot_env(database_url), self.log_dir, f"{scenario.code}{number}")
            fault: asyncio.Task[None] | None = None
            try:
                self.app_url = bot.url
                await bot.start(self.session)
                crowd = Crowd(self.double, self.client, bot, figures, trigger)

                async def strike() -> None:
                    await trigger.fired.wait()
                    pace = median(figures.latencies) if figures.latencies else 0.02
                    delay = min(rounds * pace, FAULT_MAX_DELAY)
                    await asyncio.sleep(delay)
                    figures.fault = (
                        f"after click {trigger.sent} of ~{clicks} + {delay * 1000:.0f} ms "
                        f"({rounds:.2f} x the median click->reply), with "
                        f"{figures.waiting} clicks awaiting their reply and "
                        f"{people - figures.finished} of {people} people not done"
                    )
                    await scenario.inject(bot, figures, self.session)

                fault = asyncio.create_task(strike())
                walking = asyncio.ensure_future(asyncio.gather(*(crowd.walk(who) for who in crowd_people)))
                try:
                    async with asyncio.timeout(PEOPLE_BUDGET + self.args.outage):
                        either: set[asyncio.Future[Any]] = {walking, fault}
                        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                        if fault.done() and not fault.cancelled() and fault.exception() is not None:
                            fault.result()  # the fault itself failed (the bot or server would not start)
                        await walking
                except TimeoutError:
                    figures.problems.append(f"the people were not done within {PEOPLE_BUDGET:.0f}s")
                finally:
                    walking.cancel()
                    await asyncio.gather(walking, return_exceptions=True)
                if not trigger.fired.is_set():
                    figures.problems.append("the fault was never injected (the burst ended first)")
                    fault.cancel()
                await asyncio.wait({fault}, timeout=PG_CTL_TIMEOUT * 2 + STARTUP_TIMEOUT)
                if not fault.done():
                    raise RunFailed("the fault did not finish (restart or server start hung)")
                if not fault.cancelled():
                    fault.result()
                await self.wait_for_posts(figures, database_url)
                await self.count(figures, database_url, channels)
            finally:
                if fault is not None and not fault.done():
                    fault.cancel()
                    await asyncio.gather(fault, return_exceptions=True)
                bot.stop()
                figures.log_problems = bot.log_problems()
        figures.seconds = time.perf_counter() - started
        return figures

    def posts_per_result(self, snapshot: Snapshot) -> list[int]:
        counts: list[int] = []
        for _result_id, user_id, channel_id in snapshot.results:
            mention = f"<@{user_id}>"
            counts.append(sum(mention in all_text(m) for m in self.double.messages(channel_id)))
        return counts

    async def wait_for_posts(self, figures: TryFigures, database_url: str) -> None:
        """Until every result is in its channel and no outbox row is pending, or the window ends.

        A pending row held back by a lease or a Retry-After that runs out a little later extends the
        window (to at most EXTENDED_WINDOW after the restart, within the run's budget), so that what
        its delivery does (a first post, or a second copy) is counted rather than guessed.
        """
        since = figures.recovered_at or time.perf_counter()
        deadline = since + self.args.recovery_window
        longest = min(since + max(self.args.recovery_window, EXTENDED_WINDOW), self.budget_end - CLEANUP)
        while True:
            snapshot = await read_database(database_url)
            now = time.perf_counter()
            if (
                len(snapshot.results) >= figures.finished
                and all(n >= 1 for n in self.posts_per_result(snapshot))
                and not snapshot.pending_due
            ):
                figures.all_posted_after = now - since
                await asyncio.sleep(SETTLE)  # a second copy, if one were coming at once
                return
            if snapshot.pending_due:
                wanted = min(now + max(snapshot.pending_due) + DUE_SLACK, longest)
                if wanted > deadline:
                    deadline = wanted
                    figures.window = deadline - since
            if now >= deadline:
                return
            await asyncio.sleep(min(POLL, max(0.0, deadline - now)))

    async def count(self, figures: TryFigures, database_url: str, channels: list[str]) -> None:
        snapshot = await read_database(database_url)
        figures.confirmed_lost = sum(
            snapshot.answers.get((assessment, question)) != option
            for assessment, question, option in figures.confirmed
        )
        figures.results = len(snapshot.results)
        posts = self.posts_per_result(snapshot)
        figures.posts_lost = sum(n == 0 for n in posts)
        figures.posts_doubled = sum(n > 1 for n in posts)
        figures.outbox = snapshot.outbox
        figures.still_queued = len(snapshot.pending_due)
        calls = sum(c.params.get("channel") in channels for c in self.double.api_calls("chat.postMessage"))
        figures.refused_posts = calls - sum(len(self.double.messages(c)) for c in channels)


def kill_and_restart() -> Inject:
    async def inject(bot: BotProcess, figures: TryFigures, session: aiohttp.ClientSession) -> None:
        bot.kill()
        killed = time.perf_counter()
        await bot.start(session)
        figures.recovered_at = time.perf_counter()
        figures.fault = (
            f"SIGKILL {figures.fault}; new process healthy {figures.recovered_at - killed:.1f} s later"
        )

    return inject


def outage(server: PostgresServer, seconds: float) -> Inject:
    async def inject(bot: BotProcess, figures: TryFigures, session: aiohttp.ClientSession) -> None:
        await server.stop_now()
        down = time.perf_counter()
        await asyncio.sleep(seconds)
        await server.start()
        figures.recovered_at = time.perf_counter()
        figures.fault = f"server stopped {figures.fault}; back {figures.recovered_at - down:.1f} s later"

    return inject


# -- report ------------------------------------------------------------------------------------------

COLUMNS = (
    ("tries", "independent runs of the scenario, each on a fresh database"),
    ("clicks", "answer clicks sent in total (resends after an apology, clicks that met a dead process)"),
    (
        "confirmed-lost",
        "answers whose click was confirmed (the reply was the next question or Done) but that are "
        "missing from the answers table at the end",
    ),
    ("results", "completed assessments (rows in results); tries x people when everyone finished"),
    ("posts-lost", "results with no message in their channel once the recovery window passed"),
    ("posts-doubled", "results posted to their channel more than once"),
    (
        "still-queued",
        "outbox rows still pending at the end: posts yet to come (a second copy if already posted)",
    ),
    (
        "worst click->reply",
        "longest time from sending a click to its reply, among clicks that got one (apologies count)",
    ),
    ("no-reply", "clicks that never got a reply (the process died, or was down); resume recovered them"),
    ("apologies", "clicks and commands answered with the apology ('Sorry, something went wrong...')"),
)
ROW = "{:<24} {:>5} {:>7} {:>15} {:>8} {:>11} {:>14} {:>13} {:>19} {:>9} {:>10}"


def seconds(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Report:
    args: argparse.Namespace
    scenarios: list[Scenario] = field(default_factory=list)
    postgres: str = ""

    def header(self) -> list[str]:
        a = self.args
        cores = os.cpu_count()
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
        options = (
            f"--tries {a.tries} --people {a.people} --seed {a.seed} --outage {a.outage:g} "
            f"--recovery-window {a.recovery_window:g} --budget {a.budget:g}"
        )
        options += f" --database-url {redact(a.database_url)}" if a.database_url else ""
        options += " --skip-postgres" if a.skip_postgres else ""
        options += " --async-commit" if a.async_commit else ""
        kill_db = (
            f"a fresh database per try on {redact(a.database_url)}"
            if a.database_url
            else "a fresh temporary SQLite file per try"
        )
        return [
            "maturity-bot fault table",
            f"machine: {cores} logical cores ({usable} usable, {psutil.cpu_count(logical=False)} physical), "
            f"Python {platform.python_version()} ({platform.python_implementation()}), "
            f"{platform.system()} {platform.machine()}",
            f"options: {options}",
            f"bot: `python -m bot`, RESULT_POST_WAIT={RESULT_POST_WAIT:g} (a dispatcher takes a new result "
            f"{RESULT_POST_WAIT + 5:g} s after its click if that click did not post it), LOG_LEVEL=WARNING, "
            "restarted on the same port and database",
            f"people: {a.people} per try, `/maturity start {FLOW}` then the last option of each of the "
            f"{QUESTIONS} questions as soon as it arrives; results to {CHANNELS} channels (3 people in 4 "
            "in the first); the Slack double's chat.postMessage rate limit is on (1 per second per "
            "channel, bursts of 4)",
            f"recovery: no reply -> `/maturity resume`; apology -> the same click again after "
            f"{RETRY_PAUSE:g} s (at most {MAX_APOLOGY_RESENDS} times); replies waited for up to "
            f"{REPLY_TIMEOUT:g} s (after a SIGKILL: {KILL_GRACE:g} s); recovery window "
            f"{a.recovery_window:g} s after the last restart, stretched to at most {EXTENDED_WINDOW:g} s "
            "while a queued post waits out a lease or Retry-After",
            f"faults strike after a seeded random click ({FAULT_FROM:.0%}..100% of the burst, "
            f"then 0..{FAULT_ROUNDS:g} x the median click->reply time so far)",
            f"kill -9: {kill_db}",
            f"PostgreSQL outage: {self.postgres or 'not run'}",
        ]

    def print(self) -> None:
        if not any(s.tries or s.skipped for s in self.scenarios):
            return
        for line in self.header():
            print(line)
        print()
        print(ROW.format("scenario", *(name for name, _ in COLUMNS)))
        for s in self.scenarios:
            if s.skipped:
                print(f"{s.name:<24} skipped: {s.skipped}")
                continue
            t = s.tries
            worst = max((f.worst for f in t if not math.isnan(f.worst)), default=math.nan)
            print(
                ROW.format(
                    s.name,
                    len(t),
                    sum(f.clicks for f in t),
                    sum(f.confirmed_lost for f in t),
                    sum(f.results for f in t),
                    sum(f.posts_lost for f in t),
                    sum(f.posts_doubled for f in t),
                    sum(f.still_queued for f in t),
                    seconds(worst),
                    sum(f.no_reply for f in t),
                    sum(f.apologies for f in t),
                )
            )
        print()
        width = max(len(name) for name, _ in COLUMNS)
        for name, meaning in COLUMNS:
            print(f"  {name:<{width}}  {meaning}")
        for s in self.scenarios:
            if s.skipped or not s.tries:
                continue
            print()
            print(f"{s.name}: {len(s.tries)} tries in {s.seconds:.1f} s")
            for f in s.tries:
                self.print_try(f)
        print()
        print(self.verdict())

    def print_try(self, f: TryFigures) -> None:
        window = f.window or self.args.recovery_window
        posted = (
            f"everything posted {f.all_posted_after:.1f} s after the restart"
            if f.all_posted_after is not None
            else f"NOT everything posted within {window:.0f} s of the restart"
        )
        outbox = ", ".join(f"{k} {v}" for k, v in sorted(f.outbox.items())) or "empty"
        print(
            f"  try {f.number} ({f.seconds:.1f} s): {f.fault}; {f.finished}/{f.people} people finished, "
            f"{f.results} results, {len(f.confirmed)} answers confirmed, {f.confirmed_lost} of them lost, "
            f"{f.asked_again} asked again; "
            f"{f.no_reply} clicks without reply, {f.resumes} resumes, {f.apologies} apologies; "
            f"click->reply p50 {seconds(median(f.latencies))}, worst {seconds(f.worst)}; {posted}; "
            f"outbox at the end: {outbox}; chat.postMessage refused with 429: {f.refused_posts}; "
            f"errors in the bot's log: {log_summary(f.log_problems)}"
        )
        for problem in f.problems[:5]:
            print(f"    problem: {problem}")
        if len(f.problems) > 5:
            print(f"    ... and {len(f.problems) - 5} more problems")

    def verdict(self) -> str:
        broken: list[str] = []
        unfinished = 0
        for s in self.scenarios:
            for f in s.tries:
                what = [
                    f"{n} {label}"
                    for n, label in (
                        (f.confirmed_lost, "confirmed answers lost"),
                        (f.asked_again, "confirmed answers asked again"),
                        (f.posts_lost, "results not posted"),
                        (f.posts_doubled, "results posted more than once"),
                        (f.still_queued, "posts still queued"),
                    )
                    if n
                ]
                if what:
                    broken.append(f"{s.name} try {f.number}: {', '.join(what)}")
                unfinished += f.people - f.finished
        tries = sum(len(s.tries) for s in self.scenarios)
        if broken:
            line = f"Promises NOT kept in {len(broken)} of {tries} tries: " + "; ".join(broken) + "."
        else:
            line = (
                f"Every try ({tries}) kept the promises: 0 confirmed answers lost, 0 results unposted, "
                "0 posted twice, nothing left queued."
            )
        if unfinished:
            line += (
                f" Also: {unfinished} simulated people did not finish their assessment (see the problems)."
            )
        return line


def log_summary(lines: list[str]) -> str:
    """How many error lines, by event: "9 (click_failed x6, outbox_settle_failed x1, ...)"."""
    if not lines:
        return "0"
    events: dict[str, int] = {}
    for line in lines:
        try:
            event = str(json.loads(line).get("event", "?"))
        except (ValueError, AttributeError):
            event = "unstructured"
        events[event] = events.get(event, 0) + 1
    return f"{len(lines)} (" + ", ".join(f"{e} x{n}" for e, n in sorted(events.items())) + ")"


def median(values: list[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


# -- main --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tries", type=int, default=3, help="runs per scenario, fresh database each (default 3)"
    )
    parser.add_argument("--people", type=int, default=8, help="simulated people per try (default 8)")
    parser.add_argument(
        "--seed", type=int, default=2026, help="seed for when the faults strike (default 2026)"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="kill -9 on this PostgreSQL server, a fresh database per try (default: SQLite files)",
    )
    parser.add_argument("--skip-postgres", action="store_true", help="do not run the PostgreSQL outage")
    parser.add_argument(
        "--outage", type=float, default=5.0, help="seconds the PostgreSQL server stays down (default 5)"
    )
    parser.add_argument(
        "--recovery-window",
        type=float,
        default=45.0,
        help="seconds after the last restart within which every result must be posted (default 45)",
    )
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="keep the throwaway server's synchronous_commit=off for the bench databases "
        "(an immediate stop may then forget acknowledged commits)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET,
        help=f"seconds the whole run may take before it is abandoned as failed (default {DEFAULT_BUDGET:g})",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.tries <= 20:
        parser.error("--tries must be between 1 and 20")
    if not 1 <= args.people <= 50:
        parser.error("--people must be between 1 and 50")
    if not 0 < args.outage <= 60:
        parser.error("--outage must be between 0 and 60 seconds")
    if not 1 <= args.recovery_window <= 300:
        parser.error("--recovery-window must be between 1 and 300 seconds")
    if not 10 <= args.budget <= 3600:
        parser.error("--budget must be between 10 and 3600 seconds")
    if args.database_url and make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url must be a PostgreSQL URL (SQLite is the default)")
    return args


async def not_yet(_bot: BotProcess, _figures: TryFigures, _session: aiohttp.ClientSession) -> None:
    raise RunFailed("the PostgreSQL outage has no server")


async def run(args: argparse.Namespace, report: Report) -> None:
    budget_end = time.perf_counter() + args.budget
    double = SlackDouble()  # rate limits on: bursts of results into one channel meet 429s
    await double.start()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-faults-logs-"))
    connector = aiohttp.TCPConnector(limit=args.people * 3 + 10)
    try:
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=ACK_TIMEOUT)
        ) as session:
            bench = Bench(args, double, session, log_dir, random.Random(args.seed), budget_end)
            kill = Scenario("kill -9 mid-burst", "K", args.database_url, False, kill_and_restart())
            report.scenarios.append(kill)
            await bench.run_scenario(kill)
            pg = Scenario(f"PostgreSQL outage ({args.outage:g} s)", "P", None, not args.async_commit, not_yet)
            report.scenarios.append(pg)
            binaries = postgres_bin()
            if args.skip_postgres:
                pg.skipped = "--skip-postgres"
                return
            if binaries is None:
                pg.skipped = "no PostgreSQL server binaries (initdb) found"
                return
            admin_url, directory = await asyncio.to_thread(start_postgres)
            try:
                server = PostgresServer(admin_url, directory, binaries)
                commits = (
                    "synchronous_commit as the server has it (off)"
                    if args.async_commit
                    else "synchronous_commit = on per bench database"
                )
                report.postgres = (
                    f"throwaway PostgreSQL {await server.version()} from scripts/postgres "
                    f"({binaries}, port {server.port}, {PG_OPTIONS.replace('-c ', '')}; {commits}), "
                    f"a fresh database per try; `pg_ctl -m immediate stop`, {args.outage:g} s down, "
                    "`pg_ctl start`"
                )
                pg.admin_url = admin_url
                pg.inject = outage(server, args.outage)
                await bench.run_scenario(pg)
            finally:
                destroy_postgres(directory)
    finally:
        await double.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = Report(args)
    termination = Termination()

    async def bounded() -> None:
        termination.arm()
        try:
            async with asyncio.timeout(args.budget):
                await run(args, report)
        finally:
            report.print()

    # Whatever happens (an error, Ctrl-C, SIGTERM, the budget running out), the bot processes and
    # the PostgreSQL server are stopped.
    try:
        asyncio.run(bounded())
        return 0
    except RunFailed as exc:
        print(f"bench.faults: run failed: {exc}", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"bench.faults: run failed: exceeded the budget of {args.budget:g}s", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"bench.faults: {termination.word}", file=sys.stderr)
        return termination.exit_status()
    finally:
        stop_everything()


if __name__ == "__main__":
    sys.exit(main())
