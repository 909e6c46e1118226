"""Maintenance tasks of the atlas app. Celery beat runs them on the schedule in
settings.CELERY_BEAT_SCHEDULE; like every task they take ids or nothing, never model instances."""

from celery import shared_task
from django.utils import timezone

from atlas.auth import WINDOW as LOGIN_FAILURE_WINDOW
from atlas.models import LoginFailure


@shared_task(ignore_result=True)
def purge_login_failures() -> int:
    """Delete failed-login rows older than the throttling window (an hour): they can no longer
    block anybody. Returns how many went; safe to run twice or concurrently."""
    cutoff = timezone.now() - LOGIN_FAILURE_WINDOW
    deleted, _ = LoginFailure.objects.filter(created_at__lt=cutoff).delete()
    return deleted
