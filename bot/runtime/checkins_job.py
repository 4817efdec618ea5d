"""`python -m bot checkins [--now ISO-8601]`: post every check-in due at that moment, then exit.

For cron or a platform scheduler. It claims due occurrences exactly as the in-process scheduler does
(so running both, or running it twice for one moment, posts nothing twice), delivers what it queued
through the outbox (waiting out Slack's Retry-After), and reports what could not be delivered.
"""

from __future__ import annotations

import logging
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

# How long one post may wait on Slack (Retry-After, backoff) before the job reports it as still
# queued; the app's dispatcher (or the next run) delivers it later either way.
DELIVERY_WAIT = 120.0


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
            click_wait=DELIVERY_WAIT,
        )
        report = await CheckinService(engine, flows).run_due(now)
        result = JobResult(report)
        for item in report.queued:
            settled = await dispatcher.deliver_now(item)
            if settled.state is not DeliveryState.SENT:
                result.undelivered.append(settled)
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
