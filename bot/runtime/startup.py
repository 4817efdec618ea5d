"""Before serving: is SLACK_BOT_TOKEN a real token of this app? (A placeholder, a revoked token or
another app's token would start "fine" and then fail every request.)"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.settings import Settings

logger = logging.getLogger(__name__)

PLACEHOLDERS = ("xoxb-...", "xoxb-your-token", "xoxb-xxx")
FIX = (
    "Copy the Bot User OAuth Token from your app's OAuth & Permissions page (README: 'Create the Slack app')."
)
REFUSALS = {
    "invalid_auth": "Slack does not know SLACK_BOT_TOKEN (invalid_auth).",
    "not_authed": "SLACK_BOT_TOKEN is empty or malformed (not_authed).",
    "token_revoked": "SLACK_BOT_TOKEN has been revoked (token_revoked): the app was uninstalled, "
    "or the token rotated.",
    "token_expired": "SLACK_BOT_TOKEN has expired (token_expired).",
    "account_inactive": "SLACK_BOT_TOKEN belongs to a deactivated account or workspace (account_inactive).",
}


async def credentials_problem(settings: Settings) -> str | None:
    """Why the bot must not start with these credentials; None when Slack accepts them (or cannot be
    reached: then the bot starts and its health check and logs say what is wrong)."""
    token = settings.slack_bot_token or ""
    if token in PLACEHOLDERS or "..." in token or not token.startswith(("xoxb-", "xoxe.xoxb-")):
        return f"SLACK_BOT_TOKEN is not a bot token (it should start with xoxb-). {FIX}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        client = AsyncWebClient(token=token, base_url=settings.slack_api_url, session=http)
        try:
            identity = await client.auth_test()
            if settings.slack_app_id and identity.get("bot_id"):
                bot = await client.bots_info(bot=str(identity["bot_id"]))
                app_id = (bot.get("bot") or {}).get("app_id")
                if app_id and app_id != settings.slack_app_id:
                    return (
                        f"SLACK_BOT_TOKEN belongs to app {app_id}, not SLACK_APP_ID {settings.slack_app_id}. "
                        "Use the token of the app you configured (or correct SLACK_APP_ID)."
                    )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in REFUSALS:
                return f"{REFUSALS[error]} {FIX}"
            logger.warning("auth_test_failed", extra={"error": error})
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            logger.warning("auth_test_unreachable", extra={"error": type(exc).__name__})
        else:
            logger.info(
                "auth_ok", extra={"team": identity.get("team_id"), "bot_user": identity.get("user_id")}
            )
    return None
