"""Recompute every open opportunity's priority in a workspace (DESIGN.md "the priority score").

`recompute_workspace()` loads everything with a fixed number of set-based queries (whatever the number
of opportunities), evaluates the workspace's scoring model with the pure engine (opportunities/scoring.py)
and writes scores, ranks and the compact breakdown in bulk — on PostgreSQL one
`UPDATE … FROM unnest(…)`. The stored breakdown holds the inputs that were used (criterion values and
evidence inputs); `explain()` turns them back into the full explanation with the model, so 100,000 rows
do not each carry a copy of the model's structure.

The debounced, idempotent, crash-safe run around it (locks, run records, follow-ups) is in
`opportunities/services.py`: `priorities_request_recompute()` and `priorities_recompute()`."""

import functools
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from metrics.calculations import kpi_value
from metrics.models import DataPoint, Kpi
from opportunities import scoring
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
_LINKS_SQL = f"""
WITH cv AS (
    SELECT v.opportunity_id, array_agg(c.key) AS criteria, array_agg(v.value) AS vals
    FROM {CriterionValue._meta.db_table} v JOIN {Criterion._meta.db_table} c ON c.id = v.criterion_id
    WHERE v.workspace_id = %(ws)s GROUP BY v.opportunity_id
), ins AS (
    SELECT l.opportunity_id, array_agg(i.severity) AS severities, array_agg(i.status) AS statuses,
           array_agg(i.reach) AS reaches
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
    for pk, severity, status, reach in Opportunity.insights.through.objects.filter(open_filter).values_list(
        "opportunity_id", "insight__severity", "insight__status", "insight__reach"
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
        aligned = (
            Opportunity.key_results.through.objects.filter(
                opportunity__workspace_id=workspace_id,
                keyresult__objective__cycle__start__lte=today,
                keyresult__objective__cycle__end__gte=today,
            )
            .values_list("opportunity_id", flat=True)
            .distinct()
        )
        open_ids = set(links.ids)
        for pk in aligned:
            if pk in open_ids:
                evidence[pk]["okr_alignment"] = 1.0
    if "kpi_gap" in used:
        _add_kpi_gaps(workspace_id, links.steps, evidence)
    inputs.evidence = evidence
    return inputs


def _add_kpi_gaps(workspace_id: int, step_links, evidence) -> None:
    """kpi_gap: the KPIs with a target on an opportunity's linked steps (or their touchpoints) and on
    the journeys of those steps, by their latest value. Two queries."""
    kpis = list(
        Kpi.objects.filter(
            workspace_id=workspace_id, target__isnull=False, scope__in=["step", "touchpoint", "journey"]
        ).values_list(
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
        return
    latest = DataPoint.objects.filter(kpi_id__in=[k[0] for k in kpis]).latest_sums()
    by_step: dict[int, list[tuple]] = defaultdict(list)
    by_journey: dict[int, list[tuple]] = defaultdict(list)
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
        entry = (pk, (current, target, baseline, comparison))
        if step_id or touchpoint_step_id:
            by_step[step_id or touchpoint_step_id].append(entry)
        elif journey_id:
            by_journey[journey_id].append(entry)
    for opportunity_id, (step_ids, journey_ids, _) in step_links.items():
        found = {}
        for step_id, journey_id in zip(step_ids, journey_ids, strict=True):
            found.update(by_step.get(step_id, ()))
            found.update(by_journey.get(journey_id, ()))
        if found:
            evidence[opportunity_id]["kpi_gap"] = scoring.kpi_gap(found.values())


@dataclass
class ScoredOpportunity:
    pk: int
    priority: float
    rank: int
    scores: dict[str, float]
    breakdown: dict
    digest: int


_EVIDENCE_KEYS = tuple(sorted(scoring.EVIDENCE_INPUTS))


def score(inputs: ScoringInputs, evaluator: scoring.Evaluator) -> list[ScoredOpportunity]:
    """Evaluate and rank; pure once the inputs are loaded. The stored breakdown is the evidence inputs
    (computed from the atlas at this run); criterion values are kept in their own table. The digest
    fingerprints scores and breakdown (hashes of floats and ints are the same in every process), so
    an unchanged row's JSON is not written again."""
    no_values: dict[str, float] = {}
    no_evidence: dict[str, float] = {}
    evaluate = evaluator.evaluate
    priority_key = evaluator.priority
    model_fingerprint = zlib.crc32(",".join(evaluator.order).encode())
    results = []
    for pk in inputs.opportunity_ids:
        evidence = inputs.evidence.get(pk, no_evidence)
        node_values = evaluate(inputs.values.get(pk, no_values), evidence)
        digest = hash(
            (model_fingerprint, *node_values.values(), *(evidence.get(key, 0.0) for key in _EVIDENCE_KEYS))
        )
        results.append((pk, node_values, evidence, digest))
    ranks = scoring.rank({pk: node_values[priority_key] for pk, node_values, _, _ in results})
    return [
        ScoredOpportunity(
            pk, node_values[priority_key], ranks[pk], node_values, {"evidence": evidence}, digest
        )
        for pk, node_values, evidence, digest in results
    ]


def write_scores(
    workspace_id: int,
    scored: list[ScoredOpportunity],
    scored_at: datetime,
    current: dict[int, tuple] | None = None,
) -> int:
    """Write the scored opportunities that changed, in bulk, and clear the rank of closed ones.

    A row is written when its priority, rank or digest differ from what is stored, or it changed since
    it was last scored (so it stops showing "recomputing…"); its JSON only when the digest differs.
    Without `current` every row is written. Returns the number of rows written."""
    current = current or {}
    rows = []
    for s in scored:
        priority, rank, digest, stale = current.get(s.pk, (None, None, None, True))
        json_changed = digest != s.digest
        if stale or json_changed or priority != s.priority or rank != s.rank:
            rows.append((s, json_changed))
    table = Opportunity._meta.db_table
    if rows and connection.vendor == "postgresql":
        # One UPDATE … FROM unnest(arrays) instead of bulk_update's CASE WHEN per row (an order of
        # magnitude slower on large workspaces); bench/recompute.py measures it against a bare UPDATE.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS o
                SET priority = v.priority, rank = v.rank, scored_at = %s, score_digest = v.digest,
                    scores = COALESCE(v.scores::jsonb, o.scores),
                    score_breakdown = COALESCE(v.breakdown::jsonb, o.score_breakdown)
                FROM unnest(%s::bigint[], %s::float8[], %s::integer[], %s::bigint[], %s::text[], %s::text[])
                    AS v(id, priority, rank, digest, scores, breakdown)
                WHERE o.id = v.id AND o.workspace_id = %s
                """,
                [
                    scored_at,
                    [s.pk for s, _ in rows],
                    [s.priority for s, _ in rows],
                    [s.rank for s, _ in rows],
                    [s.digest for s, _ in rows],
                    [json.dumps(s.scores) if changed else None for s, changed in rows],
                    [json.dumps(s.breakdown) if changed else None for s, changed in rows],
                    workspace_id,
                ],
            )
    elif rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET priority = %s, rank = %s, scored_at = %s, score_digest = %s, "
                "scores = COALESCE(%s, scores), score_breakdown = COALESCE(%s, score_breakdown) "
                "WHERE id = %s AND workspace_id = %s",
                [
                    (
                        s.priority,
                        s.rank,
                        scored_at,
                        s.digest,
                        json.dumps(s.scores) if changed else None,
                        json.dumps(s.breakdown) if changed else None,
                        s.pk,
                        workspace_id,
                    )
                    for s, changed in rows
                ],
            )
    Opportunity.objects.filter(workspace_id=workspace_id, status__in=Opportunity.CLOSED_STATUSES).exclude(
        rank=None
    ).update(rank=None)
    return len(rows)


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
    inputs = load_inputs(workspace_id, spec)
    scored = score(inputs, evaluator)
    write_scores(workspace_id, scored, timezone.now(), inputs.current)
    return len(scored)


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
