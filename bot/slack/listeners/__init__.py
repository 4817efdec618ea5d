"""Bolt listeners, one module per kind of request; each handler is a module-level function."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.deps import Deps, provide
from bot.slack.listeners import actions, commands, home


def register_listeners(app: AsyncApp, deps: Deps) -> None:
    """Give every request ``deps`` and register each kind's handlers."""
    app.use(provide(deps))
    commands.register(app)
    actions.register(app)
    home.register(app)
