"""The rules of the domain, answered with 400 and the field at fault (never a 500 from the database)."""

import pytest

from journeys.models import Journey, Phase, Step
from opportunities.models import CriterionValue
from tests.api.conftest import api_url, new_payload


@pytest.fixture
def client(editor, api_for):
    return api_for(editor)


def test_duplicate_step_position_in_a_journey_is_400(atlas_a, client):
    payload = new_payload("step", atlas_a) | {"position": atlas_a.step.position}

    response = client.post(api_url("step", atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert response.json()["position"] == [
        "This position is already taken by another step of the same journey."
    ]


def test_same_step_position_in_another_journey_is_fine(atlas_a, client):
    other = Journey.objects.create(
        workspace=atlas_a.workspace, macro_journey=atlas_a.macro_journey, name="Other"
    )
    payload = new_payload("step", atlas_a) | {
        "journey": other.pk,
        "phase": None,
        "position": atlas_a.step.position,
    }

    assert client.post(api_url("step", atlas_a.workspace), payload, format="json").status_code == 201


def test_moving_a_step_onto_a_taken_position_is_400(atlas_a, client):
    second = Step.objects.create(
        workspace=atlas_a.workspace, journey=atlas_a.journey, position=2, name="Sign"
    )

    response = client.patch(api_url("step", atlas_a.workspace, second.pk), {"position": 1}, format="json")

    assert response.status_code == 400
    assert "position" in response.json()


@pytest.mark.parametrize(
    ("basename", "taken"),
    [("stage", "stage"), ("macro-journey", "macro_journey"), ("phase", "phase")],
)
def test_duplicate_position_within_the_parent_is_400(basename, taken, atlas_a, client):
    payload = new_payload(basename, atlas_a) | {"position": atlas_a[taken].position}

    response = client.post(api_url(basename, atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert "position" in response.json()


@pytest.mark.parametrize(("basename", "existing"), [("persona", "persona"), ("lifecycle", "lifecycle")])
def test_duplicate_name_in_the_workspace_is_400(basename, existing, atlas_a, client):
    payload = new_payload(basename, atlas_a) | {"name": atlas_a[existing].name}

    response = client.post(api_url(basename, atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert response.json()["name"] == [f"A {basename} with this name already exists in this workspace."]


def test_same_persona_name_in_another_workspace_is_fine(atlas_a, atlas_b, client):
    payload = new_payload("persona", atlas_a) | {"name": atlas_b.persona.name}

    assert client.post(api_url("persona", atlas_a.workspace), payload, format="json").status_code == 201


def test_renaming_a_persona_to_its_own_name_is_fine(atlas_a, client):
    url = api_url("persona", atlas_a.workspace, atlas_a.persona.pk)

    assert client.patch(url, {"name": atlas_a.persona.name}, format="json").status_code == 200


@pytest.mark.parametrize("emotion", [-3, 3])
def test_emotion_outside_minus_two_to_plus_two_is_400(emotion, atlas_a, client):
    url = api_url("step", atlas_a.workspace, atlas_a.step.pk)

    response = client.patch(url, {"emotion": emotion}, format="json")

    assert response.status_code == 400
    assert "emotion" in response.json()


@pytest.mark.parametrize("severity", [0, 6])
def test_severity_outside_one_to_five_is_400(severity, atlas_a, client):
    payload = new_payload("insight", atlas_a) | {"severity": severity}

    response = client.post(api_url("insight", atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert "severity" in response.json()


def test_a_current_journey_cannot_point_at_a_current_journey(atlas_a, client):
    payload = new_payload("journey", atlas_a) | {"kind": "current"}

    response = client.post(api_url("journey", atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert "current_journey" in response.json()


def test_a_to_be_journey_must_point_at_a_current_journey(atlas_a, client):
    to_be = Journey.objects.create(
        workspace=atlas_a.workspace, macro_journey=atlas_a.macro_journey, name="Future", kind="to_be"
    )
    payload = new_payload("journey", atlas_a) | {"current_journey": to_be.pk}

    response = client.post(api_url("journey", atlas_a.workspace), payload, format="json")

    assert response.status_code == 400
    assert response.json()["current_journey"] == ["This must be a current journey."]


def test_a_journey_cannot_improve_itself(atlas_a, client):
    to_be = Journey.objects.create(
        workspace=atlas_a.workspace, macro_journey=atlas_a.macro_journey, name="Future", kind="to_be"
    )

    response = client.patch(
        api_url("journey", atlas_a.workspace, to_be.pk), {"current_journey": to_be.pk}, format="json"
    )

    assert response.status_code == 400
    assert "current_journey" in response.json()


def test_a_to_be_journey_cannot_become_current_while_it_points_at_one(atlas_a, client):
    to_be = Journey.objects.create(
        workspace=atlas_a.workspace,
        macro_journey=atlas_a.macro_journey,
        name="Future",
        kind="to_be",
        current_journey=atlas_a.journey,
    )

    response = client.patch(
        api_url("journey", atlas_a.workspace, to_be.pk), {"kind": "current"}, format="json"
    )

    assert response.status_code == 400
    to_be.refresh_from_db()
    assert to_be.kind == "to_be"


def test_a_current_journey_with_to_be_versions_stays_current(atlas_a, client):
    Journey.objects.create(
        workspace=atlas_a.workspace,
        macro_journey=atlas_a.macro_journey,
        name="Future",
        kind="to_be",
        current_journey=atlas_a.journey,
    )

    response = client.patch(
        api_url("journey", atlas_a.workspace, atlas_a.journey.pk), {"kind": "to_be"}, format="json"
    )

    assert response.status_code == 400
    assert "kind" in response.json()


def test_a_steps_phase_must_belong_to_its_journey(atlas_a, client):
    other = Journey.objects.create(
        workspace=atlas_a.workspace, macro_journey=atlas_a.macro_journey, name="Other"
    )
    foreign_phase = Phase.objects.create(
        workspace=atlas_a.workspace, journey=other, name="Elsewhere", position=1
    )

    response = client.patch(
        api_url("step", atlas_a.workspace, atlas_a.step.pk), {"phase": foreign_phase.pk}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["phase"] == ["This phase belongs to another journey."]


def test_moving_a_step_to_another_journey_keeps_its_phase_honest(atlas_a, client):
    other = Journey.objects.create(
        workspace=atlas_a.workspace, macro_journey=atlas_a.macro_journey, name="Other"
    )

    response = client.patch(
        api_url("step", atlas_a.workspace, atlas_a.step.pk), {"journey": other.pk}, format="json"
    )

    assert response.status_code == 400
    assert "phase" in response.json()


def test_deleting_a_stage_that_still_has_macro_journeys_is_409(atlas_a, client):
    response = client.delete(api_url("stage", atlas_a.workspace, atlas_a.stage.pk))

    assert response.status_code == 409
    assert "macro journeys" in response.json()["detail"]
    assert type(atlas_a.stage).objects.filter(pk=atlas_a.stage.pk).exists()


def test_missing_required_fields_are_400(atlas_a, client):
    response = client.post(api_url("step", atlas_a.workspace), {}, format="json")

    assert response.status_code == 400
    assert {"journey", "position", "name"} <= set(response.json())


# --- opportunity criterion values ---------------------------------------------------------------


def opportunity_url(atlas, pk=None):
    return api_url("opportunity", atlas.workspace, pk)


def test_criterion_values_are_read_as_an_object_by_key(atlas_a, client):
    response = client.get(opportunity_url(atlas_a, atlas_a.opportunity.pk))

    assert response.json()["criterion_values"] == {"customer_impact": 4.0}


def test_criterion_values_are_merged_and_null_clears_one(atlas_a, client):
    url = opportunity_url(atlas_a, atlas_a.opportunity.pk)

    set_both = client.patch(url, {"criterion_values": {"confidence": 1}}, format="json")
    assert set_both.json()["criterion_values"] == {"customer_impact": 4.0, "confidence": 1.0}

    cleared = client.patch(url, {"criterion_values": {"customer_impact": None}}, format="json")
    assert cleared.status_code == 200
    assert cleared.json()["criterion_values"] == {"confidence": 1.0}
    assert CriterionValue.objects.filter(opportunity=atlas_a.opportunity).count() == 1


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"no_such_criterion": 3}, "no_such_criterion", "Unknown criterion"),
        ({"customer_impact": 6}, "customer_impact", "between 1 and 5"),
        ({"customer_impact": 0}, "customer_impact", "between 1 and 5"),
        ({"customer_impact": 2.5}, "customer_impact", "multiple of 1"),
        ({"confidence": 0.6}, "confidence", "multiple of 0.25"),
        ({"confidence": "high"}, "confidence", "valid number"),
    ],
)
def test_invalid_criterion_values_are_400_and_nothing_is_saved(values, key, message, atlas_a, client):
    url = opportunity_url(atlas_a, atlas_a.opportunity.pk)

    response = client.patch(url, {"title": "Changed", "criterion_values": values}, format="json")

    assert response.status_code == 400
    assert message in str(response.json()["criterion_values"][key])
    atlas_a.opportunity.refresh_from_db()
    assert atlas_a.opportunity.title != "Changed"
    assert dict(atlas_a.opportunity.criterion_values.values_list("criterion__key", "value")) == {
        "customer_impact": 4
    }


def test_criterion_values_must_be_an_object(atlas_a, client):
    url = opportunity_url(atlas_a, atlas_a.opportunity.pk)

    response = client.patch(url, {"criterion_values": [4, 1]}, format="json")

    assert response.status_code == 400
    assert "criterion_values" in response.json()


def test_score_fields_are_read_only(atlas_a, client):
    url = opportunity_url(atlas_a, atlas_a.opportunity.pk)

    response = client.patch(
        url,
        {
            "priority": 99,
            "rank": 1,
            "previous_rank": 7,
            "previous_priority": 3,
            "scores": {"priority": 99},
            "score_breakdown": {"made": "up"},
            "scored_at": "2027-01-01T00:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 200
    atlas_a.opportunity.refresh_from_db()
    assert atlas_a.opportunity.priority is None
    assert atlas_a.opportunity.rank is None
    assert atlas_a.opportunity.previous_rank is None
    assert atlas_a.opportunity.scores == {}
    assert atlas_a.opportunity.score_breakdown == {}
    assert atlas_a.opportunity.scored_at is None


def test_opportunity_score_fields_are_shown(atlas_a, client):
    opportunity = atlas_a.opportunity
    opportunity.priority, opportunity.rank, opportunity.previous_rank = 72.5, 3, 7
    opportunity.scores = {"priority": 72.5, "value": 0.8}
    opportunity.save()

    body = client.get(opportunity_url(atlas_a, opportunity.pk)).json()

    assert (body["priority"], body["rank"], body["previous_rank"], body["rank_movement"]) == (72.5, 3, 7, 4)
    assert body["scores"] == {"priority": 72.5, "value": 0.8}
