"""Slack's chat.postMessage rate limit: about one message per second per channel, short bursts allowed,
plus an optional workspace-wide cap. Token buckets, so a quiet channel earns its burst back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float  # tokens earned per second
    burst: float  # the most tokens it holds
    tokens: float
    updated: float

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0 when one is there now); refills as a side effect."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class RateLimits:
    """The limits the double applies to chat.postMessage; ``enabled=False`` for benchmarks.

    ``workspace_rate`` (messages per second over all channels) is off when None.
    ``clock`` is injectable so a test can move time instead of sleeping.
    """

    enabled: bool = True
    channel_rate: float = 1.0
    channel_burst: int = 4
    workspace_rate: float | None = None
    workspace_burst: int = 50
    clock: Callable[[], float] = time.monotonic
    _channels: dict[str, TokenBucket] = field(default_factory=dict)
    _workspace: TokenBucket | None = None

    def take(self, channel_id: str) -> int | None:
        """Spend one message for ``channel_id``; returns None, or the Retry-After seconds when limited.

        Both buckets are checked before either is spent, so a refused message costs nothing, as a 429
        from Slack posts nothing.
        """
        if not self.enabled:
            return None
        now = self.clock()
        buckets = [self._bucket(channel_id, now)]
        if self.workspace_rate is not None:
            if self._workspace is None:
                self._workspace = self._new(self.workspace_rate, self.workspace_burst, now)
            buckets.append(self._workspace)
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))  # Retry-After is whole seconds, and never 0
        for bucket in buckets:
            bucket.tokens -= 1
        return None

    def reset(self) -> None:
        """Forget past messages: every bucket starts full again."""
        self._channels.clear()
        self._workspace = None

    def _bucket(self, channel_id: str, now: float) -> TokenBucket:
        bucket = self._channels.get(channel_id)
        if bucket is None:
            bucket = self._channels[channel_id] = self._new(self.channel_rate, self.channel_burst, now)
        return bucket

    @staticmethod
    def _new(rate: float, burst: int, now: float) -> TokenBucket:
        return TokenBucket(rate=rate, burst=float(burst), tokens=float(burst), updated=now)
