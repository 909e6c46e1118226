"""The recompute over the API: an editor asks for one (202), members follow the runs."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opportunities.models import CriterionValue, Opportunity, RecomputeRun, RecomputeState
from opportunities.presets import scoring_model_install_preset


def recompute_url(workspace) -> str:
    return reverse("api:recompute", kwargs={"workspace_slug": workspace.slug})


def runs_url(workspace, pk=None, **query) -> str:
    if pk is None:
        url = reverse("api:recompute-run-list", kwargs={"workspace_slug": workspace.slug})
    else:
        url = reverse("api:recompute-run-detail", kwargs={"workspace_slug": workspace.slug, "pk": pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def scored_workspace(workspace):
    """The atlas scoring model and two opportunities with scores on it, not yet recomputed."""
    model = scoring_model_install_preset(workspace=workspace)
    impact = model.criteria.get(key="customer_impact")
    for value in (2, 5):
        opportunity = Opportunity.objects.create(workspace=workspace, title=f"Impact {value}")
        CriterionValue.objects.create(
            workspace=workspace, opportunity=opportunity, criterion=impact, value=value
        )
    return workspace


def make_run(workspace, minutes_ago, **fields) -> RecomputeRun:
    return RecomputeRun.objects.create(
        workspace=workspace, started_at=timezone.now() - timedelta(minutes=minutes_ago), **fields
    )


# --- Asking for a recompute ----------------------------------------------------------------------------


def test_editor_requests_a_recompute_and_the_scores_are_written(
    scored_workspace, editor, api_for, django_capture_on_commit_callbacks
):
    workspace = scored_workspace

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_for(editor).post(recompute_url(workspace))

    assert response.status_code == 202
    assert response["Location"].endswith(runs_url(workspace))
    assert response.json() == {"enqueued": True, "pending": True, "latest_run": None}
    assert len(callbacks) == 1
    run = RecomputeRun.objects.get(workspace=workspace)
    assert (run.trigger, run.status, run.opportunity_count) == ("manual", "succeeded", 2)
    top, second = Opportunity.objects.filter(workspace=workspace).order_by("rank")
    assert (top.title, top.rank, second.rank) == ("Impact 5", 1, 2)
    assert top.priority > second.priority


def test_answer_shows_the_run_when_tasks_run_in_process(scored_workspace, owner, api_for, transactional_db):
    # Outside a transaction the task runs at once in-process (no REDIS_URL): the answer carries its run.
    response = api_for(owner).post(recompute_url(scored_workspace))

    assert response.status_code == 202
    body = response.json()
    assert body["enqueued"] is True and body["pending"] is False
    assert body["latest_run"]["trigger"] == "manual"
    assert body["latest_run"]["status"] == "succeeded"
    assert body["latest_run"]["opportunity_count"] == 2


def test_a_request_while_one_is_queued_is_covered_by_it(
    scored_workspace, editor, api_for, django_capture_on_commit_callbacks
):
    client = api_for(editor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = client.post(recompute_url(scored_workspace))
        second = client.post(recompute_url(scored_workspace))

    assert first.json()["enqueued"] is True
    assert second.status_code == 202
    assert second.json() == {"enqueued": False, "pending": True, "latest_run": None}
    assert len(callbacks) == 1
    assert RecomputeRun.objects.filter(workspace=scored_workspace).count() == 1


def test_a_request_while_a_run_is_under_way_returns_that_run(
    scored_workspace, editor, api_for, django_capture_on_commit_callbacks
):
    running = make_run(scored_workspace, 0)
    make_run(scored_workspace, 0.5, status="succeeded")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_for(editor).post(recompute_url(scored_workspace))

    body = response.json()
    assert response.status_code == 202
    assert (body["enqueued"], body["pending"]) == (False, True)
    assert (body["latest_run"]["id"], body["latest_run"]["status"]) == (running.pk, "running")
    assert callbacks == []


def test_once_the_queued_run_has_run_a_new_request_is_enqueued(
    scored_workspace, editor, api_for, django_capture_on_commit_callbacks
):
    client = api_for(editor)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(recompute_url(scored_workspace))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = client.post(recompute_url(scored_workspace))

    assert again.json()["enqueued"] is True and len(callbacks) == 1
    assert RecomputeRun.objects.filter(workspace=scored_workspace, trigger="manual").count() == 2


def test_viewer_cannot_request_a_recompute(
    scored_workspace, viewer, api_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_for(viewer).post(recompute_url(scored_workspace))

    assert response.status_code == 403
    assert callbacks == []
    assert not RecomputeRun.objects.exists()


def test_recompute_endpoint_only_takes_post(workspace, owner, api_for):
    assert api_for(owner).get(recompute_url(workspace)).status_code == 405


# --- Following the runs --------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_with_their_status(workspace, viewer, api_for):
    old = make_run(
        workspace, 60, status="succeeded", trigger="nightly", duration_ms=1200, opportunity_count=9
    )
    failed = make_run(workspace, 30, status="failed", error="ValueError: invalid model")
    running = make_run(workspace, 1)

    body = api_for(viewer).get(runs_url(workspace)).json()

    assert [run["id"] for run in body["results"]] == [running.pk, failed.pk, old.pk]
    assert body["pending"] is True  # a run is under way
    assert body["results"][2] == {
        "id": old.pk,
        "trigger": "nightly",
        "status": "succeeded",
        "started_at": body["results"][2]["started_at"],
        "finished_at": None,
        "duration_ms": 1200,
        "opportunity_count": 9,
        "error": "",
    }
    assert body["results"][1]["error"] == "ValueError: invalid model"


def test_pending_says_whether_changes_wait_for_a_recompute(workspace, viewer, api_for):
    make_run(workspace, 5, status="succeeded")
    client = api_for(viewer)

    assert client.get(runs_url(workspace)).json()["pending"] is False
    RecomputeState.objects.create(workspace=workspace, requested_seq=3, done_seq=2)
    assert client.get(runs_url(workspace)).json()["pending"] is True
    RecomputeState.objects.filter(workspace=workspace).update(done_seq=3)
    assert client.get(runs_url(workspace)).json()["pending"] is False
    RecomputeState.objects.filter(workspace=workspace).update(queued=True, queued_at=timezone.now())
    assert client.get(runs_url(workspace)).json()["pending"] is True


def test_runs_are_paged_by_cursor_and_filtered(workspace, viewer, api_for):
    made = [make_run(workspace, minutes, status="succeeded", trigger="change") for minutes in range(5)]
    manual = make_run(workspace, 10, status="failed", trigger="manual")
    client = api_for(viewer)

    seen, url = [], runs_url(workspace, page_size=2)
    while url:
        body = client.get(url).json()
        seen += [run["id"] for run in body["results"]]
        url = body["next"]

    assert seen == [run.pk for run in made] + [manual.pk]
    assert [r["id"] for r in client.get(runs_url(workspace, trigger="manual")).json()["results"]] == [
        manual.pk
    ]
    assert len(client.get(runs_url(workspace, status="succeeded")).json()["results"]) == 5


def test_run_detail_shows_its_status(workspace, viewer, api_for):
    run = make_run(workspace, 2, status="interrupted")

    body = api_for(viewer).get(runs_url(workspace, run.pk)).json()

    assert (body["id"], body["status"], body["trigger"]) == (run.pk, "interrupted", "change")


def test_runs_list_query_count_does_not_grow(workspace, owner, token_client_for):
    client, _ = token_client_for(owner)
    client.get(runs_url(workspace))  # the token's first use records it

    def count(url) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    make_run(workspace, 1)
    few = count(runs_url(workspace))
    for minutes in range(2, 80):
        make_run(workspace, minutes, status="succeeded")
    many = count(runs_url(workspace))
    later = count(client.get(runs_url(workspace)).json()["next"])

    assert few == many == later == 4  # the token, the page, the state, a running run


# --- Who may see ---------------------------------------------------------------------------------------


def test_outsider_gets_404_everywhere(workspace, outsider, api_for, django_capture_on_commit_callbacks):
    run = make_run(workspace, 1, error="ZZ secret")
    client = api_for(outsider)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert client.post(recompute_url(workspace)).status_code == 404
    assert client.get(runs_url(workspace)).status_code == 404
    response = client.get(runs_url(workspace, run.pk))
    assert response.status_code == 404
    assert b"ZZ secret" not in response.content
    assert callbacks == []


def test_token_of_another_workspace_gets_404(workspace, other_workspace, outsider, token_client_for):
    run = make_run(workspace, 1)
    foreign_run = make_run(other_workspace, 1)
    client, _ = token_client_for(outsider)

    assert client.post(recompute_url(workspace)).status_code == 404
    assert client.get(runs_url(workspace)).status_code == 404
    assert client.get(runs_url(workspace, run.pk)).status_code == 404
    # …and a run of the token's own workspace is not reachable through another workspace's URL
    assert client.get(runs_url(workspace, foreign_run.pk)).status_code == 404
    assert client.get(runs_url(other_workspace, foreign_run.pk)).status_code == 200


def test_run_of_another_workspace_is_404_for_a_member(workspace, other_workspace, owner, api_for):
    foreign_run = make_run(other_workspace, 1)

    assert api_for(owner).get(runs_url(workspace, foreign_run.pk)).status_code == 404


def test_a_failing_run_is_recorded_and_shown(scored_workspace, owner, api_for, transactional_db, monkeypatch):
    def broken(workspace_id):
        raise ValueError("Invalid scoring model")

    monkeypatch.setattr("opportunities.services.recompute_workspace", broken)

    response = api_for(owner).post(recompute_url(scored_workspace))

    assert response.status_code == 202
    body = response.json()
    assert body["pending"] is False
    assert (body["latest_run"]["status"], body["latest_run"]["error"]) == (
        "failed",
        "ValueError: Invalid scoring model",
    )
