"""Every list: a query count that does not grow with the rows, cursor pagination, filters, ordering."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.models import Role
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Phase, Step
from opportunities.models import CriterionValue, Opportunity
from tests.api.conftest import RESOURCES, api_url
from tests.conftest import make_member


def add_rows(basename: str, atlas, n: int, start: int = 100) -> None:
    """`n` more rows of `basename` in `atlas`'s workspace, each with every link filled."""
    a, ws = atlas, {"workspace": atlas.workspace}
    for i in range(start, start + n):
        if basename == "lifecycle":
            Lifecycle.objects.create(**ws, name=f"Lifecycle {i}", position=i)
        elif basename == "stage":
            LifecycleStage.objects.create(**ws, lifecycle=a.lifecycle, name=f"Stage {i}", position=i)
        elif basename == "macro-journey":
            MacroJourney.objects.create(**ws, stage=a.stage, name=f"Macro {i}", position=i, owner=a.member)
        elif basename == "journey":
            journey = Journey.objects.create(
                **ws,
                macro_journey=a.macro_journey,
                name=f"Journey {i}",
                owner=a.member,
                primary_persona=a.persona,
            )
            journey.personas.set([a.persona])
            journey.tags.set([a.tag])
        elif basename == "phase":
            Phase.objects.create(**ws, journey=a.journey, name=f"Phase {i}", position=i)
        elif basename == "step":
            step = Step.objects.create(**ws, journey=a.journey, phase=a.phase, position=i, name=f"Step {i}")
            step.tags.set([a.tag])
        elif basename == "persona":
            persona = Persona.objects.create(**ws, name=f"Persona {i}")
            persona.tags.set([a.tag])
        elif basename == "insight":
            insight = Insight.objects.create(**ws, title=f"Insight {i}")
            insight.personas.set([a.persona])
            insight.steps.set([a.step])
            insight.tags.set([a.tag])
        elif basename == "opportunity":
            opportunity = Opportunity.objects.create(**ws, title=f"Opportunity {i}", owner=a.member)
            opportunity.steps.set([a.step])
            opportunity.insights.set([a.insight])
            opportunity.key_results.set([a.key_result])
            opportunity.tags.set([a.tag])
            CriterionValue.objects.create(**ws, opportunity=opportunity, criterion=a.impact, value=3)
            CriterionValue.objects.create(**ws, opportunity=opportunity, criterion=a.confidence, value=1)
        elif basename == "member":
            make_member(a.workspace, f"member{i}@acme.test", Role.VIEWER)


LISTS = [*RESOURCES, "member"]

# Session, user and membership (3), the page (1), then one query per prefetched relation.
EXPECTED_QUERIES = {
    "lifecycle": 4,
    "stage": 4,
    "macro-journey": 4,
    "phase": 4,
    "step": 5,  # tags
    "persona": 5,  # tags
    "journey": 6,  # personas, tags
    "insight": 7,  # personas, steps, tags
    "opportunity": 9,  # steps, insights, key results, tags, criterion values with their criteria
    "member": 4,  # users joined
}


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("basename", LISTS)
def test_list_query_count_does_not_grow_with_rows(
    basename, atlas_a, viewer, api_for, django_assert_num_queries
):
    client = api_for(viewer)
    url = api_url(basename, atlas_a.workspace, page_size=200)
    add_rows(basename, atlas_a, 2)
    client.get(url)  # warm-up: the session's first read

    with django_assert_num_queries(EXPECTED_QUERIES[basename]):
        few = client.get(url)
    add_rows(basename, atlas_a, 37, start=200)
    with django_assert_num_queries(EXPECTED_QUERIES[basename]):
        many = client.get(url)

    assert len(few.json()["results"]) < 10
    assert len(many.json()["results"]) >= 40


@pytest.mark.parametrize("basename", LISTS)
def test_list_is_cursor_paginated(basename, atlas_a, viewer, api_for):
    client = api_for(viewer)
    add_rows(basename, atlas_a, 5)
    total = type(atlas_a[basename] if basename != "member" else viewer).objects.filter(
        workspace=atlas_a.workspace
    )

    first = client.get(api_url(basename, atlas_a.workspace, page_size=2)).json()
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "cursor=" in first["next"]
    seen = [row["id"] for row in first["results"]]
    page = first
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    assert sorted(seen) == sorted(total.values_list("pk", flat=True))
    assert len(seen) == len(set(seen))


def test_page_size_is_capped_at_200(atlas_a, viewer, api_for):
    add_rows("lifecycle", atlas_a, 205)

    page = api_for(viewer).get(api_url("lifecycle", atlas_a.workspace, page_size=1000)).json()

    assert len(page["results"]) == 200
    assert page["next"]


def test_default_page_size_is_50(atlas_a, viewer, api_for):
    add_rows("persona", atlas_a, 60)

    page = api_for(viewer).get(api_url("persona", atlas_a.workspace)).json()

    assert len(page["results"]) == 50


# (resource, ordering, attribute compared)
ORDERINGS = [
    ("lifecycle", "-position", "position"),
    ("stage", "-position", "position"),
    ("macro-journey", "name", "name"),
    ("journey", "-name", "name"),
    ("phase", "-position", "position"),
    ("step", "-position", "position"),
    ("persona", "-name", "name"),
    ("insight", "-title", "title"),
    ("opportunity", "-title", "title"),
    ("member", "-id", "id"),
]


@pytest.mark.parametrize(("basename", "ordering", "key"), ORDERINGS)
def test_list_ordering(basename, ordering, key, atlas_a, viewer, api_for):
    add_rows(basename, atlas_a, 4)
    client = api_for(viewer)

    rows = client.get(api_url(basename, atlas_a.workspace, ordering=ordering, page_size=3)).json()
    following = client.get(rows["next"]).json()

    values = [row[key] for row in rows["results"] + following["results"]]
    expected = sorted(values, reverse=ordering.startswith("-"))
    assert values == expected


def test_unknown_ordering_field_is_ignored(atlas_a, viewer, api_for):
    response = api_for(viewer).get(api_url("insight", atlas_a.workspace, ordering="workspace"))

    assert response.status_code == 200


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])


def test_stage_filter_by_lifecycle(atlas_a, viewer, api_for):
    other = Lifecycle.objects.create(workspace=atlas_a.workspace, name="Employee")
    hire = LifecycleStage.objects.create(
        workspace=atlas_a.workspace, lifecycle=other, name="Hire", position=1
    )

    response = api_for(viewer).get(api_url("stage", atlas_a.workspace, lifecycle=other.pk))

    assert ids(response) == [hire.pk]


def test_macro_journey_filter_by_stage(atlas_a, viewer, api_for):
    stage = LifecycleStage.objects.create(
        workspace=atlas_a.workspace, lifecycle=atlas_a.lifecycle, name="Usage", position=2
    )
    macro = MacroJourney.objects.create(
        workspace=atlas_a.workspace, stage=stage, name="Pay bills", position=1
    )

    assert ids(api_for(viewer).get(api_url("macro-journey", atlas_a.workspace, stage=stage.pk))) == [macro.pk]


def test_journey_filters(atlas_a, viewer, api_for):
    client = api_for(viewer)
    ws = atlas_a.workspace
    other_macro = MacroJourney.objects.create(
        workspace=ws, stage=atlas_a.stage, name="Move house", position=2
    )
    to_be = Journey.objects.create(
        workspace=ws,
        macro_journey=atlas_a.macro_journey,
        name="Future",
        kind="to_be",
        status="published",
        current_journey=atlas_a.journey,
    )
    elsewhere = Journey.objects.create(workspace=ws, macro_journey=other_macro, name="Elsewhere")
    secondary = Persona.objects.create(workspace=ws, name="Broker")
    elsewhere.personas.set([secondary, atlas_a.persona])

    assert ids(client.get(api_url("journey", ws, macro_journey=other_macro.pk))) == [elsewhere.pk]
    assert ids(client.get(api_url("journey", ws, kind="to_be"))) == [to_be.pk]
    assert ids(client.get(api_url("journey", ws, status="published"))) == [to_be.pk]
    assert ids(client.get(api_url("journey", ws, persona=secondary.pk))) == [elsewhere.pk]
    # primary persona or one of the personas, each journey once
    assert ids(client.get(api_url("journey", ws, persona=atlas_a.persona.pk))) == sorted(
        [atlas_a.journey.pk, elsewhere.pk]
    )


def test_journey_filter_with_an_invalid_choice_is_400(atlas_a, viewer, api_for):
    response = api_for(viewer).get(api_url("journey", atlas_a.workspace, kind="sideways"))

    assert response.status_code == 400
    assert "kind" in response.json()


def test_phase_and_step_filters(atlas_a, viewer, api_for):
    client = api_for(viewer)
    ws = atlas_a.workspace
    other = Journey.objects.create(workspace=ws, macro_journey=atlas_a.macro_journey, name="Other")
    phase = Phase.objects.create(workspace=ws, journey=other, name="Later", position=1)
    step = Step.objects.create(workspace=ws, journey=other, phase=phase, name="Wait", position=1)
    loose = Step.objects.create(workspace=ws, journey=other, name="Loose", position=2)

    assert ids(client.get(api_url("phase", ws, journey=other.pk))) == [phase.pk]
    assert ids(client.get(api_url("step", ws, journey=other.pk))) == sorted([step.pk, loose.pk])
    assert ids(client.get(api_url("step", ws, phase=phase.pk))) == [step.pk]


def test_insight_filters(atlas_a, viewer, api_for):
    client = api_for(viewer)
    ws = atlas_a.workspace
    a = atlas_a.insight
    second_step = Step.objects.create(workspace=ws, journey=atlas_a.journey, name="Sign", position=2)
    a.steps.add(second_step)  # pinned to two steps of one journey: still listed once
    gain = Insight.objects.create(
        workspace=ws, title="Customers love the calculator", kind="gain", source="survey", status="validated"
    )

    assert ids(client.get(api_url("insight", ws, kind="gain"))) == [gain.pk]
    assert ids(client.get(api_url("insight", ws, source="survey"))) == [gain.pk]
    assert ids(client.get(api_url("insight", ws, status="validated"))) == [gain.pk]
    assert ids(client.get(api_url("insight", ws, persona=atlas_a.persona.pk))) == [a.pk]
    assert ids(client.get(api_url("insight", ws, step=second_step.pk))) == [a.pk]
    assert ids(client.get(api_url("insight", ws, journey=atlas_a.journey.pk))) == [a.pk]
    assert ids(client.get(api_url("insight", ws, tag=atlas_a.tag.pk))) == [a.pk]
    assert ids(client.get(api_url("insight", ws, search="LOVE calculator"))) == [gain.pk]
    assert ids(client.get(api_url("insight", ws, search="form long"))) == [a.pk]


def test_opportunity_filters(atlas_a, viewer, admin_member, api_for):
    client = api_for(viewer)
    ws = atlas_a.workspace
    a = atlas_a.opportunity
    second_step = Step.objects.create(workspace=ws, journey=atlas_a.journey, name="Sign", position=2)
    a.steps.add(second_step)
    done = Opportunity.objects.create(
        workspace=ws, title="Explain the fees", status="done", owner=admin_member
    )

    assert ids(client.get(api_url("opportunity", ws, status="done"))) == [done.pk]
    assert ids(client.get(api_url("opportunity", ws, open="true"))) == [a.pk]
    assert ids(client.get(api_url("opportunity", ws, open="false"))) == [done.pk]
    assert ids(client.get(api_url("opportunity", ws, owner=admin_member.pk))) == [done.pk]
    assert ids(client.get(api_url("opportunity", ws, step=second_step.pk))) == [a.pk]
    assert ids(client.get(api_url("opportunity", ws, journey=atlas_a.journey.pk))) == [a.pk]
    assert ids(client.get(api_url("opportunity", ws, insight=atlas_a.insight.pk))) == [a.pk]
    assert ids(client.get(api_url("opportunity", ws, tag=atlas_a.tag.pk))) == [a.pk]
    assert ids(client.get(api_url("opportunity", ws, key_result=atlas_a.key_result.pk))) == [a.pk]
    assert ids(client.get(api_url("opportunity", ws, objective=atlas_a.key_result.objective_id))) == [a.pk]
    assert ids(client.get(api_url("opportunity", ws, search="fees"))) == [done.pk]


def test_persona_and_member_filters(atlas_a, viewer, api_for):
    client = api_for(viewer)
    ws = atlas_a.workspace
    untagged = Persona.objects.create(workspace=ws, name="Student", segment="youth")

    assert ids(client.get(api_url("persona", ws, segment="youth"))) == [untagged.pk]
    assert ids(client.get(api_url("persona", ws, tag=atlas_a.tag.pk))) == [atlas_a.persona.pk]
    assert ids(client.get(api_url("member", ws, role="viewer"))) == [viewer.pk]


def test_filter_with_a_non_numeric_id_is_400(atlas_a, viewer, api_for):
    response = api_for(viewer).get(api_url("insight", atlas_a.workspace, step="abc"))

    assert response.status_code == 400
    assert "step" in response.json()


def test_backlog_ordering_by_rank_pages_through_unranked_opportunities_last(atlas_a, viewer, api_for):
    add_rows("opportunity", atlas_a, 6)
    ranked = list(Opportunity.objects.filter(workspace=atlas_a.workspace).order_by("id")[:4])
    for rank, opportunity in zip([3, 1, 4, 2], ranked, strict=True):
        opportunity.rank = rank
        opportunity.save()
    client = api_for(viewer)

    page = client.get(api_url("opportunity", atlas_a.workspace, ordering="rank", page_size=3)).json()
    ranks = [row["rank"] for row in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        ranks += [row["rank"] for row in page["results"]]

    assert ranks == [1, 2, 3, 4, None, None, None]
    reverse = client.get(api_url("opportunity", atlas_a.workspace, ordering="-rank", page_size=50)).json()
    assert [row["rank"] for row in reverse["results"]] == [None, None, None, 4, 3, 2, 1]
