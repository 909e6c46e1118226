"""Reads of the opportunity backlog, shared by the backlog page, its exports and the matrix (and later
the API): the filtered and sorted queryset, what one row shows, the filter options, and the score
breakdown made ready to display.

The score fields are written only by the recompute; nothing here computes a score."""

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import (
    Count,
    Exists,
    Expression,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from atlas.models import Membership, Tag, Workspace
from atlas.tenancy import scoped
from journeys.models import Journey, LifecycleStage, MacroJourney, Persona, Step
from okrs.models import KeyResult, Objective
from opportunities import charts, recompute
from opportunities.filters import BacklogFilter
from opportunities.models import (
    ComputedScore,
    Criterion,
    CriterionValue,
    Opportunity,
    Perspective,
    RecomputeRun,
    RecomputeState,
    ScoreSnapshot,
)
from opportunities.services import RECOMPUTE_QUEUED_STALE_SECONDS

log = logging.getLogger(__name__)

PAGE_SIZE = 50

# The scores the backlog shows and sorts by, in the order of the sort menu. Customer value, business
# value and value are nodes of the scoring model, read from the `scores` JSON by key.
SORTS: dict[str, str] = {
    "priority": "Priority",
    "customer_value": "Customer value",
    "business_value": "Business value",
    "value": "Value",
    "effort": "Effort",
    "evidence": "Evidence",
    "movement": "Rank movement",
}
DEFAULT_SORT = "priority"
SCORE_NODE_SORTS = ("customer_value", "business_value", "value")

FILTER_NAMES = (
    "search",
    "stage",
    "macro_journey",
    "journey",
    "persona",
    "status",
    "tag",
    "owner",
    "objective",
    "key_result",
)


def score_value(key: str) -> Expression:
    """The value of a computed score from the `scores` JSON, as a number (NULL when absent)."""
    return Cast(KeyTextTransform(key, "scores"), FloatField())


def effort_value() -> Subquery:
    """The opportunity's value on the first criterion of the effort perspective (NULL when unscored)."""
    values = CriterionValue.objects.filter(
        opportunity=OuterRef("pk"), criterion__perspective=Perspective.EFFORT
    ).order_by("criterion__position", "criterion_id")
    return Subquery(values.values("value")[:1], output_field=FloatField())


def insight_count() -> Coalesce:
    """Linked insights, counted in a subquery so that it sorts and never multiplies other joins."""
    links = Opportunity.insights.through.objects.filter(opportunity_id=OuterRef("pk"))
    counted = links.order_by().values("opportunity_id").annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _sort_expression(sort: str) -> Expression:
    if sort in SCORE_NODE_SORTS:
        return score_value(sort)
    if sort == "effort":
        return effort_value()
    if sort == "evidence":
        return insight_count()
    if sort == "movement":
        return F("previous_rank") - F("rank")
    return F("priority")


@dataclass
class BacklogQuery:
    """What the visitor asked for: filters (validated by the FilterSet; an invalid value is ignored),
    the sort and its direction."""

    filterset: BacklogFilter
    sort: str = DEFAULT_SORT
    descending: bool = True

    @property
    def selected(self) -> dict[str, Any]:
        """Valid, non-empty filter values by name, for the form's selected options."""
        self.filterset.is_valid()
        cleaned = getattr(self.filterset.form, "cleaned_data", {})
        return {name: cleaned[name] for name in FILTER_NAMES if cleaned.get(name) not in (None, "")}

    @property
    def is_filtered(self) -> bool:
        return bool(self.selected)

    def opportunities(self) -> QuerySet:
        """The open opportunities that match, in the asked order (unscored last, ties by id)."""
        queryset = self.filterset.qs
        if self.sort == DEFAULT_SORT:
            expression = F("priority")
        else:
            queryset = queryset.annotate(sort_value=_sort_expression(self.sort))
            expression = F("sort_value")
        order = expression.desc(nulls_last=True) if self.descending else expression.asc(nulls_last=True)
        return queryset.order_by(order, "id")

    def ids(self):
        """The ids of `opportunities()`, for a Paginator: a queryset, or for the default sort a
        `ScoredFirst` that follows the backlog index."""
        if self.sort == DEFAULT_SORT:
            return ScoredFirst(self.filterset.qs.order_by(), descending=self.descending)
        return self.opportunities().values_list("pk", flat=True)


class ScoredFirst:
    """The ids of the scored opportunities by priority, then of the unscored ones by id; sliceable and
    countable like a queryset, for Paginator.

    PostgreSQL cannot follow the (workspace, -priority, id) index for ORDER BY priority DESC NULLS
    LAST: the index keeps NULLs first, so that one query sorts every open opportunity of the workspace
    (EXPLAIN over 300,000 rows: a parallel seq scan and a sort, against an index scan). The two
    segments, `priority IS NOT NULL ORDER BY priority DESC, id` and `priority IS NULL ORDER BY id`,
    each follow the index; one COUNT … FILTER tells which segment a page falls in."""

    def __init__(self, queryset: QuerySet, *, descending: bool = True):
        self.queryset = queryset
        self.scored = queryset.filter(priority__isnull=False).order_by(
            "-priority" if descending else "priority", "id"
        )
        self.unscored = queryset.filter(priority__isnull=True).order_by("id")
        self._counts: tuple[int, int] | None = None

    def _segment_counts(self) -> tuple[int, int]:
        if self._counts is None:
            totals = self.queryset.aggregate(
                scored=Count("pk", filter=Q(priority__isnull=False)), total=Count("pk")
            )
            self._counts = (totals["scored"], totals["total"] - totals["scored"])
        return self._counts

    def count(self) -> int:
        return sum(self._segment_counts())

    def __getitem__(self, index: slice) -> list[int]:
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("ScoredFirst only takes slices without a step.")
        n_scored, n_unscored = self._segment_counts()
        start = index.start or 0
        stop = n_scored + n_unscored if index.stop is None else index.stop
        ids: list[int] = []
        if start < n_scored:
            ids += self.scored.values_list("pk", flat=True)[start : min(stop, n_scored)]
        if stop > n_scored and n_unscored:
            ids += self.unscored.values_list("pk", flat=True)[max(start - n_scored, 0) : stop - n_scored]
        return ids


def backlog_query(*, workspace: Workspace, data: Mapping[str, Any]) -> BacklogQuery:
    """The backlog's open opportunities filtered and sorted by the request's GET parameters: `sort` (a
    key of SORTS), `dir` (asc|desc, default desc) and the BacklogFilter's filters."""
    filterset = BacklogFilter(data or None, queryset=scoped(workspace, Opportunity).open())
    sort = data.get("sort") if data.get("sort") in SORTS else DEFAULT_SORT
    return BacklogQuery(filterset=filterset, sort=sort, descending=data.get("dir") != "asc")


def with_row_details(queryset: QuerySet) -> QuerySet:
    """What a backlog row shows: owner, evidence count, effort and the journeys touched (through the
    steps, one prefetch query)."""
    steps = (
        Step.objects.select_related("journey")
        .only("id", "journey_id", "position", "journey__id", "journey__name", "journey__kind")
        .order_by("journey__name", "journey_id", "position")
    )
    return (
        queryset.select_related("owner__user")
        .annotate(insight_count=insight_count(), effort=effort_value())
        .prefetch_related(Prefetch("steps", queryset=steps, to_attr="touched_steps"))
    )


def with_export_details(queryset: QuerySet) -> QuerySet:
    """A row's details plus its tags and every criterion value, for the exports."""
    return with_row_details(queryset).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("kind", "name")),
        Prefetch(
            "criterion_values",
            queryset=CriterionValue.objects.only("opportunity_id", "criterion_id", "value"),
        ),
    )


def number_text(value: float | None) -> str:
    """A score for people: 3 significant decimals below 10, fewer above, "—" when there is none."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}".removesuffix(".0")
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def fixed_text(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def decorate(opportunity: Opportunity) -> Opportunity:
    """Attach what templates and exports read: the score values, the journeys touched, and whether the
    stored score is older than the opportunity (a recompute is due)."""
    scores = opportunity.scores if isinstance(opportunity.scores, dict) else {}
    opportunity.customer_value = _number(scores.get("customer_value"))
    opportunity.business_value = _number(scores.get("business_value"))
    opportunity.value_score = _number(scores.get("value"))
    journeys: dict[int, Journey] = {}
    for step in getattr(opportunity, "touched_steps", ()):
        journeys.setdefault(step.journey_id, step.journey)
    opportunity.journeys_touched = list(journeys.values())
    opportunity.recomputing = is_recomputing(opportunity)
    movement = opportunity.rank_movement
    opportunity.movement_places = None if movement is None else abs(movement)
    # Fixed decimals, so that a column of scores lines up.
    opportunity.priority_text = fixed_text(opportunity.priority, 1)
    opportunity.previous_priority_text = fixed_text(opportunity.previous_priority, 1)
    opportunity.customer_value_text = fixed_text(opportunity.customer_value, 2)
    opportunity.business_value_text = fixed_text(opportunity.business_value, 2)
    opportunity.value_text = fixed_text(opportunity.value_score, 2)
    opportunity.effort_text = number_text(getattr(opportunity, "effort", None))
    return opportunity


def is_recomputing(opportunity: Opportunity) -> bool:
    """True while the stored score does not reflect the latest change (never scored, or changed since)."""
    return opportunity.scored_at is None or opportunity.updated_at > opportunity.scored_at


def backlog_rows(*, workspace: Workspace, ids: Iterable[int]) -> list[Opportunity]:
    """The opportunities with these ids (of this workspace), with their row details, in the given order.

    Pages are cut on ids first (a narrow, index-ordered query), and only the page's rows carry the
    per-row subqueries and prefetches, so a deep page costs no more than the first."""
    ids = list(ids)
    found = {o.pk: o for o in with_row_details(scoped(workspace, Opportunity).filter(pk__in=ids))}
    return [decorate(found[pk]) for pk in ids if pk in found]


def backlog_row(*, workspace: Workspace, opportunity_id: int) -> Opportunity | None:
    rows = backlog_rows(workspace=workspace, ids=[opportunity_id])
    return rows[0] if rows else None


def backlog_filter_options(workspace: Workspace) -> dict[str, Any]:
    """The choices of the filter form, each grouped the way it is shown (stages by lifecycle, macro
    journeys by stage, journeys by macro journey, key results by objective)."""
    return {
        "stages": scoped(workspace, LifecycleStage)
        .select_related("lifecycle")
        .order_by("lifecycle__position", "lifecycle_id", "position"),
        "macro_journeys": scoped(workspace, MacroJourney)
        .select_related("stage")
        .order_by("stage__lifecycle__position", "stage__lifecycle_id", "stage__position", "position"),
        "journeys": scoped(workspace, Journey)
        .select_related("macro_journey")
        .order_by("macro_journey__name", "macro_journey_id", "kind", "name"),
        "personas": scoped(workspace, Persona).order_by("name"),
        "tags": scoped(workspace, Tag).order_by("kind", "name"),
        "owners": scoped(workspace, Membership)
        .select_related("user")
        .order_by("user__full_name", "user__email"),
        "objectives": scoped(workspace, Objective)
        .select_related("cycle")
        .order_by("-cycle__start", "position", "id"),
        "key_results": scoped(workspace, KeyResult)
        .select_related("objective")
        .order_by("-objective__cycle__start", "objective__position", "objective_id", "position", "id"),
        "statuses": [
            (value, label)
            for value, label in Opportunity.Status.choices
            if value not in Opportunity.CLOSED_STATUSES
        ],
    }


def workspace_criteria(workspace: Workspace) -> list[Criterion]:
    """The criteria of the workspace's scoring model, in their order."""
    return list(scoped(workspace, Criterion).order_by("position", "id"))


def workspace_score_nodes(workspace: Workspace) -> list[ComputedScore]:
    return list(scoped(workspace, ComputedScore).order_by("position", "id"))


# --- The score breakdown ("Why this rank?") ------------------------------------------------------------

SOURCE_LABELS = {
    "criterion": "input",
    "evidence": "atlas",
    "node": "computed",
    "constant": "constant",
}
OPERATION_LABELS = dict(ComputedScore.Operation.choices)


@dataclass
class BreakdownInput:
    name: str
    source: str
    source_label: str
    ref: str
    raw: float | None
    normalised: float | None
    weight: float | None
    share: float | None
    contribution: float | None
    assumed: bool
    clamped: bool
    entered: float | None

    @property
    def share_percent(self) -> int | None:
        return None if self.share is None else round(100 * self.share)

    @property
    def share_width(self) -> int:
        return max(0, min(100, self.share_percent or 0))

    @property
    def raw_text(self) -> str:
        return number_text(self.raw)

    @property
    def normalised_text(self) -> str:
        return number_text(self.normalised)

    @property
    def weight_text(self) -> str:
        return number_text(self.weight)

    @property
    def contribution_text(self) -> str:
        return number_text(self.contribution)


@dataclass
class BreakdownNode:
    key: str
    name: str
    operation: str
    operation_label: str
    value: float | None
    inputs: list[BreakdownInput]
    is_priority: bool
    division_by_zero: bool

    @property
    def value_text(self) -> str:
        return number_text(self.value)


@dataclass
class Breakdown:
    nodes: list[BreakdownNode]
    priority_key: str
    assumed: list[str]
    clamped: list[str]

    def __bool__(self) -> bool:
        return bool(self.nodes)

    @property
    def assumed_names(self) -> list[str]:
        """Names of the criteria whose value was assumed (not scored yet), once each."""
        names = {i.name: None for node in self.nodes for i in node.inputs if i.assumed}
        return list(names) or self.assumed


def explanation_of(opportunity: Opportunity) -> dict:
    """The opportunity's score explanation in the engine's format ({"nodes": [...], ...}).

    The recompute stores a compact breakdown (what the model cannot recompute on its own, such as the
    evidence inputs), and `recompute.explain()` rebuilds the full explanation from it with the
    workspace's model (a few queries, whatever the size of the model). A breakdown stored in the full
    format is used as it is."""
    stored = opportunity.score_breakdown
    if not isinstance(stored, dict) or not stored:
        return {}
    if "nodes" in stored:
        return stored
    try:
        return recompute.explain(opportunity) or {}
    except ValueError:  # the model was made invalid since; the page still shows the scores
        log.warning("cannot explain opportunity %s: invalid scoring model", opportunity.pk, exc_info=True)
        return {}


def _text(value: Any, fallback: str = "") -> str:
    return value if isinstance(value, str) and value else fallback


def breakdown_for_display(breakdown: Any) -> Breakdown:
    """The stored `score_breakdown`, read defensively (any key may be missing or of the wrong type),
    with the nodes parents first: the priority, then what it is made of."""
    data = breakdown if isinstance(breakdown, dict) else {}
    raw_nodes = data.get("nodes") if isinstance(data.get("nodes"), list) else []
    priority_key = _text(data.get("priority_node")) or _text(data.get("priority"))
    if not priority_key and raw_nodes and isinstance(raw_nodes[-1], dict):
        priority_key = _text(raw_nodes[-1].get("key"))
    names = {
        _text(node.get("key")): _text(node.get("name"), _text(node.get("key")))
        for node in raw_nodes
        if isinstance(node, dict)
    }
    nodes = []
    for node in raw_nodes:
        if not isinstance(node, dict):
            continue
        key = _text(node.get("key"))
        inputs = []
        for item in node.get("inputs") if isinstance(node.get("inputs"), list) else []:
            if not isinstance(item, dict):
                continue
            source = _text(item.get("source"), "other")
            ref = _text(item.get("ref"))
            raw = _number(item.get("raw"))
            if source == "constant":
                name = "Constant"
            else:
                name = _text(item.get("name")) or names.get(ref) or ref or "—"
            inputs.append(
                BreakdownInput(
                    name=name,
                    source=source,
                    source_label=SOURCE_LABELS.get(source, source.title()),
                    ref=ref,
                    raw=raw,
                    normalised=_number(item.get("normalised")),
                    weight=_number(item.get("weight")),
                    share=_number(item.get("share")),
                    contribution=_number(item.get("contribution")),
                    assumed=item.get("assumed") is True,
                    clamped=item.get("clamped") is True,
                    entered=_number(item.get("entered")),
                )
            )
        operation = _text(node.get("operation"))
        nodes.append(
            BreakdownNode(
                key=key,
                name=_text(node.get("name"), key or "—"),
                operation=operation,
                operation_label=OPERATION_LABELS.get(operation, operation.replace("_", " ").capitalize()),
                value=_number(node.get("value")),
                inputs=inputs,
                is_priority=bool(key) and key == priority_key,
                division_by_zero=node.get("division_by_zero") is True,
            )
        )
    # Stored children first (evaluation order); shown from the priority down, breadth first, so each
    # score comes before what it is made of. Nodes the priority does not use come last.
    by_key = {node.key: node for node in nodes if node.key}
    ordered: list[BreakdownNode] = []
    queue = [priority_key]
    while queue:
        node = by_key.pop(queue.pop(0), None)
        if node is not None:
            ordered.append(node)
            queue += [i.ref for i in node.inputs if i.source == "node" and i.ref]
    nodes = ordered + [node for node in reversed(nodes) if node not in ordered]
    assumed = (
        [a for a in data.get("assumed", []) if isinstance(a, str)]
        if isinstance(data.get("assumed"), list)
        else []
    )
    clamped = (
        [c for c in data.get("clamped", []) if isinstance(c, str)]
        if isinstance(data.get("clamped"), list)
        else []
    )
    return Breakdown(nodes=nodes, priority_key=priority_key, assumed=assumed, clamped=clamped)


# --- Score history (the opportunity page) ----------------------------------------------------------------

HISTORY_PAGE_SIZE = 20
HISTORY_CHART_POINTS = 60  # the sparklines show the latest 60 snapshots (a snapshot is a night with a change)


@dataclass(frozen=True)
class HistoryEntry:
    """One nightly snapshot, with how it moved since the snapshot before it (None for the first)."""

    date: date
    priority: float | None
    rank: int | None
    priority_change: float | None
    rank_movement: int | None  # places up since the snapshot before (negative: down)

    @property
    def priority_text(self) -> str:
        return fixed_text(self.priority, 1)

    @property
    def priority_change_text(self) -> str:
        if self.priority_change is None:
            return ""
        return f"{self.priority_change:+.1f}".replace("-", "−")

    @property
    def movement_places(self) -> int | None:
        return None if self.rank_movement is None else abs(self.rank_movement)


@dataclass(frozen=True)
class ScoreHistory:
    entries: list[HistoryEntry]  # newest first, one page
    page: int
    has_older: bool
    priority_line: charts.Sparkline
    rank_line: charts.Sparkline
    charted: int  # snapshots in the sparklines

    def __bool__(self) -> bool:
        """Whether there is any snapshot (a page past the oldest one has no entries)."""
        return self.charted > 0


def _history_entries(rows: list[tuple[date, float | None, int | None]], count: int) -> list[HistoryEntry]:
    """The first `count` rows (newest first), each compared with the row after it (the older one)."""
    entries = []
    for index, (day, priority, rank) in enumerate(rows[:count]):
        older = rows[index + 1] if index + 1 < len(rows) else None
        entries.append(
            HistoryEntry(
                date=day,
                priority=priority,
                rank=rank,
                priority_change=(
                    priority - older[1] if older and priority is not None and older[1] is not None else None
                ),
                rank_movement=older[2] - rank
                if older and rank is not None and older[2] is not None
                else None,
            )
        )
    return entries


def score_history(*, opportunity: Opportunity, page: int = 1, today: date | None = None) -> ScoreHistory:
    """The opportunity's nightly score snapshots: a page of them newest first, each with its movement
    since the one before, and the sparklines of priority and rank over the latest HISTORY_CHART_POINTS.

    One query on the first page (the chart's snapshots hold it), two on the others."""
    snapshots = (
        ScoreSnapshot.objects.filter(workspace_id=opportunity.workspace_id, opportunity=opportunity)
        .order_by("-date")
        .values_list("date", "priority", "rank")
    )
    page = max(page, 1)
    start = (page - 1) * HISTORY_PAGE_SIZE
    # One row beyond what is shown: the movement of the page's oldest entry, and whether there are older.
    wanted = start + HISTORY_PAGE_SIZE + 1
    recent = list(snapshots[: max(HISTORY_CHART_POINTS, wanted if page == 1 else 0)])
    rows = recent[start:wanted] if page == 1 else list(snapshots[start:wanted])
    chart_rows = list(reversed(recent[:HISTORY_CHART_POINTS]))
    until = today or timezone.localdate()
    return ScoreHistory(
        entries=_history_entries(rows, HISTORY_PAGE_SIZE),
        page=page,
        has_older=len(rows) > HISTORY_PAGE_SIZE,
        priority_line=charts.step_sparkline(
            [(day, priority) for day, priority, _ in chart_rows], until=until, text=lambda v: fixed_text(v, 1)
        ),
        rank_line=charts.step_sparkline(
            [(day, rank) for day, _, rank in chart_rows],
            until=until,
            text=lambda v: f"#{v:.0f}",
            invert=True,
        ),
        charted=len(chart_rows),
    )


# --- Whether a recompute is under way (the pages' "Recomputing priorities…" indicator) ------------------


def recompute_in_progress(*, workspace_id: int) -> bool:
    """Whether the workspace's priorities are being recomputed: a task is queued (a change or a request
    asked for one) or a run is under way. One query.

    Changes not covered by a run whose task is no longer queued (the last run failed) are not "in
    progress": nothing is going to cover them until the next change, so the indicator would wait forever."""
    # A queued task or a running run older than this was lost with its worker; the pages do not wait for it.
    fresh = timezone.now() - timedelta(seconds=RECOMPUTE_QUEUED_STALE_SECONDS)
    running = RecomputeRun.objects.filter(
        workspace_id=workspace_id, status=RecomputeRun.Status.RUNNING, started_at__gte=fresh
    )
    queued = RecomputeState.objects.filter(workspace_id=workspace_id, queued=True, queued_at__gte=fresh)
    found = Workspace.objects.filter(pk=workspace_id).values_list(Exists(queued), Exists(running)).first()
    return bool(found and any(found))
