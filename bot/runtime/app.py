"""The Bolt app factory: one wiring function, listeners registered per kind."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.settings import Settings
from bot.slack.blocks.notices import build_apology_message
from bot.slack.deps import Deps
from bot.slack.listeners import register_listeners

logger = logging.getLogger(__name__)


class _SameTokenNotice(logging.Filter):
    """Drops Bolt's start-up warning that the client's token wins over SLACK_BOT_TOKEN.

    Bolt reads SLACK_BOT_TOKEN from the environment on its own and warns when a client is given
    too; here both come from the same setting, so the warning says nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def create_app(settings: Settings, client: AsyncWebClient, deps: Deps) -> AsyncApp:
    """The Bolt app with every listener registered, taking its dependencies from ``deps``."""
    bolt_logger = logging.getLogger("slack_bolt")
    if not any(isinstance(f, _SameTokenNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SameTokenNotice())
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # Over HTTP, server.handle_slack_request has verified the signature on the raw bytes before
        # Bolt sees the request; Socket Mode connections are authenticated by the app token instead.
        request_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        # Listeners only ack and hand their work to `background`, so Bolt can answer as soon as
        # they return instead of polling for ack() every 10 ms.
        process_before_response=True,
        logger=bolt_logger,
    )
    register_listeners(app, deps)

    @app.error
    async def handle_unexpected_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        """Log errors that escaped a listener (with traceback) and answer Slack without a 500.

        A 500 makes Slack retry (and show "failed with the error 'http_service_error'"); a 200
        with an apology shows the person a short note where Slack displays one (slash commands).
        """
        logger.error("unhandled_error", exc_info=error, extra={"type": str(body.get("type", ""))[:40]})
        apology = build_apology_message()
        return BoltResponse(
            status=200,
            body=json.dumps({"response_type": "ephemeral", **apology}),
            headers={"content-type": "application/json;charset=utf-8"},
        )

    return app
