"""Create, read, replace, update and delete every resource, each write recorded in the activity."""

import pytest
from django.urls import reverse

from atlas.models import Activity
from tests.api.conftest import RESOURCES, api_url, new_payload


@pytest.mark.parametrize("basename", RESOURCES)
def test_crud_round_trip(basename, atlas_a, editor, api_for):
    client = api_for(editor)
    workspace = atlas_a.workspace
    payload = new_payload(basename, atlas_a, n=2)

    created = client.post(api_url(basename, workspace), payload, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {key: body[key] for key in payload} == payload
    detail = api_url(basename, workspace, body["id"])

    assert client.get(detail).json() == body
    listed = client.get(api_url(basename, workspace, page_size=200)).json()["results"]
    assert body["id"] in [row["id"] for row in listed]

    replacement = new_payload(basename, atlas_a, n=3)
    replaced = client.put(detail, replacement, format="json")
    assert replaced.status_code == 200, replaced.json()
    assert {key: replaced.json()[key] for key in replacement} == replacement

    field = "title" if "title" in body else "name"
    patched = client.patch(detail, {field: "Renamed"}, format="json")
    assert patched.status_code == 200
    assert patched.json()[field] == "Renamed"
    assert client.get(detail).json()[field] == "Renamed"

    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404

    model_name = type(atlas_a[basename])._meta.model_name
    history = list(
        Activity.objects.filter(workspace=workspace, target_type=model_name, target_id=body["id"])
        .order_by("created_at", "id")
        .values_list("verb", "actor_id")
    )
    assert history == [
        ("created", editor.user_id),
        ("updated", editor.user_id),
        ("updated", editor.user_id),
        ("deleted", editor.user_id),
    ]


def test_update_activity_records_what_changed(atlas_a, editor, api_for):
    step = atlas_a.step

    api_for(editor).patch(
        api_url("step", atlas_a.workspace, step.pk), {"emotion": 2, "name": step.name}, format="json"
    )

    activity = Activity.objects.get(verb="updated", target_type="step", target_id=step.pk)
    assert activity.changes == {"emotion": {"from": -1, "to": 2}}
    assert activity.target_label == step.name


def test_insight_remembers_who_captured_it(atlas_a, editor, api_for):
    payload = new_payload("insight", atlas_a) | {"created_by": atlas_a.member.pk}

    response = api_for(editor).post(api_url("insight", atlas_a.workspace), payload, format="json")

    assert response.json()["created_by"] == editor.pk


def test_opportunity_remembers_who_created_it(atlas_a, editor, api_for):
    response = api_for(editor).post(
        api_url("opportunity", atlas_a.workspace), new_payload("opportunity", atlas_a), format="json"
    )

    assert response.json()["created_by"] == editor.pk


def test_patch_of_m2m_links_replaces_them(atlas_a, editor, api_for):
    insight = atlas_a.insight
    url = api_url("insight", atlas_a.workspace, insight.pk)

    response = api_for(editor).patch(url, {"steps": [], "personas": [atlas_a.persona.pk]}, format="json")

    assert response.status_code == 200
    assert response.json()["steps"] == []
    assert list(insight.steps.all()) == []
    assert list(insight.personas.all()) == [atlas_a.persona]


def test_workspace_endpoint_answers_the_callers_role(workspace, viewer, api_for):
    response = api_for(viewer).get(reverse("api:workspace-detail", kwargs={"workspace_slug": "acme"}))

    assert response.json()["membership"] == {"id": viewer.pk, "role": "viewer", "email": "viewer@acme.test"}


def test_update_that_changes_nothing_records_no_activity(atlas_a, editor, api_for):
    url = api_url("persona", atlas_a.workspace, atlas_a.persona.pk)

    response = api_for(editor).patch(url, {"name": atlas_a.persona.name}, format="json")

    assert response.status_code == 200
    assert not Activity.objects.filter(verb="updated").exists()
