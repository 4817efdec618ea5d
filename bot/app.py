"""The Bolt app factory: one wiring function, listeners registered per kind."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.assessments import AssessmentService
from bot.config import Settings
from bot.listeners import actions, commands
from bot.slack import Messenger

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings, client: AsyncWebClient, service: AssessmentService, messenger: Messenger
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        # Socket Mode connections are authenticated by the app token instead of signatures.
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=not settings.socket_mode,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("slack_bolt"),
    )
    commands.register(app, service, messenger)
    actions.register(app, service, messenger)

    @app.error
    async def handle_unexpected_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        """Log errors that escaped a listener (with traceback) and answer Slack without a 500."""
        logger.error("unhandled_error", exc_info=error, extra={"type": str(body.get("type", ""))[:40]})
        return None

    return app
