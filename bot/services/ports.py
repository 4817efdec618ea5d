"""What the services need from the outside world, as protocols the edges implement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.services.outcomes import Completed


@dataclass(frozen=True)
class PostReceipt:
    """Where a posted result went: the channel message's ts, or the reason it could not go."""

    ts: str | None
    error: str | None


class ResultChannel(Protocol):
    """Posts a completed result where the team sees it (in Slack: the channel it was taken in)."""

    async def post_result(self, completed: Completed) -> PostReceipt: ...
