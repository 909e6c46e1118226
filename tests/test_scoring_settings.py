"""Settings → Scoring model: replacing the model (services), previewing a change, and the pages.

Everyone in the workspace reads the model; only admins change it, and every change is previewed first."""

import json
import re
from dataclasses import replace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.models import Activity
from opportunities import recompute, scoring, services
from opportunities.models import (
    ComputedScore,
    ComputedScoreInput,
    Criterion,
    CriterionValue,
    Opportunity,
    RecomputeState,
    ScoringModel,
)
from opportunities.presets import scoring_model_install_preset
from opportunities.scoring import CriterionSpec, InputSpec, ModelSpec, NodeSpec

# --- Helpers -----------------------------------------------------------------------------------------------


@pytest.fixture
def model(workspace):
    return scoring_model_install_preset(workspace=workspace, preset="atlas")


def criteria_by_key(workspace) -> dict[str, Criterion]:
    return {c.key: c for c in Criterion.objects.filter(workspace=workspace)}


def opportunity(workspace, title: str, **values: float) -> Opportunity:
    created = Opportunity.objects.create(workspace=workspace, title=title)
    by_key = criteria_by_key(workspace)
    CriterionValue.objects.bulk_create(
        CriterionValue(workspace=workspace, opportunity=created, criterion=by_key[key], value=value)
        for key, value in values.items()
    )
    return created


def snapshot(workspace) -> dict:
    """Everything a scoring-model change could write, to compare before and after."""
    return {
        "model": list(ScoringModel.objects.filter(workspace=workspace).values("preset", "priority_node")),
        "criteria": list(Criterion.objects.filter(workspace=workspace).order_by("pk").values()),
        "nodes": list(ComputedScore.objects.filter(workspace=workspace).order_by("pk").values()),
        "inputs": list(ComputedScoreInput.objects.filter(workspace=workspace).order_by("pk").values()),
        "values": list(CriterionValue.objects.filter(workspace=workspace).order_by("pk").values()),
        "opportunities": list(
            Opportunity.objects.filter(workspace=workspace).order_by("pk").values("pk", "rank", "priority")
        ),
        "activity": Activity.objects.filter(workspace=workspace).count(),
        "recompute": list(RecomputeState.objects.filter(workspace=workspace).values()),
    }


def without_descriptions(spec: ModelSpec) -> ModelSpec:
    return replace(
        spec,
        criteria=tuple(replace(c, description="") for c in spec.criteria),
        nodes=tuple(replace(n, description="") for n in spec.nodes),
    )


def one_criterion_model(key: str) -> ModelSpec:
    """Two criteria a and b on 0–20; the priority is the one named `key`."""
    criteria = tuple(CriterionSpec(k, k.upper(), "customer", 0, 20, 1, description=f"{k} desc") for k in "ab")
    node = NodeSpec("priority", "Priority", scoring.WEIGHTED_MEAN, (InputSpec(scoring.CRITERION, key),))
    return ModelSpec(criteria=criteria, nodes=(node,), priority="priority")


ATLAS = scoring.PRESETS["atlas"]


def atlas_without_revenue_impact() -> ModelSpec:
    """The atlas preset minus revenue_impact, with customer_impact on 1–10 and a new criterion."""
    criteria = tuple(
        replace(c, max_value=10, name="Customer impact (1–10)") if c.key == "customer_impact" else c
        for c in ATLAS.criteria
        if c.key != "revenue_impact"
    )
    criteria += (CriterionSpec("regulatory", "Regulatory pressure", "business", 0, 3, 1),)
    nodes = tuple(
        replace(n, inputs=tuple(i for i in n.inputs if i.ref != "revenue_impact")) for n in ATLAS.nodes
    )
    return replace(ATLAS, criteria=criteria, nodes=nodes)


def cycle() -> ModelSpec:
    nodes = tuple(
        replace(n, inputs=(*n.inputs, InputSpec(scoring.NODE, "priority"))) if n.key == "value" else n
        for n in ATLAS.nodes
    )
    return replace(ATLAS, nodes=nodes)


def unknown_input() -> ModelSpec:
    nodes = tuple(
        replace(n, inputs=(*n.inputs, InputSpec(scoring.CRITERION, "nps"))) if n.key == "value" else n
        for n in ATLAS.nodes
    )
    return replace(ATLAS, nodes=nodes)


def negative_mean_weight() -> ModelSpec:
    nodes = tuple(
        replace(n, inputs=(replace(n.inputs[0], weight=-0.5), *n.inputs[1:])) if n.key == "value" else n
        for n in ATLAS.nodes
    )
    return replace(ATLAS, nodes=nodes)


def min_not_below_max() -> ModelSpec:
    criteria = tuple(replace(c, min_value=5) if c.key == "effort" else c for c in ATLAS.criteria)
    return replace(ATLAS, criteria=criteria)


INVALID = {
    "cycle": (cycle, "Cycle: value → priority → confident_value → value."),
    "unknown input": (unknown_input, 'unknown criterion "nps"'),
    "negative weight": (negative_mean_weight, "a weighted mean needs weights ≥ 0"),
    "min not below max": (min_not_below_max, "the minimum (5) must be below the maximum (5)"),
}


# --- Replacing the model ---------------------------------------------------------------------------------


def test_replace_keeps_the_values_of_surviving_criteria_and_drops_removed_ones(workspace, model, owner):
    impact = criteria_by_key(workspace)["customer_impact"]
    first = opportunity(workspace, "Shorter form", customer_impact=4, revenue_impact=5, effort=2)
    spec = atlas_without_revenue_impact()

    services.scoring_model_replace(workspace=workspace, spec=spec, actor=owner.user)

    by_key = criteria_by_key(workspace)
    assert list(by_key) == [c.key for c in spec.criteria]
    assert by_key["customer_impact"].pk == impact.pk  # updated in place
    assert by_key["customer_impact"].max_value == 10
    values = {cv.criterion.key: cv.value for cv in first.criterion_values.select_related("criterion")}
    assert values == {"customer_impact": 4, "effort": 2}
    assert not CriterionValue.objects.filter(criterion__key="revenue_impact").exists()
    # The rows give the spec back: exactly with the settings page's loader, and without descriptions
    # (which the evaluator does not need) with the recompute's.
    assert services.scoring_model_load(workspace=workspace)[1] == spec
    assert recompute.load_spec(workspace.pk)[1] == without_descriptions(spec)
    activity = Activity.objects.get(workspace=workspace, target_type="scoringmodel")
    assert activity.actor == owner.user
    assert activity.changes["criteria"] == {
        "added": ["regulatory"],
        "removed": ["revenue_impact"],
        "changed": ["customer_impact"],
    }
    assert activity.changes["computed_scores"] == {"changed": ["business_criteria"]}


def test_replace_matches_computed_scores_by_key_and_sets_the_priority(workspace, model):
    value_pk = ComputedScore.objects.get(workspace=workspace, key="value").pk
    spec = replace(ATLAS, priority="value")

    saved = services.scoring_model_replace(workspace=workspace, spec=spec)

    assert saved.priority_node.key == "value"
    assert ComputedScore.objects.get(workspace=workspace, key="value").pk == value_pk
    assert services.scoring_model_load(workspace=workspace)[1] == spec


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_model_is_refused_and_nothing_changes(workspace, model, case):
    build, message = INVALID[case]
    opportunity(workspace, "Shorter form", customer_impact=4)
    before = snapshot(workspace)

    with pytest.raises(ValidationError) as refused:
        services.scoring_model_replace(workspace=workspace, spec=build())

    assert any(message in problem for problem in refused.value.messages), refused.value.messages
    assert snapshot(workspace) == before


def test_keys_the_rows_cannot_hold_are_refused(workspace, model):
    spec = replace(ATLAS, criteria=(*ATLAS.criteria, CriterionSpec("has space", "", "other", 0, 1, 1)))

    with pytest.raises(ValidationError) as refused:
        services.scoring_model_replace(workspace=workspace, spec=spec)

    assert 'Criterion "has space": the key needs 1–40 letters' in refused.value.messages[0]
    assert any("the name needs 1–80 characters" in m for m in refused.value.messages)


def test_replace_asks_for_a_recompute_after_commit(workspace, model, django_capture_on_commit_callbacks):
    first = opportunity(workspace, "Shorter form", customer_impact=5, effort=1)
    spec = replace(ATLAS, priority="value")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.scoring_model_replace(workspace=workspace, spec=spec)
    assert len(callbacks) == 1
    assert not RecomputeState.objects.filter(workspace=workspace).exists()  # nothing before the commit

    with django_capture_on_commit_callbacks(execute=True):
        services.scoring_model_replace(workspace=workspace, spec=replace(ATLAS, priority="customer_value"))
    first.refresh_from_db()
    assert first.rank == 1
    assert first.priority == pytest.approx(first.scores["customer_value"])  # ranked by the new priority


def test_a_replacement_that_changes_nothing_writes_nothing(
    workspace, model, django_capture_on_commit_callbacks
):
    before = snapshot(workspace)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.scoring_model_replace(workspace=workspace, spec=ATLAS, preset="atlas")

    assert callbacks == []
    assert snapshot(workspace) == before


def test_switching_preset_keeps_values_of_the_keys_both_presets_have(workspace, model, owner):
    first = opportunity(workspace, "Shorter form", customer_impact=4, effort=2, confidence=0.9)

    saved = services.scoring_model_apply_preset(workspace=workspace, preset="rice", actor=owner.user)

    assert saved.preset == "rice"
    assert list(criteria_by_key(workspace)) == ["reach", "impact", "confidence", "effort"]
    values = {cv.criterion.key: cv.value for cv in first.criterion_values.select_related("criterion")}
    assert values == {"effort": 2, "confidence": 0.9}
    assert services.scoring_model_load(workspace=workspace)[1] == scoring.PRESETS["rice"]
    assert Activity.objects.get(target_type="scoringmodel").changes["preset"] == {
        "from": "atlas",
        "to": "rice",
    }


def test_an_unknown_preset_is_refused(workspace, model):
    with pytest.raises(ValidationError):
        services.scoring_model_apply_preset(workspace=workspace, preset="moscow")


def test_replace_creates_the_model_of_a_workspace_without_one(workspace):
    saved = services.scoring_model_replace(workspace=workspace, spec=scoring.PRESETS["ice"], preset="ice")

    assert saved.preset == "ice"
    assert services.scoring_model_load(workspace=workspace)[1] == scoring.PRESETS["ice"]


# --- Previewing a change ---------------------------------------------------------------------------------


def test_rank_moves_compares_two_rankings():
    current = {1: 30.0, 2: 20.0, 3: 10.0, 4: None}
    proposed = {1: 1.0, 2: 5.0, 3: 9.0, 4: 2.0}

    top, leaving = services.scoring_rank_moves(current=current, proposed=proposed, limit=2)

    assert [(m.opportunity_id, m.current_rank, m.new_rank, m.movement) for m in top] == [
        (3, 3, 1, 2),
        (2, 2, 2, 0),
    ]
    assert [(m.opportunity_id, m.current_rank, m.new_rank, m.movement) for m in leaving] == [(1, 1, 4, -3)]


def test_rank_moves_without_a_current_ranking_has_no_movement():
    top, leaving = services.scoring_rank_moves(current=None, proposed={7: 1.0, 8: 2.0})

    assert [(m.opportunity_id, m.current_rank, m.movement) for m in top] == [(8, None, None), (7, None, None)]
    assert leaving == []


@pytest.fixture
def flipping(workspace):
    """Twelve opportunities: under model A (priority = a) the order is 12, 11, …; under B it flips."""
    services.scoring_model_replace(workspace=workspace, spec=one_criterion_model("a"))
    return [opportunity(workspace, f"Opportunity {i}", a=i, b=13 - i) for i in range(1, 13)]


def test_preview_shows_how_the_top_ten_moves(workspace, flipping):
    preview = services.scoring_model_preview(workspace=workspace, spec=one_criterion_model("b"))

    assert preview.opportunity_count == 12
    assert preview.current_ranked
    assert [(m.title, m.current_rank, m.new_rank, m.movement) for m in preview.top] == [
        (f"Opportunity {i}", 13 - i, i, 13 - 2 * i) for i in range(1, 11)
    ]
    assert [(m.title, m.current_rank, m.new_rank, m.movement) for m in preview.leaving] == [
        ("Opportunity 12", 1, 12, -11),
        ("Opportunity 11", 2, 11, -9),
    ]
    assert preview.top[0].current_priority == 1 and preview.top[0].new_priority == 12


def test_preview_writes_nothing(workspace, flipping):
    before = snapshot(workspace)

    with CaptureQueriesContext(connection) as queries:
        services.scoring_model_preview(workspace=workspace, spec=one_criterion_model("b"))

    writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", q["sql"], re.I)]
    assert writes == []
    assert snapshot(workspace) == before


def test_preview_query_count_does_not_grow_with_opportunities(workspace, flipping):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            services.scoring_model_preview(workspace=workspace, spec=one_criterion_model("b"))
        return len(queries)

    few = count()
    for i in range(20):
        opportunity(workspace, f"More {i}", a=i % 20, b=3)
    assert count() == few


def test_preview_of_an_invalid_model_is_refused(workspace, flipping):
    with pytest.raises(ValidationError):
        services.scoring_model_preview(
            workspace=workspace, spec=replace(one_criterion_model("b"), priority="x")
        )


# --- The page --------------------------------------------------------------------------------------------


def page_url(workspace, name: str = "model", *args) -> str:
    return reverse(f"scoring:{name}", args=[workspace.slug, *args])


def test_admin_sees_the_model_as_a_tree_and_the_ways_to_change_it(workspace, model, admin_member, client_for):
    response = client_for(admin_member).get(page_url(workspace))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Scoring model" in body
    assert 'id="node-priority"' in body
    assert "= Confident value ÷ Effort factor" in body
    assert "Customer impact" in body and "How much better the journey gets" in body
    assert "Evidence strength" in body and "moment of truth" in body  # evidence inputs and their meaning
    assert "Atlas (customer-centric)" in body
    assert page_url(workspace, "criterion_add") in body
    assert page_url(workspace, "node_add") in body
    assert page_url(workspace, "preset") in body


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_read_the_model_without_the_ways_to_change_it(
    workspace, model, role, request, client_for
):
    member = request.getfixturevalue(role)

    response = client_for(member).get(page_url(workspace))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Customer impact" in body and 'id="node-priority"' in body
    assert "Admins change the model" in body
    assert page_url(workspace, "criterion_add") not in body
    assert page_url(workspace, "preset") not in body


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_cannot_change_the_model(workspace, model, role, request, client_for):
    member = request.getfixturevalue(role)
    client = client_for(member)
    impact = criteria_by_key(workspace)["customer_impact"]
    value = ComputedScore.objects.get(workspace=workspace, key="value")
    before = snapshot(workspace)
    document = json.dumps({"priority": "priority", "criteria": [], "nodes": []})

    posts = [
        (page_url(workspace, "preset"), {"preset": "rice"}),
        (page_url(workspace, "priority"), {"priority": "value"}),
        (page_url(workspace, "save"), {"model": document}),
        (page_url(workspace, "criterion_add"), {"key": "x", "name": "X"}),
        (page_url(workspace, "criterion_edit", impact.pk), {"name": "X"}),
        (page_url(workspace, "criterion_remove", impact.pk), {}),
        (page_url(workspace, "node_add"), {"key": "x"}),
        (page_url(workspace, "node_edit", value.pk), {"name": "X"}),
        (page_url(workspace, "node_remove", value.pk), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    for url in (page_url(workspace, "criterion_add"), page_url(workspace, "node_edit", value.pk)):
        assert client.get(url).status_code == 403, url
    assert snapshot(workspace) == before


def test_outsiders_get_404(workspace, model, outsider, client_for):
    client = client_for(outsider)
    impact = criteria_by_key(workspace)["customer_impact"]

    assert client.get(page_url(workspace)).status_code == 404
    assert client.get(page_url(workspace, "criterion_edit", impact.pk)).status_code == 404
    assert client.post(page_url(workspace, "preset"), {"preset": "rice"}).status_code == 404


def test_another_workspaces_criterion_is_404(workspace, model, other_workspace, owner, client_for):
    scoring_model_install_preset(workspace=other_workspace, preset="ice")
    theirs = Criterion.objects.get(workspace=other_workspace, key="impact")
    node = ComputedScore.objects.get(workspace=other_workspace, key="priority")
    client = client_for(owner)

    assert client.get(page_url(workspace, "criterion_edit", theirs.pk)).status_code == 404
    assert client.post(page_url(workspace, "criterion_remove", theirs.pk)).status_code == 404
    assert client.get(page_url(workspace, "node_edit", node.pk)).status_code == 404


def criterion_data(**changes) -> dict:
    data = {
        "key": "regulatory",
        "name": "Regulatory pressure",
        "perspective": "business",
        "min_value": "0",
        "max_value": "3",
        "step": "1",
        "unit": "",
        "weight": "1",
        "default_value": "",
        "allowed_values": "",
        "description": "How hard a regulator pushes.",
    }
    return {**data, **changes}


def test_criterion_form_shows_field_errors_and_writes_nothing(workspace, model, owner, client_for):
    before = snapshot(workspace)
    data = criterion_data(key="customer_impact", min_value="5", max_value="1", step="0", weight="-1")

    response = client_for(owner).post(page_url(workspace, "criterion_add"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["key"] == ["A criterion with this key already exists."]
    assert errors["max_value"] == ["The maximum must be above the minimum (5)."]
    assert errors["step"] == ["The step must be above 0."]
    assert errors["weight"] == ["The weight must not be negative."]
    assert "The step must be above 0." in response.content.decode()
    assert snapshot(workspace) == before


def test_criterion_form_checks_allowed_and_assumed_values_against_the_scale(
    workspace, model, owner, client_for
):
    data = criterion_data(allowed_values="0, 1.5, 3", default_value="7", key="not a slug")

    response = client_for(owner).post(page_url(workspace, "criterion_add"), data)

    errors = response.context["form"].errors
    assert "steps of 1" in errors["allowed_values"][0]
    assert "between 0 and 3" in errors["default_value"][0]
    assert "key" in errors


def saved_fields(response) -> dict:
    """The hidden fields the preview's Save form posts."""
    form = response.context["form"]
    return {name: form.initial[name] for name in ("model", "base", "back")}


def test_adding_a_criterion_is_previewed_then_saved(workspace, model, owner, client_for):
    client = client_for(owner)

    preview = client.post(page_url(workspace, "criterion_add"), criterion_data())

    assert preview.status_code == 200
    body = preview.content.decode()
    assert "New criteria: Regulatory pressure." in body
    assert "Top 10 under the new model" in body
    assert "Save model" in body
    assert not Criterion.objects.filter(key="regulatory").exists()  # nothing written before Save

    saved = client.post(page_url(workspace, "save"), saved_fields(preview))

    assert saved.status_code == 302 and saved["Location"] == page_url(workspace)
    regulatory = Criterion.objects.get(workspace=workspace, key="regulatory")
    assert (regulatory.name, regulatory.max_value, regulatory.position) == ("Regulatory pressure", 3, 7)
    assert Activity.objects.filter(workspace=workspace, target_type="scoringmodel").count() == 1


def test_editing_a_criterion_keeps_its_key_and_values(workspace, model, owner, client_for):
    client = client_for(owner)
    first = opportunity(workspace, "Shorter form", effort=2)
    effort = criteria_by_key(workspace)["effort"]
    data = criterion_data(key="hacked", name="Effort", perspective="effort", min_value="1", max_value="8")

    preview = client.post(page_url(workspace, "criterion_edit", effort.pk), data)
    assert "Effort: scale 1–5 in steps of 1 → 1–8 in steps of 1" in preview.content.decode()
    client.post(page_url(workspace, "save"), saved_fields(preview))

    effort.refresh_from_db()
    assert (effort.key, effort.max_value) == ("effort", 8)
    assert first.criterion_values.get().value == 2


def test_back_returns_to_the_form_as_it_was_typed(workspace, model, owner, client_for):
    client = client_for(owner)
    preview = client.post(page_url(workspace, "criterion_add"), criterion_data(name="Typed name"))
    back = preview.context["back"]
    assert back["url"] == page_url(workspace, "criterion_add")

    response = client.post(back["url"], {**dict(back["fields"]), "back": "1"})

    assert response.status_code == 200
    assert response.context["form"]["name"].value() == "Typed name"
    assert "Top 10" not in response.content.decode()


def test_removing_a_criterion_removes_its_inputs_in_the_preview(workspace, model, owner, client_for):
    client = client_for(owner)
    reach = criteria_by_key(workspace)["customer_reach"]

    preview = client.post(page_url(workspace, "criterion_remove", reach.pk))

    assert preview.status_code == 200
    assert "Removed criteria: Customer reach." in preview.content.decode()
    client.post(page_url(workspace, "save"), saved_fields(preview))
    assert "customer_reach" not in criteria_by_key(workspace)
    spec = services.scoring_model_load(workspace=workspace)[1]
    assert not any(i.ref == "customer_reach" for n in spec.nodes for i in n.inputs)


def node_data(editor_inputs: list[dict], **fields) -> dict:
    data = {
        "name": fields.get("name", "Value"),
        "key": fields.get("key", "value"),
        "operation": fields.get("operation", "weighted_mean"),
        "description": fields.get("description", ""),
        "inputs-TOTAL_FORMS": str(len(editor_inputs)),
        "inputs-INITIAL_FORMS": "0",
        "inputs-MIN_NUM_FORMS": "0",
        "inputs-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(editor_inputs):
        for name, value in row.items():
            data[f"inputs-{index}-{name}"] = value
    return data


def test_changing_a_computed_score_is_previewed_then_saved(workspace, model, owner, client_for):
    client = client_for(owner)
    value = ComputedScore.objects.get(workspace=workspace, key="value")
    rows = [
        {"operand": "node:customer_value", "weight": "0.8"},
        {"operand": "node:business_value", "weight": "0.2"},
    ]

    preview = client.post(page_url(workspace, "node_edit", value.pk), node_data(rows))

    body = preview.content.decode()
    assert "Changed computed scores:" in body
    assert "Value: Mean of Customer value, Business value → Weighted mean of Customer value (0.8)" in body
    client.post(page_url(workspace, "save"), saved_fields(preview))
    weights = list(ComputedScoreInput.objects.filter(node=value).order_by("position").values_list("weight"))
    assert weights == [(0.8,), (0.2,)]


def test_a_new_computed_score_with_a_constant(workspace, model, owner, client_for):
    client = client_for(owner)
    rows = [
        {"operand": "constant", "constant": "1", "weight": "1"},
        {"operand": "criterion:effort", "weight": "-0.1"},
    ]

    preview = client.post(
        page_url(workspace, "node_add"), node_data(rows, key="ease", name="Ease", operation="sum")
    )

    assert "Ease = 1 − 0.1 × Effort." in preview.content.decode()
    client.post(page_url(workspace, "save"), saved_fields(preview))
    spec = services.scoring_model_load(workspace=workspace)[1]
    ease = next(n for n in spec.nodes if n.key == "ease")
    assert ease.inputs == (InputSpec("constant", constant=1), InputSpec("criterion", "effort", weight=-0.1))


def test_computed_score_form_checks_inputs_against_the_operation(workspace, model, owner, client_for):
    value = ComputedScore.objects.get(workspace=workspace, key="value")
    rows = [
        {"operand": "node:customer_value", "weight": "2"},
        {"operand": "constant", "weight": "1"},
        {"operand": "evidence:reach", "weight": "1", "normalise": "on"},
    ]

    response = client_for(owner).post(
        page_url(workspace, "node_edit", value.pk), node_data(rows, operation="quotient")
    )

    forms = response.context["editor"].inputs.forms
    assert forms[0].errors["weight"] == ["Product and quotient inputs take weight 1; scale with a constant."]
    assert forms[1].errors["constant"] == ["Type the constant's value."]
    assert forms[2].errors["normalise"] == ["Only a criterion can be rescaled."]
    assert "A quotient takes exactly two inputs" in response.content.decode()


def test_a_cycle_is_listed_in_the_preview_and_cannot_be_saved(workspace, model, owner, client_for):
    value = ComputedScore.objects.get(workspace=workspace, key="value")
    rows = [{"operand": "node:customer_value", "weight": "1"}, {"operand": "node:priority", "weight": "1"}]
    before = snapshot(workspace)

    preview = client_for(owner).post(page_url(workspace, "node_edit", value.pk), node_data(rows))

    body = preview.content.decode()
    assert "Cycle: value → priority → confident_value → value." in body
    assert page_url(workspace, "save") not in body
    assert snapshot(workspace) == before


def test_add_an_input_adds_a_row_without_and_with_htmx(workspace, model, owner, client_for):
    client = client_for(owner)
    value = ComputedScore.objects.get(workspace=workspace, key="value")
    rows = [
        {"operand": "node:customer_value", "weight": "1"},
        {"operand": "node:business_value", "weight": "1"},
    ]
    data = {**node_data(rows), "add_input": "1"}

    page = client.post(page_url(workspace, "node_edit", value.pk), data)
    partial = client.post(page_url(workspace, "node_edit", value.pk), data, headers={"HX-Request": "true"})

    assert len(page.context["editor"].inputs.forms) == 3
    assert "<html" in page.content.decode()
    body = partial.content.decode()
    assert "<html" not in body and body.count('name="inputs-2-operand"') == 1
    assert 'value="node:business_value" selected' in body


def test_the_saved_model_is_checked_again(workspace, model, owner, client_for):
    """The preview's hidden model is never trusted: a tampered one is refused and nothing is written."""
    client = client_for(owner)
    preview = client.post(page_url(workspace, "priority"), {"priority": "value"})
    fields = saved_fields(preview)
    tampered = json.loads(fields["model"])
    tampered["priority"] = "nowhere"
    before = snapshot(workspace)

    response = client.post(page_url(workspace, "save"), {**fields, "model": json.dumps(tampered)})
    assert response.status_code == 400
    assert 'The priority computed score "nowhere" does not exist.' in response.context["problems"]
    garbage = client.post(page_url(workspace, "save"), {**fields, "model": "{not json"})
    assert garbage.status_code == 302
    assert snapshot(workspace) == before


def test_a_save_on_top_of_another_change_is_previewed_again(
    workspace, model, owner, admin_member, client_for
):
    client = client_for(owner)
    preview = client.post(page_url(workspace, "priority"), {"priority": "value"})
    services.scoring_model_replace(workspace=workspace, spec=replace(ATLAS, priority="customer_value"))

    response = client.post(page_url(workspace, "save"), saved_fields(preview))

    assert response.status_code == 409
    assert "Someone saved the scoring model after this preview" in response.content.decode()
    assert ScoringModel.objects.get(workspace=workspace).priority_node.key == "customer_value"


def test_a_preset_is_previewed_then_saved(workspace, model, owner, client_for):
    client = client_for(owner)

    preview = client.post(page_url(workspace, "preset"), {"preset": "wsjf"})

    assert "Switch to the WSJF preset" in preview.content.decode()
    assert ScoringModel.objects.get(workspace=workspace).preset == "atlas"
    client.post(page_url(workspace, "save"), saved_fields(preview))
    assert ScoringModel.objects.get(workspace=workspace).preset == "wsjf"
    assert services.scoring_model_load(workspace=workspace)[1] == scoring.PRESETS["wsjf"]


def test_the_settings_tabs_link_the_scoring_model(workspace, viewer, client_for):
    response = client_for(viewer).get(reverse("workspaces:members", args=[workspace.slug]))

    assert page_url(workspace) in response.content.decode()


def test_page_query_count_does_not_grow_with_criteria(workspace, owner, client_for):
    client = client_for(owner)

    def spec_with(n: int) -> ModelSpec:
        criteria = tuple(CriterionSpec(f"c{i}", f"Criterion {i}", "customer", 0, 5, 1) for i in range(n))
        inputs = tuple(InputSpec(scoring.CRITERION, c.key, normalise=True) for c in criteria)
        nodes = (
            NodeSpec("half", "Half", scoring.WEIGHTED_MEAN, inputs[: n // 2]),
            NodeSpec("rest", "Rest", scoring.WEIGHTED_MEAN, inputs[n // 2 :]),
            NodeSpec(
                "priority", "Priority", scoring.SUM, (InputSpec("node", "half"), InputSpec("node", "rest"))
            ),
        )
        return ModelSpec(criteria=criteria, nodes=nodes, priority="priority")

    def count(n: int) -> int:
        services.scoring_model_replace(workspace=workspace, spec=spec_with(n))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page_url(workspace))
        assert response.status_code == 200
        assert response.content.decode().count('id="criterion-c') == n
        return len(queries)

    assert count(3) == count(12)


def test_the_page_says_when_the_model_was_edited_since_its_preset(workspace, model, viewer, client_for):
    client = client_for(viewer)
    assert ", edited" not in client.get(page_url(workspace)).content.decode()

    services.scoring_model_replace(workspace=workspace, spec=replace(ATLAS, priority="value"))

    assert "preset, edited" in client.get(page_url(workspace)).content.decode()
