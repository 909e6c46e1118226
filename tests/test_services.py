"""The real services behind Journey Atlas: PostgreSQL, Redis and a Celery worker running bin/worker.

In CI (CI=true) every service must be there: a missing or misconfigured one FAILS its test. Elsewhere
a test whose service is not configured (DATABASE_URL / REDIS_URL unset) is skipped with the reason."""

import os
import subprocess
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from atlas.celery import app as celery_app
from atlas.models import LoginFailure
from atlas.tasks import purge_login_failures

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
WORKER_TIMEOUT = 60  # seconds for the worker to start and run the task; it takes about 3 here


def require(condition: bool, reason: str) -> None:
    """Fail in CI, skip elsewhere, when a service the test needs is not configured."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI must run this test against the real service)", pytrace=False)
    pytest.skip(reason)


def require_postgres() -> str:
    url = os.environ.get("DATABASE_URL", "")
    require(bool(url), "DATABASE_URL is not set: PostgreSQL tests need a PostgreSQL server")
    require(
        urlsplit(url).scheme in {"postgres", "postgresql", "pgsql"},
        f"DATABASE_URL is not a PostgreSQL URL ({urlsplit(url).scheme}://…)",
    )
    return url


def require_redis() -> str:
    url = os.environ.get("REDIS_URL", "")
    require(bool(url), "REDIS_URL is not set: Redis and Celery tests need a Redis server")
    return url


def make_failures(*, minutes_ago: int, count: int = 1) -> list[int]:
    """LoginFailure rows created `minutes_ago` (created_at is auto_now_add, so it is moved afterwards)."""
    ids = [
        LoginFailure.objects.create(username="sam@example.test", ip_address="192.0.2.1").pk
        for _ in range(count)
    ]
    LoginFailure.objects.filter(pk__in=ids).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return ids


# In-process, on whatever database the suite runs against.


@pytest.mark.django_db
def test_purge_login_failures_deletes_rows_older_than_an_hour_and_keeps_recent_ones():
    old = make_failures(minutes_ago=61, count=2) + make_failures(minutes_ago=60 * 24)
    recent = make_failures(minutes_ago=59) + make_failures(minutes_ago=0)

    assert purge_login_failures() == 3

    assert sorted(LoginFailure.objects.values_list("pk", flat=True)) == sorted(recent)
    assert not LoginFailure.objects.filter(pk__in=old).exists()


@pytest.mark.django_db
def test_purge_login_failures_is_idempotent():
    make_failures(minutes_ago=90)

    assert purge_login_failures() == 1
    assert purge_login_failures() == 0


def test_beat_purges_login_failures_every_fifteen_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-login-failures"]

    assert entry["task"] == purge_login_failures.name == "atlas.tasks.purge_login_failures"
    assert entry["schedule"] == 15 * 60
    assert entry["task"] in celery_app.tasks


# Against the real services.


@pytest.mark.services
@pytest.mark.django_db
def test_database_is_postgresql():
    require_postgres()

    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["NAME"].startswith("test_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone()[0] == connection.settings_dict["NAME"]


@pytest.mark.services
def test_redis_answers_and_backs_the_cache():
    url = require_redis()

    assert redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    key = f"test-services-{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=30)
    assert cache.get(key) == "ok"
    cache.delete(key)


def worker_database_url() -> str:
    """DATABASE_URL pointing at the database this test process really uses: pytest-django's
    test_<name>, test_<name>_gw0 with xdist."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return url._replace(path="/" + quote(connection.settings_dict["NAME"])).geturl()


@contextmanager
def celery_config(**changes):
    """Change the Celery app's configuration for a block: the app has read Django's settings once."""
    saved = {key: celery_app.conf[key] for key in changes}
    celery_app.conf.update(changes)
    try:
        yield
    finally:
        celery_app.conf.update(saved)


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A real worker started with bin/worker on a queue of its own (parallel runs don't collide), on
    the test database. Rows must be committed to be seen by it, hence `transactional_db`."""
    require_postgres()
    redis_url = require_redis()
    queue = f"atlas-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_QUEUES": queue,
        "CONN_MAX_AGE": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "test-only-not-secret",
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "worker"), f"--hostname={queue}@%h"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    process.queue = queue
    process.log = log
    try:
        yield process
    finally:
        process.terminate()  # warm shutdown
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.services
def test_worker_purges_login_failures_enqueued_through_the_broker(worker):
    old = make_failures(minutes_ago=120, count=3)
    recent = make_failures(minutes_ago=5, count=2)

    with celery_config(task_always_eager=False, task_default_queue=worker.queue):
        purge_login_failures.delay()

    deadline = time.monotonic() + WORKER_TIMEOUT
    while LoginFailure.objects.filter(pk__in=old).exists():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with {worker.returncode}:\n{worker.log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not purge within {WORKER_TIMEOUT}s:\n{worker.log.read_text()}")
        time.sleep(0.2)

    assert sorted(LoginFailure.objects.values_list("pk", flat=True)) == sorted(recent)
    # The worker ran it, not this process: its log records the task and the 3 rows it deleted.
    deadline = time.monotonic() + 10
    while not worker_logged_success(worker.log) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker_logged_success(worker.log), worker.log.read_text()


def worker_logged_success(log: Path) -> bool:
    return any(
        "atlas.tasks.purge_login_failures" in line and "succeeded" in line and line.rstrip().endswith(": 3")
        for line in log.read_text().splitlines()
    )
