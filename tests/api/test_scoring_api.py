"""The scoring-model endpoints: read by every member, replaced (or previewed) by admins, 404 for others;
and the read-only criteria list for integrators."""

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.models import Activity
from opportunities import scoring, services
from opportunities.models import ComputedScore, Criterion, CriterionValue, Opportunity, ScoringModel
from opportunities.presets import scoring_model_install_preset
from tests.api.conftest import api_url


@pytest.fixture
def model(workspace):
    return scoring_model_install_preset(workspace=workspace, preset="atlas")


def url(workspace, name: str = "scoring-model") -> str:
    return reverse(f"api:{name}", kwargs={"workspace_slug": workspace.slug})


def state(workspace) -> tuple:
    return (
        list(Criterion.objects.filter(workspace=workspace).order_by("pk").values()),
        list(ComputedScore.objects.filter(workspace=workspace).order_by("pk").values()),
        list(ScoringModel.objects.filter(workspace=workspace).values("preset", "priority_node")),
        list(CriterionValue.objects.filter(workspace=workspace).values()),
        Activity.objects.filter(workspace=workspace).count(),
    )


def test_every_member_reads_the_model_shaped_like_the_engines_spec(workspace, model, viewer, api_for):
    response = api_for(viewer).get(url(workspace))

    assert response.status_code == 200
    body = response.json()
    assert body["preset"] == "atlas"
    assert body["priority"] == "priority"
    assert [c["key"] for c in body["criteria"]] == [c.key for c in scoring.PRESETS["atlas"].criteria]
    impact = body["criteria"][0]
    assert impact == {
        "key": "customer_impact",
        "name": "Customer impact",
        "description": impact["description"],
        "perspective": "customer",
        "min_value": 1.0,
        "max_value": 5.0,
        "step": 1.0,
        "unit": "",
        "weight": 2.0,
        "default_value": None,
        "allowed_values": None,
    }
    priority = next(n for n in body["nodes"] if n["key"] == "priority")
    assert priority["operation"] == "quotient"
    assert priority["inputs"] == [
        {"source": "node", "ref": "confident_value", "constant": None, "weight": 1.0, "normalise": False},
        {"source": "node", "ref": "effort_factor", "constant": None, "weight": 1.0, "normalise": False},
    ]
    assert {e["key"] for e in body["evidence_inputs"]} == set(scoring.EVIDENCE_INPUTS)
    assert body["updated_at"]


def test_a_workspace_without_a_model_reads_the_default_preset(workspace, viewer, api_for):
    body = api_for(viewer).get(url(workspace)).json()

    assert body["preset"] == "atlas" and body["updated_at"] is None
    assert not ScoringModel.objects.exists()


def test_put_of_what_get_returned_changes_nothing(workspace, model, admin_member, api_for):
    client = api_for(admin_member)
    body = client.get(url(workspace)).json()
    before = state(workspace)

    response = client.put(url(workspace), body, format="json")

    assert response.status_code == 200
    assert state(workspace) == before


def test_admin_replaces_the_model(workspace, model, admin_member, api_for):
    client = api_for(admin_member)
    opportunity = Opportunity.objects.create(workspace=workspace, title="Shorter form")
    effort = Criterion.objects.get(workspace=workspace, key="effort")
    CriterionValue.objects.create(workspace=workspace, opportunity=opportunity, criterion=effort, value=2)
    body = client.get(url(workspace)).json()
    body["criteria"] = [c for c in body["criteria"] if c["key"] != "strategic_fit"]
    for node in body["nodes"]:
        node["inputs"] = [i for i in node["inputs"] if i["ref"] != "strategic_fit"]
    body["priority"] = "value"
    del body["preset"]

    response = client.put(url(workspace), body, format="json")

    assert response.status_code == 200
    assert response.json()["priority"] == "value"
    assert response.json()["preset"] == "atlas"  # kept when left out
    assert not Criterion.objects.filter(workspace=workspace, key="strategic_fit").exists()
    assert CriterionValue.objects.get(opportunity=opportunity).value == 2
    activity = Activity.objects.get(workspace=workspace, target_type="scoringmodel")
    assert activity.actor == admin_member.user
    assert activity.changes["priority"] == {"from": "priority", "to": "value"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("cycle", "Cycle: value → priority → confident_value → value."),
        ("unknown", 'Computed score "value", input 3: unknown criterion "nps".'),
        ("negative", "a weighted mean needs weights ≥ 0, not -1"),
        ("range", 'Criterion "effort": the minimum (5) must be below the maximum (5).'),
    ],
)
def test_an_invalid_model_is_400_with_the_engines_messages(workspace, model, owner, api_for, change, message):
    client = api_for(owner)
    body = client.get(url(workspace)).json()
    value = next(n for n in body["nodes"] if n["key"] == "value")
    if change == "cycle":
        value["inputs"].append({"source": "node", "ref": "priority"})
    elif change == "unknown":
        value["inputs"].append({"source": "criterion", "ref": "nps"})
    elif change == "negative":
        value["inputs"][0]["weight"] = -1
    else:
        next(c for c in body["criteria"] if c["key"] == "effort")["min_value"] = 5
    before = state(workspace)

    for endpoint in ("scoring-model", "scoring-model-preview"):
        method = client.put if endpoint == "scoring-model" else client.post
        response = method(url(workspace, endpoint), body, format="json")
        assert response.status_code == 400
        assert any(message in problem for problem in response.json()["non_field_errors"]), response.json()
    assert state(workspace) == before


def test_a_malformed_body_is_400_by_field(workspace, model, owner, api_for):
    client = api_for(owner)
    body = client.get(url(workspace)).json()
    broken = copy.deepcopy(body)
    del broken["criteria"][0]["name"]
    broken["nodes"][0]["inputs"][0]["source"] = "formula"
    broken["nodes"][1]["inputs"].append({"source": "constant"})

    response = client.put(url(workspace), broken, format="json")

    assert response.status_code == 400
    errors = response.json()  # list errors are keyed by the index of each item that has some
    assert errors["criteria"] == {"0": {"name": ["This field is required."]}}
    assert "source" in errors["nodes"]["0"]["inputs"]["0"]
    last = str(len(broken["nodes"][1]["inputs"]) - 1)
    assert errors["nodes"]["1"]["inputs"][last] == {"constant": ["A constant input needs its value."]}


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_cannot_change_the_model(workspace, model, role, request, api_for):
    client = api_for(request.getfixturevalue(role))
    body = client.get(url(workspace)).json()
    before = state(workspace)

    assert client.put(url(workspace), body, format="json").status_code == 403
    assert client.post(url(workspace, "scoring-model-preview"), body, format="json").status_code == 403
    assert (
        client.post(url(workspace, "scoring-model-preset"), {"preset": "ice"}, format="json").status_code
        == 403
    )
    assert state(workspace) == before


def test_outsiders_get_404_everywhere(workspace, model, outsider, api_for):
    client = api_for(outsider)
    body = {"priority": "priority", "criteria": [], "nodes": []}
    criterion = Criterion.objects.filter(workspace=workspace).first()

    assert client.get(url(workspace)).status_code == 404
    assert client.put(url(workspace), body, format="json").status_code == 404
    assert client.post(url(workspace, "scoring-model-preview"), body, format="json").status_code == 404
    assert (
        client.post(url(workspace, "scoring-model-preset"), {"preset": "ice"}, format="json").status_code
        == 404
    )
    assert client.get(api_url("criterion", workspace)).status_code == 404
    assert client.get(api_url("criterion", workspace, criterion.pk)).status_code == 404


def test_a_token_of_another_workspace_is_404(workspace, model, outsider, token_client_for):
    client, _ = token_client_for(outsider)

    assert client.get(url(workspace)).status_code == 404


def test_preview_shows_the_top_ten_movement_and_writes_nothing(workspace, model, owner, api_for):
    client = api_for(owner)
    impact = Criterion.objects.get(workspace=workspace, key="customer_impact")
    effort = Criterion.objects.get(workspace=workspace, key="effort")
    for i in range(1, 13):
        opportunity = Opportunity.objects.create(workspace=workspace, title=f"Opportunity {i}")
        CriterionValue.objects.create(
            workspace=workspace, opportunity=opportunity, criterion=impact, value=1 + i % 5
        )
        CriterionValue.objects.create(
            workspace=workspace, opportunity=opportunity, criterion=effort, value=1 + (i * 7) % 5
        )
    body = client.get(url(workspace)).json()
    body["priority"] = "customer_value"
    before = state(workspace)

    response = client.post(url(workspace, "scoring-model-preview"), body, format="json")

    assert response.status_code == 200
    preview = response.json()
    assert preview["opportunity_count"] == 12 and preview["current_ranked"] is True
    assert [row["new_rank"] for row in preview["top"]] == list(range(1, 11))
    for row in preview["top"]:
        assert set(row) == {
            "opportunity",
            "title",
            "current_rank",
            "new_rank",
            "movement",
            "current_priority",
            "new_priority",
        }
        assert row["movement"] == row["current_rank"] - row["new_rank"]
    assert len(preview["leaving"]) == len(
        {r["opportunity"] for r in preview["top"] if r["current_rank"] > 10}
    )
    assert state(workspace) == before


def test_preset_replaces_the_model(workspace, model, admin_member, api_for):
    client = api_for(admin_member)

    response = client.post(url(workspace, "scoring-model-preset"), {"preset": "rice"}, format="json")

    assert response.status_code == 200
    assert response.json()["preset"] == "rice"
    assert [c["key"] for c in response.json()["criteria"]] == ["reach", "impact", "confidence", "effort"]
    assert services.scoring_model_load(workspace=workspace)[1] == scoring.PRESETS["rice"]
    unknown = client.post(url(workspace, "scoring-model-preset"), {"preset": "moscow"}, format="json")
    assert unknown.status_code == 400 and "preset" in unknown.json()


def test_put_without_a_preset_and_with_another_is_checked(workspace, model, owner, api_for):
    client = api_for(owner)
    body = client.get(url(workspace)).json()
    body["preset"] = "moscow"

    response = client.put(url(workspace), body, format="json")

    assert response.status_code == 400
    assert "preset" in response.json()


# --- Criteria --------------------------------------------------------------------------------------------


def test_criteria_list_gives_ranges_in_model_order(workspace, model, viewer, api_for):
    response = api_for(viewer).get(api_url("criterion", workspace))

    assert response.status_code == 200
    rows = response.json()
    assert [r["key"] for r in rows] == [c.key for c in scoring.PRESETS["atlas"].criteria]
    confidence = next(r for r in rows if r["key"] == "confidence")
    assert (confidence["min_value"], confidence["max_value"], confidence["step"]) == (0.5, 1.0, 0.1)
    assert confidence["default_value"] == 0.5 and confidence["allowed_values"] == []


def test_criterion_detail_and_filter(workspace, model, viewer, api_for):
    client = api_for(viewer)
    effort = Criterion.objects.get(workspace=workspace, key="effort")

    assert client.get(api_url("criterion", workspace, effort.pk)).json()["key"] == "effort"
    business = client.get(api_url("criterion", workspace, perspective="business")).json()
    assert [r["key"] for r in business] == ["revenue_impact", "cost_to_serve", "strategic_fit"]


def test_criteria_of_another_workspace_are_404(workspace, model, other_workspace, owner, api_for):
    scoring_model_install_preset(workspace=other_workspace, preset="ice")
    theirs = Criterion.objects.get(workspace=other_workspace, key="impact")

    assert api_for(owner).get(api_url("criterion", workspace, theirs.pk)).status_code == 404


def test_criteria_are_read_only(workspace, model, owner, api_for):
    client = api_for(owner)
    effort = Criterion.objects.get(workspace=workspace, key="effort")

    assert client.post(api_url("criterion", workspace), {"key": "x"}, format="json").status_code == 405
    assert client.patch(api_url("criterion", workspace, effort.pk), {"max_value": 9}).status_code == 405


def test_criteria_list_query_count_does_not_grow(workspace, viewer, api_for):
    client = api_for(viewer)

    def count(preset: str) -> int:
        ScoringModel.objects.filter(workspace=workspace).delete()
        scoring_model_install_preset(workspace=workspace, preset=preset)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(api_url("criterion", workspace))
        assert len(response.json()) == len(scoring.PRESETS[preset].criteria)
        return len(queries)

    assert count("ice") == count("atlas")  # 3 criteria, then 7


def test_model_read_query_count_does_not_grow(workspace, viewer, api_for):
    client = api_for(viewer)

    def count(preset: str) -> int:
        ScoringModel.objects.filter(workspace=workspace).delete()
        scoring_model_install_preset(workspace=workspace, preset=preset)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url(workspace)).status_code == 200
        return len(queries)

    assert count("ice") == count("atlas")
