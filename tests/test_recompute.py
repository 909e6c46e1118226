"""The priority recompute: set-based loading, scores and ranks, recorded runs, debouncing, history."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Step
from metrics.models import DataPoint, Kpi
from okrs.models import KeyResult, Objective, OkrCycle
from opportunities import recompute, scoring, services
from opportunities.models import (
    Criterion,
    CriterionValue,
    Opportunity,
    RecomputeRun,
    RecomputeState,
    ScoreSnapshot,
)
from opportunities.presets import scoring_model_install_preset


@pytest.fixture
def journey(workspace):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer lifecycle")
    stage = LifecycleStage.objects.create(
        workspace=workspace, lifecycle=lifecycle, name="Onboarding", position=1
    )
    macro = MacroJourney.objects.create(workspace=workspace, stage=stage, name="Open an account", position=1)
    return Journey.objects.create(workspace=workspace, macro_journey=macro, name="Open an account online")


@pytest.fixture
def model(workspace):
    return scoring_model_install_preset(workspace=workspace, preset="atlas")


def criteria(workspace) -> dict[str, Criterion]:
    return {c.key: c for c in Criterion.objects.filter(workspace=workspace)}


def make_opportunity(workspace, title, values=None, insights=(), steps=(), status="new"):
    opportunity = Opportunity.objects.create(workspace=workspace, title=title, status=status)
    by_key = criteria(workspace)
    CriterionValue.objects.bulk_create(
        CriterionValue(workspace=workspace, opportunity=opportunity, criterion=by_key[key], value=value)
        for key, value in (values or {}).items()
    )
    opportunity.insights.add(*insights)
    opportunity.steps.add(*steps)
    return opportunity


def expected_priority(workspace, opportunity) -> float:
    """What the pure engine gives for the opportunity's stored inputs."""
    _, spec = recompute.load_spec(workspace.pk)
    inputs = recompute.load_inputs(workspace.pk, spec)
    evaluator = scoring.compile_model(spec)
    return evaluator.evaluate(inputs.values.get(opportunity.pk, {}), inputs.evidence.get(opportunity.pk, {}))[
        evaluator.priority
    ]


def test_recompute_scores_and_ranks_every_open_opportunity(workspace, model, journey):
    step = Step.objects.create(workspace=workspace, journey=journey, position=1, name="Upload ID")
    pain = Insight.objects.create(
        workspace=workspace, title="Upload fails", severity=5, status="validated", reach=900
    )
    keys = list(criteria(workspace))
    high = make_opportunity(
        workspace, "Fix upload", {k: criteria(workspace)[k].max_value for k in keys}, [pain], [step]
    )
    low = make_opportunity(workspace, "Nice to have", {k: criteria(workspace)[k].min_value for k in keys})
    unscored = make_opportunity(workspace, "Nobody scored me")
    done = make_opportunity(workspace, "Shipped", status="done")
    done.rank = 9
    done.save()

    run = services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")

    assert run.status == RecomputeRun.Status.SUCCEEDED
    assert run.opportunity_count == 3
    for opportunity in (high, low, unscored, done):
        opportunity.refresh_from_db()
    assert high.rank == 1
    assert [high.rank, unscored.rank, low.rank] == sorted([high.rank, unscored.rank, low.rank])
    assert done.rank is None
    assert high.priority == pytest.approx(expected_priority(workspace, high), abs=1e-5)
    assert high.scores["priority"] == pytest.approx(high.priority)
    assert {"customer_value", "business_value", "value", "priority"} <= set(high.scores)
    assert high.score_breakdown["evidence"]["evidence"] == 1.0  # the only evidence-backed one
    assert high.scored_at is not None


def test_missing_values_are_assumed_and_explained(workspace, model):
    opportunity = make_opportunity(workspace, "Nobody scored me")
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    opportunity.refresh_from_db()
    explanation = recompute.explain(opportunity)
    assert explanation["priority"] == pytest.approx(opportunity.priority)
    assert set(explanation["assumed"]) == set(criteria(workspace))
    assert explanation["rank"] == 1


def every_evidence_input(*keys: str) -> scoring.ModelSpec:
    """A model that reads the given evidence inputs (the loader loads only what a model uses)."""
    operands = tuple(scoring.InputSpec("evidence", key) for key in keys)
    return scoring.ModelSpec(
        criteria=(), nodes=(scoring.NodeSpec("priority", "Priority", "sum", operands),), priority="priority"
    )


def test_moment_of_truth_okr_and_journeys_feed_the_evidence_inputs(workspace, journey):
    mot = Step.objects.create(
        workspace=workspace, journey=journey, position=1, name="Sign", is_moment_of_truth=True
    )
    other_journey = Journey.objects.create(
        workspace=workspace, macro_journey=journey.macro_journey, name="Branch"
    )
    plain = Step.objects.create(workspace=workspace, journey=other_journey, position=1, name="Queue")
    insight = Insight.objects.create(
        workspace=workspace, title="Scary", severity=5, status="validated", reach=9
    )
    at_mot = make_opportunity(workspace, "At MoT", insights=[insight], steps=[mot, plain])
    elsewhere = make_opportunity(workspace, "Elsewhere", insights=[insight], steps=[plain])
    today = timezone.localdate()
    active = OkrCycle.objects.create(
        workspace=workspace, name="Now", start=today - timedelta(days=5), end=today + timedelta(days=5)
    )
    past = OkrCycle.objects.create(
        workspace=workspace, name="Past", start=date(2020, 1, 1), end=date(2020, 3, 31)
    )
    kr_now = KeyResult.objects.create(
        workspace=workspace,
        objective=Objective.objects.create(workspace=workspace, cycle=active, title="O"),
        title="KR",
        start_value=0,
        target_value=1,
    )
    kr_past = KeyResult.objects.create(
        workspace=workspace,
        objective=Objective.objects.create(workspace=workspace, cycle=past, title="P"),
        title="KR old",
        start_value=0,
        target_value=1,
    )
    at_mot.key_results.add(kr_now)
    elsewhere.key_results.add(kr_past)

    spec = every_evidence_input("evidence", "reach", "insight_count", "journey_count", "okr_alignment")
    inputs = recompute.load_inputs(workspace.pk, spec)

    assert inputs.evidence[at_mot.pk]["evidence"] == 1.0
    assert inputs.evidence[at_mot.pk]["reach"] == 9 and inputs.evidence[at_mot.pk]["insight_count"] == 1
    assert inputs.evidence[elsewhere.pk]["evidence"] == pytest.approx(1 / 1.5)  # no moment of truth
    assert inputs.evidence[at_mot.pk]["journey_count"] == 2
    assert inputs.evidence[at_mot.pk]["okr_alignment"] == 1.0
    assert "okr_alignment" not in inputs.evidence[elsewhere.pk]  # only active cycles count


def test_kpi_gap_uses_the_latest_measurement_of_kpis_on_linked_steps(workspace, journey):
    step = Step.objects.create(workspace=workspace, journey=journey, position=1, name="Apply")
    kpi = Kpi.objects.create(
        workspace=workspace,
        name="Completion",
        kpi_type="ratio",
        scope="step",
        step=step,
        target=0.8,
        baseline=0.4,
    )
    DataPoint.objects.create(workspace=workspace, kpi=kpi, date=date(2026, 1, 1), numerator=1, denominator=10)
    DataPoint.objects.create(workspace=workspace, kpi=kpi, date=date(2026, 2, 1), numerator=6, denominator=10)
    opportunity = make_opportunity(workspace, "Shorter form", steps=[step])
    spec = every_evidence_input("kpi_gap")
    inputs = recompute.load_inputs(workspace.pk, spec)
    # latest 0.6 against target 0.8 from baseline 0.4: shortfall 0.2 over a 0.4 span
    assert inputs.evidence[opportunity.pk]["kpi_gap"] == pytest.approx(0.5)


def test_recompute_query_count_does_not_grow_with_opportunities(workspace, model, journey):
    def run_and_count() -> int:
        RecomputeState.objects.filter(workspace=workspace).update(requested_seq=0, done_seq=0)
        with CaptureQueriesContext(connection) as ctx:
            services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
        return len(ctx.captured_queries)

    step = Step.objects.create(workspace=workspace, journey=journey, position=1, name="Step")
    insight = Insight.objects.create(workspace=workspace, title="Pain", severity=3, reach=5)
    keys = list(criteria(workspace))
    for i in range(3):
        make_opportunity(workspace, f"O{i}", {keys[0]: 2}, [insight], [step])
    few = run_and_count()
    for i in range(60):
        make_opportunity(workspace, f"P{i}", {keys[0]: 3, keys[1]: 4}, [insight], [step])
    many = run_and_count()
    assert Opportunity.objects.filter(workspace=workspace).count() == 63
    assert few == many


def test_a_change_already_covered_is_not_run_twice(workspace, model):
    make_opportunity(workspace, "One")
    RecomputeState.objects.create(workspace=workspace, requested_seq=1)
    assert services.priorities_recompute(workspace_id=workspace.pk) is not None
    assert services.priorities_recompute(workspace_id=workspace.pk) is None  # duplicate delivery
    assert services.priorities_recompute(workspace_id=workspace.pk, trigger="manual") is not None
    assert RecomputeRun.objects.filter(workspace=workspace, status="succeeded").count() == 2


def test_a_failed_run_is_recorded_and_writes_nothing(workspace, model, monkeypatch):
    opportunity = make_opportunity(workspace, "One")

    def broken(cols, evaluator):
        raise RuntimeError("boom")

    monkeypatch.setattr(recompute, "score_columns", broken)
    with pytest.raises(RuntimeError):
        services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    run = RecomputeRun.objects.get(workspace=workspace)
    assert run.status == RecomputeRun.Status.FAILED
    assert "boom" in run.error
    opportunity.refresh_from_db()
    assert opportunity.priority is None


def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted(workspace, model):
    lost = RecomputeRun.objects.create(workspace=workspace, started_at=timezone.now() - timedelta(minutes=3))
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    lost.refresh_from_db()
    assert lost.status == RecomputeRun.Status.INTERRUPTED


def test_a_burst_of_requests_enqueues_one_task_and_a_request_during_a_run_one_more(
    workspace, model, django_capture_on_commit_callbacks, monkeypatch
):
    from opportunities import tasks

    enqueued = []
    monkeypatch.setattr(tasks.recompute_priorities, "apply_async", lambda **kw: enqueued.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(50):
            services.priorities_request_recompute(workspace_id=workspace.pk)
    assert len(enqueued) == 1
    assert enqueued[0]["countdown"] == services.RECOMPUTE_DEBOUNCE_SECONDS
    state = RecomputeState.objects.get(workspace=workspace)
    assert (state.requested_seq, state.queued) == (50, True)

    # The run starts (clears `queued`); requests during it enqueue exactly one follow-up.
    RecomputeState.objects.filter(workspace=workspace).update(queued=False)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(10):
            services.priorities_request_recompute(workspace_id=workspace.pk)
    assert len(enqueued) == 2


def test_a_request_is_enqueued_only_after_commit(
    workspace, model, django_capture_on_commit_callbacks, monkeypatch
):
    from opportunities import tasks

    enqueued = []
    monkeypatch.setattr(tasks.recompute_priorities, "apply_async", lambda **kw: enqueued.append(kw))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.priorities_request_recompute(workspace_id=workspace.pk)
    assert enqueued == [] and len(callbacks) == 1


def test_eager_request_recomputes_after_commit(workspace, model, django_capture_on_commit_callbacks):
    opportunity = make_opportunity(workspace, "One")
    with django_capture_on_commit_callbacks(execute=True):
        services.priorities_request_recompute(workspace_id=workspace.pk)
    opportunity.refresh_from_db()
    assert opportunity.rank == 1
    assert RecomputeState.objects.get(workspace=workspace).is_pending is False


def test_workspace_without_a_model_gets_the_default_preset(workspace):
    opportunity = make_opportunity(workspace, "One")
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    opportunity.refresh_from_db()
    assert opportunity.rank == 1
    assert workspace.pk and Criterion.objects.filter(workspace=workspace).exists()


def test_snapshots_keep_changes_only_and_the_week_rolls(workspace, model):
    first = make_opportunity(
        workspace, "First", {"customer_impact": 5} if "customer_impact" in criteria(workspace) else {}
    )
    second = make_opportunity(workspace, "Second")
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    assert services.priorities_snapshot(workspace_id=workspace.pk, day=date(2027, 1, 1)) == 2
    assert (
        services.priorities_snapshot(workspace_id=workspace.pk, day=date(2027, 1, 2)) == 0
    )  # nothing changed
    Opportunity.objects.filter(pk=second.pk).update(priority=999.0, rank=1)
    assert services.priorities_snapshot(workspace_id=workspace.pk, day=date(2027, 1, 3)) == 1
    assert ScoreSnapshot.objects.filter(opportunity=second).count() == 2
    services.priorities_roll_week(workspace_id=workspace.pk)
    first.refresh_from_db()
    assert first.previous_rank == first.rank and first.previous_priority == first.priority


def test_only_rows_whose_score_changed_are_written(workspace, model, journey):
    keys = list(criteria(workspace))
    opportunities = [make_opportunity(workspace, f"O{i}", {keys[0]: 1 + i % 5}) for i in range(6)]
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    _, spec = recompute.load_spec(workspace.pk)
    evaluator = scoring.compile_model(spec)

    def rows_written() -> int:
        cols = recompute.load_columns(workspace.pk, spec)
        return recompute.write_columns(
            workspace.pk, cols, recompute.score_columns(cols, evaluator), timezone.now()
        )

    assert rows_written() == 0  # nothing changed since the run
    # The lowest-ranked one becomes the best: it and everything it overtakes move, nothing else.
    last = max(opportunities, key=lambda o: Opportunity.objects.get(pk=o.pk).rank)
    by_key = criteria(workspace)
    services.opportunity_set_criterion_values(
        opportunity=last, values={by_key[k]: by_key[k].max_value for k in keys}
    )
    assert rows_written() == Opportunity.objects.filter(workspace=workspace).count()
    assert rows_written() == 0
    last.refresh_from_db()
    assert last.rank == 1 and last.scored_at >= last.updated_at


def test_postgresql_one_query_links_equal_the_orm_links(workspace, model, journey):
    from tests.test_services import require_postgres

    require_postgres()
    steps = [
        Step.objects.create(
            workspace=workspace, journey=journey, position=i, name=f"S{i}", is_moment_of_truth=i == 0
        )
        for i in range(3)
    ]
    insights = [
        Insight.objects.create(workspace=workspace, title=f"I{i}", severity=1 + i, reach=10 * i)
        for i in range(3)
    ]
    keys = list(criteria(workspace))
    make_opportunity(workspace, "Linked", {keys[0]: 4, keys[1]: 2}, insights, steps)
    make_opportunity(workspace, "Bare")
    make_opportunity(workspace, "Closed", {keys[0]: 1}, insights[:1], steps[:1], status="done")
    fast = recompute._links_postgresql(workspace.pk)
    orm = recompute._links_orm(workspace.pk)
    assert fast.ids == orm.ids
    assert fast.values == dict(orm.values)

    def as_rows(parallel: dict) -> dict:
        return {pk: sorted(zip(*columns, strict=True)) for pk, columns in parallel.items()}

    assert as_rows(fast.insights) == as_rows(orm.insights)
    assert as_rows(fast.steps) == as_rows(orm.steps)
    assert fast.insights and fast.steps
    assert fast.current == orm.current


# --- Manual requests (the API's POST …/recompute/) -------------------------------------------------------


def capture_enqueued(monkeypatch) -> list[dict]:
    from opportunities import tasks

    enqueued: list[dict] = []
    monkeypatch.setattr(tasks.recompute_priorities, "apply_async", lambda **kw: enqueued.append(kw))
    return enqueued


def test_manual_requests_enqueue_one_run_until_it_starts(
    workspace, model, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = capture_enqueued(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        results = [services.priorities_request_manual_recompute(workspace_id=workspace.pk) for _ in range(3)]

    assert [r.enqueued for r in results] == [True, False, False]
    assert enqueued == [{"kwargs": {"workspace_id": workspace.pk, "trigger": "manual"}}]
    # The run starts (clears `queued`) and ends: the next request enqueues again.
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.priorities_request_manual_recompute(workspace_id=workspace.pk).enqueued
    assert len(enqueued) == 2


def test_a_manual_request_is_covered_by_a_queued_change_and_the_reverse(
    workspace, model, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = capture_enqueued(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        services.priorities_request_recompute(workspace_id=workspace.pk)  # claims `queued` on commit
    with django_capture_on_commit_callbacks(execute=True):
        assert not services.priorities_request_manual_recompute(workspace_id=workspace.pk).enqueued
    assert len(enqueued) == 1

    RecomputeState.objects.filter(workspace=workspace).update(queued=False)  # that task started
    with django_capture_on_commit_callbacks(execute=True):
        assert services.priorities_request_manual_recompute(workspace_id=workspace.pk).enqueued
        services.priorities_request_recompute(workspace_id=workspace.pk)  # covered by the manual run
    assert [kw["kwargs"].get("trigger") for kw in enqueued] == [None, "manual"]


def test_a_manual_request_during_a_run_returns_the_run(
    workspace, model, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = capture_enqueued(monkeypatch)
    running = RecomputeRun.objects.create(workspace=workspace, started_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        result = services.priorities_request_manual_recompute(workspace_id=workspace.pk)
    assert (result.enqueued, result.running) == (False, running)
    assert enqueued == []


def test_a_lost_task_or_a_dead_run_does_not_block_manual_requests(
    workspace, model, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = capture_enqueued(monkeypatch)
    long_ago = timezone.now() - timedelta(seconds=services.RECOMPUTE_QUEUED_STALE_SECONDS + 60)
    RecomputeRun.objects.create(workspace=workspace, started_at=long_ago)  # its worker died
    RecomputeState.objects.create(workspace=workspace, queued=True, queued_at=long_ago)  # lost in the broker
    with django_capture_on_commit_callbacks(execute=True):
        result = services.priorities_request_manual_recompute(workspace_id=workspace.pk)
    assert (result.enqueued, result.running) == (True, None)
    assert len(enqueued) == 1
    assert RecomputeState.objects.get(workspace=workspace).queued_at > long_ago
