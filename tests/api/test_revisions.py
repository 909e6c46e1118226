"""Optimistic concurrency over the API: a write based on an older revision of a journey or step is
refused with 409 and the current representation; structural changes raise the journey's revision so
that people editing the map in the browser are refused rather than overwritten."""

from journeys.models import Journey, Step
from tests.api.conftest import api_url


def test_step_edit_with_the_current_revision_applies_and_raises_it(atlas_a, editor, api_for):
    step = atlas_a.step
    response = api_for(editor).patch(
        api_url("step", atlas_a.workspace, step.pk),
        {"name": "Apply", "revision": step.revision},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["revision"] == step.revision + 1
    step.refresh_from_db()
    assert (step.name, step.revision) == ("Apply", 2)


def test_step_edit_based_on_a_stale_revision_is_refused_with_the_current_step(atlas_a, editor, api_for):
    step = atlas_a.step
    Step.objects.filter(pk=step.pk).update(customer_goal="Someone else's goal", revision=5)
    response = api_for(editor).patch(
        api_url("step", atlas_a.workspace, step.pk),
        {"customer_goal": "My goal", "revision": 4},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert "nothing was written" in body["detail"]
    assert body["current"]["customer_goal"] == "Someone else's goal"
    assert body["current"]["revision"] == 5
    step.refresh_from_db()
    assert (step.customer_goal, step.revision) == ("Someone else's goal", 5)


def test_step_edit_without_a_revision_applies_and_still_raises_it(atlas_a, editor, api_for):
    step = atlas_a.step
    response = api_for(editor).patch(
        api_url("step", atlas_a.workspace, step.pk), {"emotion": 2}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["revision"] == step.revision + 1


def test_journey_edit_based_on_a_stale_revision_is_refused(atlas_a, editor, api_for):
    journey = atlas_a.journey
    Journey.objects.filter(pk=journey.pk).update(revision=3)
    response = api_for(editor).patch(
        api_url("journey", atlas_a.workspace, journey.pk), {"name": "Mine", "revision": 2}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["current"]["name"] == journey.name
    journey.refresh_from_db()
    assert journey.name != "Mine"


def test_adding_moving_and_deleting_steps_raises_the_journey_revision(atlas_a, editor, api_for):
    client, journey = api_for(editor), atlas_a.journey

    def revision() -> int:
        return Journey.objects.values_list("revision", flat=True).get(pk=journey.pk)

    start = revision()
    created = client.post(
        api_url("step", atlas_a.workspace),
        {"journey": journey.pk, "position": 7, "name": "Wait", "revision": 99},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["revision"] == 1  # a new step starts at 1, whatever was sent
    assert revision() == start + 1
    step_url = api_url("step", atlas_a.workspace, created.json()["id"])
    assert client.patch(step_url, {"position": 8}, format="json").status_code == 200
    assert revision() == start + 2
    assert client.patch(step_url, {"customer_goal": "Know"}, format="json").status_code == 200
    assert revision() == start + 2  # a lane edit is not a structural change
    assert client.delete(step_url).status_code == 204
    assert revision() == start + 3


def test_phase_changes_raise_the_journey_revision(atlas_a, editor, api_for):
    client, journey = api_for(editor), atlas_a.journey
    start = journey.revision
    created = client.post(
        api_url("phase", atlas_a.workspace),
        {"journey": journey.pk, "name": "Wait", "position": 5},
        format="json",
    )
    assert created.status_code == 201
    phase_url = api_url("phase", atlas_a.workspace, created.json()["id"])
    assert client.patch(phase_url, {"name": "Waiting"}, format="json").status_code == 200
    assert client.delete(phase_url).status_code == 204
    journey.refresh_from_db()
    assert journey.revision == start + 3
