"""The benchmarks' own child processes: tracked, so every exit path can stop them, and a free port."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess

STOP_TIMEOUT = 10.0  # seconds a child gets to exit after SIGTERM before SIGKILL

CHILDREN: list[subprocess.Popen[bytes]] = []


def track(proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    CHILDREN.append(proc)
    return proc


def forget(proc: subprocess.Popen[bytes]) -> None:
    if proc in CHILDREN:
        CHILDREN.remove(proc)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Terminate one child we started (SIGTERM, then SIGKILL if it lingers), and forget it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    forget(proc)


def stop_all_children() -> None:
    for proc in list(CHILDREN):
        with contextlib.suppress(Exception):
            stop_process(proc)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Termination:
    """SIGTERM cancels the task that armed it (so cleanup in ``finally`` runs); ``seen`` says if it came."""

    def __init__(self) -> None:
        self.seen = False

    def arm(self) -> None:
        """Call from inside the main task."""
        task = asyncio.current_task()
        assert task is not None

        def on_sigterm() -> None:
            self.seen = True
            task.cancel()

        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_sigterm)

    def exit_status(self) -> int:
        """The shell's status for a run that was stopped: 143 for SIGTERM, 130 for Ctrl-C."""
        return 143 if self.seen else 130

    @property
    def word(self) -> str:
        return "terminated" if self.seen else "interrupted"
