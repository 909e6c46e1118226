"""Geometry of the emotion curve (−2..+2 per step), drawn as server-rendered SVG.

Pure code: plain numbers in, coordinates and SVG path data out. Each step is one column of a fixed
width, so a point sits in the middle of its step's column on the map; a step without a score breaks
the line rather than inventing a value."""

from collections.abc import Sequence
from dataclasses import dataclass

EMOTION_MIN, EMOTION_MAX = -2, 2
EMOTION_LABELS = {2: "Delighted", 1: "Pleased", 0: "Neutral", -1: "Frustrated", -2: "Angry"}


@dataclass(frozen=True)
class EmotionPoint:
    x: float
    y: float
    score: int
    label: str  # the step's name

    @property
    def mood(self) -> str:
        return EMOTION_LABELS[self.score]


@dataclass(frozen=True)
class EmotionLine:
    name: str
    index: int  # picks the line's colour (`emotion-line-<index % 6>`)
    path: str  # SVG path data; empty when no step has a score
    points: tuple[EmotionPoint, ...]

    @property
    def css_class(self) -> str:
        return f"emotion-line-{self.index % 6}"


@dataclass(frozen=True)
class Gridline:
    score: int
    y: float
    label: str


@dataclass(frozen=True)
class EmotionChart:
    width: float
    height: float
    column_width: float
    lines: tuple[EmotionLine, ...]
    gridlines: tuple[Gridline, ...]

    @property
    def has_scores(self) -> bool:
        return any(line.points for line in self.lines)


def emotion_chart(
    *,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int | None]]],
    column_width: float = 200,
    height: float = 120,
    padding: float = 14,
) -> EmotionChart:
    """One line per series over the columns named by `labels` (the steps, in order).

    `series` is [(name, [score or None per column]), …]; every score list has len(labels) entries."""
    columns = len(labels)
    span = height - 2 * padding

    def y_of(score: int) -> float:
        return round(padding + (EMOTION_MAX - score) * span / (EMOTION_MAX - EMOTION_MIN), 2)

    lines = []
    for index, (name, scores) in enumerate(series):
        if len(scores) != columns:
            raise ValueError(f"series {name!r} has {len(scores)} scores for {columns} steps")
        points: list[EmotionPoint] = []
        commands: list[str] = []
        previous_scored = False
        for column, score in enumerate(scores):
            if score is None:
                previous_scored = False
                continue
            if not EMOTION_MIN <= score <= EMOTION_MAX:
                raise ValueError(f"emotion {score} is outside {EMOTION_MIN}..{EMOTION_MAX}")
            point = EmotionPoint(
                x=round((column + 0.5) * column_width, 2), y=y_of(score), score=score, label=labels[column]
            )
            commands.append(f"{'L' if previous_scored else 'M'}{point.x:g} {point.y:g}")
            points.append(point)
            previous_scored = True
        lines.append(EmotionLine(name=name, index=index, path=" ".join(commands), points=tuple(points)))
    gridlines = tuple(
        Gridline(score=score, y=y_of(score), label=EMOTION_LABELS[score])
        for score in range(EMOTION_MAX, EMOTION_MIN - 1, -1)
    )
    return EmotionChart(
        width=columns * column_width,
        height=height,
        column_width=column_width,
        lines=tuple(lines),
        gridlines=gridlines,
    )
