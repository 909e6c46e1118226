"""The journey › step pickers of the insight repository (the list's bulk pin, an insight's pin form, the
create / edit form): they list one journey's steps at a time, never every step of the workspace, and work
with htmx and without JavaScript."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys.models import Insight
from tests.test_insights_services import make_insight, make_journey

LIST = "/w/acme/insights/"
OPTIONS = "/w/acme/insights/step-options/"
PICKER = "/w/acme/insights/step-picker/"


def page(insight) -> str:
    return f"/w/acme/insights/{insight.pk}/"


def step_boxes(body: str) -> list[tuple[int, bool]]:
    """The step checkboxes of the form's picker: (step id, ticked)."""
    return [
        (int(pk), bool(checked))
        for pk, checked in re.findall(r'<input type="checkbox" name="steps" value="(\d+)"( checked)?>', body)
    ]


def select(body: str, select_id: str) -> str:
    return body.split(f'id="{select_id}"')[1].split("</select>")[0]


@pytest.fixture
def journeys(workspace):
    """Two journeys of three steps, and twenty more of five (a workspace bigger than one journey)."""
    account = make_journey(workspace)
    mortgage = make_journey(workspace, "Get a mortgage", steps=("Compare offers", "Apply", "Sign"))
    for i in range(20):
        make_journey(workspace, f"Journey {i}", steps=[f"J{i} step {n}" for n in range(5)])
    return account, mortgage


@pytest.fixture
def insight(workspace, journeys):
    insight = make_insight(workspace, "ID check takes three days")
    insight.steps.add(journeys[0].steps.get(position=3))
    return insight


# --- the options of one journey (htmx) ---------------------------------------------------------------------


def test_step_options_list_one_journeys_steps_in_map_order(client_for, viewer, journeys):
    account, _ = journeys
    body = client_for(viewer).get(OPTIONS, {"pin_journey": account.pk}).content.decode()
    steps = list(account.steps.order_by("position"))
    assert re.findall(r'<option value="(\d+)"', body) == [str(s.pk) for s in steps]
    assert "1. Find the offer" in body and "3. Verify ID" in body
    assert "Compare offers" not in body


def test_step_options_of_another_workspaces_journey_are_empty(client_for, viewer, other_workspace):
    foreign = make_journey(other_workspace, "Their journey", steps=("Their step",))
    body = client_for(viewer).get(OPTIONS, {"pin_journey": foreign.pk}).content.decode()
    assert "Their step" not in body
    assert "This journey has no steps yet" in body
    assert "Choose a journey first" in client_for(viewer).get(OPTIONS).content.decode()


def test_step_options_are_404_to_outsiders(client_for, outsider, journeys):
    assert client_for(outsider).get(OPTIONS, {"pin_journey": journeys[0].pk}).status_code == 404


# --- the list's bulk pin -----------------------------------------------------------------------------------


def test_list_offers_journeys_not_every_step(client_for, editor, journeys, insight):
    body = client_for(editor).get(LIST).content.decode()
    assert 'id="bulk-journey"' in body and "Get a mortgage" in select(body, "bulk-journey")
    assert "Choose a journey first" in select(body, "bulk-step")
    assert "J0 step 1" not in body and "Compare offers" not in body


def test_bulk_pin_without_javascript_lists_the_journeys_steps_then_pins(client_for, editor, journeys):
    _, mortgage = journeys
    insights = [make_insight(mortgage.workspace, f"Insight {i}") for i in range(2)]
    client = client_for(editor)
    data = {"insight": [str(insights[1].pk)], "action": "pin", "pin_journey": mortgage.pk}
    response = client.post("/w/acme/insights/bulk/", data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Now choose the step of this journey to pin to." in body
    assert f'value="{insights[1].pk}" id="pick-{insights[1].pk}" checked' in body  # the selection is kept
    assert f'<option value="{mortgage.pk}" selected>' in select(body, "bulk-journey")
    apply = mortgage.steps.get(position=2)
    assert f'<option value="{apply.pk}">2. Apply</option>' in select(body, "bulk-step")
    response = client.post("/w/acme/insights/bulk/", {**data, "step": apply.pk})
    assert response.status_code == 302
    assert list(apply.insights.all()) == [insights[1]]


def test_list_query_count_does_not_grow_with_steps(client_for, editor, workspace, insight):
    client = client_for(editor)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    for i in range(10):
        make_journey(workspace, f"More {i}", steps=[f"M{i}-{n}" for n in range(10)])
    with CaptureQueriesContext(connection) as many:
        body = client.get(LIST).content.decode()
    assert len(many) == len(few)
    assert "M3-4" not in body


# --- an insight's pin form ---------------------------------------------------------------------------------


def test_insight_page_pins_through_a_journey_then_its_step(client_for, editor, journeys, insight):
    _, mortgage = journeys
    client = client_for(editor)
    body = client.get(page(insight)).content.decode()
    assert "Choose a journey first" in select(body, "pin-step")
    assert "J5 step 2" not in body
    # Without JavaScript "Show its steps" reloads the page with the journey chosen.
    assert 'form="pin-browse"' in body and 'id="pin-browse" method="get"' in body
    body = client.get(page(insight), {"pin_journey": mortgage.pk}).content.decode()
    assert f'<option value="{mortgage.pk}" selected>' in select(body, "pin-journey")
    sign = mortgage.steps.get(position=3)
    assert f'<option value="{sign.pk}">3. Sign</option>' in select(body, "pin-step")
    response = client.post(f"{page(insight)}pin/", {"step": sign.pk, "pin_journey": mortgage.pk})
    assert response["Location"] == f"{page(insight)}#steps"
    assert insight.steps.filter(pk=sign.pk).exists()


def test_pin_without_a_step_returns_to_the_journey_chosen(client_for, editor, journeys, insight):
    _, mortgage = journeys
    response = client_for(editor).post(f"{page(insight)}pin/", {"pin_journey": mortgage.pk})
    assert response["Location"] == f"{page(insight)}?pin_journey={mortgage.pk}#steps"
    assert insight.steps.count() == 1


def test_insight_page_query_count_does_not_grow_with_steps(client_for, editor, workspace, insight, journeys):
    client = client_for(editor)
    url = f"{page(insight)}?pin_journey={journeys[1].pk}"
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(10):
        make_journey(workspace, f"More {i}", steps=[f"M{i}-{n}" for n in range(10)])
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)


# --- the create / edit form --------------------------------------------------------------------------------


def test_edit_form_lists_the_chosen_steps_and_the_journey_being_browsed_only(
    client_for, editor, journeys, insight
):
    account, _ = journeys
    body = client_for(editor).get(f"{page(insight)}edit/").content.decode()
    verify = account.steps.get(position=3)
    others = [s.pk for s in account.steps.exclude(pk=verify.pk).order_by("position")]
    assert step_boxes(body) == [(verify.pk, True)] + [(pk, False) for pk in others]
    assert "J0 step 1" not in body


def test_picker_swap_keeps_the_ticked_steps_and_browses_another_journey(client_for, editor, journeys):
    account, mortgage = journeys
    ticked = [account.steps.get(position=1).pk, mortgage.steps.get(position=2).pk]
    body = client_for(editor).get(PICKER, {"steps": ticked, "steps_journey": mortgage.pk}).content.decode()
    assert 'id="step-picker"' in body and "<html" not in body
    boxes = step_boxes(body)
    assert [pk for pk, on in boxes if on] == [ticked[1], ticked[0]]  # by journey name: Get…, Open…
    browsed = [pk for pk, on in boxes if not on]
    assert browsed == [s.pk for s in mortgage.steps.order_by("position") if s.pk != ticked[1]]
    assert f'<option value="{mortgage.pk}" selected>' in body


def test_picker_drops_steps_of_another_workspace(client_for, editor, journeys, other_workspace):
    foreign = make_journey(other_workspace, "Theirs", steps=("Their step",))
    step = foreign.steps.get()
    body = client_for(editor).get(PICKER, {"steps": [step.pk], "steps_journey": foreign.pk}).content.decode()
    assert "Their step" not in body and "Theirs" not in body
    assert step_boxes(body) == []


def test_picker_is_for_editors(client_for, viewer, outsider, journeys):
    assert client_for(viewer).get(PICKER).status_code == 403
    assert client_for(outsider).get(PICKER).status_code == 404


def test_show_steps_without_javascript_keeps_what_was_typed_and_saves_nothing(client_for, editor, journeys):
    account, mortgage = journeys
    client = client_for(editor)
    first = account.steps.get(position=1)
    data = {
        "title": "Half-typed insight",
        "description": "Kept quote",
        "kind": "need",
        "status": "hypothesis",
        "source": "survey",
        "severity": "4",
        "reach": "12",
        "steps": [first.pk],
        "steps_journey": mortgage.pk,
        "show_steps": "1",
    }
    response = client.post("/w/acme/insights/new/", data)
    body = response.content.decode()
    assert response.status_code == 200
    assert not Insight.objects.exists()
    assert 'value="Half-typed insight"' in body and "Kept quote" in body
    assert '<option value="need" selected>' in body
    assert 'class="errorlist' not in body
    boxes = step_boxes(body)
    assert (first.pk, True) in boxes
    apply = mortgage.steps.get(position=2)
    assert (apply.pk, False) in boxes
    # Ticking a step of the journey shown and saving pins both.
    del data["show_steps"]
    response = client.post("/w/acme/insights/new/", {**data, "steps": [first.pk, apply.pk]})
    assert response.status_code == 302
    assert set(Insight.objects.get().steps.values_list("pk", flat=True)) == {first.pk, apply.pk}


def test_unticking_a_step_in_the_edit_form_unpins_it(client_for, editor, journeys, insight):
    from tests.test_insights_detail import edit_data

    response = client_for(editor).post(f"{page(insight)}edit/", edit_data(insight, steps=[]))
    assert response.status_code == 302
    assert not insight.steps.exists()


def test_form_query_count_does_not_grow_with_steps(client_for, editor, workspace, insight):
    client = client_for(editor)
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"{page(insight)}edit/").status_code == 200
    for i in range(10):
        make_journey(workspace, f"More {i}", steps=[f"M{i}-{n}" for n in range(10)])
    with CaptureQueriesContext(connection) as many:
        body = client.get(f"{page(insight)}edit/").content.decode()
    assert len(many) == len(few)
    assert "M3-4" not in body
