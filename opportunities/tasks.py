"""Celery tasks of the prioritisation: ids in, services do the work (STYLE.md §5)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from atlas.models import Workspace
from opportunities import services
from opportunities.models import RecomputeRun


@shared_task(
    acks_late=True,  # acknowledged only when done: a worker that dies mid-run does not lose it
    reject_on_worker_lost=True,  # …and the broker redelivers it to another worker
    autoretry_for=(OperationalError, InterfaceError),  # the database went away: try again
    retry_backoff=5,
    retry_jitter=True,
    max_retries=5,
)
def recompute_priorities(workspace_id: int, trigger: str = RecomputeRun.Trigger.CHANGE) -> int | None:
    """Recompute every open opportunity's score and rank in the workspace; returns the run's id, or None
    when an earlier run already covered every change. The nightly run also keeps the score history and,
    on Mondays, starts a new week of rank movement."""
    if not Workspace.objects.filter(pk=workspace_id).exists():
        return None  # deleted after the request
    run = services.priorities_recompute(workspace_id=workspace_id, trigger=trigger)
    if trigger == RecomputeRun.Trigger.NIGHTLY:
        services.priorities_snapshot(workspace_id=workspace_id)
        if timezone.localdate().weekday() == 0:
            services.priorities_roll_week(workspace_id=workspace_id)
    return run.pk if run else None


@shared_task(acks_late=True)
def recompute_all_priorities() -> int:
    """Nightly, from celery beat: one recompute per workspace."""
    ids = list(Workspace.objects.values_list("pk", flat=True))
    for workspace_id in ids:
        recompute_priorities.delay(workspace_id=workspace_id, trigger=RecomputeRun.Trigger.NIGHTLY)
    return len(ids)
