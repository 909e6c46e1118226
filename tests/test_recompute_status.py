"""The pages' "Recomputing priorities…" indicator: a write that asks for a recompute tells the page
(HX-Trigger), the indicator follows the recompute through a small status endpoint, and when it is over
the page's scores refresh themselves once."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from opportunities import services
from opportunities.models import RecomputeRun, RecomputeState
from tests.test_backlog import count_queries, make_opportunity, make_scoring_model

STATUS = "/w/acme/priorities/status/"
HTMX = {"HX-Request": "true"}


def triggered(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def queue_a_recompute(workspace, *, age: timedelta = timedelta(0)) -> None:
    RecomputeState.objects.update_or_create(
        workspace=workspace, defaults={"queued": True, "queued_at": timezone.now() - age, "requested_seq": 1}
    )


# --- the status endpoint ---------------------------------------------------------------------------------


def test_status_is_empty_when_no_recompute_is_under_way(client_for, viewer, workspace):
    RecomputeRun.objects.create(workspace=workspace, started_at=timezone.now(), status="succeeded")
    response = client_for(viewer).get(STATUS, headers=HTMX)
    assert response.status_code == 200
    assert response.content.decode().strip() == ""
    assert "HX-Trigger" not in response.headers


def test_status_follows_a_queued_recompute(client_for, viewer, workspace):
    queue_a_recompute(workspace)
    body = client_for(viewer).get(STATUS + "?watch=1&poll=4", headers=HTMX).content.decode()
    assert "Recomputing priorities…" in body
    assert f'hx-get="{STATUS}?watch=1&amp;poll=5" hx-trigger="load delay:2s"' in body


def test_status_follows_a_running_run(client_for, viewer, workspace):
    RecomputeRun.objects.create(workspace=workspace, started_at=timezone.now())
    body = client_for(viewer).get(STATUS, headers=HTMX).content.decode()
    assert "Recomputing priorities…" in body and "poll=1" in body


def test_a_watched_recompute_that_is_over_fires_the_refresh_once(client_for, viewer, workspace):
    client = client_for(viewer)
    over = client.get(STATUS + "?watch=1&poll=3", headers=HTMX)
    assert "Priorities updated." in over.content.decode()
    assert "priorities-recomputed" in triggered(over)
    # Nothing followed it: no refresh.
    assert "HX-Trigger" not in client.get(STATUS, headers=HTMX).headers


def test_a_lost_task_or_a_dead_run_is_not_waited_for(client_for, viewer, workspace):
    long_ago = timedelta(seconds=services.RECOMPUTE_QUEUED_STALE_SECONDS + 1)
    queue_a_recompute(workspace, age=long_ago)
    RecomputeRun.objects.create(workspace=workspace, started_at=timezone.now() - long_ago)
    body = client_for(viewer).get(STATUS, headers=HTMX).content.decode()
    assert "Recomputing" not in body


def test_failed_changes_with_nothing_queued_are_not_in_progress(client_for, viewer, workspace):
    RecomputeState.objects.create(workspace=workspace, requested_seq=5, done_seq=4)  # the last run failed
    assert "Recomputing" not in client_for(viewer).get(STATUS, headers=HTMX).content.decode()


def test_polling_stops_after_a_minute_and_offers_to_check_again(client_for, viewer, workspace):
    queue_a_recompute(workspace)
    body = client_for(viewer).get(STATUS + "?watch=1&poll=30", headers=HTMX).content.decode()
    assert "taking longer than usual" in body
    assert "load delay" not in body
    assert f'hx-get="{STATUS}?watch=1"' in body and "Check again" in body


def test_status_query_count_does_not_grow_with_runs(client_for, viewer, workspace, django_assert_num_queries):
    client = client_for(viewer)
    RecomputeRun.objects.create(workspace=workspace, started_at=timezone.now())
    few, _ = count_queries(client, STATUS)
    for minutes in range(1, 60):
        RecomputeRun.objects.create(
            workspace=workspace, started_at=timezone.now() - timedelta(minutes=minutes), status="succeeded"
        )
    queue_a_recompute(workspace)
    with django_assert_num_queries(few):
        client.get(STATUS + "?watch=1")


def test_outsider_cannot_see_the_status(client_for, outsider, workspace):
    queue_a_recompute(workspace)
    assert client_for(outsider).get(STATUS, headers=HTMX).status_code == 404


# --- writes tell the page -------------------------------------------------------------------------------


def test_scoring_in_the_backlog_tells_the_page_a_recompute_was_asked_for(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    client = client_for(editor)
    url = f"/w/acme/backlog/rows/{opportunity.pk}/"

    saved = client.post(url, {"customer_impact": "4"}, headers=HTMX)
    assert "priorities-recompute-requested" in triggered(saved)
    unchanged = client.post(url, {"customer_impact": "4"}, headers=HTMX)
    assert "HX-Trigger" not in unchanged.headers  # nothing changed: nothing to recompute
    invalid = client.post(url, {"customer_impact": "9"}, headers=HTMX)
    assert "HX-Trigger" not in invalid.headers and "score-form" in invalid.content.decode()


def test_scoring_on_the_opportunity_page_tells_the_page(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    response = client_for(editor).post(
        f"/w/acme/opportunities/{opportunity.pk}/criteria/", {"effort": "2"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "priorities-recompute-requested" in triggered(response)


# --- the pages ------------------------------------------------------------------------------------------


@pytest.fixture
def pages(workspace):
    opportunity = make_opportunity(workspace, "On every page", priority=5, rank=1)
    return ["/w/acme/backlog/", "/w/acme/matrix/", f"/w/acme/opportunities/{opportunity.pk}/"]


def test_pages_show_a_recompute_under_way_when_they_load(client_for, viewer, workspace, pages):
    client = client_for(viewer)
    for url in pages:
        body = client.get(url).content.decode()
        assert body.count('id="recompute-status"') == 1, url
        assert "Recomputing priorities…" not in body, url
    queue_a_recompute(workspace)
    for url in pages:
        body = client.get(url).content.decode()
        assert "Recomputing priorities…" in body, url
        assert "load delay:2s" in body, url


def test_pages_listen_for_requests_and_refresh_their_scores_when_done(client_for, viewer, pages):
    client = client_for(viewer)
    backlog, matrix, detail = (client.get(url).content.decode() for url in pages)
    for body in (backlog, matrix, detail):
        assert 'hx-trigger="priorities-recompute-requested from:body"' in body
    assert 'hx-target="#backlog-results"' in backlog and "priorities-recomputed[" in backlog
    assert 'hx-target="#matrix-results"' in matrix
    assert 'hx-target="#score"' in detail and 'hx-target="#breakdown"' in detail


def test_refreshing_the_backlog_returns_the_table_and_keeps_the_history(client_for, viewer, pages):
    response = client_for(viewer).get(
        "/w/acme/backlog/?sort=effort",
        headers={**HTMX, "HX-Target": "backlog-results", "HX-Trigger": "backlog-refresh"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="backlog-results"')
    assert "HX-Push-Url" not in response.headers
    assert 'hx-get="/w/acme/backlog/?sort=effort"' in body  # it refreshes what is shown


def test_refreshing_the_opportunity_page_returns_the_score_and_the_breakdown(client_for, viewer, pages):
    client = client_for(viewer)
    score = client.get(pages[2], headers={**HTMX, "HX-Target": "score"}).content.decode()
    assert score.lstrip().startswith('<section class="card score-strip" id="score"')
    breakdown = client.get(pages[2], headers={**HTMX, "HX-Target": "breakdown"}).content.decode()
    assert breakdown.lstrip().startswith('<section class="card" id="breakdown"')
