"""Recompute every open opportunity's priority in a workspace (DESIGN.md "the priority score").

`recompute_workspace()` loads everything with a fixed number of set-based queries (whatever the number
of opportunities), evaluates the workspace's scoring model with the pure engine (opportunities/scoring.py)
and writes scores, ranks and the compact breakdown in bulk — on PostgreSQL one
`UPDATE … FROM unnest(…)`. The stored breakdown holds the inputs that were used (criterion values and
evidence inputs); `explain()` turns them back into the full explanation with the model, so 100,000 rows
do not each carry a copy of the model's structure.

The debounced, idempotent, crash-safe run around it (locks, run records, follow-ups) is in
`opportunities/services.py`: `priorities_request_recompute()` and `priorities_recompute()`."""

import json
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

SCORE_DECIMALS = 6


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


def _used_evidence(spec: scoring.ModelSpec) -> set[str]:
    return {operand.ref for node in spec.nodes for operand in node.inputs if operand.source == "evidence"}


def load_inputs(workspace_id: int, spec: scoring.ModelSpec, today: date | None = None) -> ScoringInputs:
    """Criterion values and evidence inputs of the workspace's open opportunities.

    A fixed number of queries: open ids; criterion values; and, only for the evidence inputs the model
    uses, the insight links, the step links, the active key-result links, and the KPIs with their
    latest values."""
    today = today or timezone.localdate()
    open_opportunities = Opportunity.objects.filter(workspace_id=workspace_id).open()
    ids = list(open_opportunities.order_by("pk").values_list("pk", flat=True))
    inputs = ScoringInputs(opportunity_ids=ids)
    if not ids:
        return inputs
    open_filter = Q(opportunity__workspace_id=workspace_id) & ~Q(
        opportunity__status__in=Opportunity.CLOSED_STATUSES
    )

    criterion_keys = {c.key for c in spec.criteria}
    values: dict[int, dict[str, float]] = defaultdict(dict)
    rows = CriterionValue.objects.filter(open_filter).values_list("opportunity_id", "criterion__key", "value")
    for opportunity_id, key, value in rows.iterator(chunk_size=20000):
        if key in criterion_keys:
            values[opportunity_id][key] = value
    inputs.values = values

    used = _used_evidence(spec)
    evidence: dict[int, dict[str, float]] = defaultdict(dict)
    step_links: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)
    if used & {"evidence", "journey_count", "kpi_gap"}:
        for opportunity_id, step_id, journey_id, is_mot in (
            Opportunity.steps.through.objects.filter(open_filter)
            .values_list("opportunity_id", "step_id", "step__journey_id", "step__is_moment_of_truth")
            .iterator(chunk_size=20000)
        ):
            step_links[opportunity_id].append((step_id, journey_id, is_mot))
    if used & {"evidence", "reach", "insight_count"}:
        insights: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
        for opportunity_id, severity, status, reach in (
            Opportunity.insights.through.objects.filter(open_filter)
            .values_list("opportunity_id", "insight__severity", "insight__status", "insight__reach")
            .iterator(chunk_size=20000)
        ):
            insights[opportunity_id].append((severity, status, reach))
        raw_evidence = {}
        for opportunity_id in ids:
            linked = insights.get(opportunity_id, ())
            touches_mot = any(is_mot for _, _, is_mot in step_links.get(opportunity_id, ()))
            raw_evidence[opportunity_id] = scoring.evidence_raw(linked, touches_mot)
            evidence[opportunity_id]["reach"] = float(sum(reach for _, _, reach in linked))
            evidence[opportunity_id]["insight_count"] = float(len(linked))
        for opportunity_id, value in scoring.normalise_evidence(raw_evidence).items():
            evidence[opportunity_id]["evidence"] = value
    if "journey_count" in used:
        for opportunity_id, links in step_links.items():
            evidence[opportunity_id]["journey_count"] = float(len({journey for _, journey, _ in links}))
    if "okr_alignment" in used:
        aligned = (
            Opportunity.key_results.through.objects.filter(
                open_filter,
                keyresult__objective__cycle__start__lte=today,
                keyresult__objective__cycle__end__gte=today,
            )
            .values_list("opportunity_id", flat=True)
            .distinct()
        )
        for opportunity_id in aligned.iterator(chunk_size=20000):
            evidence[opportunity_id]["okr_alignment"] = 1.0
    if "kpi_gap" in used:
        _add_kpi_gaps(workspace_id, step_links, evidence)
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
    for opportunity_id, links in step_links.items():
        found = {}
        for step_id, journey_id, _ in links:
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


def score(inputs: ScoringInputs, evaluator: scoring.Evaluator) -> list[ScoredOpportunity]:
    """Evaluate and rank; pure once the inputs are loaded."""
    results = {}
    no_values: dict[str, float] = {}
    no_evidence: dict[str, float] = {}
    for pk in inputs.opportunity_ids:
        values = inputs.values.get(pk, no_values)
        evidence = inputs.evidence.get(pk, no_evidence)
        node_values = evaluator.evaluate(values, evidence)
        results[pk] = (
            {key: round(value, SCORE_DECIMALS) for key, value in node_values.items()},
            {"values": values, "evidence": evidence},
        )
    ranks = scoring.rank({pk: scores[evaluator.priority] for pk, (scores, _) in results.items()})
    return [
        ScoredOpportunity(pk, scores[evaluator.priority], ranks[pk], scores, breakdown)
        for pk, (scores, breakdown) in results.items()
    ]


def write_scores(workspace_id: int, scored: list[ScoredOpportunity], scored_at: datetime) -> None:
    """Write every scored opportunity in bulk, and clear the rank of closed ones."""
    table = Opportunity._meta.db_table
    if connection.vendor == "postgresql":
        # One UPDATE … FROM unnest(arrays) instead of bulk_update's CASE WHEN per row (an order of
        # magnitude slower on large workspaces); bench/recompute.py measures it against a bare UPDATE.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {table} AS o
                SET priority = v.priority, rank = v.rank, scores = v.scores::jsonb,
                    score_breakdown = v.breakdown::jsonb, scored_at = %s
                FROM unnest(%s::bigint[], %s::float8[], %s::integer[], %s::text[], %s::text[])
                    AS v(id, priority, rank, scores, breakdown)
                WHERE o.id = v.id AND o.workspace_id = %s
                """,
                [
                    scored_at,
                    [s.pk for s in scored],
                    [s.priority for s in scored],
                    [s.rank for s in scored],
                    [json.dumps(s.scores) for s in scored],
                    [json.dumps(s.breakdown) for s in scored],
                    workspace_id,
                ],
            )
    else:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET priority = %s, rank = %s, scores = %s, score_breakdown = %s, scored_at = %s "
                "WHERE id = %s AND workspace_id = %s",
                [
                    (
                        s.priority,
                        s.rank,
                        json.dumps(s.scores),
                        json.dumps(s.breakdown),
                        scored_at,
                        s.pk,
                        workspace_id,
                    )
                    for s in scored
                ],
            )
    Opportunity.objects.filter(workspace_id=workspace_id, status__in=Opportunity.CLOSED_STATUSES).exclude(
        rank=None
    ).update(rank=None)


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
    write_scores(workspace_id, scored, timezone.now())
    return len(scored)


def explain(opportunity: Opportunity, spec: scoring.ModelSpec | None = None) -> dict | None:
    """The full "why this rank?" explanation of an opportunity's stored scores, rebuilt from the inputs
    stored at the last recompute and the workspace's model."""
    stored = opportunity.score_breakdown or {}
    if "values" not in stored:
        return None
    if spec is None:
        loaded = load_spec(opportunity.workspace_id)
        if loaded is None:
            return None
        spec = loaded[1]
    explanation = scoring.compile_model(spec).explain(stored["values"], stored.get("evidence", {}))
    explanation["rank"] = opportunity.rank
    explanation["evidence"] = stored.get("evidence", {})
    return explanation
