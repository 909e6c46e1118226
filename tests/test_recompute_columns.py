"""The recompute over columns gives exactly the reference's results: on PostgreSQL its one aggregate
query loads, bit for bit, the inputs that the reference loader computes in Python (the evidence summed in
the same order, the same KPI gaps…), and every path writes the scores, ranks and breakdowns that the
engine's per-opportunity evaluation gives."""

import math
import random
from datetime import date, timedelta

import numpy as np
import pytest
from django.db.models import F
from django.utils import timezone

from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Step, Touchpoint
from metrics.models import DataPoint, Kpi
from okrs.models import KeyResult, Objective, OkrCycle
from opportunities import recompute, scoring, services
from opportunities.models import Criterion, CriterionValue, Opportunity
from opportunities.presets import scoring_model_install_preset
from tests.test_services import require_postgres

EVERY_EVIDENCE_INPUT = tuple(scoring.EVIDENCE_INPUTS)


def with_every_evidence_input(spec: scoring.ModelSpec) -> scoring.ModelSpec:
    """`spec` plus a node that reads every evidence input (a loader loads only what a model uses)."""
    node = scoring.NodeSpec(
        "atlas_signals",
        "Atlas signals",
        scoring.SUM,
        tuple(scoring.InputSpec(scoring.EVIDENCE, key) for key in EVERY_EVIDENCE_INPUT),
    )
    return scoring.ModelSpec(criteria=spec.criteria, nodes=(*spec.nodes, node), priority=spec.priority)


@pytest.fixture
def atlas(workspace):
    """A varied workspace on the atlas preset: opportunities with several insights each (so the order
    of the evidence sum matters), steps on two journeys with a moment of truth, KPIs on steps,
    touchpoints and journeys (measured or not), key results of an active and of a past cycle, missing
    and stale criterion values, and closed opportunities."""
    rng = random.Random(11)
    scoring_model_install_preset(workspace=workspace, preset="atlas")
    criteria = list(Criterion.objects.filter(workspace=workspace))
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer")
    stage = LifecycleStage.objects.create(workspace=workspace, lifecycle=lifecycle, name="Join", position=1)
    macro = MacroJourney.objects.create(workspace=workspace, stage=stage, name="Open an account", position=1)
    journeys = [
        Journey.objects.create(workspace=workspace, macro_journey=macro, name=f"Journey {n}")
        for n in range(2)
    ]
    steps = [
        Step.objects.create(
            workspace=workspace,
            journey=journeys[n % 2],
            position=n,
            name=f"Step {n}",
            is_moment_of_truth=n == 3,
        )
        for n in range(6)
    ]
    touchpoint = Touchpoint.objects.create(workspace=workspace, step=steps[4], name="App")
    insights = [
        Insight.objects.create(
            workspace=workspace,
            title=f"Insight {n}",
            severity=1 + n % 5,
            status=("validated", "hypothesis", "rejected")[n % 3],
            reach=rng.choice([0, 1, 7, 120, 999, 40_000]),
        )
        for n in range(14)
    ]
    kpi = {"workspace": workspace, "kpi_type": "ratio", "target": 0.8, "baseline": 0.4}
    measured = [
        Kpi.objects.create(**kpi, name="On a step", scope="step", step=steps[1]),
        Kpi.objects.create(**kpi, name="On a touchpoint", scope="touchpoint", touchpoint=touchpoint),
        Kpi.objects.create(**kpi, name="On a journey", scope="journey", journey=journeys[0]),
        Kpi.objects.create(
            **{**kpi, "target": 0.2}, name="Met", scope="journey", journey=journeys[1], comparison="lte"
        ),
    ]
    Kpi.objects.create(**kpi, name="Never measured", scope="step", step=steps[2])
    for n, item in enumerate(measured):
        DataPoint.objects.create(
            workspace=workspace, kpi=item, date=date(2026, 1, 1), numerator=1 + n, denominator=10
        )
    today = timezone.localdate()
    active = OkrCycle.objects.create(
        workspace=workspace, name="Now", start=today - timedelta(days=3), end=today + timedelta(days=60)
    )
    past = OkrCycle.objects.create(
        workspace=workspace, name="Past", start=date(2020, 1, 1), end=date(2020, 3, 1)
    )
    key_results = [
        KeyResult.objects.create(
            workspace=workspace,
            objective=Objective.objects.create(workspace=workspace, cycle=cycle, title=cycle.name),
            title=f"KR {cycle.name}",
            start_value=0,
            target_value=1,
        )
        for cycle in (active, past)
    ]
    for n in range(24):
        opportunity = Opportunity.objects.create(
            workspace=workspace, title=f"Opportunity {n}", status="done" if n % 9 == 8 else "new"
        )
        opportunity.insights.set(rng.sample(insights, rng.choice([0, 1, 3, 5, 7])))
        opportunity.steps.set(rng.sample(steps, rng.choice([0, 1, 2, 4])))
        opportunity.key_results.set(rng.sample(key_results, rng.choice([0, 1, 2])))
        values = []
        for criterion in criteria:
            roll = rng.random()
            if roll < 0.25:
                continue  # not scored: assumed
            value = (
                criterion.max_value + 3
                if roll < 0.3
                else rng.choice([criterion.min_value, criterion.max_value])
            )
            values.append(
                CriterionValue(workspace=workspace, opportunity=opportunity, criterion=criterion, value=value)
            )
        CriterionValue.objects.bulk_create(values)
    return workspace


def assert_same(expected: np.ndarray, actual: np.ndarray, name: str) -> None:
    """Equal bit for bit (NaN equal to NaN)."""
    assert expected.dtype == actual.dtype, name
    if expected.dtype == np.float64:
        assert expected.view(np.uint64).tolist() == actual.view(np.uint64).tolist(), name
    else:
        assert expected.tolist() == actual.tolist(), name


def test_postgresql_columns_load_the_reference_inputs_bit_for_bit(atlas):
    require_postgres()
    _, spec = recompute.load_spec(atlas.pk)
    spec = with_every_evidence_input(spec)
    services.priorities_recompute(workspace_id=atlas.pk, trigger="manual")  # stored values to compare too
    Opportunity.objects.filter(workspace=atlas, title__endswith="3").update(updated_at=timezone.now())

    fast = recompute.load_columns(atlas.pk, spec)
    reference = recompute.columns_from_inputs(recompute.load_inputs(atlas.pk, spec), spec)

    assert len(fast) == Opportunity.objects.filter(workspace=atlas).open().count()
    for name in ("ids", "priority", "rank", "digest", "has_digest", "stale"):
        assert_same(getattr(reference, name), getattr(fast, name), name)
    assert list(fast.criteria) == list(reference.criteria)
    for key, values in reference.criteria.items():
        assert_same(values, fast.criteria[key], key)
    assert list(fast.evidence) == list(EVERY_EVIDENCE_INPUT)
    for key, values in reference.evidence.items():
        assert_same(values, fast.evidence[key], key)
    # the data exercises every input: several insights summed, a moment of truth, measured KPIs
    assert np.nanmax(fast.evidence["insight_count"]) >= 5
    assert set(np.unique(fast.evidence["kpi_gap"][~np.isnan(fast.evidence["kpi_gap"])]).tolist()) - {0.0}
    assert np.isnan(fast.evidence["okr_alignment"]).any() and (fast.evidence["okr_alignment"] == 1).any()
    assert fast.stale.sum() == 3 and fast.has_digest.all()  # "Opportunity 3", "…13", "…23"


def stored(workspace) -> dict[int, tuple]:
    return {
        o.pk: (o.priority, o.rank, o.scores, o.score_breakdown)
        for o in Opportunity.objects.filter(workspace=workspace).open()
    }


def reference(workspace) -> dict[int, tuple]:
    _, spec = recompute.load_spec(workspace.pk)
    inputs = recompute.load_inputs(workspace.pk, spec)
    return {
        s.pk: (s.priority, s.rank, s.scores, s.breakdown)
        for s in recompute.score(inputs, scoring.compile_model(spec))
    }


def test_the_recompute_writes_exactly_what_the_reference_scores(atlas):
    services.priorities_recompute(workspace_id=atlas.pk, trigger="manual")

    written, expected = stored(atlas), reference(atlas)
    assert written == expected
    assert all(math.isfinite(priority) for priority, *_ in written.values())
    assert sorted(rank for _, rank, *_ in written.values()) == list(range(1, len(written) + 1))
    assert any(len(breakdown["evidence"]) > 2 for *_, breakdown in written.values())
    assert not Opportunity.objects.filter(workspace=atlas, status="done").exclude(rank=None).exists()


def test_the_recompute_writes_exactly_what_the_reference_scores_on_every_preset(atlas):
    for preset in sorted(scoring.PRESETS):
        services.scoring_model_apply_preset(workspace=atlas, preset=preset)
        services.priorities_recompute(workspace_id=atlas.pk, trigger="manual")
        assert stored(atlas) == reference(atlas), preset


def test_moved_numbers_are_rewritten_and_unchanged_breakdowns_are_not(
    atlas, django_capture_on_commit_callbacks
):
    services.priorities_recompute(workspace_id=atlas.pk, trigger="manual")
    before = stored(atlas)
    _, spec = recompute.load_spec(atlas.pk)
    evaluator = scoring.compile_model(spec)

    def run():
        cols = recompute.load_columns(atlas.pk, spec)
        scores = recompute.score_columns(cols, evaluator)
        return scores, recompute.write_columns(atlas.pk, cols, scores, timezone.now())

    assert run()[1] == 0  # nothing changed
    # What the benchmark does between runs: every priority moved, the inputs did not.
    Opportunity.objects.filter(workspace=atlas).open().update(priority=F("priority") + 1.0)
    scores, written = run()
    assert written == len(before)
    assert not scores.json_changed.any()
    assert stored(atlas) == before


def test_postgresql_write_skips_a_row_that_moved_since_the_load(atlas):
    """The write finds rows by the ctid the load read: a row updated in between (by another transaction
    in real life, here by this one) has moved and keeps its score; its change asked for another run."""
    require_postgres()
    _, spec = recompute.load_spec(atlas.pk)
    evaluator = scoring.compile_model(spec)
    cols = recompute.load_columns(atlas.pk, spec)
    scores = recompute.score_columns(cols, evaluator)
    moved = Opportunity.objects.filter(workspace=atlas).open().order_by("pk").first()
    Opportunity.objects.filter(pk=moved.pk).update(title="Renamed meanwhile")

    written = recompute.write_columns(atlas.pk, cols, scores, timezone.now())

    assert written == len(cols) - 1
    moved.refresh_from_db()
    assert moved.scored_at is None and moved.rank is None
    assert (
        not Opportunity.objects.filter(workspace=atlas).open().exclude(pk=moved.pk).filter(rank=None).exists()
    )
