"""Reads of the atlas overview: one lifecycle's stages, macro journeys and journeys with their health.

The number of queries does not depend on the size of the atlas: counts are correlated subqueries on the
journeys, KPIs and their latest measurements are two queries for the whole lifecycle."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from atlas.models import Workspace
from atlas.tenancy import scoped
from journeys.models import Journey, Lifecycle, LifecycleStage, MacroJourney, Step
from metrics.calculations import kpi_value
from metrics.models import DataPoint, Kpi
from opportunities.models import Opportunity


def _count(queryset: QuerySet, group_by: str):
    """COUNT(DISTINCT pk) of a correlated queryset, as a subquery: several counts on one row do not
    multiply each other's joins."""
    counted = queryset.order_by().values(group_by).annotate(n=Count("pk", distinct=True)).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


def journeys_with_health(workspace: Workspace) -> QuerySet:
    """Journeys with their health figures: steps, steps with insights, open opportunities."""
    journey = OuterRef("pk")
    return (
        scoped(workspace, Journey)
        .select_related("owner__user", "primary_persona")
        .annotate(
            step_count=_count(Step.objects.filter(journey=journey), "journey"),
            steps_with_insights=_count(
                Step.objects.filter(journey=journey, insights__isnull=False), "journey"
            ),
            open_opportunities=_count(
                Opportunity.objects.open().filter(steps__journey=journey), "steps__journey"
            ),
        )
        .order_by("kind", "name")
    )


def kpi_off_target(value: float | None, target: float | None, comparison: str) -> bool | None:
    """Whether a KPI's latest value misses its target; None when there is no target or no value."""
    if value is None or target is None:
        return None
    return value < target if comparison == Kpi.Comparison.AT_LEAST else value > target


@dataclass
class KpiHealth:
    """The KPIs with a target on something (a journey with its steps and touchpoints, a macro journey)."""

    total: int = 0
    off_target: int = 0
    unmeasured: int = 0

    @property
    def on_target(self) -> int:
        return self.total - self.off_target - self.unmeasured

    def add(self, off: bool | None) -> None:
        self.total += 1
        if off is None:
            self.unmeasured += 1
        elif off:
            self.off_target += 1


def _kpi_health(
    workspace: Workspace, lifecycle: Lifecycle
) -> tuple[dict[int, KpiHealth], dict[int, KpiHealth]]:
    """({journey id: health}, {macro journey id: health}) for the lifecycle's KPIs with a target: those
    on a journey, on one of its steps or touchpoints, or on a macro journey. Two queries."""
    in_lifecycle = "macro_journey__stage__lifecycle"
    kpis = scoped(workspace, Kpi).filter(
        Q(**{f"journey__{in_lifecycle}": lifecycle})
        | Q(**{f"step__journey__{in_lifecycle}": lifecycle})
        | Q(**{f"touchpoint__step__journey__{in_lifecycle}": lifecycle})
        | Q(macro_journey__stage__lifecycle=lifecycle),
        target__isnull=False,
    )
    rows = list(
        kpis.values_list(
            "pk",
            "kpi_type",
            "aggregation",
            "target",
            "comparison",
            "journey_id",
            "step__journey_id",
            "touchpoint__step__journey_id",
            "macro_journey_id",
        )
    )
    by_journey: dict[int, KpiHealth] = defaultdict(KpiHealth)
    by_macro: dict[int, KpiHealth] = defaultdict(KpiHealth)
    if not rows:
        return by_journey, by_macro
    latest = scoped(workspace, DataPoint).filter(kpi__in=kpis.values("pk")).latest_sums()
    for pk, kpi_type, aggregation, target, comparison, journey_id, step_journey, tp_journey, macro_id in rows:
        sums = latest.get(pk)
        value = kpi_value(kpi_type, sums, aggregation) if sums else None
        off = kpi_off_target(value, target, comparison)
        owner_journey = journey_id or step_journey or tp_journey
        if owner_journey:
            by_journey[owner_journey].add(off)
        elif macro_id:
            by_macro[macro_id].add(off)
    return by_journey, by_macro


def _journeys_in_order(journeys: list[Journey]) -> list[Journey]:
    """Current journeys by name, each followed by the to-be journeys that improve it; to-be journeys
    whose current journey lives elsewhere come last."""
    to_be: dict[int | None, list[Journey]] = defaultdict(list)
    current = []
    for journey in journeys:
        if journey.is_to_be:
            to_be[journey.current_journey_id].append(journey)
        else:
            current.append(journey)
    ordered = []
    for journey in sorted(current, key=lambda j: (j.name.lower(), j.pk)):
        ordered.append(journey)
        for improved in sorted(to_be.pop(journey.pk, []), key=lambda j: (j.name.lower(), j.pk)):
            improved.improves_sibling = True
            ordered.append(improved)
    for rest in to_be.values():
        ordered.extend(sorted(rest, key=lambda j: (j.name.lower(), j.pk)))
    return ordered


@dataclass
class Summary:
    stages: int = 0
    macro_journeys: int = 0
    journeys: int = 0
    to_be: int = 0
    steps: int = 0
    steps_with_insights: int = 0
    open_opportunities: int = 0
    kpis: KpiHealth = field(default_factory=KpiHealth)

    @property
    def insight_coverage(self) -> int | None:
        return round(100 * self.steps_with_insights / self.steps) if self.steps else None


@dataclass
class Board:
    lifecycles: list[Lifecycle]
    lifecycle: Lifecycle | None
    stages: list[LifecycleStage]
    summary: Summary


def atlas_board(workspace: Workspace, lifecycle_id: str | int | None) -> Board:
    """The lifecycle asked for (else the first one) with its stages in order; each stage has `macros`,
    each macro journey `journey_rows` (ordered, with `kpi_health`) and `kpi_health`."""
    lifecycles = list(scoped(workspace, Lifecycle))
    if not lifecycles:
        return Board(lifecycles=[], lifecycle=None, stages=[], summary=Summary())
    lifecycle = next((lc for lc in lifecycles if str(lc.pk) == str(lifecycle_id)), lifecycles[0])
    stages = list(
        scoped(workspace, LifecycleStage)
        .filter(lifecycle=lifecycle)
        .prefetch_related(
            Prefetch(
                "macro_journeys",
                queryset=scoped(workspace, MacroJourney).select_related("owner__user").order_by("position"),
                to_attr="macros",
            ),
            Prefetch(
                "macros__journeys",
                queryset=journeys_with_health(workspace).select_related("current_journey"),
                to_attr="journey_list",
            ),
        )
        .order_by("position")
    )
    journey_health, macro_health = _kpi_health(workspace, lifecycle)
    summary = Summary(stages=len(stages))
    for stage in stages:
        summary.macro_journeys += len(stage.macros)
        for macro in stage.macros:
            macro.kpi_health = macro_health.get(macro.pk, KpiHealth())
            macro.journey_rows = _journeys_in_order(macro.journey_list)
            for journey in macro.journey_rows:
                journey.kpi_health = journey_health.get(journey.pk, KpiHealth())
                summary.journeys += 1
                summary.to_be += journey.is_to_be
                summary.steps += journey.step_count
                summary.steps_with_insights += journey.steps_with_insights
    for health in (*journey_health.values(), *macro_health.values()):
        summary.kpis.total += health.total
        summary.kpis.off_target += health.off_target
        summary.kpis.unmeasured += health.unmeasured
    summary.open_opportunities = (
        Opportunity.objects.open()
        .filter(workspace=workspace, steps__journey__macro_journey__stage__lifecycle=lifecycle)
        .values("pk")
        .distinct()
        .count()
    )
    return Board(lifecycles=lifecycles, lifecycle=lifecycle, stages=stages, summary=summary)


def stage_choices(workspace: Workspace) -> list[tuple[Lifecycle, list[LifecycleStage]]]:
    """Every stage of the workspace, grouped by lifecycle in order (the "move to stage" choices)."""
    groups: dict[int, tuple[Lifecycle, list[LifecycleStage]]] = {}
    stages = scoped(workspace, LifecycleStage).select_related("lifecycle")
    for stage in stages.order_by("lifecycle__position", "lifecycle_id", "position"):
        groups.setdefault(stage.lifecycle_id, (stage.lifecycle, []))[1].append(stage)
    return list(groups.values())
