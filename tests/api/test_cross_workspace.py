"""An id of another workspace in a payload is refused with 400 as if it did not exist: nothing is
linked, nothing is saved, and the database guard is never the one that notices."""

import pytest

from atlas.models import Activity
from tests.api.conftest import api_url, new_payload

# (resource, field, which row of workspace B to put there)
FOREIGN_LINKS = [
    ("stage", "lifecycle", "lifecycle"),
    ("macro-journey", "stage", "stage"),
    ("macro-journey", "owner", "member"),
    ("journey", "macro_journey", "macro_journey"),
    ("journey", "current_journey", "journey"),
    ("journey", "owner", "member"),
    ("journey", "primary_persona", "persona"),
    ("journey", "personas", "persona"),
    ("journey", "tags", "tag"),
    ("phase", "journey", "journey"),
    ("step", "journey", "journey"),
    ("step", "phase", "phase"),
    ("step", "tags", "tag"),
    ("persona", "tags", "tag"),
    ("insight", "personas", "persona"),
    ("insight", "steps", "step"),
    ("insight", "tags", "tag"),
    ("opportunity", "owner", "member"),
    ("opportunity", "steps", "step"),
    ("opportunity", "insights", "insight"),
    ("opportunity", "key_results", "key_result"),
    ("opportunity", "tags", "tag"),
]


def foreign_value(payload: dict, field: str, row) -> object:
    return [row.pk] if isinstance(payload[field], list) else row.pk


@pytest.mark.parametrize(("basename", "field", "row"), FOREIGN_LINKS)
def test_create_with_an_id_of_another_workspace_is_400(
    basename, field, row, atlas_a, atlas_b, editor, api_for
):
    payload = new_payload(basename, atlas_a)
    payload[field] = foreign_value(payload, field, getattr(atlas_b, row))
    model = type(atlas_a[basename])
    count = model.objects.count()

    response = api_for(editor).post(api_url(basename, atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert "does not exist" in str(response.json()[field])
    assert model.objects.count() == count
    assert not Activity.objects.exists()


@pytest.mark.parametrize(("basename", "field", "row"), FOREIGN_LINKS)
def test_update_with_an_id_of_another_workspace_is_400(
    basename, field, row, atlas_a, atlas_b, editor, api_for
):
    target = atlas_a[basename]
    payload = new_payload(basename, atlas_a)
    value = foreign_value(payload, field, getattr(atlas_b, row))
    before = type(target).objects.values().get(pk=target.pk)

    response = api_for(editor).patch(
        api_url(basename, atlas_a.workspace, target.pk), {field: value}, format="json"
    )

    assert response.status_code == 400
    assert "does not exist" in str(response.json()[field])
    assert type(target).objects.values().get(pk=target.pk) == before
    if isinstance(value, list):
        assert atlas_b[row] not in getattr(target, field).all()


def test_criterion_of_another_workspace_is_an_unknown_key(atlas_a, atlas_b, editor, api_for):
    atlas_b.impact.key = "b_only"
    atlas_b.impact.save()
    payload = new_payload("opportunity", atlas_a) | {"criterion_values": {"b_only": 3}}

    response = api_for(editor).post(api_url("opportunity", atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert "b_only" in response.json()["criterion_values"]


def test_filter_by_an_id_of_another_workspace_finds_nothing(atlas_a, atlas_b, owner, api_for):
    response = api_for(owner).get(api_url("journey", atlas_a.workspace, persona=atlas_b.persona.pk))

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize("basename", ["journey", "step", "insight", "opportunity"])
def test_browsable_api_forms_offer_only_this_workspaces_rows(basename, atlas_a, atlas_b, editor, api_for):
    client = api_for(editor)

    for url in (
        api_url(basename, atlas_a.workspace),
        api_url(basename, atlas_a.workspace, atlas_a[basename].pk),
    ):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        page = response.content.decode()
        assert str(atlas_a.tag) in page  # the tags select lists this workspace's tags
        for row in (atlas_b.persona, atlas_b.tag, atlas_b.journey, atlas_b.insight, atlas_b.opportunity):
            assert str(row) not in page
