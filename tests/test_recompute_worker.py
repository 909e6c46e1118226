"""The priority recompute with a real Celery worker on Redis and PostgreSQL (CI runs these; elsewhere
they are skipped when DATABASE_URL / REDIS_URL are unset — see tests/test_services.py).

The worker settings that make a killed worker's run complete are the production ones (acks_late,
reject_on_worker_lost, prefetch 1, one run per workspace at a time under an advisory lock, the scores
written in one transaction); only the Redis visibility timeout is shortened here, so the broker hands
the unacknowledged task to the next worker within seconds instead of an hour."""

import os
import signal
import subprocess
import time
import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from atlas.demo.scale import scale_seed
from atlas.models import Membership, Role, User, Workspace
from atlas.services import api_token_create
from opportunities import recompute, scoring, services
from opportunities.models import Criterion, Opportunity, RecomputeRun, RecomputeState
from opportunities.presets import scoring_model_install_preset
from tests.test_services import ROOT, celery_config, require_postgres, require_redis, worker_database_url

VISIBILITY_TIMEOUT = (
    5  # seconds; production keeps the default hour (settings.CELERY_BROKER_TRANSPORT_OPTIONS)
)
TIMEOUT = 120


def start_worker(queue: str, log_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": require_redis(),
        "CELERY_QUEUES": queue,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "CONN_MAX_AGE": "0",
        "PYTHONUNBUFFERED": "1",  # the log is read while the worker runs
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "test-only-not-secret",
    }
    out = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [str(ROOT / "bin" / "worker"), f"--hostname={queue}-{uuid.uuid4().hex[:6]}@%h"],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def broker(transactional_db, tmp_path):
    """A queue of this test's own, workers started on demand (all stopped at the end), and the Celery
    app publishing to the broker instead of running tasks in-process."""
    require_postgres()
    require_redis()
    queue = f"atlas-recompute-{uuid.uuid4().hex[:10]}"
    workers: list[subprocess.Popen] = []

    class Broker:
        log = tmp_path / "workers.log"

        def start_worker(self) -> subprocess.Popen:
            workers.append(start_worker(queue, self.log))
            return workers[-1]

        def log_text(self) -> str:
            return self.log.read_text() if self.log.exists() else ""

    with celery_config(task_always_eager=False, task_default_queue=queue):
        try:
            yield Broker()
        finally:
            for process in workers:
                stop(process)


def wait_until(condition, what: str, broker, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n--- worker log ---\n{broker.log_text()[-4000:]}")
        time.sleep(0.2)


def settled(workspace: Workspace) -> bool:
    state = RecomputeState.objects.filter(workspace=workspace).first()
    return state is not None and not state.queued and state.done_seq >= state.requested_seq


def api_client_for(workspace: Workspace) -> APIClient:
    user = User.objects.create_user(email=f"editor-{uuid.uuid4().hex[:6]}@acme.test", password="x")
    membership = Membership.objects.create(workspace=workspace, user=user, role=Role.EDITOR)
    _, raw = api_token_create(membership=membership, name="worker test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def scored_workspace(transactional_db):
    workspace = Workspace.objects.create(name="Acme Bank", slug="acme")
    scoring_model_install_preset(workspace=workspace, preset="atlas")
    impact = Criterion.objects.get(workspace=workspace, key="customer_impact")
    opportunities = [
        Opportunity.objects.create(workspace=workspace, title=f"Opportunity {i}") for i in range(3)
    ]
    for i, opportunity in enumerate(opportunities):
        opportunity.criterion_values.create(workspace=workspace, criterion=impact, value=5 - i)
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    return workspace, opportunities


@pytest.mark.services
def test_an_edit_through_the_api_is_recomputed_by_a_worker_and_shows_in_the_backlog(broker, scored_workspace):
    workspace, (_, _, last) = scored_workspace
    last.refresh_from_db()
    assert last.rank == 3
    broker.start_worker()
    client = api_client_for(workspace)

    response = client.patch(
        reverse("api:opportunity-detail", args=[workspace.slug, last.pk]),
        {"criterion_values": {"customer_impact": 5, "revenue_impact": 5, "strategic_fit": 5}},
        format="json",
    )
    assert response.status_code == 200, response.content

    wait_until(
        lambda: Opportunity.objects.get(pk=last.pk).rank == 1, "the worker to rank the edit first", broker
    )
    backlog = client.get(reverse("api:backlog-list", args=[workspace.slug])).json()
    assert backlog["results"][0]["id"] == last.pk
    wait_until(lambda: "recompute_priorities" in broker.log_text(), "the worker's log of the run", broker, 10)


@pytest.mark.services
def test_a_burst_of_fifty_edits_causes_at_most_two_runs(broker, scored_workspace):
    workspace, opportunities = scored_workspace
    broker.start_worker()
    client = api_client_for(workspace)
    runs_before = RecomputeRun.objects.filter(workspace=workspace).count()

    for i in range(50):
        opportunity = opportunities[i % 3]
        response = client.patch(
            reverse("api:opportunity-detail", args=[workspace.slug, opportunity.pk]),
            {"criterion_values": {"customer_impact": 1 + i % 5}},
            format="json",
        )
        assert response.status_code == 200, response.content

    wait_until(lambda: settled(workspace), "the burst to be recomputed", broker)
    runs = RecomputeRun.objects.filter(workspace=workspace).count() - runs_before
    assert 1 <= runs <= 2
    assert not RecomputeRun.objects.filter(workspace=workspace).exclude(status="succeeded").exists()


def clean_scores(workspace: Workspace) -> dict[int, tuple[float, int]]:
    _, spec = recompute.load_spec(workspace.pk)
    scored = recompute.score(recompute.load_inputs(workspace.pk, spec), scoring.compile_model(spec))
    return {s.pk: (round(s.priority, 9), s.rank) for s in scored}


@pytest.mark.services
def test_a_worker_killed_mid_recompute_loses_nothing(broker):
    workspace = scale_seed(slug="killed", n=20000).workspace
    opportunities = Opportunity.objects.filter(workspace=workspace)
    assert not opportunities.filter(priority__isnull=False).exists()
    victim = broker.start_worker()

    services.priorities_request_recompute(workspace_id=workspace.pk)  # autocommit: enqueued at once
    wait_until(
        lambda: RecomputeRun.objects.filter(workspace=workspace, status="running").exists(),
        "the first worker to start the run",
        broker,
    )
    time.sleep(0.5)  # inside the run: loading or scoring
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert not opportunities.filter(priority__isnull=False).exists(), "a killed run must write nothing"

    broker.start_worker()
    wait_until(
        lambda: RecomputeRun.objects.filter(workspace=workspace, status="succeeded").exists(),
        "a new worker to redo the run",
        broker,
    )
    assert RecomputeRun.objects.get(workspace=workspace, status="interrupted")
    stored = {
        pk: (round(priority, 9), rank)
        for pk, priority, rank in opportunities.open().values_list("pk", "priority", "rank")
    }
    assert stored == clean_scores(workspace)
