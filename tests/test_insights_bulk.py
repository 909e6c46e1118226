"""Bulk actions on the insight list: statuses, tags and pins on the selected insights, for editors only,
never on anything of another workspace."""

import pytest

from atlas.models import Activity, Tag
from journeys.models import Insight
from tests.test_insights_services import make_insight, make_journey

BULK = "/w/acme/insights/bulk/"


@pytest.fixture
def three(workspace):
    return [make_insight(workspace, f"Insight {i}") for i in range(3)]


def post(client, ids, action, **extra):
    return client.post(BULK, {"insight": [str(pk) for pk in ids], "action": action, **extra})


def test_editor_marks_two_insights_validated(client_for, editor, three):
    client = client_for(editor)
    response = post(client, [three[0].pk, three[1].pk], "validate", filters="kind=pain&page=2")
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/insights/?kind=pain&page=2"
    assert set(Insight.objects.filter(status="validated").values_list("pk", flat=True)) == {
        three[0].pk,
        three[1].pk,
    }
    body = client.get(response["Location"]).content.decode()
    assert "2 insights marked validated." in body


def test_bulk_status_says_how_many_already_had_it(client_for, editor, three):
    Insight.objects.filter(pk=three[0].pk).update(status="rejected")
    client = client_for(editor)
    post(client, [i.pk for i in three], "reject")
    body = client.get("/w/acme/insights/").content.decode()
    assert "2 insights marked rejected. 1 already was." in body


def test_bulk_back_to_hypothesis(client_for, editor, three):
    Insight.objects.update(status="validated")
    post(client_for(editor), [three[2].pk], "hypothesis")
    assert Insight.objects.get(pk=three[2].pk).status == "hypothesis"
    assert Insight.objects.filter(status="validated").count() == 2


def test_bulk_adds_a_tag(client_for, editor, workspace, three):
    tag = Tag.objects.create(workspace=workspace, kind="team", name="Research")
    client = client_for(editor)
    post(client, [i.pk for i in three], "tag", tag=tag.pk)
    assert Insight.tags.through.objects.filter(tag=tag).count() == 3
    assert "Tag “Research” added to 3 insights." in client.get("/w/acme/insights/").content.decode()


def test_bulk_pins_to_a_step(client_for, editor, workspace, three):
    step = make_journey(workspace).steps.get(position=2)
    client = client_for(editor)
    post(client, [three[0].pk, three[1].pk], "pin", step=step.pk)
    assert set(step.insights.values_list("pk", flat=True)) == {three[0].pk, three[1].pk}
    body = client.get("/w/acme/insights/").content.decode()
    assert "2 insights pinned to Open an account › Fill in the form." in body
    assert Activity.objects.filter(verb="pinned").count() == 2


def test_bulk_without_selection_changes_nothing_and_says_so(client_for, editor, three):
    response = post(client_for(editor), [], "validate")
    assert response.status_code == 400
    assert "Select at least one insight first." in response.content.decode()
    assert not Insight.objects.filter(status="validated").exists()


def test_bulk_tag_without_a_tag_keeps_the_selection_and_shows_the_error(client_for, editor, three):
    response = post(client_for(editor), [three[1].pk], "tag", filters="sort=title")
    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose the tag to add." in body
    assert f'value="{three[1].pk}" id="pick-{three[1].pk}" checked' in body
    assert f'value="{three[0].pk}" id="pick-{three[0].pk}" aria-label' in body  # not checked


def test_bulk_pin_without_a_step_shows_the_error(client_for, editor, three):
    response = post(client_for(editor), [three[1].pk], "pin")
    assert response.status_code == 400
    assert "Choose a journey, then the step to pin to." in response.content.decode()


def test_viewer_cannot_run_bulk_actions(client_for, viewer, three):
    response = post(client_for(viewer), [three[0].pk], "validate")
    assert response.status_code == 403
    assert not Insight.objects.filter(status="validated").exists()


def test_bulk_refuses_insights_of_another_workspace(client_for, editor, other_workspace, three):
    foreign = make_insight(other_workspace, "Theirs")
    response = post(client_for(editor), [three[0].pk, foreign.pk], "validate")
    assert response.status_code == 404
    assert not Insight.objects.filter(status="validated").exists()


def test_bulk_refuses_a_tag_or_step_of_another_workspace(client_for, editor, other_workspace, three):
    tag = Tag.objects.create(workspace=other_workspace, kind="team", name="Theirs")
    step = make_journey(other_workspace).steps.first()
    client = client_for(editor)
    assert post(client, [three[0].pk], "tag", tag=tag.pk).status_code == 404
    assert post(client, [three[0].pk], "pin", step=step.pk).status_code == 404
    assert not Insight.tags.through.objects.exists()
    assert not Insight.steps.through.objects.exists()


def test_bulk_refuses_an_unreadable_selection(client_for, editor, three):
    response = post(client_for(editor), ["abc"], "validate")
    assert response.status_code == 400


def test_bulk_from_the_insight_page_returns_there(client_for, editor, three):
    page = f"/w/acme/insights/{three[0].pk}/"
    response = post(client_for(editor), [three[0].pk], "validate", next=page)
    assert response["Location"] == page
    response = post(client_for(editor), [three[0].pk], "validate", next="https://evil.example/")
    assert response["Location"] == "/w/acme/insights/"
