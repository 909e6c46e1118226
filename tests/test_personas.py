"""The persona pages: list, create, edit, delete, and a persona with its journeys, insights and emotion."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.models import Activity, Tag
from journeys.models import (
    Insight,
    Journey,
    Lifecycle,
    LifecycleStage,
    MacroJourney,
    Persona,
    Step,
    StepEmotion,
)

VALID = {
    "name": "Maya, the first-time buyer",
    "segment": "Young adults",
    "summary": "31, renting, saving for a deposit.",
    "needs": "To know where her application stands\n- Plain-English fees",
    "goals": "Buy a two-bed flat",
    "frustrations": "Being asked for the same payslip twice",
}


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def macro_journey(workspace):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer lifecycle")
    stage = LifecycleStage.objects.create(
        workspace=workspace, lifecycle=lifecycle, name="Purchase", position=0
    )
    return MacroJourney.objects.create(workspace=workspace, stage=stage, name="Get a mortgage", position=0)


def journey_with_steps(workspace, macro, name, persona=None, steps=4, scores=(), **fields):
    journey = Journey.objects.create(
        workspace=workspace, macro_journey=macro, name=name, primary_persona=persona, **fields
    )
    rows = Step.objects.bulk_create(
        Step(workspace=workspace, journey=journey, position=i, name=f"{name} step {i}", emotion=0)
        for i in range(steps)
    )
    return journey, rows


def build_personas(workspace, count: int, *, journeys_each: int = 2, insights_each: int = 3):
    """`count` personas, each primary persona of some journeys with scored steps and with insights."""
    macro = MacroJourney.objects.filter(workspace=workspace).first() or macro_journey(workspace)
    tag, _ = Tag.objects.get_or_create(workspace=workspace, kind="segment", name="Retail")
    personas = []
    for p in range(count):
        persona = Persona.objects.create(workspace=workspace, name=f"Persona {p}", segment="Retail")
        persona.tags.add(tag)
        for j in range(journeys_each):
            _, steps = journey_with_steps(workspace, macro, f"P{p} journey {j}", persona)
            StepEmotion.objects.bulk_create(
                StepEmotion(workspace=workspace, step=step, persona=persona, score=(i % 5) - 2)
                for i, step in enumerate(steps)
            )
        for i in range(insights_each):
            insight = Insight.objects.create(workspace=workspace, title=f"P{p} insight {i}")
            insight.personas.add(persona)
        personas.append(persona)
    return personas


# --- list ------------------------------------------------------------------------------------------------


def test_persona_list_shows_cards_with_journey_and_insight_counts(client_for, viewer, workspace):
    (persona,) = build_personas(workspace, 1, journeys_each=2, insights_each=3)
    macro = MacroJourney.objects.get()
    journey, _ = journey_with_steps(workspace, macro, "Also for Maya")
    journey.personas.add(persona)  # additional persona: counted once
    primary = Journey.objects.filter(primary_persona=persona).first()
    primary.personas.add(persona)  # primary and additional: still counted once
    body = client_for(viewer).get("/w/acme/personas/").content.decode()
    assert "Persona 0" in body and "Retail" in body
    html = " ".join(body.split())
    assert "<div><dt>Journeys</dt><dd>3</dd></div>" in html
    assert "<div><dt>Insights</dt><dd>3</dd></div>" in html


def test_persona_list_empty_state_says_what_to_do(client_for, viewer, editor):
    assert "Ask an editor" in client_for(viewer).get("/w/acme/personas/").content.decode()
    body = client_for(editor).get("/w/acme/personas/").content.decode()
    assert "No personas yet" in body and "Create the first persona" in body


def test_persona_list_query_count_is_constant_and_paginated(client_for, viewer, workspace):
    client = client_for(viewer)
    build_personas(workspace, 2, journeys_each=1, insights_each=1)
    small, _ = count_queries(client, "/w/acme/personas/")
    Persona.objects.filter(workspace=workspace).delete()
    build_personas(workspace, 30, journeys_each=3, insights_each=4)
    large, response = count_queries(client, "/w/acme/personas/")
    assert small == large
    assert "Page 1 of 2" in response.content.decode()
    second = client.get("/w/acme/personas/?page=2").content.decode()
    # By name: Persona 0, 1, 10…19, 2, 20…29, 3 fill page 1; Persona 4…9 are on page 2.
    assert "Persona 9<" in second and "Persona 9<" not in response.content.decode()


# --- a persona ---------------------------------------------------------------------------------------------


def test_persona_page_shows_journeys_insights_and_emotion_curves(client_for, viewer, workspace):
    (maya,) = build_personas(workspace, 1, journeys_each=1, insights_each=2)
    macro = MacroJourney.objects.get()
    extra, _ = journey_with_steps(workspace, macro, "Switch my mortgage")
    extra.personas.add(maya)
    insight = Insight.objects.get(title="P0 insight 1")
    client = client_for(viewer)
    body = client.get(f"/w/acme/personas/{maya.pk}/").content.decode()
    assert "P0 journey 0" in body and "Primary" in body
    assert "Switch my mortgage" in body and "Additional" in body
    assert "P0 insight 1" in body and f'href="/w/acme/insights/{insight.pk}/"' in body
    assert "Emotion across journeys" in body and 'data-series="Persona 0"' in body
    assert "4 of 4 steps scored" in body
    assert f"/w/acme/personas/{maya.pk}/edit/" not in body  # a viewer gets no edit controls


def test_persona_needs_goals_and_frustrations_show_as_lists(client_for, viewer, workspace):
    persona = Persona.objects.create(workspace=workspace, **VALID)
    body = client_for(viewer).get(f"/w/acme/personas/{persona.pk}/").content.decode()
    assert "<li>To know where her application stands</li>" in body
    assert "<li>Plain-English fees</li>" in body


def test_persona_page_empty_sections_say_what_to_do(client_for, viewer, workspace):
    persona = Persona.objects.create(workspace=workspace, name="Nobody yet")
    body = client_for(viewer).get(f"/w/acme/personas/{persona.pk}/").content.decode()
    assert "No journey has Nobody yet" in body
    assert "No emotion scores for Nobody yet" in body
    assert "No insights are linked to Nobody yet" in body


def test_persona_page_query_count_is_constant(client_for, viewer, workspace):
    client = client_for(viewer)
    (small,) = build_personas(workspace, 1, journeys_each=1, insights_each=1)
    small_count, _ = count_queries(client, f"/w/acme/personas/{small.pk}/")
    large = Persona.objects.create(workspace=workspace, name="Busy")
    macro = MacroJourney.objects.get()
    for j in range(8):
        _journey, steps = journey_with_steps(workspace, macro, f"Busy journey {j}", large, steps=12)
        StepEmotion.objects.bulk_create(
            StepEmotion(workspace=workspace, step=s, persona=large, score=1) for s in steps[::2]
        )
    for i in range(60):
        Insight.objects.create(workspace=workspace, title=f"Busy insight {i}").personas.add(large)
    large_count, response = count_queries(client, f"/w/acme/personas/{large.pk}/")
    assert small_count == large_count
    body = response.content.decode()
    assert "Busy journey 7" in body and "Page 1 of 3" in body


# --- create, edit, delete -----------------------------------------------------------------------------------


def test_editor_creates_a_persona_with_every_field(client_for, editor, workspace):
    tag = Tag.objects.create(workspace=workspace, kind="segment", name="Young adults")
    response = client_for(editor).post("/w/acme/personas/new/", {**VALID, "tags": [tag.pk]})
    persona = Persona.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/w/acme/personas/{persona.pk}/"
    assert (persona.name, persona.segment, persona.goals) == (
        VALID["name"],
        "Young adults",
        "Buy a two-bed flat",
    )
    assert list(persona.tags.all()) == [tag]
    activity = Activity.objects.get(target_type="persona")
    assert (activity.verb, activity.actor) == ("created", editor.user)


def test_persona_form_errors_show_inline_and_keep_what_was_typed(client_for, editor, workspace):
    Persona.objects.create(workspace=workspace, name="Maya, the first-time buyer")
    client = client_for(editor)
    body = client.post("/w/acme/personas/new/", {**VALID, "name": ""}).content.decode()
    assert "This field is required." in body and "Buy a two-bed flat" in body
    body = client.post(
        "/w/acme/personas/new/", {**VALID, "name": "MAYA, the first-time buyer"}
    ).content.decode()
    assert "There is already a persona called" in body and 'aria-invalid="true"' in body
    assert Persona.objects.count() == 1


def test_tags_of_another_workspace_are_refused(client_for, editor, workspace, other_workspace):
    foreign = Tag.objects.create(workspace=other_workspace, kind="segment", name="Theirs")
    body = client_for(editor).post("/w/acme/personas/new/", {**VALID, "tags": [foreign.pk]}).content.decode()
    assert "Select a valid choice" in body
    assert not Persona.objects.exists()


def test_editor_edits_a_persona_and_the_change_is_recorded(client_for, editor, workspace):
    persona = Persona.objects.create(workspace=workspace, name="Maya")
    tag = Tag.objects.create(workspace=workspace, kind="segment", name="Young adults")
    client = client_for(editor)
    form = client.get(f"/w/acme/personas/{persona.pk}/edit/").content.decode()
    assert 'value="Maya"' in form and "Young adults" in form
    response = client.post(f"/w/acme/personas/{persona.pk}/edit/", {**VALID, "tags": [tag.pk]})
    assert response.status_code == 302
    persona.refresh_from_db()
    assert persona.name == VALID["name"] and list(persona.tags.all()) == [tag]
    changes = Activity.objects.get(verb="updated").changes
    assert changes["name"] == ["Maya", VALID["name"]] and changes["tags"] == [[], [tag.pk]]


def test_deleting_a_persona_explains_and_then_unlinks_everything(client_for, editor, workspace):
    (persona,) = build_personas(workspace, 1, journeys_each=1, insights_each=2)
    macro = MacroJourney.objects.get()
    additional, _ = journey_with_steps(workspace, macro, "Also hers")
    additional.personas.add(persona)
    client = client_for(editor)
    page = " ".join(client.get(f"/w/acme/personas/{persona.pk}/delete/").content.decode().split())
    assert "4 emotion scores" in page and "are deleted with it" in page
    assert "1 journey</strong> with this primary persona" in page
    assert "1 journey list" in page and "2 insights</strong>" in page
    response = client.post(f"/w/acme/personas/{persona.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/w/acme/personas/"
    assert not Persona.objects.exists() and not StepEmotion.objects.exists()
    assert Journey.objects.filter(primary_persona__isnull=True).count() == 2
    assert Insight.objects.count() == 2 and not Insight.personas.through.objects.exists()
    assert Activity.objects.get(verb="deleted").changes["emotions"] == 4


# --- roles ---------------------------------------------------------------------------------------------------


def test_viewer_sees_no_persona_edit_controls(client_for, viewer, workspace):
    persona = Persona.objects.create(workspace=workspace, name="Maya")
    client = client_for(viewer)
    for url in ("/w/acme/personas/", f"/w/acme/personas/{persona.pk}/"):
        body = client.get(url).content.decode()
        assert "/personas/new/" not in body and "/edit/" not in body and "/delete/" not in body


@pytest.mark.parametrize("path", ["new/", "{pk}/edit/", "{pk}/delete/"])
def test_viewer_cannot_create_edit_or_delete_personas(client_for, viewer, workspace, path):
    persona = Persona.objects.create(workspace=workspace, name="Maya")
    client = client_for(viewer)
    url = "/w/acme/personas/" + path.format(pk=persona.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, VALID).status_code == 403
    assert list(Persona.objects.values_list("name", flat=True)) == ["Maya"]
    assert not Activity.objects.exists()


@pytest.mark.parametrize("path", ["", "edit/", "delete/"])
def test_outsider_gets_404_for_a_persona(client_for, outsider, workspace, path):
    persona = Persona.objects.create(workspace=workspace, name="Maya")
    client = client_for(outsider)
    assert client.get(f"/w/acme/personas/{persona.pk}/{path}").status_code == 404
    assert client.post(f"/w/acme/personas/{persona.pk}/{path}", VALID).status_code in (404, 405)
    assert Persona.objects.get().name == "Maya"
