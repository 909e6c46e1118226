"""The read-only atlas overview and journey map."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journeys.models import (
    Insight,
    Journey,
    Lifecycle,
    LifecycleStage,
    MacroJourney,
    Persona,
    Phase,
    Step,
    Touchpoint,
)
from opportunities.models import Opportunity


def build_atlas(workspace, owner, *, macro_journeys: int, journeys_per_macro: int, stages: int = 5):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer lifecycle")
    stage_rows = LifecycleStage.objects.bulk_create(
        LifecycleStage(workspace=workspace, lifecycle=lifecycle, name=f"Stage {i}", position=i)
        for i in range(stages)
    )
    persona, _ = Persona.objects.get_or_create(workspace=workspace, name="Saver Sam")
    macros = MacroJourney.objects.bulk_create(
        MacroJourney(
            workspace=workspace, stage=stage_rows[i % stages], name=f"Macro {i}", position=i, owner=owner
        )
        for i in range(macro_journeys)
    )
    journeys = Journey.objects.bulk_create(
        Journey(
            workspace=workspace,
            macro_journey=macro,
            name=f"{macro.name} journey {j}",
            owner=owner,
            primary_persona=persona,
        )
        for macro in macros
        for j in range(journeys_per_macro)
    )
    steps = Step.objects.bulk_create(
        Step(workspace=workspace, journey=journey, position=p, name=f"Step {p}")
        for journey in journeys
        for p in range(2)
    )
    insight = Insight.objects.create(workspace=workspace, title="Too many forms")
    insight.steps.add(*steps[::2])
    opportunity = Opportunity.objects.create(workspace=workspace, title="One form")
    opportunity.steps.add(*steps[::3])
    return lifecycle


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def test_atlas_shows_stages_macro_journeys_and_journeys(client_for, owner, workspace):
    build_atlas(workspace, owner, macro_journeys=2, journeys_per_macro=2, stages=2)
    response = client_for(owner).get("/w/acme/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Stage 0" in body and "Stage 1" in body
    assert "Macro 0 journey 1" in body
    assert "Saver Sam" in body
    assert "50% steps with insights" in body  # every other step has the insight


def test_atlas_empty_state_tells_what_to_do_first(client_for, viewer):
    body = client_for(viewer).get("/w/acme/").content.decode()
    assert "No lifecycle yet" in body
    assert "Ask an editor" in body


def test_atlas_query_count_does_not_grow_with_the_atlas(
    client_for, owner, workspace, other_workspace, outsider
):
    client = client_for(owner)
    build_atlas(workspace, owner, macro_journeys=2, journeys_per_macro=1)
    small, _ = count_queries(client, "/w/acme/")
    # A second, much larger workspace must not change the count of the first either.
    build_atlas(other_workspace, outsider, macro_journeys=50, journeys_per_macro=4)
    Journey.objects.filter(workspace=workspace).delete()
    MacroJourney.objects.filter(workspace=workspace).delete()
    LifecycleStage.objects.filter(workspace=workspace).delete()
    Lifecycle.objects.filter(workspace=workspace).delete()
    build_atlas(workspace, owner, macro_journeys=50, journeys_per_macro=4)
    large, response = count_queries(client, "/w/acme/")
    assert Journey.objects.filter(workspace=workspace).count() == 200
    assert small == large
    assert "Macro 49 journey 3" in response.content.decode()


def build_map(workspace, *, steps: int, insights: int, opportunities: int) -> Journey:
    lifecycle = Lifecycle.objects.create(workspace=workspace, name=f"L{steps}")
    stage = LifecycleStage.objects.create(
        workspace=workspace, lifecycle=lifecycle, name="Onboarding", position=1
    )
    macro = MacroJourney.objects.create(workspace=workspace, stage=stage, name="Open an account", position=1)
    journey = Journey.objects.create(workspace=workspace, macro_journey=macro, name=f"Journey {steps}")
    phases = Phase.objects.bulk_create(
        Phase(workspace=workspace, journey=journey, name=f"Phase {i}", position=i) for i in range(3)
    )
    step_rows = Step.objects.bulk_create(
        Step(
            workspace=workspace,
            journey=journey,
            phase=phases[i * 3 // steps],
            position=i,
            name=f"Step {i}",
            emotion=i % 5 - 2,
        )
        for i in range(steps)
    )
    Touchpoint.objects.bulk_create(
        Touchpoint(workspace=workspace, step=s, name=f"TP {s.name}") for s in step_rows
    )
    insight_rows = Insight.objects.bulk_create(
        Insight(workspace=workspace, title=f"Insight {i}") for i in range(insights)
    )
    through = Insight.steps.through
    through.objects.bulk_create(
        through(insight_id=ins.pk, step_id=step_rows[i % steps].pk) for i, ins in enumerate(insight_rows)
    )
    opp_rows = Opportunity.objects.bulk_create(
        Opportunity(workspace=workspace, title=f"Opportunity {i}") for i in range(opportunities)
    )
    through = Opportunity.steps.through
    through.objects.bulk_create(
        through(opportunity_id=o.pk, step_id=step_rows[i % steps].pk) for i, o in enumerate(opp_rows)
    )
    return journey


def test_journey_map_shows_lanes_in_step_order(client_for, viewer, workspace):
    journey = build_map(workspace, steps=5, insights=3, opportunities=2)
    body = client_for(viewer).get(f"/w/acme/journeys/{journey.pk}/").content.decode()
    assert body.index("Step 0") < body.index("Step 4")
    assert "Phase 0" in body and "Insight 2" in body and "Opportunity 1" in body
    assert "Emotion -2" in body and "Emotion +2" in body


def test_journey_map_query_count_is_constant(client_for, viewer, workspace):
    client = client_for(viewer)
    small = build_map(workspace, steps=5, insights=5, opportunities=5)
    large = build_map(workspace, steps=40, insights=500, opportunities=200)
    small_count, _ = count_queries(client, f"/w/acme/journeys/{small.pk}/")
    large_count, response = count_queries(client, f"/w/acme/journeys/{large.pk}/")
    assert small_count == large_count
    assert "Insight 499" in response.content.decode()


@pytest.mark.parametrize("path", ["/w/acme/", "/w/acme/journeys/{journey}/"])
def test_outsider_gets_404_on_atlas_pages(client_for, outsider, workspace, path):
    journey = build_map(workspace, steps=1, insights=0, opportunities=0)
    response = client_for(outsider).get(path.format(journey=journey.pk))
    assert response.status_code == 404
