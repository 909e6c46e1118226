"""The read-only atlas overview and journey map."""

import re
from datetime import date

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
from metrics.models import DataPoint, Kpi
from opportunities.models import Opportunity


def add_kpis(workspace, journeys, steps, macros):
    """Per journey a CSAT KPI at 78 % (target ≥ 85: off target), per step a ratio KPI at 0.9 (target ≥ 0.8:
    on target), per macro journey an NPS KPI without a measurement."""
    kpis = Kpi.objects.bulk_create(
        [
            *(
                Kpi(
                    workspace=workspace,
                    name=f"CSAT {j.name}",
                    kpi_type="csat",
                    scope="journey",
                    journey=j,
                    target=85,
                )
                for j in journeys
            ),
            *(
                Kpi(
                    workspace=workspace,
                    name=f"Rate {s.pk}",
                    kpi_type="ratio",
                    scope="step",
                    step=s,
                    target=0.8,
                )
                for s in steps
            ),
            *(
                Kpi(
                    workspace=workspace,
                    name=f"NPS {m.name}",
                    kpi_type="nps",
                    scope="macro_journey",
                    macro_journey=m,
                    target=30,
                )
                for m in macros
            ),
        ]
    )
    today = date(2026, 11, 1)
    DataPoint.objects.bulk_create(
        DataPoint(
            workspace=workspace, kpi=kpi, date=today, csat_1=2, csat_2=5, csat_3=15, csat_4=48, csat_5=30
        )
        if kpi.kpi_type == "csat"
        else DataPoint(workspace=workspace, kpi=kpi, date=today, numerator=90, denominator=100)
        for kpi in kpis
        if kpi.kpi_type != "nps"
    )


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
    add_kpis(workspace, journeys, steps[::2], macros)
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


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_atlas_query_count_does_not_grow_with_the_atlas(
    client_for, owner, viewer, workspace, other_workspace, outsider, role
):
    client = client_for(owner if role == "owner" else viewer)
    build_atlas(workspace, owner, macro_journeys=2, journeys_per_macro=1)
    small, _ = count_queries(client, "/w/acme/")
    # A second, much larger workspace must not change the count of the first either.
    build_atlas(other_workspace, outsider, macro_journeys=50, journeys_per_macro=4)
    Kpi.objects.filter(workspace=workspace).delete()
    Journey.objects.filter(workspace=workspace).delete()
    MacroJourney.objects.filter(workspace=workspace).delete()
    LifecycleStage.objects.filter(workspace=workspace).delete()
    Lifecycle.objects.filter(workspace=workspace).delete()
    build_atlas(workspace, owner, macro_journeys=50, journeys_per_macro=4)
    large, response = count_queries(client, "/w/acme/")
    assert Journey.objects.filter(workspace=workspace).count() == 200
    assert Kpi.objects.filter(workspace=workspace).count() == 200 + 200 + 50
    assert small == large
    body = response.content.decode()
    assert "Macro 49 journey 3" in body
    assert "1 of 2 KPIs off target" in body  # the journey's CSAT misses, its step's ratio meets


@pytest.mark.parametrize(("role", "bytes_per_journey"), [("owner", 1500), ("viewer", 1200)])
def test_atlas_html_stays_small_per_journey(client_for, owner, viewer, workspace, role, bytes_per_journey):
    """The atlas shows every journey of a lifecycle at once, so what each card carries multiplies: icons
    come from one sprite and menus load their actions when opened. Measured with these 200 journeys:
    1,258 bytes a journey for an editor, 976 for a viewer (before: about twice as much for an editor)."""
    build_atlas(workspace, owner, macro_journeys=50, journeys_per_macro=4)
    body = client_for(owner if role == "owner" else viewer).get("/w/acme/").content.decode()
    assert "Macro 49 journey 3" in body
    assert len(body.encode()) / 200 < bytes_per_journey
    assert body.count("<symbol ") == 10  # the sprite, once
    after_sprite = body[body.index("</svg>", body.index("<symbol ")) :]
    assert "<path" not in after_sprite and "<circle" not in after_sprite  # no icon drawn inline
    used = set(re.findall(r'<use href="#(icon-[a-z]+)"', body))
    assert used <= set(re.findall(r'<symbol id="(icon-[a-z]+)"', body))
    assert bool(used) == (role == "owner")  # a viewer has no controls, so no icons
    assert 'name="direction"' not in body and "<option" not in body  # no menu forms up front


def test_atlas_shows_kpi_health_of_journeys_and_macro_journeys(client_for, viewer, workspace, owner):
    build_atlas(workspace, owner, macro_journeys=1, journeys_per_macro=1, stages=1)
    body = client_for(viewer).get("/w/acme/").content.decode()
    assert "1 of 2 KPIs off target" in body  # the journey
    assert "1 KPI not measured" in body  # the macro journey's NPS has no data point yet
    assert "KPIs off target" in body and "of 3" in body  # the summary: 1 of 3 with a target


def test_atlas_switches_lifecycle_and_falls_back_to_the_first(client_for, viewer, workspace):
    customer = Lifecycle.objects.create(workspace=workspace, name="Customer lifecycle", position=0)
    employee = Lifecycle.objects.create(workspace=workspace, name="Employee lifecycle", position=1)
    LifecycleStage.objects.create(workspace=workspace, lifecycle=customer, name="Awareness", position=0)
    LifecycleStage.objects.create(workspace=workspace, lifecycle=employee, name="Hiring", position=0)
    client = client_for(viewer)
    assert "Awareness" in client.get("/w/acme/").content.decode()
    body = client.get(f"/w/acme/?lifecycle={employee.pk}").content.decode()
    assert "Hiring" in body and "Awareness" not in body
    assert f'href="/w/acme/?lifecycle={customer.pk}"' in body  # the tab back
    assert "Awareness" in client.get("/w/acme/?lifecycle=nonsense").content.decode()


def test_atlas_links_journeys_to_their_map_and_persona(client_for, viewer, workspace, owner):
    build_atlas(workspace, owner, macro_journeys=1, journeys_per_macro=1, stages=1)
    journey = Journey.objects.get()
    body = client_for(viewer).get("/w/acme/").content.decode()
    assert f'href="/w/acme/journeys/{journey.pk}/"' in body
    assert f'href="/w/acme/personas/{journey.primary_persona_id}/"' in body
    assert f'id="macro-{journey.macro_journey_id}"' in body  # breadcrumbs link to this anchor


def test_atlas_lists_a_to_be_journey_under_the_current_one_it_improves(client_for, viewer, workspace):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="L")
    stage = LifecycleStage.objects.create(
        workspace=workspace, lifecycle=lifecycle, name="Purchase", position=0
    )
    macro = MacroJourney.objects.create(workspace=workspace, stage=stage, name="Get a mortgage", position=0)
    apply = Journey.objects.create(workspace=workspace, macro_journey=macro, name="Apply in branch")
    Journey.objects.create(workspace=workspace, macro_journey=macro, name="Zoom through")
    Journey.objects.create(
        workspace=workspace, macro_journey=macro, name="Apply online", kind="to_be", current_journey=apply
    )
    body = client_for(viewer).get("/w/acme/").content.decode()
    assert body.index("Apply in branch") < body.index("Apply online") < body.index("Zoom through")


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
    assert "Angry" in body and "Delighted" in body  # the emotion lane: −2 … +2


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
