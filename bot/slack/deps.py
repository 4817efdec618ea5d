"""What every listener needs, built once at start-up and handed to listeners through Bolt's context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt.context.async_context import AsyncBoltContext

from bot.services.assessments import AssessmentService
from bot.services.checkins import CheckinService
from bot.services.commitments import CommitmentService
from bot.services.export import ExportService
from bot.services.home import HomeService
from bot.services.leaderboard import LeaderboardService
from bot.services.nudges import NudgeService
from bot.services.outbox import OutboxService, Settled
from bot.services.team import TeamService
from bot.slack.messenger import Messenger

CONTEXT_KEY = "maturity_deps"


class TaskRunner(Protocol):
    """Runs work after Slack has its acknowledgement (the runtime's bounded background tasks)."""

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> bool:
        """Accept ``work``; False when the backlog is full (the work is then not run)."""
        ...

    def has_room(self) -> bool: ...


class PostQueue(Protocol):
    """Delivers a queued message right away (the runtime's outbox dispatcher)."""

    async def deliver_now(self, item_id: int) -> Settled: ...

    async def claim_notification(self, item_id: int) -> bool: ...


@dataclass(frozen=True)
class Deps:
    assessments: AssessmentService
    checkins: CheckinService
    commitments: CommitmentService
    nudges: NudgeService
    leaderboard: LeaderboardService
    team: TeamService
    home: HomeService
    export: ExportService
    outbox: OutboxService
    posts: PostQueue
    messenger: Messenger
    tasks: TaskRunner


def deps_of(context: AsyncBoltContext) -> Deps:
    """The dependencies the wiring put into this request's context."""
    deps = context.get(CONTEXT_KEY)
    if not isinstance(deps, Deps):
        raise RuntimeError("listener called without dependencies; register it with register_listeners")
    return deps


def provide(deps: Deps) -> Callable[[AsyncBoltContext, Callable[[], Awaitable[None]]], Awaitable[None]]:
    """A Bolt middleware that puts ``deps`` into every request's context."""

    async def provide_deps(context: AsyncBoltContext, next_: Callable[[], Awaitable[None]]) -> None:
        context[CONTEXT_KEY] = deps
        await next_()

    return provide_deps
