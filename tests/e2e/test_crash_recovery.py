"""A result is never lost: the real bot process is killed or stopped while its post waits on Slack.

The bot runs as `python -m bot` in a subprocess (as in production), against the Slack double in this
process; the database outlives the process, and a new process finishes what the old one could not.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.runtime.server import EVENTS_PATH
from playground.drive import answer_all, click, command
from playground.slack_api import (
    BOT_TOKEN,
    SIGNING_SECRET,
    Scripted,
    SlackClient,
    SlackDouble,
    all_text,
    button,
)

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotProcess:
    """`python -m bot` on a fixed loopback port, restartable on the same database."""

    database_url: str
    api_url: str
    log: Path
    port: int = field(default_factory=_free_port)
    post_wait: float = 1.0  # RESULT_POST_WAIT: how long the last click waits for its post
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.api_url,
            "DATABASE_URL": self.database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "RESULT_POST_WAIT": str(self.post_wait),
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, then only polled
                [sys.executable, "-m", "bot"], env=env, cwd=ROOT, stdout=log, stderr=log
            )
        async with aiohttp.ClientSession() as session:
            for _ in range(200):  # up to 20 s for imports and migrations on a busy machine
                try:
                    async with session.get(self.url + "/health") as health:
                        if health.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert self.process.poll() is None, self.log.read_text()[-2000:]
                await asyncio.sleep(0.1)
        raise AssertionError("the bot did not become healthy: " + self.log.read_text()[-2000:])

    async def signal(self, sig: signal.Signals) -> int:
        """Send ``sig`` and wait (bounded) for the process to end; returns its exit status."""
        assert self.process is not None
        self.process.send_signal(sig)
        for _ in range(300):
            if (code := self.process.poll()) is not None:
                return code
            await asyncio.sleep(0.1)
        self.process.kill()
        raise AssertionError("the bot did not stop within 30 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def bot_process(database_url: str, double: SlackDouble, tmp_path: Path) -> Iterator[BotProcess]:
    process = BotProcess(database_url, double.api_url, tmp_path / "bot.log")
    try:
        yield process
    finally:
        process.kill()


@pytest.fixture
async def slack_to(bot_process: BotProcess, double: SlackDouble) -> AsyncIterator[SlackClient]:
    async with aiohttp.ClientSession() as session:
        yield SlackClient(lambda: bot_process.url + EVENTS_PATH, double, session)


async def _preview(slack: SlackClient) -> dict[str, Any]:
    """Start google and answer every question with the best option; returns the private preview
    (its Share button is the click that posts)."""
    preview = await answer_all(slack, await command(slack, "start google"))
    assert "Only you can see this" in all_text(preview)
    return preview


def _posts(double: SlackDouble) -> list[dict[str, Any]]:
    """The channel's top-level messages (a shared result's details follow in its thread)."""
    return [m for m in double.messages("C111") if not m.get("thread_ts")]


async def test_kill_9_while_the_post_waits_on_a_rate_limit_posts_once_after_restart(
    bot_process: BotProcess, slack_to: SlackClient, double: SlackDouble
) -> None:
    """Killed (-9) while Slack's Retry-After holds the result back: the next process posts it, once."""
    await bot_process.start()
    double.script("chat.postMessage", Scripted(retry_after=3))
    preview = await _preview(slack_to)
    done = await click(slack_to, button(preview, "Share in #"))
    assert "will appear in this channel shortly" in all_text(done)
    bot_process.kill()  # SIGKILL: no shutdown code runs at all
    assert double.messages("C111") == []
    await bot_process.start()
    await double.wait_until(lambda: len(_posts(double)) == 1, timeout=20)
    await asyncio.sleep(1.5)  # a second copy, if any, would arrive by now
    (posted,) = _posts(double)
    assert "Level 2: CI/CD pipeline automation" in all_text(posted)


async def test_sigterm_while_the_post_waits_stops_cleanly_and_the_next_process_posts_once(
    bot_process: BotProcess, slack_to: SlackClient, double: SlackDouble
) -> None:
    """SIGTERM hands queued posts back and exits 0; after a restart the result is posted exactly once."""
    await bot_process.start()
    double.script("chat.postMessage", Scripted(retry_after=3))
    preview = await _preview(slack_to)
    done = await click(slack_to, button(preview, "Share in #"))
    assert "will appear in this channel shortly" in all_text(done)
    assert await bot_process.signal(signal.SIGTERM) == 0
    assert double.messages("C111") == []
    await bot_process.start()
    await double.wait_until(lambda: len(_posts(double)) == 1, timeout=20)
    await asyncio.sleep(1.5)
    assert len(_posts(double)) == 1
    assert "dispatcher_stopped" in bot_process.log.read_text()


async def test_sigterm_during_the_last_click_finishes_it_first(
    bot_process: BotProcess, slack_to: SlackClient, double: SlackDouble
) -> None:
    """A stop that arrives while the Share click is still posting lets it finish: posted once, person told."""
    bot_process.post_wait = 5.0
    await bot_process.start()
    double.script("chat.postMessage", Scripted(retry_after=2))  # the click waits this out
    preview = await _preview(slack_to)
    status, key = await slack_to.click(button(preview, "Share in #"))
    assert status == 200
    await double.wait_until(lambda: bool(double.api_calls("chat.postMessage")), timeout=10)
    assert await bot_process.signal(signal.SIGTERM) == 0
    reply = await double.wait_for_reply(key, timeout=5)
    assert "posted in this channel" in all_text(reply)
    assert len(_posts(double)) == 1
