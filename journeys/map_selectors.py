"""What the journey map shows, read with a fixed number of queries whatever the journey's size: the
steps grouped under their phases, their touchpoints, pinned insights (through a persona's eyes when
one is chosen), opportunities, persona emotions, KPIs with their latest values and comment counts;
and the emotion curve and per-row URLs built from them."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.urls import reverse

from atlas.models import Comment
from atlas.tenancy import scoped
from journeys.charts import EMOTION_LABELS, EmotionChart, emotion_chart
from journeys.models import Insight, Journey, Persona, Phase, Step, StepEmotion, Touchpoint
from metrics.calculations import kpi_value
from metrics.models import DataPoint, Kpi
from opportunities.models import Opportunity

# Every step column has this width (px), so that the emotion curve's points sit in their columns.
STEP_COLUMN_WIDTH = 232
LANE_COLUMN_WIDTH = 168
PRINT_WIDTH = 1500  # px: landscape A3 less its margins


def signed_score(score: int | None) -> str:
    """+2, +1, 0, −1, −2 (with a real minus sign), or "" for no score."""
    if score is None:
        return ""
    return f"{score:+d}".replace("-", "−") if score else "0"


EMOTION_SCALE = [(n, signed_score(n), EMOTION_LABELS[n]) for n in range(-2, 3)]


def switcher_personas(journey: Journey) -> list[Persona]:
    """The personas the map can be seen through: the journey's, its primary one and any with emotions
    on its steps. One query."""
    return list(
        scoped(journey.workspace, Persona)
        .filter(
            Q(journeys=journey)
            | Q(primary_journeys=journey)
            | Q(pk__in=StepEmotion.objects.filter(step__journey=journey).values("persona_id"))
        )
        .distinct()
        .order_by("name")
    )


@dataclass
class KpiCell:
    """A KPI on the map with its latest value (None: no data yet)."""

    kpi: Kpi
    value: float | None
    date: object = None

    def _format(self, number: float | None) -> str:
        if number is None:
            return ""
        if self.kpi.kpi_type == Kpi.Type.RATIO:  # stored as 0..1, read as a share
            return f"{number * 100:.0f} %"
        text = f"{number:.0f}" if abs(number) >= 100 else f"{number:.1f}".removesuffix(".0")
        return f"{text} {self.kpi.unit}" if self.kpi.unit else text

    @property
    def value_text(self) -> str:
        return self._format(self.value)

    @property
    def target_text(self) -> str:
        if self.kpi.target is None:
            return ""
        return f"{self.kpi.get_comparison_display()} {self._format(self.kpi.target)}"

    @property
    def status(self) -> str:
        """ "good" (meets its target), "bad" (misses it), "none" (no target or no data)."""
        if self.value is None or self.kpi.target is None:
            return "none"
        meets = (
            self.value >= self.kpi.target if self.kpi.comparison == "gte" else self.value <= self.kpi.target
        )
        return "good" if meets else "bad"


def journey_kpis(journey: Journey) -> tuple[dict[int, list[KpiCell]], list[KpiCell]]:
    """KPIs on the journey's steps (and their touchpoints) by step id, and on the journey itself, with
    their latest values. Two queries."""
    kpis = list(
        scoped(journey.workspace, Kpi)
        .filter(Q(journey=journey) | Q(step__journey=journey) | Q(touchpoint__step__journey=journey))
        .select_related("touchpoint")
        .order_by("name", "pk")
    )
    by_step: dict[int, list[KpiCell]] = defaultdict(list)
    on_journey: list[KpiCell] = []
    if not kpis:
        return by_step, on_journey
    latest = DataPoint.objects.filter(kpi__in=kpis).latest_sums()
    for kpi in kpis:
        sums = latest.get(kpi.pk)
        value = kpi_value(kpi.kpi_type, sums, kpi.aggregation) if sums else None
        cell = KpiCell(kpi=kpi, value=value, date=sums["date"] if sums else None)
        step_id = kpi.step_id or (kpi.touchpoint.step_id if kpi.touchpoint_id else None)
        if step_id:
            by_step[step_id].append(cell)
        else:
            on_journey.append(cell)
    return by_step, on_journey


@dataclass
class PhaseGroup:
    """One band of the map's header: a phase (None: the steps without one) and its steps."""

    phase: Phase | None
    steps: list[Step]
    index: int = 0  # the phase's place among the phases

    @property
    def span(self) -> int:
        return max(1, len(self.steps))


@dataclass(frozen=True)
class EmptyPhase:
    """The placeholder column of a phase without steps (a drop target for steps)."""

    phase: Phase
    is_empty: bool = True


@dataclass
class MapData:
    journey: Journey
    steps: list[Step]
    phases: list[Phase]
    groups: list[PhaseGroup]
    slots: list[Step | EmptyPhase]  # the map's columns, in order
    personas: list[Persona]
    persona: Persona | None
    journey_kpis: list[KpiCell] = field(default_factory=list)


def pinned_insights(journey: Journey, persona: Persona | None):
    queryset = scoped(journey.workspace, Insight).order_by("kind", "-severity", "pk")
    if persona is None:
        return queryset
    # Seen through a persona: its insights and those about no persona in particular.
    links = Insight.personas.through.objects.filter(insight_id=OuterRef("pk"))
    return queryset.filter(Exists(links.filter(persona_id=persona.pk)) | ~Exists(links))


def map_data(journey: Journey, persona_id: str | None = None) -> MapData:
    """Everything the map shows, with a fixed number of queries whatever the journey's size."""
    workspace = journey.workspace
    personas = switcher_personas(journey)
    persona = next((p for p in personas if str(p.pk) == (persona_id or "")), None)
    steps = list(
        scoped(workspace, Step)
        .filter(journey=journey)
        .select_related("phase")
        .prefetch_related(
            Prefetch("touchpoints", queryset=scoped(workspace, Touchpoint).order_by("position", "pk")),
            Prefetch("insights", queryset=pinned_insights(journey, persona), to_attr="pinned"),
            Prefetch(
                "opportunities",
                queryset=scoped(workspace, Opportunity).order_by("rank", "pk"),
                to_attr="opps",
            ),
        )
        .order_by("position", "pk")
    )
    phases = list(scoped(workspace, Phase).filter(journey=journey).order_by("position", "pk"))
    emotions: dict[int, dict[int, int]] = defaultdict(dict)  # step id → {persona id: score}
    for step_id, persona_pk, score in StepEmotion.objects.filter(step__journey=journey).values_list(
        "step_id", "persona_id", "score"
    ):
        emotions[step_id][persona_pk] = score
    # Which insights already back an opportunity on the same step ("opportunity made" on pain cards).
    evidence: set[tuple[int, int]] = set(
        Opportunity.insights.through.objects.filter(
            opportunity__workspace=workspace, opportunity__steps__journey=journey
        ).values_list("opportunity_id", "insight_id")
    )
    opportunity_insights: dict[int, set[int]] = defaultdict(set)
    for opportunity_id, insight_id in evidence:
        opportunity_insights[opportunity_id].add(insight_id)
    kpis_by_step, kpis_on_journey = journey_kpis(journey)
    comment_counts = dict(
        scoped(workspace, Comment)
        .filter(step__journey=journey)
        .values("step_id")
        .annotate(count=Count("pk"))
        .values_list("step_id", "count")
    )

    groups = {None: PhaseGroup(None, [])} | {p.pk: PhaseGroup(p, [], i) for i, p in enumerate(phases)}
    for step in steps:
        step.journey = journey
        step.persona_scores = emotions.get(step.pk, {})
        step.shown_emotion = step.persona_scores.get(persona.pk) if persona else step.emotion
        step.shown_mood = EMOTION_LABELS.get(step.shown_emotion, "")
        step.shown_score = signed_score(step.shown_emotion)
        step.own_score = signed_score(step.emotion)
        step.touchpoint_list = list(step.touchpoints.all())
        step.kpi_cells = kpis_by_step.get(step.pk, [])
        step.comment_count = comment_counts.get(step.pk, 0)
        backed = set().union(*(opportunity_insights[o.pk] for o in step.opps)) if step.opps else set()
        for insight in step.pinned:
            insight.has_opportunity = insight.pk in backed
        groups[step.phase_id if step.phase_id in groups else None].steps.append(step)
    ordered = [g for key, g in groups.items() if key is not None or g.steps]
    if not phases:
        ordered = [groups[None]]
    slots: list[Step | EmptyPhase] = []
    number = 0
    for group in ordered:
        for index, step in enumerate(group.steps):
            number += 1
            step.number = number
            step.index_in_phase = index
        slots.extend(group.steps or [EmptyPhase(group.phase)])
    ordered_steps = [slot for slot in slots if isinstance(slot, Step)]
    return MapData(
        journey=journey,
        steps=ordered_steps,
        phases=phases,
        groups=ordered,
        slots=slots,
        personas=personas,
        persona=persona,
        journey_kpis=kpis_on_journey,
    )


def map_emotion_chart(data: MapData) -> EmotionChart:
    """The emotion curve over the map's columns (an empty phase's column has no score)."""
    steps = [slot if isinstance(slot, Step) else None for slot in data.slots]
    labels = [step.name if step else "" for step in steps]
    if data.persona:
        series = [(data.persona.name, [s.shown_emotion if s else None for s in steps])]
    else:
        series = [("All customers", [s.emotion if s else None for s in steps])]
        with_scores = {pk for s in data.steps for pk in s.persona_scores}
        series += [
            (persona.name, [s.persona_scores.get(persona.pk) if s else None for s in steps])
            for persona in data.personas
            if persona.pk in with_scores
        ]
    return emotion_chart(labels=labels, series=series, column_width=STEP_COLUMN_WIDTH)


class MapLinks:
    """The URLs of the map's rows (steps, touchpoints, pinned insights, opportunities). Each URL name
    is reversed once per request and filled in per row: reversing every link of a 40-step map with
    500 insights one by one (some 3,500 reverses) took 40 % of its rendering time."""

    STEP = {
        "cell": "journeys:step_cell",
        "emotion": "journeys:step_emotion",
        "move": "journeys:step_move",
        "delete": "journeys:step_delete",
        "touchpoint_add": "journeys:touchpoint_add",
        "insights": "journeys:step_insights",
        "insight_create": "journeys:step_insight_create",
        "comments": "journeys:step_comments",
    }
    TOUCHPOINT = {"edit": "journeys:touchpoint_edit", "delete": "journeys:touchpoint_delete"}
    PIN = {"unpin": "journeys:step_insight_unpin", "opportunity_create": "journeys:step_opportunity_create"}
    # Ids no real row has, replaced by each row's own: {step}, {touchpoint}, {insight}, {opportunity}.
    PLACEHOLDERS = {
        "step_id": 2_000_000_001,
        "touchpoint_id": 2_000_000_002,
        "insight_id": 2_000_000_003,
        "opportunity_id": 2_000_000_004,
    }

    def __init__(self, slug: str, journey_id: int) -> None:
        journey_args = {"slug": slug, "journey_id": journey_id}

        def template(name: str, **kwargs) -> str:
            url = reverse(name, kwargs=kwargs)
            for param, value in self.PLACEHOLDERS.items():
                url = url.replace(str(value), "{" + param.removesuffix("_id") + "}")
            return url

        ids = self.PLACEHOLDERS
        self.step = {
            key: template(name, **journey_args, step_id=ids["step_id"]) for key, name in self.STEP.items()
        }
        self.touchpoint = {
            key: template(name, **journey_args, step_id=ids["step_id"], touchpoint_id=ids["touchpoint_id"])
            for key, name in self.TOUCHPOINT.items()
        }
        self.pin = {
            key: template(name, **journey_args, step_id=ids["step_id"], insight_id=ids["insight_id"])
            for key, name in self.PIN.items()
        }
        self.insight = template("journeys:insight", slug=slug, insight_id=ids["insight_id"])
        self.thread = template("collaboration:thread", slug=slug, step_id=ids["step_id"])
        self.opportunity = template("opportunities:detail", slug=slug, opportunity_id=ids["opportunity_id"])

    def attach(self, step: Step) -> None:
        """Set `links` on the step, its touchpoints and pinned insights, `link` on its opportunities."""
        step.links = {key: url.format(step=step.pk) for key, url in self.step.items()}
        step.links["thread"] = self.thread.format(step=step.pk)
        for touchpoint in getattr(step, "touchpoint_list", ()):
            touchpoint.links = {
                key: url.format(step=step.pk, touchpoint=touchpoint.pk)
                for key, url in self.touchpoint.items()
            }
        for insight in getattr(step, "pinned", ()):
            insight.links = {
                key: url.format(step=step.pk, insight=insight.pk) for key, url in self.pin.items()
            }
            insight.links["detail"] = self.insight.format(insight=insight.pk)
        for opportunity in getattr(step, "opps", ()):
            opportunity.link = self.opportunity.format(opportunity=opportunity.pk)
