"""Recompute every open opportunity's priority in a workspace (DESIGN.md "the priority score").

`recompute_workspace()` loads everything with a fixed number of set-based queries (whatever the number
of opportunities), evaluates the workspace's scoring model over columns (opportunities/columns.py: the
pure engine's compiled program run with NumPy, bit for bit what `scoring.Evaluator` gives) and writes
scores, ranks and the compact breakdown in bulk. The stored breakdown holds the inputs that were used
(criterion values and evidence inputs); `explain()` turns them back into the full explanation with the
model, so 100,000 rows do not each carry a copy of the model's structure.

On PostgreSQL (`bench/recompute.py`, 85,000 open opportunities): one aggregate query computes every
opportunity's inputs, evidence included, and streams them as binary COPY straight into NumPy arrays; the
changed rows go back through a binary COPY into a temporary table and one UPDATE … FROM it. No Python
object per opportunity on that path, except the JSON of rows whose scores changed.

`load_inputs()` and `score()` are the reference: one dict per opportunity, evaluated one at a time by
the engine; the scoring preview and the tests use them, and SQLite recomputes from them.

The debounced, idempotent, crash-safe run around it (locks, run records, follow-ups) is in
`opportunities/services.py`: `priorities_request_recompute()` and `priorities_recompute()`."""

import functools
import json
import math
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import psycopg
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from metrics.calculations import kpi_value
from metrics.models import DataPoint, Kpi
from okrs.models import KeyResult, Objective, OkrCycle
from opportunities import columns, scoring
from opportunities.models import (
    ComputedScore,
    ComputedScoreInput,
    Criterion,
    CriterionValue,
    Opportunity,
    ScoringModel,
)


def spec_from_rows(
    criteria: list[Criterion], nodes: list[ComputedScore], inputs: list[ComputedScoreInput], priority_key: str
) -> scoring.ModelSpec:
    inputs_by_node: dict[int, list[ComputedScoreInput]] = defaultdict(list)
    for operand in inputs:
        inputs_by_node[operand.node_id].append(operand)
    criterion_keys = {criterion.pk: criterion.key for criterion in criteria}
    node_keys = {node.pk: node.key for node in nodes}

    def operand_spec(operand: ComputedScoreInput) -> scoring.InputSpec:
        ref = {
            "criterion": criterion_keys.get(operand.criterion_id),
            "evidence": operand.evidence,
            "node": node_keys.get(operand.child_id),
            "constant": None,
        }[operand.source]
        return scoring.InputSpec(
            source=operand.source,
            ref=ref,
            constant=operand.constant,
            weight=operand.weight,
            normalise=operand.normalise,
        )

    return scoring.ModelSpec(
        criteria=tuple(
            scoring.CriterionSpec(
                key=c.key,
                name=c.name,
                perspective=c.perspective,
                min_value=c.min_value,
                max_value=c.max_value,
                step=c.step,
                unit=c.unit,
                weight=c.weight,
                default_value=c.default_value,
                allowed_values=tuple(c.allowed_values) or None,
            )
            for c in criteria
        ),
        nodes=tuple(
            scoring.NodeSpec(
                key=node.key,
                name=node.name,
                operation=node.operation,
                inputs=tuple(
                    operand_spec(o) for o in sorted(inputs_by_node[node.pk], key=lambda o: (o.position, o.pk))
                ),
            )
            for node in nodes
        ),
        priority=priority_key,
    )


def load_spec(workspace_id: int) -> tuple[ScoringModel, scoring.ModelSpec] | None:
    """The workspace's scoring model as a plain spec (four queries), or None if it has none."""
    model = ScoringModel.objects.filter(workspace_id=workspace_id).select_related("priority_node").first()
    if model is None or model.priority_node is None:
        return None
    criteria = list(Criterion.objects.filter(scoring_model=model).order_by("position", "pk"))
    nodes = list(ComputedScore.objects.filter(scoring_model=model).order_by("position", "pk"))
    inputs = list(ComputedScoreInput.objects.filter(node__scoring_model=model))
    return model, spec_from_rows(criteria, nodes, inputs, model.priority_node.key)


@dataclass
class ScoringInputs:
    """Everything the model needs, per open opportunity, as plain dicts."""

    opportunity_ids: list[int]
    values: dict[int, dict[str, float]] = field(default_factory=dict)
    evidence: dict[int, dict[str, float]] = field(default_factory=dict)
    current: dict[int, tuple] = field(default_factory=dict)  # see OpportunityLinks.current


def _used_evidence(spec: scoring.ModelSpec) -> set[str]:
    return {operand.ref for node in spec.nodes for operand in node.inputs if operand.source == "evidence"}


@dataclass
class OpportunityLinks:
    """Per open opportunity: criterion values by criterion key; linked insights as parallel lists
    (severities, statuses, reaches); linked steps as parallel lists (step ids, journey ids, moment of
    truth flags). Parallel lists are what PostgreSQL's array_agg returns: no per-link Python objects."""

    ids: list[int]
    values: dict[int, dict[str, float]]
    insights: dict[int, tuple[list[int], list[str], list[int]]]
    steps: dict[int, tuple[list[int], list[int], list[bool]]]
    # What is stored now: (priority, rank, score digest, stale = changed since it was last scored).
    current: dict[int, tuple[float | None, int | None, int | None, bool]] = field(default_factory=dict)


_OPEN = "o.status NOT IN ({})".format(", ".join(f"'{status}'" for status in Opportunity.CLOSED_STATUSES))

# One round trip on PostgreSQL: the three link tables aggregated into arrays per opportunity by hash
# aggregates over the workspace. Measured on 85k open opportunities (600k criterion values, 250k insight
# links, 160k step links): 3.2 s against 6.0 s for the separate ORM queries and their per-row Python.
# Insights are listed by id, so that the evidence is summed in one order everywhere (floating-point
# addition is not associative), the same as the recompute's SQL sums them.
_LINKS_SQL = f"""
WITH cv AS (
    SELECT v.opportunity_id, array_agg(c.key) AS criteria, array_agg(v.value) AS vals
    FROM {CriterionValue._meta.db_table} v JOIN {Criterion._meta.db_table} c ON c.id = v.criterion_id
    WHERE v.workspace_id = %(ws)s GROUP BY v.opportunity_id
), ins AS (
    SELECT l.opportunity_id, array_agg(i.severity ORDER BY i.id) AS severities,
           array_agg(i.status ORDER BY i.id) AS statuses, array_agg(i.reach ORDER BY i.id) AS reaches
    FROM {Opportunity.insights.through._meta.db_table} l JOIN journeys_insight i ON i.id = l.insight_id
    WHERE i.workspace_id = %(ws)s GROUP BY l.opportunity_id
), stp AS (
    SELECT l.opportunity_id, array_agg(s.id) AS step_ids, array_agg(s.journey_id) AS journey_ids,
           array_agg(s.is_moment_of_truth) AS mots
    FROM {Opportunity.steps.through._meta.db_table} l JOIN journeys_step s ON s.id = l.step_id
    WHERE s.workspace_id = %(ws)s GROUP BY l.opportunity_id
)
SELECT o.id, cv.criteria, cv.vals, ins.severities, ins.statuses, ins.reaches,
       stp.step_ids, stp.journey_ids, stp.mots,
       o.priority, o.rank, o.score_digest, (o.scored_at IS NULL OR o.updated_at > o.scored_at) AS stale
FROM {Opportunity._meta.db_table} o
LEFT JOIN cv ON cv.opportunity_id = o.id
LEFT JOIN ins ON ins.opportunity_id = o.id
LEFT JOIN stp ON stp.opportunity_id = o.id
WHERE o.workspace_id = %(ws)s AND {_OPEN}
ORDER BY o.id
"""


def _links_postgresql(workspace_id: int) -> OpportunityLinks:
    links = OpportunityLinks([], {}, {}, {})
    with connection.cursor() as cursor:
        cursor.execute(_LINKS_SQL, {"ws": workspace_id})
        for (
            pk,
            criteria,
            vals,
            severities,
            statuses,
            reaches,
            step_ids,
            journey_ids,
            mots,
            *current,
        ) in cursor.fetchall():
            links.ids.append(pk)
            links.current[pk] = tuple(current)
            if criteria:
                links.values[pk] = dict(zip(criteria, vals, strict=True))
            if severities:
                links.insights[pk] = (severities, statuses, reaches)
            if step_ids:
                links.steps[pk] = (step_ids, journey_ids, mots)
    return links


def _links_orm(workspace_id: int) -> OpportunityLinks:
    rows = list(
        Opportunity.objects.filter(workspace_id=workspace_id)
        .open()
        .order_by("pk")
        .values_list("pk", "priority", "rank", "score_digest", "scored_at", "updated_at")
    )

    def parallel_lists():
        return ([], [], [])

    links = OpportunityLinks(
        [row[0] for row in rows], defaultdict(dict), defaultdict(parallel_lists), defaultdict(parallel_lists)
    )
    links.current = {
        pk: (priority, rank, digest, scored_at is None or updated_at > scored_at)
        for pk, priority, rank, digest, scored_at, updated_at in rows
    }
    open_filter = Q(opportunity__workspace_id=workspace_id) & ~Q(
        opportunity__status__in=Opportunity.CLOSED_STATUSES
    )
    for pk, key, value in CriterionValue.objects.filter(open_filter).values_list(
        "opportunity_id", "criterion__key", "value"
    ):
        links.values[pk][key] = value
    for pk, severity, status, reach in (
        Opportunity.insights.through.objects.filter(open_filter)
        .order_by("opportunity_id", "insight_id")
        .values_list("opportunity_id", "insight__severity", "insight__status", "insight__reach")
    ):
        for column, item in zip(links.insights[pk], (severity, status, reach), strict=True):
            column.append(item)
    for pk, step_id, journey_id, is_mot in Opportunity.steps.through.objects.filter(open_filter).values_list(
        "opportunity_id", "step_id", "step__journey_id", "step__is_moment_of_truth"
    ):
        for column, item in zip(links.steps[pk], (step_id, journey_id, is_mot), strict=True):
            column.append(item)
    return links


def load_links(workspace_id: int) -> OpportunityLinks:
    """The open opportunities' criterion values, insight links and step links: one query on
    PostgreSQL, four with the ORM elsewhere (tests assert both give the same)."""
    if connection.vendor == "postgresql":
        return _links_postgresql(workspace_id)
    return _links_orm(workspace_id)


def load_inputs(workspace_id: int, spec: scoring.ModelSpec, today: date | None = None) -> ScoringInputs:
    """Criterion values and evidence inputs of the workspace's open opportunities.

    A fixed number of queries whatever the number of opportunities: the links (load_links), the
    criterion keys and, only for the evidence inputs the model uses, the active key-result links and
    the KPIs with their latest values."""
    today = today or timezone.localdate()
    links = load_links(workspace_id)
    inputs = ScoringInputs(opportunity_ids=links.ids, current=links.current)
    if not links.ids:
        return inputs

    inputs.values = links.values  # by criterion key; the evaluator reads only its model's criteria

    used = _used_evidence(spec)
    evidence: dict[int, dict[str, float]] = defaultdict(dict)
    if used & {"evidence", "reach", "insight_count"}:
        raw_evidence = {}
        none = ((), (), ())
        for pk in links.ids:
            severities, statuses, reaches = links.insights.get(pk, none)
            touches_mot = any(links.steps.get(pk, none)[2])
            raw_evidence[pk] = scoring.evidence_raw(
                zip(severities, statuses, reaches, strict=True), touches_mot
            )
            if severities:
                evidence[pk]["reach"] = float(sum(reaches))
                evidence[pk]["insight_count"] = float(len(severities))
        for pk, value in scoring.normalise_evidence(raw_evidence).items():
            if value:
                evidence[pk]["evidence"] = value
    if "journey_count" in used:
        for pk, (_, journey_ids, _) in links.steps.items():
            evidence[pk]["journey_count"] = float(len(set(journey_ids)))
    if "okr_alignment" in used:
        open_ids = set(links.ids)
        for pk in _aligned_ids(workspace_id, today):
            if pk in open_ids:
                evidence[pk]["okr_alignment"] = 1.0
    if "kpi_gap" in used:
        _add_kpi_gaps(workspace_id, links.steps, evidence)
    inputs.evidence = evidence
    return inputs


def _aligned_ids(workspace_id: int, today: date) -> list[int]:
    """Opportunities (open or not) that contribute to a key result of a cycle running today."""
    return list(
        Opportunity.key_results.through.objects.filter(
            opportunity__workspace_id=workspace_id,
            keyresult__workspace_id=workspace_id,
            keyresult__objective__cycle__start__lte=today,
            keyresult__objective__cycle__end__gte=today,
        )
        .values_list("opportunity_id", flat=True)
        .distinct()
    )


@dataclass(frozen=True, slots=True)
class KpiGap:
    """One KPI with a target, where it is (the step it or its touchpoint is on, or its journey) and its
    gap by its latest value (`scoring.kpi_gap` of it alone), None when it has no measurement yet."""

    pk: int
    step_id: int | None
    journey_id: int | None
    gap: float | None


def kpi_gaps(workspace_id: int) -> list[KpiGap]:
    """The workspace's KPIs with a target on a step, a touchpoint or a journey, with their gaps. Two
    queries."""
    kpis = list(
        Kpi.objects.filter(
            workspace_id=workspace_id, target__isnull=False, scope__in=["step", "touchpoint", "journey"]
        )
        .order_by("pk")
        .values_list(
            "pk",
            "kpi_type",
            "aggregation",
            "target",
            "baseline",
            "comparison",
            "step_id",
            "touchpoint__step_id",
            "journey_id",
        )
    )
    if not kpis:
        return []
    latest = DataPoint.objects.filter(kpi_id__in=[k[0] for k in kpis]).latest_sums()
    found = []
    for (
        pk,
        kpi_type,
        aggregation,
        target,
        baseline,
        comparison,
        step_id,
        touchpoint_step_id,
        journey_id,
    ) in kpis:
        sums = latest.get(pk)
        current = kpi_value(kpi_type, sums, aggregation) if sums else None
        gap = None if current is None else scoring.kpi_gap([(current, target, baseline, comparison)])
        step = step_id or touchpoint_step_id
        found.append(KpiGap(pk, step, None if step else journey_id, gap))
    return found


def _add_kpi_gaps(workspace_id: int, step_links, evidence) -> None:
    """kpi_gap: the KPIs with a target on an opportunity's linked steps (or their touchpoints) and on
    the journeys of those steps, by their latest value: the mean of their gaps, in KPI order."""
    by_step: dict[int, list[KpiGap]] = defaultdict(list)
    by_journey: dict[int, list[KpiGap]] = defaultdict(list)
    for kpi in kpi_gaps(workspace_id):
        if kpi.step_id:
            by_step[kpi.step_id].append(kpi)
        elif kpi.journey_id:
            by_journey[kpi.journey_id].append(kpi)
    if not (by_step or by_journey):
        return
    for opportunity_id, (step_ids, journey_ids, _) in step_links.items():
        found: dict[int, KpiGap] = {}
        for step_id, journey_id in zip(step_ids, journey_ids, strict=True):
            found.update((kpi.pk, kpi) for kpi in by_step.get(step_id, ()))
            found.update((kpi.pk, kpi) for kpi in by_journey.get(journey_id, ()))
        if found:
            gaps = [found[pk].gap for pk in sorted(found) if found[pk].gap is not None]
            evidence[opportunity_id]["kpi_gap"] = sum(gaps) / len(gaps) if gaps else 0.0


@dataclass
class ScoredOpportunity:
    pk: int
    priority: float
    rank: int
    scores: dict[str, float]
    breakdown: dict


def score(inputs: ScoringInputs, evaluator: scoring.Evaluator) -> list[ScoredOpportunity]:
    """The reference scoring: each opportunity evaluated on its own by the engine, then ranked. The
    stored breakdown is the evidence inputs (computed from the atlas at this run); criterion values are
    kept in their own table. `score_columns()` gives the same over columns."""
    no_values: dict[str, float] = {}
    no_evidence: dict[str, float] = {}
    evaluate = evaluator.evaluate
    priority_key = evaluator.priority
    results = [
        (pk, evaluate(inputs.values.get(pk, no_values), evidence), evidence)
        for pk in inputs.opportunity_ids
        for evidence in [inputs.evidence.get(pk, no_evidence)]
    ]
    ranks = scoring.rank({pk: node_values[priority_key] for pk, node_values, _ in results})
    return [
        ScoredOpportunity(pk, node_values[priority_key], ranks[pk], node_values, {"evidence": evidence})
        for pk, node_values, evidence in results
    ]


# --- The recompute over columns ---------------------------------------------------------------------------


def breakdown_evidence_keys(spec: scoring.ModelSpec) -> tuple[str, ...]:
    """The evidence inputs a run of `spec` computes and keeps in the breakdown: those the model uses,
    with reach and insight count whenever one of evidence, reach or insight count is (one pass over the
    insights gives all three)."""
    used = _used_evidence(spec)
    keys = ["evidence", "reach", "insight_count"] if used & {"evidence", "reach", "insight_count"} else []
    return (*keys, *(key for key in ("journey_count", "okr_alignment", "kpi_gap") if key in used))


@dataclass
class ScoringColumns:
    """The open opportunities of a workspace as columns, one NumPy array per field, in id order: what the
    model reads, and what is stored now (to write only what changes)."""

    ids: np.ndarray  # int64
    criteria: dict[str, np.ndarray]  # float64 by criterion key; NaN: no value
    evidence: dict[str, np.ndarray]  # float64 by breakdown_evidence_keys(); NaN: absent (0 for the model)
    priority: np.ndarray  # float64, NaN: none
    rank: np.ndarray  # int64, 0: none
    digest: np.ndarray  # int64
    has_digest: np.ndarray  # bool
    stale: np.ndarray  # bool: changed since it was last scored
    # PostgreSQL: where each row is (its ctid) when loaded, so the write goes straight to it.
    tid: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)


def columns_from_inputs(inputs: ScoringInputs, spec: scoring.ModelSpec) -> ScoringColumns:
    """The reference inputs (one dict per opportunity) as columns."""
    ids = inputs.opportunity_ids
    nan = math.nan

    def column(values) -> np.ndarray:
        return np.fromiter(values, dtype=np.float64, count=len(ids))

    no_values: dict[str, float] = {}
    current = [inputs.current.get(pk, (None, None, None, True)) for pk in ids]
    return ScoringColumns(
        ids=np.array(ids, dtype=np.int64),
        criteria={
            c.key: column(
                nan if (v := inputs.values.get(pk, no_values).get(c.key)) is None else v for pk in ids
            )
            for c in spec.criteria
        },
        evidence={
            key: column(inputs.evidence.get(pk, no_values).get(key, nan) for pk in ids)
            for key in breakdown_evidence_keys(spec)
        },
        priority=column(nan if priority is None else priority for priority, *_ in current),
        rank=np.array([rank or 0 for _, rank, _, _ in current], dtype=np.int64),
        digest=np.array([digest or 0 for _, _, digest, _ in current], dtype=np.int64),
        has_digest=np.array([digest is not None for _, _, digest, _ in current], dtype=bool),
        stale=np.array([stale for *_, stale in current], dtype=bool),
    )


# Fields of PostgreSQL's binary COPY format, as NumPy types (network byte order); every value is sent with
# its length, so a row is a fixed-size record when no value is NULL (the query coalesces them).
_COPY_TYPES = {
    "int8": ">i8",
    "float8": ">f8",
    "bool": "?",
    "int4": ">i4",
    "tid": [("block", ">u4"), ("offset", ">u2")],  # a row version's place in the table
}
_COPY_SIZES = {"int8": 8, "float8": 8, "bool": 1, "int4": 4, "tid": 6}
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
_COPY_TRAILER = b"\xff\xff"


def _copy_dtype(fields: list[tuple[str, str]]) -> np.dtype:
    layout: list[tuple] = [("_count", ">i2")]
    for name, kind in fields:
        layout += [(f"_{name}_length", ">i4"), (name, _COPY_TYPES[kind])]
    return np.dtype(layout)


def _from_binary_copy(data: bytes, fields: list[tuple[str, str]]) -> np.ndarray:
    """Records from PostgreSQL's binary COPY output of rows without NULLs."""
    body = memoryview(data)[len(_COPY_HEADER) : len(data) - len(_COPY_TRAILER)]
    return np.frombuffer(body, dtype=_copy_dtype(fields))


def _to_binary_copy(fields: list[tuple[str, str]], values: dict[str, np.ndarray]) -> bytes:
    """PostgreSQL's binary COPY input for rows of `values` (arrays by field name, no NULLs)."""
    records = np.empty(len(next(iter(values.values()))), dtype=_copy_dtype(fields))
    records["_count"] = len(fields)
    for name, kind in fields:
        records[f"_{name}_length"] = _COPY_SIZES[kind]
        records[name] = values[name]
    return _COPY_HEADER + records.tobytes() + _COPY_TRAILER


_CV = CriterionValue._meta.db_table
_INSIGHT_LINKS = Opportunity.insights.through._meta.db_table
_STEP_LINKS = Opportunity.steps.through._meta.db_table
_KR_LINKS = Opportunity.key_results.through._meta.db_table
_INSIGHT_FACTORS = " ".join(
    f"WHEN '{status}' THEN {factor!r}::float8" for status, factor in scoring.INSIGHT_STATUS_FACTORS.items()
)


def _columns_postgresql(
    workspace_id: int, spec: scoring.ModelSpec, criterion_ids: dict[str, int], today: date
) -> ScoringColumns:
    """One aggregate query over the workspace, streamed as binary COPY into arrays (plus, when the model
    uses them, the active key-result links and the KPIs' gaps).

    The evidence is computed as `scoring.evidence_raw()` computes it, term by term in the same order of
    operations (PostgreSQL's log() is the C library's log10, as Python's math.log10) and summed in
    insight-id order, so it is bit for bit the reference's (tests/test_recompute_columns.py)."""
    keys = breakdown_evidence_keys(spec)
    used = _used_evidence(spec)
    fields: list[tuple[str, str]] = [("id", "int8")]
    selects = ["o.id"]
    ctes = []
    joins = []
    params: dict = {"ws": workspace_id}
    criteria = list(dict.fromkeys(c.key for c in spec.criteria if c.key in criterion_ids))
    if criteria:
        pivots = []
        for n, key in enumerate(criteria):
            params[f"c{n}"] = criterion_ids[key]
            pivots.append(f"max(v.value) FILTER (WHERE v.criterion_id = %(c{n})s) AS c{n}")
            fields.append((f"c{n}", "float8"))
            selects.append(f"coalesce(cv.c{n}, 'NaN')")
        ctes.append(
            f"cv AS (SELECT v.opportunity_id, {', '.join(pivots)} FROM {_CV} v "
            f"WHERE v.workspace_id = %(ws)s GROUP BY v.opportunity_id)"
        )
        joins.append("LEFT JOIN cv ON cv.opportunity_id = o.id")
    if "evidence" in keys:
        # Summed in insight-id order: the sorted subquery feeds the aggregate in its order (parallel
        # workers, which would not, are switched off for this statement below).
        ctes.append(
            f"""ins AS (
            SELECT opportunity_id, sum(term) AS raw, sum(reach)::float8 AS reach, count(*)::float8 AS n
            FROM (SELECT l.opportunity_id, i.reach,
                         i.severity::float8 / 5::float8 * (CASE i.status {_INSIGHT_FACTORS} ELSE 'NaN' END)
                         * (1::float8 + log((1 + greatest(i.reach, 0))::float8)) AS term
                  FROM {_INSIGHT_LINKS} l JOIN journeys_insight i ON i.id = l.insight_id
                  WHERE i.workspace_id = %(ws)s ORDER BY l.opportunity_id, l.insight_id) AS linked
            GROUP BY opportunity_id)"""
        )
        joins.append("LEFT JOIN ins ON ins.opportunity_id = o.id")
        fields += [("raw", "float8"), ("reach", "float8"), ("insight_count", "float8")]
        selects += ["coalesce(ins.raw, 0)", "coalesce(ins.reach, 'NaN')", "coalesce(ins.n, 'NaN')"]
    if "evidence" in keys:
        # Only whether one of its steps is a moment of truth: a join with the (few) such steps.
        ctes.append(
            f"""mot AS (
            SELECT DISTINCT l.opportunity_id FROM {_STEP_LINKS} l JOIN journeys_step s ON s.id = l.step_id
            WHERE s.workspace_id = %(ws)s AND s.is_moment_of_truth)"""
        )
        joins.append("LEFT JOIN mot ON mot.opportunity_id = o.id")
        fields.append(("mot", "bool"))
        selects.append("mot.opportunity_id IS NOT NULL")
    if "journey_count" in keys:
        ctes.append(
            f"""jc AS (
            SELECT l.opportunity_id, count(DISTINCT s.journey_id)::float8 AS journeys
            FROM {_STEP_LINKS} l JOIN journeys_step s ON s.id = l.step_id
            WHERE s.workspace_id = %(ws)s GROUP BY l.opportunity_id)"""
        )
        joins.append("LEFT JOIN jc ON jc.opportunity_id = o.id")
        fields.append(("journey_count", "float8"))
        selects.append("coalesce(jc.journeys, 'NaN')")
    if "okr_alignment" in keys:
        params["today"] = today
        ctes.append(
            f"""okr AS (
            SELECT DISTINCT l.opportunity_id FROM {_KR_LINKS} l
            JOIN {KeyResult._meta.db_table} kr ON kr.id = l.keyresult_id
            JOIN {Objective._meta.db_table} ob ON ob.id = kr.objective_id
            JOIN {OkrCycle._meta.db_table} cy ON cy.id = ob.cycle_id
            WHERE kr.workspace_id = %(ws)s AND cy.start <= %(today)s AND cy."end" >= %(today)s)"""
        )
        joins.append("LEFT JOIN okr ON okr.opportunity_id = o.id")
        fields.append(("okr_alignment", "bool"))
        selects.append("okr.opportunity_id IS NOT NULL")
    gaps = kpi_gaps(workspace_id) if "kpi_gap" in used else []
    if gaps:
        params |= {
            "kpi": [k.pk for k in gaps],
            "kpi_step": [k.step_id or 0 for k in gaps],
            "kpi_journey": [k.journey_id or 0 for k in gaps],
            "kpi_gap": [math.nan if k.gap is None else k.gap for k in gaps],
        }
        # The distinct KPIs on an opportunity's steps and their journeys; the mean of the gaps of those
        # measured, in KPI order (as _add_kpi_gaps).
        ctes.append(
            f"""kpi AS (
            SELECT * FROM unnest(%(kpi)s::bigint[], %(kpi_step)s::bigint[], %(kpi_journey)s::bigint[],
                                 %(kpi_gap)s::float8[]) AS k(id, step_id, journey_id, gap)
        ), kg AS (
            SELECT opportunity_id, count(*) AS n,
                   sum(gap ORDER BY id) FILTER (WHERE gap <> 'NaN') AS total,
                   count(*) FILTER (WHERE gap <> 'NaN') AS measured
            FROM (SELECT l.opportunity_id, k.id, k.gap FROM {_STEP_LINKS} l JOIN kpi k ON k.step_id = l.step_id
                  UNION
                  SELECT l.opportunity_id, k.id, k.gap FROM {_STEP_LINKS} l
                  JOIN journeys_step s ON s.id = l.step_id JOIN kpi k ON k.journey_id = s.journey_id
                  WHERE s.workspace_id = %(ws)s) AS found
            GROUP BY opportunity_id)"""
        )
        joins.append("LEFT JOIN kg ON kg.opportunity_id = o.id")
        fields.append(("kpi_gap", "float8"))
        selects.append(
            "CASE WHEN kg.n IS NULL THEN 'NaN' WHEN kg.measured = 0 THEN 0 "
            "ELSE kg.total / kg.measured::float8 END"
        )
    fields += [
        ("priority", "float8"),
        ("rank", "int8"),
        ("digest", "int8"),
        ("has_digest", "bool"),
        ("stale", "bool"),
        ("tid", "tid"),
    ]
    selects += [
        "coalesce(o.priority, 'NaN')",
        "coalesce(o.rank, 0)::bigint",
        "coalesce(o.score_digest, 0)",
        "o.score_digest IS NOT NULL",
        "(o.scored_at IS NULL OR o.updated_at > o.scored_at)",
        "o.ctid",
    ]
    columns_sql = ", ".join(
        f"{expression} AS {name}" for expression, (name, _) in zip(selects, fields, strict=True)
    )
    query = (
        (f"WITH {', '.join(ctes)} " if ctes else "")
        + f"SELECT {columns_sql} FROM {Opportunity._meta.db_table} o {' '.join(joins)} "
        f"WHERE o.workspace_id = %(ws)s AND {_OPEN} ORDER BY o.id"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Until the end of the (recompute's) transaction: no parallel plan (partial aggregates would sum
        # the evidence out of order), and the link sorts in memory rather than on disk.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # COPY takes no server-side parameters: bind them client-side (integers, floats and their arrays).
        bound = psycopg.ClientCursor(connection.connection).mogrify(query, params)
        with cursor.copy(f"COPY ({bound}) TO STDOUT (FORMAT BINARY)") as copy:
            data = b"".join(copy)
    rows = _from_binary_copy(data, fields)
    size = len(rows)

    def floats(name: str) -> np.ndarray:
        return rows[name].astype(np.float64)

    evidence: dict[str, np.ndarray] = {}
    if "evidence" in keys:
        raw = floats("raw")
        raw = np.where(rows["mot"], raw * scoring.MOMENT_OF_TRUTH_FACTOR, raw)
        largest = raw.max(initial=0.0)
        # As normalise_evidence(): 0..1 by the largest; a 0 is not kept (the reference keeps only truthy).
        normalised = raw / largest if largest > 0 else np.zeros(size)
        evidence["evidence"] = np.where(normalised == 0, np.nan, normalised)
        evidence["reach"] = floats("reach")
        evidence["insight_count"] = floats("insight_count")
    if "journey_count" in keys:
        evidence["journey_count"] = floats("journey_count")
    if "okr_alignment" in keys:
        evidence["okr_alignment"] = np.where(rows["okr_alignment"], 1.0, np.nan)
    if "kpi_gap" in keys:
        evidence["kpi_gap"] = floats("kpi_gap") if gaps else np.full(size, np.nan)
    return ScoringColumns(
        ids=rows["id"].astype(np.int64),
        criteria={key: floats(f"c{n}") for n, key in enumerate(criteria)},
        evidence=evidence,
        priority=floats("priority"),
        rank=rows["rank"].astype(np.int64),
        digest=rows["digest"].astype(np.int64),
        has_digest=rows["has_digest"].astype(bool),
        stale=rows["stale"].astype(bool),
        tid=rows["tid"].copy(),
    )


def load_columns(workspace_id: int, spec: scoring.ModelSpec, today: date | None = None) -> ScoringColumns:
    """What `load_inputs()` loads, as columns: one aggregate query on PostgreSQL (and one for the
    criteria's ids, one for the key-result links and two for the KPIs when the model uses them); the
    reference inputs elsewhere."""
    today = today or timezone.localdate()
    if connection.vendor != "postgresql":
        return columns_from_inputs(load_inputs(workspace_id, spec, today), spec)
    criterion_ids = dict(
        Criterion.objects.filter(
            workspace_id=workspace_id, key__in=[c.key for c in spec.criteria]
        ).values_list("key", "pk")
    )
    return _columns_postgresql(workspace_id, spec, criterion_ids, today)


@dataclass
class ColumnScores:
    """A run's results over columns, in the order of `ScoringColumns.ids`."""

    nodes: dict[str, np.ndarray]  # every computed score by key, in evaluation order
    priority: np.ndarray
    rank: np.ndarray  # int64
    digest: np.ndarray  # int64: fingerprint of the stored scores and breakdown
    changed: np.ndarray  # bool: the row needs writing
    json_changed: np.ndarray  # bool: …and so do its scores and breakdown


def _model_fingerprint(evaluator: scoring.Evaluator, evidence_keys: tuple[str, ...]) -> int:
    """What the JSON's shape depends on (the node keys, the evidence kept): a digest seed."""
    return zlib.crc32(f"{','.join(evaluator.order)}|{','.join(evidence_keys)}".encode())


def score_columns(cols: ScoringColumns, evaluator: scoring.Evaluator) -> ColumnScores:
    """Evaluate and rank over columns: `score()`'s results (tests/test_recompute_columns.py), and which
    rows differ from what is stored. A row is written when its priority, rank or digest differ, or it
    changed since it was last scored (so it stops showing "recomputing…"); its JSON only when the digest
    differs, so an unchanged breakdown is not serialised again."""
    size = len(cols)
    nodes = columns.evaluate(evaluator.program, cols.criteria, cols.evidence, size)
    priority = nodes[evaluator.priority]
    rank = columns.rank(cols.ids, priority)
    evidence_keys = tuple(cols.evidence)
    digest = columns.digest(
        [*nodes.values(), *cols.evidence.values()], _model_fingerprint(evaluator, evidence_keys)
    )
    json_changed = ~cols.has_digest | (digest != cols.digest)
    changed = cols.stale | json_changed | (rank != cols.rank) | ~(priority == cols.priority)
    return ColumnScores(nodes, priority, rank, digest, changed, json_changed)


def _json_rows(cols: ScoringColumns, scores: ColumnScores) -> list[tuple[int, str, str]]:
    """(id, scores JSON, breakdown JSON) of the rows whose JSON changed."""
    where = np.flatnonzero(scores.changed & scores.json_changed)
    if not len(where):
        return []
    node_keys = list(scores.nodes)
    node_rows = zip(*(values[where].tolist() for values in scores.nodes.values()), strict=True)
    evidence_keys = list(cols.evidence)
    evidence_rows = zip(*(values[where].tolist() for values in cols.evidence.values()), strict=True)
    if not evidence_keys:
        evidence_rows = iter([()] * len(where))
    return [
        (
            pk,
            json.dumps(dict(zip(node_keys, node_values, strict=True))),
            json.dumps(
                {
                    "evidence": {
                        key: value
                        for key, value in zip(evidence_keys, evidence_values, strict=True)
                        if value == value  # NaN: absent
                    }
                }
            ),
        )
        for pk, node_values, evidence_values in zip(
            cols.ids[where].tolist(), node_rows, evidence_rows, strict=True
        )
    ]


_SCORE_FIELDS = [
    ("tid", "tid"),
    ("id", "int8"),
    ("priority", "float8"),
    ("rank", "int4"),
    ("digest", "int8"),
]


def write_columns(workspace_id: int, cols: ScoringColumns, scores: ColumnScores, scored_at: datetime) -> int:
    """Write the rows that changed, in bulk, and clear the rank of closed ones; returns the rows written.

    On PostgreSQL the rows go through a binary COPY into a temporary table (and the changed JSON through
    a second one), then one UPDATE … FROM it that finds each row by the ctid the load read, in the
    table's physical order, instead of scanning the table again to join on ids. Measured on 85,000 rows
    (bench/recompute.py): the UPDATE costs 0.9–1.0× a bare UPDATE of the same rows (a hash join on ids
    after a scan of the table: 1.0–1.1×), and sending the values ~20 ms (an UPDATE … FROM unnest() of
    Python lists spent ~0.9 s building and sending them; bulk_update's CASE WHEN is ten times slower).

    A row changed by another transaction since the load has moved to another ctid and is left as it is:
    that change asked for a recompute, and the next run writes it. (A ctid reused by another row meanwhile
    finds that row, which the id join gives its own values, or nothing.)"""
    changed = np.flatnonzero(scores.changed)
    table = Opportunity._meta.db_table
    json_rows = _json_rows(cols, scores)
    written = len(changed)
    if len(changed) and connection.vendor == "postgresql" and cols.tid is not None:
        changed = changed[np.lexsort((cols.tid["offset"][changed], cols.tid["block"][changed]))]
        # One transaction at least: the temporary tables live until it commits.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS recompute_scores "
                "(tid tid, id bigint, priority float8, rank integer, digest bigint) ON COMMIT DROP"
            )
            cursor.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS recompute_json "
                "(id bigint, scores jsonb, breakdown jsonb) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE recompute_scores, recompute_json")
            payload = _to_binary_copy(
                _SCORE_FIELDS,
                {
                    "tid": cols.tid[changed],
                    "id": cols.ids[changed],
                    "priority": scores.priority[changed],
                    "rank": scores.rank[changed],
                    "digest": scores.digest[changed],
                },
            )
            with cursor.copy("COPY recompute_scores FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(payload)
            json_join, json_set = "", ""
            if json_rows:
                with cursor.copy("COPY recompute_json FROM STDIN") as copy:
                    for row in json_rows:
                        copy.write_row(row)
                cursor.execute("ANALYZE recompute_json")
                json_join = "LEFT JOIN recompute_json j ON j.id = s.id"
                json_set = (
                    ", scores = COALESCE(j.scores, o.scores), "
                    "score_breakdown = COALESCE(j.breakdown, o.score_breakdown)"
                )
            # The rows are fetched by ctid (a TID scan, whatever the planner's estimates) and joined to
            # their values by id, in the temporary table's order: the table's physical order.
            cursor.execute(
                f"""
                UPDATE {table} AS o
                SET priority = s.priority, rank = s.rank, scored_at = %s, score_digest = s.digest{json_set}
                FROM recompute_scores s {json_join}
                WHERE o.ctid = ANY(ARRAY(SELECT tid FROM recompute_scores)) AND o.id = s.id
                  AND o.workspace_id = %s
                """,
                [scored_at, workspace_id],
            )
            written = cursor.rowcount
    elif len(changed):
        json_by_id = {pk: (scores_json, breakdown_json) for pk, scores_json, breakdown_json in json_rows}
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET priority = %s, rank = %s, scored_at = %s, score_digest = %s, "
                "scores = COALESCE(%s, scores), score_breakdown = COALESCE(%s, score_breakdown) "
                "WHERE id = %s AND workspace_id = %s",
                [
                    (priority, rank, scored_at, digest, *json_by_id.get(pk, (None, None)), pk, workspace_id)
                    for pk, priority, rank, digest in zip(
                        cols.ids[changed].tolist(),
                        scores.priority[changed].tolist(),
                        scores.rank[changed].tolist(),
                        scores.digest[changed].tolist(),
                        strict=True,
                    )
                ],
            )
    Opportunity.objects.filter(workspace_id=workspace_id, status__in=Opportunity.CLOSED_STATUSES).exclude(
        rank=None
    ).update(rank=None)
    return written


def recompute_workspace(workspace_id: int) -> int:
    """Score and rank every open opportunity of the workspace; returns how many. Call it inside a
    transaction (the services do) so a run is all or nothing."""
    from opportunities.presets import scoring_model_install_preset

    loaded = load_spec(workspace_id)
    if loaded is None:
        from atlas.models import Workspace

        scoring_model_install_preset(workspace=Workspace.objects.get(pk=workspace_id))
        loaded = load_spec(workspace_id)
    _, spec = loaded
    evaluator = scoring.compile_model(spec)
    cols = load_columns(workspace_id, spec)
    scores = score_columns(cols, evaluator)
    write_columns(workspace_id, cols, scores, timezone.now())
    return len(cols)


@functools.lru_cache(maxsize=16)
def compiled(spec: scoring.ModelSpec) -> scoring.Evaluator:
    """The compiled model for a spec (specs are frozen, so equal specs share one): a page that explains
    fifty rows compiles the model once."""
    return scoring.compile_model(spec)


def explain(
    opportunity: Opportunity, spec: scoring.ModelSpec | None = None, values: dict | None = None
) -> dict | None:
    """The full "why this rank?" explanation: the opportunity's criterion values (`values` by key, loaded
    when not given) and the evidence inputs stored at the last recompute, through the workspace's model.
    None when the opportunity has not been scored yet."""
    stored = opportunity.score_breakdown or {}
    if opportunity.scored_at is None or "evidence" not in stored:
        return None
    if spec is None:
        loaded = load_spec(opportunity.workspace_id)
        if loaded is None:
            return None
        spec = loaded[1]
    if values is None:
        values = dict(
            CriterionValue.objects.filter(opportunity=opportunity).values_list("criterion__key", "value")
        )
    explanation = compiled(spec).explain(values, stored["evidence"])
    explanation["rank"] = opportunity.rank
    explanation["evidence"] = stored["evidence"]
    return explanation
