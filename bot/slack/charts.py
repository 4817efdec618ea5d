"""Charts as PNG bytes: a radar of a result's per-category levels, and a team's levels over time.

Drawn with matplotlib's Agg backend (no display) through its object API, never pyplot's global
state, and only from :func:`render` (a worker thread, one chart at a time), so the event loop never
waits on a drawing. matplotlib is imported on the first chart: a process that never draws one
(the Google model has a single category) never pays for it in memory. Every chart comes with alt
text that states its numbers.
"""

from __future__ import annotations

import asyncio
import io
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_DRAWING = threading.Lock()  # one chart at a time: matplotlib's font cache is shared state
DPI = 100


@dataclass(frozen=True)
class Axis:
    name: str
    level: int
    score: float


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[datetime, float]]  # (when, finer score)


async def render(draw: Callable[[], bytes]) -> bytes:
    """Run a drawing in a worker thread (the event loop carries on)."""
    return await asyncio.to_thread(_locked, draw)


def _locked(draw: Callable[[], bytes]) -> bytes:
    with _DRAWING:
        return draw()


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")  # a Figure made without pyplot draws with Agg
    return out.getvalue()


def radar_png(title: str, axes: Sequence[Axis], max_level: int) -> bytes:
    """A radar (spider) chart: one spoke per category, the finer score on each, 0..max_level."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 6), dpi=DPI)
    ax = figure.add_subplot(projection="polar")
    angles = [2 * math.pi * n / len(axes) for n in range(len(axes))]
    values = [min(max(a.score, 0.0), float(max_level)) for a in axes]
    ax.plot([*angles, angles[0]], [*values, values[0]], color="#2c7fb8", linewidth=2)
    ax.fill([*angles, angles[0]], [*values, values[0]], color="#2c7fb8", alpha=0.25)
    ax.set_xticks(angles)
    ax.set_xticklabels([f"{a.name}\n{a.score:.1f}" for a in axes], fontsize=9)
    ax.set_ylim(0, max_level)
    ax.set_yticks(range(0, max_level + 1))
    ax.set_title(title, fontsize=12, pad=20)
    figure.tight_layout()
    return _png(figure)


def radar_alt_text(title: str, axes: Sequence[Axis], max_level: int) -> str:
    parts = ", ".join(f"{a.name} level {a.level} ({a.score:.2f})" for a in axes)
    return f"{title}: radar chart of levels per category on a 0 to {max_level} scale: {parts}."[:1000]


def trend_png(title: str, series: Sequence[Series], max_level: int) -> bytes:
    """Levels over time, one line per series (a model, or a team), 0..max_level."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=DPI)
    ax = figure.add_subplot()
    for one in series:
        if one.points:
            when = [float(date2num(p[0])) for p in one.points]  # type: ignore[no-untyped-call]  # unannotated
            ax.plot(when, [p[1] for p in one.points], marker="o", label=one.name)
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]  # matplotlib leaves it unannotated
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]  # likewise
    ax.set_ylim(0, max_level + 0.2)
    ax.set_ylabel("level (finer score)")
    ax.set_title(title, fontsize=12)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(loc="upper left", fontsize=9)
    figure.tight_layout()
    return _png(figure)


def trend_alt_text(title: str, series: Sequence[Series]) -> str:
    parts = []
    for one in series:
        if one.points:
            first, last = one.points[0], one.points[-1]
            parts.append(
                f"{one.name} from {first[1]:.2f} on {first[0]:%d %b %Y} "
                f"to {last[1]:.2f} on {last[0]:%d %b %Y} ({len(one.points)} points)"
            )
    return f"{title}: line chart of levels over time: {'; '.join(parts) or 'no data'}."[:1000]
