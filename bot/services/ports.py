"""What the services need from the outside world, as protocols and plain results the edges return."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Delivered:
    """Slack took the message; ``ts`` names it."""

    ts: str | None


@dataclass(frozen=True)
class RetryLater:
    """Not delivered this time, but it may go through later (rate limit, Slack or network trouble).

    A timeout is one of these too: Slack may have posted it, so trying again risks a second copy
    (at-least-once) where giving up would risk losing it.
    """

    error: str
    after: float | None = None  # Slack's Retry-After, when it gave one
    # Slack's 429: "not now", not a failure. It is waited out however often it comes and does not
    # count towards the attempts after which a message is given up on.
    rate_limited: bool = False


@dataclass(frozen=True)
class Undeliverable:
    """Slack refused it for a reason that trying again will not fix (not_in_channel, is_archived, ...)."""

    error: str


@dataclass(frozen=True)
class Skipped:
    """Not sent on purpose, when it came to it (a nudge to someone whose Slack status says away)."""

    reason: str


DeliveryOutcome = Delivered | RetryLater | Undeliverable | Skipped
