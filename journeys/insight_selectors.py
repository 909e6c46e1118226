"""Reads of the insight repository: the filtered and sorted list, what a row and the detail page show,
the filter and picker options, and the names the CSV import resolves. A fixed number of queries each,
whatever the number of insights, pins and opportunities."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from atlas.models import Activity, Tag, TagKind, Workspace
from atlas.tenancy import get_scoped, scoped
from journeys.insight_import import Lookups, build_lookups
from journeys.models import Insight, Journey, Persona, Step
from opportunities.models import Opportunity

PAGE_SIZE = 50

# Sort key → (label, ordering).
SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "newest": ("Newest first", ("-created_at", "-id")),
    "oldest": ("Oldest first", ("created_at", "id")),
    "severity": ("Most severe first", ("-severity", "-reach", "-id")),
    "reach": ("Widest reach first", ("-reach", "-severity", "-id")),
    "title": ("Title A–Z", ("title", "id")),
}
DEFAULT_SORT = "newest"
NOT_PINNED = "none"  # the journey filter's value for "pinned to no step"


def tag_descendants(tags: Iterable[tuple[int, int | None]], root: int) -> set[int]:
    """The tag and every tag below it (children, grandchildren…), from (id, parent id) pairs."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in tags:
        children.setdefault(parent, []).append(pk)
    found, todo = set(), [root]
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, ()))
    return found


def search_filter(words: str) -> Q:
    """Every word in the title, the description or the source reference (any case)."""
    query = Q()
    for word in words.split():
        query &= (
            Q(title__icontains=word) | Q(description__icontains=word) | Q(source_reference__icontains=word)
        )
    return query


@dataclass
class TagOption:
    pk: int
    name: str
    kind_label: str
    depth: int

    @property
    def indented(self) -> str:
        return "\u2003" * self.depth + ("↳ " if self.depth else "") + self.name


@dataclass
class FilterOptions:
    personas: list[Persona]
    journeys: list[Journey]
    tags: list[TagOption]
    # (id, parent id) of every tag of the workspace, for the hierarchical tag filter.
    tag_tree: list[tuple[int, int | None]] = field(default_factory=list)


def tag_options(workspace: Workspace) -> tuple[list[TagOption], list[tuple[int, int | None]]]:
    """The workspace's tags as a tree, each kind in turn, children indented under their parent."""
    tags = list(
        scoped(workspace, Tag).order_by("kind", "name").values_list("pk", "name", "kind", "parent_id")
    )
    labels = dict(TagKind.choices)
    by_parent: dict[int | None, list[tuple]] = {}
    known = {row[0] for row in tags}
    for row in tags:
        parent = row[3] if row[3] in known else None
        by_parent.setdefault(parent, []).append(row)
    options: list[TagOption] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for pk, name, kind, _ in by_parent.get(parent, ()):
            if pk in seen:  # a cycle would be a data error; never loop on it
                continue
            seen.add(pk)
            options.append(TagOption(pk=pk, name=name, kind_label=labels.get(kind, kind), depth=depth))
            walk(pk, depth + 1)

    walk(None, 0)
    order = {kind: index for index, kind in enumerate(TagKind.values)}
    options.sort(key=lambda option: order.get(_kind_code(option.kind_label), 99))  # stable: keeps the tree
    return options, [(pk, parent) for pk, _, _, parent in tags]


def _kind_code(label: str) -> str:
    return {lbl: code for code, lbl in TagKind.choices}.get(label, label)


def filter_options(workspace: Workspace) -> FilterOptions:
    """What the filter form offers: three queries."""
    tags, tree = tag_options(workspace)
    return FilterOptions(
        personas=list(scoped(workspace, Persona).only("id", "name").order_by("name")),
        journeys=journey_choices(workspace),
        tags=tags,
        tag_tree=tree,
    )


def journey_choices(workspace: Workspace) -> list[Journey]:
    """The workspace's journeys grouped by macro journey (regroup by `macro_journey`): the first level of
    a journey › step picker, and the list's journey filter. One query."""
    return list(
        scoped(workspace, Journey)
        .select_related("macro_journey")
        .only("id", "name", "kind", "macro_journey__id", "macro_journey__name")
        .order_by("macro_journey__name", "macro_journey_id", "kind", "name")
    )


def steps_of_journey(workspace: Workspace, journey_id: int | str | None) -> list[Step]:
    """One journey's steps in map order (none for an unknown or foreign journey): the second level of a
    journey › step picker. One query, none without a journey."""
    if journey_id in (None, "") or not str(journey_id).isdigit():
        return []
    return list(
        scoped(workspace, Step)
        .filter(journey_id=int(journey_id))
        .select_related("journey")
        .only("id", "name", "position", "journey__id", "journey__name", "journey__kind")
        .order_by("position", "id")
    )


@dataclass
class StepPicker:
    """The insight form's "pinned to steps" field: the chosen steps (with their journeys), the journeys to
    pick from, and the steps of the journey being browsed that are not chosen yet."""

    chosen: list[Step]
    journeys: list[Journey]
    journey_id: int | None
    journey_steps: list[Step]

    @property
    def journey(self) -> Journey | None:
        return next((journey for journey in self.journeys if journey.pk == self.journey_id), None)


def _ids(values: Iterable) -> list[int]:
    return list(dict.fromkeys(int(v) for v in values if str(v).isdigit()))


def step_picker(
    workspace: Workspace, chosen_ids: Iterable, journey_id: int | str | None = None
) -> StepPicker:
    """The picker for `chosen_ids` (ids of another workspace are dropped), browsing `journey_id`, else the
    journey of the first chosen step. Three queries, whatever the size of the workspace."""
    chosen = list(
        scoped(workspace, Step)
        .filter(pk__in=_ids(chosen_ids))
        .select_related("journey")
        .only("id", "name", "position", "journey__id", "journey__name", "journey__kind")
        .order_by("journey__name", "journey_id", "position")
    )
    journeys = journey_choices(workspace)
    known = {journey.pk for journey in journeys}
    browsing = int(journey_id) if str(journey_id or "").isdigit() and int(journey_id) in known else None
    if browsing is None and chosen:
        browsing = chosen[0].journey_id
    taken = {step.pk for step in chosen}
    steps = [step for step in steps_of_journey(workspace, browsing) if step.pk not in taken]
    return StepPicker(chosen=chosen, journeys=journeys, journey_id=browsing, journey_steps=steps)


@dataclass
class InsightQuery:
    """What the visitor asked for: the valid filters (an invalid value is ignored) and the sort."""

    selected: dict[str, Any]
    sort: str = DEFAULT_SORT

    @property
    def is_filtered(self) -> bool:
        return bool(self.selected)

    @property
    def sort_label(self) -> str:
        return SORTS[self.sort][0]


def insight_query(cleaned: dict[str, Any]) -> InsightQuery:
    selected = {
        name: value for name, value in cleaned.items() if name != "sort" and value not in (None, "", [])
    }
    sort = cleaned.get("sort") if cleaned.get("sort") in SORTS else DEFAULT_SORT
    return InsightQuery(selected=selected, sort=sort)


def filtered_insights(
    workspace: Workspace, query: InsightQuery, tag_tree: Iterable[tuple[int, int | None]]
) -> QuerySet:
    """The workspace's insights matching the query, in its order. Many-to-many filters use
    `pk IN (subquery)`, so an insight pinned to several steps of a journey is listed once."""
    selected = query.selected
    queryset = scoped(workspace, Insight)
    for name in ("kind", "source", "status"):
        if name in selected:
            queryset = queryset.filter(**{name: selected[name]})
    if "severity" in selected:
        queryset = queryset.filter(severity__gte=selected["severity"])
    if "persona" in selected:
        links = Insight.personas.through.objects.filter(persona_id=selected["persona"])
        queryset = queryset.filter(pk__in=links.values("insight_id"))
    if "journey" in selected:
        if selected["journey"] == NOT_PINNED:
            queryset = queryset.exclude(pk__in=Insight.steps.through.objects.values("insight_id"))
        else:
            links = Insight.steps.through.objects.filter(step__journey_id=selected["journey"])
            queryset = queryset.filter(pk__in=links.values("insight_id"))
    if "tag" in selected:
        tags = tag_descendants(tag_tree, selected["tag"])
        links = Insight.tags.through.objects.filter(tag_id__in=tags)
        queryset = queryset.filter(pk__in=links.values("insight_id"))
    if "q" in selected:
        queryset = queryset.filter(search_filter(selected["q"]))
    return queryset.order_by(*SORTS[query.sort][1])


def opportunity_counts(insight_ids: list[int]) -> dict[int, int]:
    """How many opportunities use each of these insights as evidence: one query for a page of rows.
    (A correlated subquery in the list's SELECT would be evaluated for every row an OFFSET skips.)"""
    if not insight_ids:
        return {}
    links = Opportunity.insights.through.objects.filter(insight_id__in=insight_ids)
    return dict(links.order_by().values("insight_id").annotate(n=Count("*")).values_list("insight_id", "n"))


def pinned_steps() -> Prefetch:
    return Prefetch(
        "steps",
        queryset=Step.objects.select_related("journey")
        .only("id", "name", "position", "journey_id", "journey__id", "journey__name", "journey__kind")
        .order_by("journey__name", "journey_id", "position"),
    )


def with_row_details(queryset: QuerySet) -> QuerySet:
    """What a list row shows: personas, tags, pinned steps with their journeys (three prefetch queries);
    `decorate_rows` adds the number of opportunities using each."""
    return queryset.prefetch_related(
        Prefetch("personas", queryset=Persona.objects.only("id", "name").order_by("name")),
        Prefetch("tags", queryset=Tag.objects.only("id", "name", "kind").order_by("kind", "name")),
        pinned_steps(),
    )


def journeys_of(insight: Insight) -> list[Journey]:
    """The journeys of the insight's prefetched steps, each once, in step order."""
    seen: dict[int, Journey] = {}
    for step in insight.steps.all():
        seen.setdefault(step.journey_id, step.journey)
    return list(seen.values())


def decorate_rows(insights: Iterable[Insight]) -> list[Insight]:
    """A page of rows with `pinned_journeys`, `pinned_count` and `opportunity_count` (one more query)."""
    rows = list(insights)
    counts = opportunity_counts([insight.pk for insight in rows])
    for insight in rows:
        insight.opportunity_count = counts.get(insight.pk, 0)
        insight.pinned_journeys = journeys_of(insight)
        insight.pinned_count = len(insight.steps.all())
    return rows


def insight_detail(workspace: Workspace, insight_id: int) -> Insight:
    """An insight with its author, personas and tags, or 404."""
    return get_scoped(
        workspace,
        Insight.objects.select_related("created_by__user").prefetch_related(
            Prefetch("personas", queryset=Persona.objects.order_by("name")),
            Prefetch("tags", queryset=Tag.objects.order_by("kind", "name")),
        ),
        pk=insight_id,
    )


def pinned_steps_of(insight: Insight) -> list[Step]:
    """The steps the insight is pinned to, with journey and macro journey, in map order: one query."""
    return list(
        Step.objects.filter(insights=insight, workspace_id=insight.workspace_id)
        .select_related("journey__macro_journey", "phase")
        .order_by("journey__macro_journey__name", "journey__name", "journey_id", "position")
    )


def opportunities_of(insight: Insight) -> list[Opportunity]:
    """The opportunities the insight is evidence for, ranked ones first: one query."""
    return list(
        Opportunity.objects.filter(insights=insight, workspace_id=insight.workspace_id)
        .select_related("owner__user")
        .order_by(Coalesce("rank", 2_147_483_647), "title", "id")
    )


FIELD_LABELS = {
    "title": "title",
    "description": "description",
    "kind": "kind",
    "source": "source method",
    "source_reference": "source reference",
    "status": "status",
    "severity": "severity",
    "reach": "reach",
    "personas": "personas",
    "steps": "steps",
    "tags": "tags",
}


def describe(activity: Activity) -> str:
    """What an activity row of an insight says, after the actor's name: "marked it validated"."""
    changes = activity.changes or {}
    if activity.verb == "created":
        return "added it"
    if activity.verb == "imported":
        return "imported it from a CSV file"
    if activity.verb in ("pinned", "unpinned"):
        where = "to" if activity.verb == "pinned" else "from"
        return f"{activity.verb} it {where} “{changes.get('step_name', 'a step')}”"
    if activity.verb == "tagged":
        return f"tagged it “{changes.get('tag_name', '')}”"
    if activity.verb == "updated":
        if set(changes) == {"status"} and isinstance(changes["status"], list):
            return f"marked it {Insight.Status(changes['status'][1]).label.lower()}"
        names = [FIELD_LABELS.get(name, name) for name in changes]
        return f"changed the {', '.join(names)}" if names else "edited it"
    return activity.verb


def history_of(insight: Insight, limit: int = 10) -> list[tuple[Activity, str]]:
    """The insight's latest changes, each with its description: one query."""
    rows = (
        Activity.objects.filter(
            workspace_id=insight.workspace_id, target_type=Insight._meta.model_name, target_id=insight.pk
        )
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )
    return [(activity, describe(activity)) for activity in rows]


def import_lookups(workspace: Workspace, *, with_steps: bool = True) -> Lookups:
    """The names a CSV import resolves: personas, tags, and (when the file pins) journeys and steps."""
    kind_labels = dict(TagKind.choices)
    tags = [
        (pk, name, kind_labels.get(kind, kind))
        for pk, name, kind in scoped(workspace, Tag).values_list("pk", "name", "kind")
    ]
    return build_lookups(
        personas=scoped(workspace, Persona).values_list("pk", "name"),
        tags=tags,
        tag_kinds=TagKind.choices,
        journeys=scoped(workspace, Journey).values_list("pk", "name") if with_steps else (),
        steps=scoped(workspace, Step).values_list("pk", "name", "journey_id") if with_steps else (),
    )
