"""Reads of the persona pages: personas with their counts, a persona's journeys and its emotion curves.

Every function runs a fixed number of queries, whatever the number of personas, journeys or steps."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import F, Func, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from atlas.models import Workspace
from atlas.tenancy import scoped
from journeys.atlas_selectors import journeys_with_health
from journeys.charts import EMOTION_LABELS, EmotionChart, emotion_chart
from journeys.models import Insight, Journey, Persona, Step, StepEmotion

CHART_WIDTH = 980  # px the curve may take on the persona page before it scrolls sideways


def _count_distinct(queryset: QuerySet):
    """COUNT(DISTINCT pk) of a correlated queryset as a subquery (no GROUP BY: one row)."""
    counted = queryset.order_by().values(
        n=Func(F("pk"), function="COUNT", template="COUNT(DISTINCT %(expressions)s)")
    )
    return Coalesce(Subquery(counted[:1]), 0)


def journeys_of_persona_q(persona) -> Q:
    """Journeys that have the persona as primary or additional persona."""
    return Q(primary_persona=persona) | Q(personas=persona)


def personas_with_counts(workspace: Workspace) -> QuerySet:
    """The workspace's personas by name, with `journey_count` and `insight_count`."""
    persona = OuterRef("pk")
    return (
        scoped(workspace, Persona)
        .annotate(
            journey_count=_count_distinct(Journey.objects.filter(journeys_of_persona_q(persona))),
            insight_count=_count_distinct(Insight.objects.filter(personas=persona)),
        )
        .prefetch_related("tags")
        .order_by("name", "pk")
    )


def persona_journeys(workspace: Workspace, persona: Persona) -> list[Journey]:
    """The persona's journeys (primary or additional) with their health, framework place and `is_primary`."""
    journeys = list(
        journeys_with_health(workspace)
        .filter(pk__in=scoped(workspace, Journey).filter(journeys_of_persona_q(persona)).values("pk"))
        .select_related("macro_journey__stage__lifecycle")
        .order_by("macro_journey__stage__lifecycle__position", "macro_journey__stage__position", "name", "pk")
    )
    for journey in journeys:
        journey.is_primary = journey.primary_persona_id == persona.pk
    return journeys


@dataclass
class PersonaCurve:
    """The persona's emotion along one journey's steps, next to the map's overall emotion lane."""

    journey_id: int
    journey_name: str
    journey_kind: str
    chart: EmotionChart
    step_names: list[str]
    scored: int
    average: float

    @property
    def mood(self) -> str:
        return mood_of(self.average)

    @property
    def average_text(self) -> str:
        return signed(self.average)


def mood_of(average: float) -> str:
    return EMOTION_LABELS[max(-2, min(2, round(average)))]


def signed(value: float) -> str:
    """+0.8, −1.3, 0.0 (a true minus sign)."""
    text = f"{abs(value):.1f}"
    return text if text == "0.0" else f"{'+' if value > 0 else '−'}{text}"


def avatar_hue(persona: Persona) -> int:
    """One of six avatar colours, stable per persona."""
    return persona.pk % 6


def persona_emotion_curves(workspace: Workspace, persona: Persona) -> list[PersonaCurve]:
    """One curve per journey on which the persona has at least one emotion score, by journey name.
    Two queries: the persona's scores, then the steps of those journeys."""
    scores = dict(scoped(workspace, StepEmotion).filter(persona=persona).values_list("step_id", "score"))
    if not scores:
        return []
    steps = (
        scoped(workspace, Step)
        .filter(journey__in=scoped(workspace, StepEmotion).filter(persona=persona).values("step__journey_id"))
        .order_by("journey_id", "position")
        .values_list("pk", "journey_id", "journey__name", "journey__kind", "name", "emotion")
    )
    by_journey: dict[int, list[tuple]] = defaultdict(list)
    for row in steps:
        by_journey[row[1]].append(row)
    curves = []
    for journey_id, rows in by_journey.items():
        names = [row[4] for row in rows]
        persona_scores = [scores.get(row[0]) for row in rows]
        map_scores = [row[5] for row in rows]
        column = max(56, min(160, CHART_WIDTH // max(len(rows), 1)))
        chart = emotion_chart(
            labels=names,
            # The persona last, so that its line is drawn over the map's.
            series=[("Map's emotion lane (all customers)", map_scores), (persona.name, persona_scores)],
            column_width=column,
            height=150,
        )
        given = [s for s in persona_scores if s is not None]
        curves.append(
            PersonaCurve(
                journey_id=journey_id,
                journey_name=rows[0][2],
                journey_kind=rows[0][3],
                chart=chart,
                step_names=names,
                scored=len(given),
                average=sum(given) / len(given),
            )
        )
    return sorted(curves, key=lambda c: (c.journey_name.lower(), c.journey_id))


def split_lines(text: str) -> list[str]:
    """A persona's needs, goals or frustrations as a list: one item per non-empty line, bullets removed."""
    return [
        line.strip().lstrip("-•*").strip() for line in text.splitlines() if line.strip().lstrip("-•*").strip()
    ]
