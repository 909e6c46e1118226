"""Geometry of the score-history sparklines on the opportunity page, drawn as server-rendered SVG.

Pure code: dated values in, coordinates and SVG path data out. A snapshot is written only on a night when
the priority or rank changed, so a value holds until the next one: the line is drawn as steps (flat,
then a jump), over real time from the first snapshot to `until` (today), not one column per snapshot.
A snapshot without a value (no rank) breaks the line rather than inventing one."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class SparkPoint:
    x: float
    y: float
    label: str  # tooltip: the date and the value


@dataclass(frozen=True)
class Sparkline:
    width: float
    height: float
    path: str  # SVG path data, steps; empty when no snapshot has a value
    points: tuple[SparkPoint, ...]
    top_text: str  # the scale: the value at the top and at the bottom of the line's range
    bottom_text: str
    summary: str  # for screen readers: the first and the latest value

    def __bool__(self) -> bool:
        return bool(self.points)


def step_sparkline(
    series: Sequence[tuple[date, float | None]],
    *,
    until: date,
    text: Callable[[float], str] = str,
    invert: bool = False,
    width: float = 260,
    height: float = 56,
    padding: float = 6,
) -> Sparkline:
    """A step line through `series` ([(date, value or None), …] oldest first) from its first date to
    `until`. `invert`: the lowest value at the top (a rank: #1 is the best). `text` formats a value for
    the tooltips."""
    values = [value for _, value in series if value is not None]
    if not values:
        return Sparkline(width, height, "", (), "", "", "no values")
    low, high = min(values), max(values)
    first = series[0][0]
    days = max((max(until, series[-1][0]) - first).days, 1)
    inner_w, inner_h = width - 2 * padding, height - 2 * padding

    def x_of(day: date) -> float:
        return round(padding + (day - first).days / days * inner_w, 2)

    def y_of(value: float) -> float:
        share = 0.5 if high == low else (value - low) / (high - low)
        if not invert:
            share = 1 - share
        return round(padding + share * inner_h, 2)

    commands: list[str] = []
    points: list[SparkPoint] = []
    previous_y: float | None = None
    for day, value in series:
        if value is None:
            if previous_y is not None:
                commands.append(f"H{x_of(day)}")  # the last value held until this snapshot
            previous_y = None
            continue
        x, y = x_of(day), y_of(value)
        if previous_y is None:
            commands.append(f"M{x} {y}")
        else:
            commands.append(f"H{x} V{y}")
        points.append(SparkPoint(x, y, f"{day:%-d %b %Y}: {text(value)}"))
        previous_y = y
    if previous_y is not None:
        commands.append(f"H{x_of(max(until, series[-1][0]))}")
    return Sparkline(
        width=width,
        height=height,
        path=" ".join(commands),
        points=tuple(points),
        top_text=text(low if invert else high),
        bottom_text=text(high if invert else low),
        summary=(f"from {points[0].label} to {points[-1].label}" if len(points) > 1 else points[0].label),
    )
