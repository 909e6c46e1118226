"""Writes of opportunities that touch several models: the opportunity, its links and its criterion
values are saved together or not at all."""

import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from atlas.models import Membership, Tag, Workspace
from journeys.models import Insight, Step
from okrs.models import KeyResult
from opportunities.models import (
    Criterion,
    CriterionValue,
    Opportunity,
    RecomputeRun,
    RecomputeState,
    ScoreSnapshot,
    Solution,
)
from opportunities.recompute import recompute_workspace
from opportunities.scoring import CriterionSpec, check_value

# Fields an editor sets directly; the score fields are written only by the recompute.
EDITABLE_FIELDS = frozenset({"title", "description", "status", "owner"})
LINKS = ("steps", "insights", "key_results", "tags")


@transaction.atomic
def opportunity_create(
    *,
    workspace: Workspace,
    created_by: Membership | None,
    title: str,
    description: str = "",
    status: str = Opportunity.Status.NEW,
    owner: Membership | None = None,
    steps: Iterable[Step] = (),
    insights: Iterable[Insight] = (),
    key_results: Iterable[KeyResult] = (),
    tags: Iterable[Tag] = (),
    criterion_values: Mapping[Criterion, float | None] | None = None,
) -> Opportunity:
    opportunity = Opportunity.objects.create(
        workspace=workspace,
        created_by=created_by,
        title=title,
        description=description,
        status=status,
        owner=owner,
    )
    opportunity.steps.set(steps)
    opportunity.insights.set(insights)
    opportunity.key_results.set(key_results)
    opportunity.tags.set(tags)
    if criterion_values:
        opportunity_set_criterion_values(opportunity=opportunity, values=criterion_values)
    priorities_request_recompute(workspace_id=workspace.pk)
    return opportunity


@transaction.atomic
def opportunity_update(
    *,
    opportunity: Opportunity,
    criterion_values: Mapping[Criterion, float | None] | None = None,
    **changes,
) -> Opportunity:
    """Set the given fields and links (a link list replaces the previous one); criterion values
    are merged as in `opportunity_set_criterion_values`."""
    links = {name: changes.pop(name) for name in LINKS if name in changes}
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"opportunity_update() cannot set {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(opportunity, name, value)
    opportunity.save(update_fields=[*changes, "updated_at"])
    for name, items in links.items():
        getattr(opportunity, name).set(items)
    if criterion_values:
        opportunity_set_criterion_values(opportunity=opportunity, values=criterion_values)
    priorities_request_recompute(workspace_id=opportunity.workspace_id)
    return opportunity


def opportunity_set_criterion_values(
    *, opportunity: Opportunity, values: Mapping[Criterion, float | None]
) -> None:
    """Merge the given scores into the opportunity's: a number sets the criterion's value, None
    clears it (the criterion's default applies again); criteria not given keep their value.

    A fixed number of statements whatever the number of criteria: one delete, one upsert, one touch
    of the opportunity (so it shows as recomputing), then the recompute request after commit."""
    cleared = [criterion.pk for criterion, value in values.items() if value is None]
    if cleared:
        CriterionValue.objects.filter(opportunity=opportunity, criterion_id__in=cleared).delete()
    scored = [
        CriterionValue(
            workspace_id=opportunity.workspace_id, opportunity=opportunity, criterion=criterion, value=value
        )
        for criterion, value in values.items()
        if value is not None
    ]
    if scored:
        CriterionValue.objects.bulk_create(
            scored,
            update_conflicts=True,
            unique_fields=["opportunity", "criterion"],
            update_fields=["value", "updated_at"],
        )
    # The row shows "recomputing…" until scored_at passes updated_at.
    opportunity.updated_at = timezone.now()
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=opportunity.updated_at)
    priorities_request_recompute(workspace_id=opportunity.workspace_id)


# --- Priority recompute: debounced requests and crash-safe runs ------------------------------------------

RECOMPUTE_DEBOUNCE_SECONDS = 2
# A task flagged as queued for longer than this was lost (broker flushed…): the next change enqueues again.
RECOMPUTE_QUEUED_STALE_SECONDS = 15 * 60


def priorities_request_recompute(*, workspace_id: int) -> None:
    """Ask for the workspace's scores to be recomputed once the current transaction commits.

    Debounced: the first request enqueues a task that starts RECOMPUTE_DEBOUNCE_SECONDS later; requests
    made before it starts only raise `requested_seq` (the task covers them). Once a run starts it clears
    `queued`, so the first request during the run enqueues exactly one follow-up."""
    from opportunities.tasks import recompute_priorities

    def enqueue() -> None:
        RecomputeState.objects.bulk_create([RecomputeState(workspace_id=workspace_id)], ignore_conflicts=True)
        state = RecomputeState.objects.filter(workspace_id=workspace_id)
        state.update(requested_seq=F("requested_seq") + 1)
        now = timezone.now()
        stale = now - timedelta(seconds=RECOMPUTE_QUEUED_STALE_SECONDS)
        claimed = state.filter(Q(queued=False) | Q(queued_at__lt=stale)).update(queued=True, queued_at=now)
        if claimed:
            recompute_priorities.apply_async(
                kwargs={"workspace_id": workspace_id}, countdown=RECOMPUTE_DEBOUNCE_SECONDS
            )

    transaction.on_commit(enqueue)


@contextmanager
def _workspace_recompute_lock(workspace_id: int):
    """One run per workspace at a time. A PostgreSQL session advisory lock: if the worker dies, its
    connection closes and the lock is released with it. (SQLite runs tasks in-process, one at a time.)"""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RECOMPUTE_LOCK_CLASS, workspace_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RECOMPUTE_LOCK_CLASS, workspace_id])


RECOMPUTE_LOCK_CLASS = 7_301  # first key of the advisory lock; the second is the workspace id


def priorities_recompute(*, workspace_id: int, trigger: str = "change") -> RecomputeRun | None:
    """Run the recompute for the workspace, recorded as a RecomputeRun. Safe to run twice and when a
    worker died mid-run: the scores are written in one transaction (all or nothing), runs of a workspace
    are serialised, and a run triggered by a change is skipped when an earlier run already covered
    every request. Returns the run, or None when skipped."""
    RecomputeState.objects.bulk_create([RecomputeState(workspace_id=workspace_id)], ignore_conflicts=True)
    # Committed at once, outside the run's transaction: a change from now on enqueues a follow-up.
    RecomputeState.objects.filter(workspace_id=workspace_id).update(queued=False)
    with _workspace_recompute_lock(workspace_id):
        state = RecomputeState.objects.get(workspace_id=workspace_id)
        if trigger == RecomputeRun.Trigger.CHANGE and state.done_seq >= state.requested_seq:
            return None
        covered = state.requested_seq
        # Holding the lock, no other run is alive: a run still marked running lost its worker.
        RecomputeRun.objects.filter(workspace_id=workspace_id, status=RecomputeRun.Status.RUNNING).update(
            status=RecomputeRun.Status.INTERRUPTED, finished_at=timezone.now()
        )
        run = RecomputeRun.objects.create(
            workspace_id=workspace_id, trigger=trigger, started_at=timezone.now(), covered_seq=covered
        )
        started = time.perf_counter()
        try:
            with transaction.atomic():
                count = recompute_workspace(workspace_id)
                RecomputeState.objects.filter(workspace_id=workspace_id, done_seq__lt=covered).update(
                    done_seq=covered
                )
        except Exception as exc:
            run.status = RecomputeRun.Status.FAILED
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
            run.finished_at = timezone.now()
            run.duration_ms = round((time.perf_counter() - started) * 1000)
            run.save(update_fields=["status", "error", "finished_at", "duration_ms"])
            raise
        run.status = RecomputeRun.Status.SUCCEEDED
        run.opportunity_count = count
        run.finished_at = timezone.now()
        run.duration_ms = round((time.perf_counter() - started) * 1000)
        run.save(update_fields=["status", "opportunity_count", "finished_at", "duration_ms"])
        return run


def priorities_roll_week(*, workspace_id: int) -> int:
    """Start a new week of rank movement: the current rank and priority become the previous ones.
    One UPDATE; the backlog's "moved up 4 places since last week" compares against these."""
    return Opportunity.objects.filter(workspace_id=workspace_id).update(
        previous_rank=F("rank"), previous_priority=F("priority")
    )


def priorities_snapshot(*, workspace_id: int, day: date | None = None) -> int:
    """Keep the score history: one ScoreSnapshot per opportunity whose priority or rank changed since
    its latest snapshot (set-based INSERT … SELECT; a second call on the same day adds nothing)."""
    day = day or timezone.localdate()
    opportunity_table = Opportunity._meta.db_table
    snapshot_table = ScoreSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {snapshot_table} (workspace_id, opportunity_id, date, priority, rank)
            SELECT o.workspace_id, o.id, %s, o.priority, o.rank FROM {opportunity_table} o
            WHERE o.workspace_id = %s AND o.priority IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM {snapshot_table} s
                WHERE s.opportunity_id = o.id AND s.priority = o.priority
                  AND s.rank IS NOT DISTINCT FROM o.rank
                  AND s.date = (SELECT MAX(s2.date) FROM {snapshot_table} s2 WHERE s2.opportunity_id = o.id)
            )
            ON CONFLICT (opportunity_id, date) DO NOTHING
            """,
            [day, workspace_id],
        )
        return cursor.rowcount


# --- Editors' scores and solutions (the backlog and the opportunity page) -----------------------------

SOLUTION_FIELDS = frozenset({"title", "description", "status", "external_url"})


def _criterion_spec(criterion: Criterion) -> CriterionSpec:
    return CriterionSpec(
        key=criterion.key,
        name=criterion.name,
        perspective=criterion.perspective,
        min_value=criterion.min_value,
        max_value=criterion.max_value,
        step=criterion.step,
        unit=criterion.unit,
        default_value=criterion.default_value,
        allowed_values=tuple(criterion.allowed_values or ()) or None,
    )


def opportunity_score(*, opportunity: Opportunity, values: Mapping[Criterion, float | None]) -> Opportunity:
    """An editor scores the opportunity: each value is checked against its criterion (range and step)
    and, only when all are valid, merged as in `opportunity_set_criterion_values`.

    Raises ValidationError {criterion key: [message]} and saves nothing when a value is invalid. The
    opportunity's `updated_at` moves, so pages show its score as stale until the recompute has run."""
    errors: dict[str, list[str]] = {}
    for criterion, value in values.items():
        if criterion.workspace_id != opportunity.workspace_id:
            raise ValueError("A criterion of another workspace cannot score this opportunity.")
        problem = None if value is None else check_value(_criterion_spec(criterion), value)
        if problem:
            errors[criterion.key] = [problem]
    if errors:
        raise ValidationError(errors)
    if not values:
        return opportunity
    return opportunity_update(opportunity=opportunity, criterion_values=values)


def solution_create(
    *,
    opportunity: Opportunity,
    title: str,
    status: str = Solution.Status.IDEA,
    external_url: str = "",
    description: str = "",
) -> Solution:
    """A new solution (a concrete idea or delivery item) for the opportunity. The URL and status are
    validated as the model defines them (ValidationError otherwise)."""
    solution = Solution(
        workspace_id=opportunity.workspace_id,
        opportunity=opportunity,
        title=title,
        status=status,
        external_url=external_url,
        description=description,
    )
    solution.full_clean(exclude=["workspace", "opportunity"], validate_constraints=False)
    solution.save()
    return solution


def solution_update(*, solution: Solution, **changes) -> Solution:
    """Set the given fields (title, description, status, external_url), validated as in `solution_create`."""
    unknown = set(changes) - SOLUTION_FIELDS
    if unknown:
        raise TypeError(f"solution_update() cannot set {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(solution, name, value)
    solution.full_clean(exclude=["workspace", "opportunity"], validate_constraints=False)
    solution.save(update_fields=list(changes))
    return solution
