"""`python -m bot checkins [--now ISO-8601]`: post every check-in due at that moment, then exit.

For cron or a platform scheduler. It claims due occurrences exactly as the in-process scheduler does
(so running both, or running it twice for one moment, posts nothing twice), and runs an outbox
dispatcher meanwhile, so posting starts with the first check-in claimed and follows Slack's rate
limits (Retry-After) while the rest are claimed. It exits once everything it queued is settled, and
reports what could not be delivered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from bot.runtime.dispatcher import Dispatcher
from bot.runtime.settings import Settings
from bot.runtime.wiring import reply_session, web_api_session
from bot.services.checkins import CheckinService, RunReport
from bot.services.outbox import DeliveryState, OutboxService, Settled
from bot.slack.away import away_markers
from bot.slack.messenger import Messenger, build_web_client
from bot.slack.outbox import SlackOutbox
from flows.schema import Flow
from models.db import create_engine
from models.migrate import upgrade_engine

logger = logging.getLogger(__name__)

# How long the job waits without any of its posts being settled (Slack holding back with
# Retry-After, backoff after errors) before it reports the rest as still queued; the app's
# dispatcher (or the next run) delivers them later either way.
DELIVERY_WAIT = 120.0
POLL = 1.0  # how often the job looks at what it queued (a query over the unsettled ids)


@dataclass
class JobResult:
    report: RunReport
    undelivered: list[Settled] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.undelivered


async def run_checkins(settings: Settings, flows: dict[str, Flow], now: datetime | None = None) -> JobResult:
    engine = create_engine(settings.database_url)
    http, reply_http = web_api_session(), reply_session()
    try:
        if settings.migrate_on_start:
            await upgrade_engine(engine)
        client = build_web_client(settings.slack_bot_token, settings.slack_api_url, http)
        once = build_web_client(settings.slack_bot_token, settings.slack_api_url, http, retries=False)
        outbox = OutboxService(engine, flows)
        dispatcher = Dispatcher(
            outbox,
            SlackOutbox(Messenger(client, reply_http, once), flows, away_markers(settings.away_statuses)),
        )
        dispatcher.start()
        try:
            report = await CheckinService(engine, flows).run_due(now, on_queued=dispatcher.wake)
            result = JobResult(report, await _wait_settled(outbox, report.queued))
        finally:
            await dispatcher.stop()
        logger.info(
            "checkins_job_done",
            extra={
                "posted": report.posted,
                "skipped": report.skipped,
                "undelivered": len(result.undelivered),
            },
        )
        return result
    finally:
        await http.close()
        await reply_http.close()
        await engine.dispose()


async def _wait_settled(outbox: OutboxService, items: tuple[int, ...]) -> list[Settled]:
    """Wait while the dispatcher delivers ``items``; what is not sent (or skipped) when they are all
    settled, or when none has settled for ``DELIVERY_WAIT`` seconds."""
    waiting = set(items)
    finished: list[Settled] = []
    progress = time.monotonic()
    while waiting:
        states = await outbox.states(sorted(waiting))
        for settled in states:
            if settled.state is not DeliveryState.PENDING:
                waiting.discard(settled.item_id)
                finished.append(settled)
                progress = time.monotonic()
        if not waiting or time.monotonic() - progress > DELIVERY_WAIT:
            break
        await asyncio.sleep(POLL)
    still = await outbox.states(sorted(waiting)) if waiting else []
    return [s for s in finished + still if s.state not in (DeliveryState.SENT, DeliveryState.SKIPPED)]
