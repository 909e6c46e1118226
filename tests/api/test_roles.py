"""Roles in the API: viewers read, editors write, outsiders see nothing (404, never 403)."""

import pytest

from atlas.models import Activity
from tests.api.conftest import RESOURCES, api_url, new_payload


def snapshot(atlas, basename):
    row = atlas[basename]
    return type(row).objects.values().get(pk=row.pk)


@pytest.mark.parametrize("basename", RESOURCES)
def test_viewer_can_read_lists_and_details(basename, atlas_a, viewer, api_for):
    client = api_for(viewer)

    assert client.get(api_url(basename, atlas_a.workspace)).status_code == 200
    assert client.get(api_url(basename, atlas_a.workspace, atlas_a[basename].pk)).status_code == 200


@pytest.mark.parametrize("basename", RESOURCES)
def test_viewer_cannot_create_edit_or_delete(basename, atlas_a, viewer, api_for):
    client = api_for(viewer)
    model = type(atlas_a[basename])
    count = model.objects.count()
    before = snapshot(atlas_a, basename)
    detail = api_url(basename, atlas_a.workspace, atlas_a[basename].pk)

    assert (
        client.post(
            api_url(basename, atlas_a.workspace), new_payload(basename, atlas_a), format="json"
        ).status_code
        == 403
    )
    assert client.patch(detail, {"name": "Changed", "title": "Changed"}, format="json").status_code == 403
    assert client.put(detail, new_payload(basename, atlas_a), format="json").status_code == 403
    assert client.delete(detail).status_code == 403

    assert model.objects.count() == count
    assert snapshot(atlas_a, basename) == before
    assert not Activity.objects.exists()


@pytest.mark.parametrize("basename", RESOURCES)
def test_editor_can_create_edit_and_delete(basename, atlas_a, editor, api_for):
    client = api_for(editor)

    created = client.post(api_url(basename, atlas_a.workspace), new_payload(basename, atlas_a), format="json")
    assert created.status_code == 201, created.json()
    detail = api_url(basename, atlas_a.workspace, created.json()["id"])
    field = "title" if "title" in created.json() else "name"
    assert client.patch(detail, {field: "Renamed"}, format="json").json()[field] == "Renamed"
    assert client.delete(detail).status_code == 204
    assert client.get(detail).status_code == 404


@pytest.mark.parametrize("basename", RESOURCES)
def test_outsider_gets_404_on_list_and_detail(basename, atlas_a, outsider, api_for):
    client = api_for(outsider)
    detail = api_url(basename, atlas_a.workspace, atlas_a[basename].pk)

    assert client.get(api_url(basename, atlas_a.workspace)).status_code == 404
    assert client.get(detail).status_code == 404
    assert client.patch(detail, {"name": "Mine"}, format="json").status_code == 404
    assert client.delete(detail).status_code == 404
    assert type(atlas_a[basename]).objects.filter(pk=atlas_a[basename].pk).exists()


@pytest.mark.parametrize("basename", RESOURCES)
def test_object_of_another_workspace_is_404_through_my_workspace(basename, atlas_a, atlas_b, owner, api_for):
    client = api_for(owner)
    detail = api_url(basename, atlas_a.workspace, atlas_b[basename].pk)

    assert client.get(detail).status_code == 404
    assert client.delete(detail).status_code == 404
    assert type(atlas_b[basename]).objects.filter(pk=atlas_b[basename].pk).exists()


def test_members_list_shows_the_workspace_members_only(workspace, owner, viewer, outsider, api_for):
    response = api_for(viewer).get(api_url("member", workspace))

    assert response.status_code == 200
    emails = [row["email"] for row in response.json()["results"]]
    assert sorted(emails) == ["owner@acme.test", "viewer@acme.test"]


def test_members_are_read_only(workspace, owner, viewer, api_for):
    response = api_for(owner).delete(api_url("member", workspace, viewer.pk))

    assert response.status_code == 405
