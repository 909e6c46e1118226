"""To-be journeys: creating one from a current journey, and the current vs to-be compare page."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.models import Activity
from journeys.models import Insight, Journey, Phase, Step, StepEmotion, Touchpoint
from journeys.services.versions import journey_create_to_be
from opportunities.models import Opportunity
from tests.versions_world import build_map


def _url(name: str, workspace, *args) -> str:
    return reverse(f"journeys:{name}", args=[workspace.slug, *args])


# --- the service ---------------------------------------------------------------------------------------


def test_to_be_copies_the_map_and_remembers_each_steps_origin(workspace, owner, editor):
    world = build_map(workspace, owner, steps=3)
    to_be = journey_create_to_be(journey=world.journey, actor=editor, name="Open an account in minutes")

    assert (to_be.kind, to_be.current_journey, to_be.name) == (
        "to_be",
        world.journey,
        "Open an account in minutes",
    )
    assert (to_be.owner, to_be.primary_persona, to_be.macro_journey) == (
        owner,
        world.persona,
        world.journey.macro_journey,
    )
    assert list(to_be.personas.all()) == [world.persona]
    assert list(to_be.tags.all()) == [world.tag]
    assert list(Phase.objects.filter(journey=to_be).values_list("name", "position")) == [
        ("Apply", 0),
        ("Get started", 1),
    ]
    copies = list(Step.objects.filter(journey=to_be).select_related("phase", "origin").order_by("position"))
    assert [s.origin for s in copies] == world.steps
    for copy, source in zip(copies, world.steps, strict=True):
        assert copy.phase.journey_id == to_be.pk
        assert copy.phase.name == source.phase.name
        for lane in (
            "name",
            "customer_goal",
            "customer_actions",
            "thoughts_feelings",
            "emotion",
            "frontstage",
        ):
            assert getattr(copy, lane) == getattr(source, lane)
        assert copy.is_moment_of_truth == source.is_moment_of_truth
        assert list(copy.tags.all()) == [world.tag]
    assert StepEmotion.objects.filter(step__journey=to_be, persona=world.persona, score=1).count() == 3
    touchpoints = Touchpoint.objects.filter(step__journey=to_be)
    assert sorted(touchpoints.values_list("name", flat=True)) == [
        "Touchpoint 0",
        "Touchpoint 1",
        "Touchpoint 2",
    ]
    assert all(list(tp.tags.all()) == [world.tag] for tp in touchpoints)
    # The evidence stays attached; opportunities stay with the current journey.
    assert world.insight.steps.filter(journey=to_be).count() == 3
    assert world.insight.steps.filter(journey=world.journey).count() == 3
    assert not world.opportunity.steps.filter(journey=to_be).exists()
    assert Activity.objects.filter(verb="created", target_type="journey", target_id=to_be.pk).exists()


def test_to_be_gets_a_default_name(workspace, owner):
    world = build_map(workspace, owner, steps=1)
    assert journey_create_to_be(journey=world.journey, actor=owner).name == "Open an account (to-be)"
    assert (
        journey_create_to_be(journey=world.journey, actor=owner, name="   ").name == "Open an account (to-be)"
    )


def test_a_to_be_journey_cannot_be_the_source(workspace, owner):
    world = build_map(workspace, owner, steps=1)
    to_be = journey_create_to_be(journey=world.journey, actor=owner)
    with pytest.raises(ValidationError, match="already a to-be journey"):
        journey_create_to_be(journey=to_be, actor=owner)


def test_to_be_of_an_empty_journey(workspace, owner):
    world = build_map(workspace, owner, steps=0)
    to_be = journey_create_to_be(journey=world.journey, actor=owner)
    assert not to_be.steps.exists()


def test_creating_a_to_be_query_count_does_not_grow_with_steps(workspace, owner):
    counts = []
    for steps, name in ((1, "Small"), (15, "Large")):
        world = build_map(workspace, owner, steps=steps, name=name)
        with CaptureQueriesContext(connection) as ctx:
            journey_create_to_be(journey=world.journey, actor=owner)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --- creating one in the browser's pages ----------------------------------------------------------------


def test_editor_creates_a_to_be_journey_from_the_form(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    client = client_for(editor)
    url = _url("journey_to_be_create", workspace, world.journey.pk)
    page = client.get(url).content.decode()
    assert "Opportunities are <strong>not</strong> linked" in page
    assert "Open an account (to-be)" in page

    response = client.post(url, {"name": "Open an account in minutes"})

    to_be = Journey.objects.get(kind="to_be")
    assert to_be.name == "Open an account in minutes"
    assert response["Location"] == _url("journey", workspace, to_be.pk)


def test_too_long_to_be_name_shows_the_error_and_creates_nothing(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    response = client_for(editor).post(
        _url("journey_to_be_create", workspace, world.journey.pk), {"name": "x" * 161}
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Journey.objects.filter(kind="to_be").exists()


def test_to_be_form_refuses_a_to_be_source(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    to_be = journey_create_to_be(journey=world.journey, actor=owner)
    response = client_for(editor).post(_url("journey_to_be_create", workspace, to_be.pk), {"name": "Again"})
    assert response.status_code == 400
    assert "already a to-be journey" in response.content.decode()
    assert Journey.objects.filter(kind="to_be").count() == 1


def test_viewer_cannot_create_a_to_be_journey(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner)
    client = client_for(viewer)
    url = _url("journey_to_be_create", workspace, world.journey.pk)
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Mine"}).status_code == 403
    assert not Journey.objects.filter(kind="to_be").exists()


def test_outsider_gets_404_on_to_be_and_compare_pages(client_for, outsider, owner, workspace):
    world = build_map(workspace, owner)
    client = client_for(outsider)
    assert client.get(_url("journey_compare", workspace, world.journey.pk)).status_code == 404
    assert client.get(_url("journey_to_be_create", workspace, world.journey.pk)).status_code == 404
    assert client.post(_url("journey_to_be_create", workspace, world.journey.pk)).status_code == 404


# --- compare -------------------------------------------------------------------------------------------


def test_compare_without_a_to_be_offers_to_create_one(client_for, editor, viewer, owner, workspace):
    world = build_map(workspace, owner)
    url = _url("journey_compare", workspace, world.journey.pk)
    body = client_for(editor).get(url).content.decode()
    assert "No to-be journey yet" in body
    assert _url("journey_to_be_create", workspace, world.journey.pk) in body
    body = client_for(viewer).get(url).content.decode()
    assert "Ask an editor" in body
    assert _url("journey_to_be_create", workspace, world.journey.pk) not in body


def test_compare_aligns_by_origin_and_marks_every_kind_of_row(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner, steps=3)
    to_be = journey_create_to_be(journey=world.journey, actor=owner)
    copies = list(Step.objects.filter(journey=to_be).order_by("position"))
    Step.objects.filter(pk=copies[0].pk).update(name="Apply in the app", emotion=2)
    copies[1].delete()
    Step.objects.create(workspace=workspace, journey=to_be, position=9, name="Instant decision")

    for journey in (world.journey, to_be):  # works from either side
        response = client_for(viewer).get(_url("journey_compare", workspace, journey.pk))
        assert response.status_code == 200
        comparison = response.context["comparison"]
        assert [(row.status.value, row.name) for row in comparison.rows] == [
            ("changed", "Apply in the app"),
            ("removed", "Step 1"),
            ("unchanged", "Step 2"),
            ("added", "Instant decision"),
        ]
    body = response.content.decode()
    assert "Not in the to-be journey" in body
    assert "New in the to-be journey" in body
    assert "Step name" in body and "Emotion" in body
    assert 'data-series="Current"' in body and 'data-series="To-be"' in body
    assert "paired by name" not in body


def test_compare_pairs_steps_without_origin_by_name_and_says_so(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner, steps=2)
    to_be = Journey.objects.create(
        workspace=workspace,
        macro_journey=world.journey.macro_journey,
        name="Hand-made to-be",
        kind="to_be",
        current_journey=world.journey,
    )
    Step.objects.create(workspace=workspace, journey=to_be, position=0, name="Step 0", emotion=1)
    response = client_for(viewer).get(_url("journey_compare", workspace, world.journey.pk))
    assert response.context["comparison"].matched_by_name == 1
    assert "1 step was paired by name" in response.content.decode()


def test_compare_lets_a_current_journey_pick_among_its_to_be_journeys(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner, steps=1)
    first = journey_create_to_be(journey=world.journey, actor=owner, name="A first idea")
    second = journey_create_to_be(journey=world.journey, actor=owner, name="B second idea")
    client = client_for(viewer)
    url = _url("journey_compare", workspace, world.journey.pk)
    assert client.get(url).context["to_be"] == first
    response = client.get(url, {"to_be": second.pk})
    assert response.context["to_be"] == second
    assert f'<option value="{second.pk}" selected>B second idea</option>' in response.content.decode()
    assert client.get(url, {"to_be": "nonsense"}).context["to_be"] == first


def test_compare_can_hide_unchanged_steps(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner, steps=2)
    to_be = journey_create_to_be(journey=world.journey, actor=owner)
    Step.objects.filter(journey=to_be, position=0).update(customer_goal="Faster")
    response = client_for(viewer).get(
        _url("journey_compare", workspace, world.journey.pk), {"show": "changes"}
    )
    assert [row.name for _n, row in response.context["rows"]] == ["Step 0"]


def test_compare_of_an_unlinked_to_be_journey_explains_it(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner, steps=1)
    to_be = journey_create_to_be(journey=world.journey, actor=owner)
    Journey.objects.filter(pk=to_be.pk).update(current_journey=None)
    body = client_for(viewer).get(_url("journey_compare", workspace, to_be.pk)).content.decode()
    assert "Not linked to a current journey" in body


def test_compare_query_count_does_not_grow_with_steps(client_for, viewer, owner, workspace):
    client = client_for(viewer)
    counts = []
    for steps, name in ((1, "Small"), (15, "Large")):
        world = build_map(workspace, owner, steps=steps, name=name)
        to_be = journey_create_to_be(journey=world.journey, actor=owner)
        Step.objects.filter(journey=to_be, position=0).update(name="Changed")
        extra = Insight.objects.create(workspace=workspace, title=f"{name} extra")
        extra.steps.add(*Step.objects.filter(journey=to_be))
        Opportunity.objects.create(workspace=workspace, title=f"{name} idea").steps.add(*world.steps)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(_url("journey_compare", workspace, world.journey.pk)).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
