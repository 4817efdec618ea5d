"""The outbox dispatcher: a background loop, started and stopped with the app, that delivers queued
messages, plus ``deliver_now`` for the click that completed an assessment.

Several instances share the work: each claims due messages under its own lease owner; a message
whose lease runs out (its instance was killed) is claimed again. On stop it takes no new work,
lets deliveries in flight finish for a grace period and hands back the rest, so nothing is dropped.

Slack's 429 does not say which limit was hit. A channel this dispatcher posted to a moment ago has
met its own limit (about one message per second): only that message waits. Otherwise the workspace
has met its limit, and the dispatcher takes nothing more for that workspace until Retry-After has
passed, rather than spending every message in the queue on another 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from typing import Protocol

from bot.services.outbox import DeliveryState, OutboxService, QueuedMessage, Settled
from bot.services.ports import DeliveryOutcome, RetryLater
from bot.slack.failures import report_failure
from models.tables import utcnow

logger = logging.getLogger(__name__)

# How long a delivery keeps trying to record its outcome: well inside the outbox's 60 s lease, so
# no other dispatcher takes the message over while this one still knows it went out.
SETTLE_PATIENCE = 45.0
# A 429 for a channel this dispatcher posted to within this many seconds is that channel's limit.
CHANNEL_WINDOW = 3.0


class Sender(Protocol):
    async def send(self, message: QueuedMessage) -> DeliveryOutcome: ...

    async def notify_undelivered(self, message: QueuedMessage, error: str) -> None: ...


class Dispatcher:
    def __init__(
        self,
        outbox: OutboxService,
        sender: Sender,
        *,
        poll: float = 1.0,
        batch: int = 10,
        concurrency: int = 4,
        click_wait: float = 5.0,
    ):
        self.outbox = outbox
        self.sender = sender
        self.owner = f"{os.uname().nodename[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.poll = poll  # the longest a due message waits when nothing wakes the loop
        self.batch = batch
        self.click_wait = click_wait  # how long a click waits for its result to reach the channel
        self.concurrency = concurrency
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[Settled | None], QueuedMessage] = {}
        self._held: dict[str, float] = {}  # team id -> monotonic time its Retry-After ends
        self._last_post: dict[tuple[str, str], float] = {}  # (team, channel) -> monotonic time

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="outbox-dispatcher")
        logger.info("dispatcher_started", extra={"owner": self.owner})

    async def stop(self, grace: float = 5.0) -> None:
        """Take no new work; let deliveries in flight finish within ``grace``, hand back the rest."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await asyncio.wait({self._loop_task}, timeout=grace)
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._in_flight:
            _done, pending = await asyncio.wait(set(self._in_flight), timeout=grace)
            unfinished = {task: self._in_flight[task] for task in pending}
            for task in unfinished:
                task.cancel()
            for task, message in unfinished.items():
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                # Slack may have taken it just before the cancel: delivered again after the restart
                # (at-least-once across a crash), never lost.
                await self.outbox.hand_back(message, self.owner)
        logger.info("dispatcher_stopped", extra={"owner": self.owner})

    def wake(self) -> None:
        """Look for due messages now rather than at the next poll."""
        self._wake.set()

    # -- the loop -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                claimed = await self._claim_batch()
            except Exception:
                report_failure(logger, "dispatcher_claim_failed")  # once per kind and interval
                claimed = 0
            if claimed == 0:
                await self._sleep(await self._idle_for())

    async def _claim_batch(self) -> int:
        """Claim as many due messages as there are free delivery slots; returns how many were claimed."""
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            # Every slot is busy: wait for one (claiming more would only hold leases idle).
            await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)
            return 1
        messages = await self.outbox.claim_due(
            self.owner, min(self.batch, free), exclude_teams=self._held_teams()
        )
        for message in messages:
            task = asyncio.create_task(self._deliver(message, notify=True), name=f"outbox:{message.item_id}")
            self._in_flight[task] = message
            task.add_done_callback(self._in_flight.pop)
        return len(messages)

    async def _idle_for(self) -> float:
        held = self._held_teams()
        wait = self.poll
        if held:
            wait = min(wait, min(self._held.values()) - time.monotonic())
        try:
            due = await self.outbox.next_due(exclude_teams=held)
        except Exception:
            report_failure(logger, "dispatcher_peek_failed")
            return wait
        if due is not None:
            wait = min(wait, (due - utcnow()).total_seconds())
        return max(0.0, wait)

    def _held_teams(self) -> tuple[str, ...]:
        """Workspaces waiting out a 429's Retry-After (forgetting the holds that have ended)."""
        now = time.monotonic()
        for team in [team for team, until in self._held.items() if until <= now]:
            del self._held[team]
        return tuple(self._held)

    def _learn(self, message: QueuedMessage, outcome: DeliveryOutcome, started: float) -> None:
        """Remember where this dispatcher posted, and hold a workspace that hit its limit."""
        where = (message.team_id, message.channel_id)
        if isinstance(outcome, RetryLater) and outcome.rate_limited:
            last = self._last_post.get(where)
            if last is None or started - last > CHANNEL_WINDOW:
                until = time.monotonic() + (outcome.after if outcome.after is not None else 1.0)
                self._held[message.team_id] = max(until, self._held.get(message.team_id, 0.0))
                logger.info("workspace_held", extra={"team": message.team_id, "seconds": outcome.after})
            return
        self._last_post[where] = started
        if len(self._last_post) > 10_000:  # keep only the channels that can still be limited
            horizon = time.monotonic() - CHANNEL_WINDOW
            self._last_post = {k: t for k, t in self._last_post.items() if t >= horizon}

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    # -- one delivery ----------------------------------------------------------------------------

    async def _deliver(self, message: QueuedMessage, *, notify: bool) -> Settled | None:
        """Send one leased message and settle it; on a final failure, tell the person (once)."""
        started = time.monotonic()
        try:
            outcome = await self.sender.send(message)
        except Exception:  # a bug of ours while rendering or sending: retried, and logged
            logger.exception("outbox_send_failed", extra={"item": message.item_id})
            outcome = RetryLater("internal_error")
        self._learn(message, outcome, started)
        settled = await self._settle(message, outcome)
        if settled is None:
            return None
        if notify and settled.state is DeliveryState.FAILED:
            await self._notify(message, settled)
        return settled

    async def _settle(self, message: QueuedMessage, outcome: DeliveryOutcome) -> Settled | None:
        """Record the outcome, retrying while the database is away but the lease still holds.

        This process knows what Slack answered; if it gave up at once, the lease would run out and
        a delivered message would be delivered again. Only past the lease (the database away for
        about a minute) is that left to happen: at-least-once, never lost.
        """
        deadline = time.monotonic() + SETTLE_PATIENCE
        pause = 0.25
        while True:
            try:
                return await self.outbox.settle(message, self.owner, outcome)
            except Exception:
                report_failure(logger, "outbox_settle_failed", {"item": message.item_id})
                if time.monotonic() + pause >= deadline or self._stopping:
                    return None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    async def _notify(self, message: QueuedMessage, settled: Settled) -> None:
        try:
            if await self.outbox.claim_notification(message.item_id):
                await self.sender.notify_undelivered(message, settled.error or "unknown_error")
        except Exception:
            logger.exception("outbox_notify_failed", extra={"item": message.item_id})

    async def deliver_now(self, item_id: int) -> Settled:
        """Deliver one message from the caller's task, waiting up to ``click_wait`` for a final answer.

        Used by the click that completed an assessment, which then tells the person how it went;
        so this never notifies. If Slack asks to wait longer than the time left, the message stays
        queued and the loop delivers it (and tells the person if it finally fails).
        """
        deadline = time.monotonic() + self.click_wait
        while True:
            message = None if self._stopping else await self.outbox.claim(item_id, self.owner)
            if message is None:  # settled, leased by someone else, or we are stopping
                state = await self.outbox.state(item_id)
                if state.state is not DeliveryState.PENDING or time.monotonic() >= deadline or self._stopping:
                    return state
                await asyncio.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
                continue
            try:
                settled = await self._deliver(message, notify=False)
            except asyncio.CancelledError:
                # Shutdown cut the click short: hand the message back rather than leave it leased.
                await self.outbox.hand_back(message, self.owner)
                raise
            if settled is None:
                return Settled(item_id, DeliveryState.PENDING)
            if settled.state is not DeliveryState.PENDING or settled.available_at is None:
                return settled
            wait = (settled.available_at - utcnow()).total_seconds()
            if time.monotonic() + wait >= deadline:
                self.wake()
                return settled
            await asyncio.sleep(max(0.0, wait))

    async def claim_notification(self, item_id: int) -> bool:
        return await self.outbox.claim_notification(item_id)
