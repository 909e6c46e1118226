"""The journey map's writes (journeys/services/maps.py): structure guarded by the journey's revision,
lanes by the step's, positions rewritten without breaking the unique constraints, insights and
opportunities never deleted with a step."""

import pytest
from django.core.exceptions import ValidationError

from atlas.models import Activity
from journeys.models import Insight, Journey, JourneyVersion, Persona, Phase, Step, StepEmotion, Touchpoint
from journeys.services import maps
from opportunities.models import Opportunity
from tests.journey_map_world import layout, make_journey


@pytest.fixture
def recomputes(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(
        maps, "priorities_request_recompute", lambda *, workspace_id: calls.append(workspace_id)
    )
    return calls


@pytest.fixture
def journey(workspace):
    return make_journey(
        workspace, phases={"Discover": ["Search", "Compare"], "Apply": ["Fill in", "Verify ID"]}
    )


def step_named(journey, name) -> Step:
    return Step.objects.select_related("journey__workspace").get(journey=journey, name=name)


def phase_named(journey, name) -> Phase:
    return Phase.objects.select_related("journey__workspace").get(journey=journey, name=name)


def fresh(journey) -> Journey:
    return Journey.objects.select_related("workspace").get(pk=journey.pk)


# --- structure ----------------------------------------------------------------------------------------


def test_step_create_puts_the_step_last_in_its_phase_and_raises_the_revision(journey, editor):
    step = maps.step_create(
        journey=journey,
        actor=editor,
        revision=1,
        name="  Read terms ",
        phase=phase_named(journey, "Discover"),
    )
    assert step.name == "Read terms"
    assert layout(journey) == [
        ("Discover", ["Search", "Compare", "Read terms"]),
        ("Apply", ["Fill in", "Verify ID"]),
    ]
    assert fresh(journey).revision == 2
    assert Activity.objects.filter(verb="created", target_type="step", target_id=step.pk).exists()


def test_step_create_at_an_index(journey, editor):
    maps.step_create(
        journey=journey, actor=editor, revision=1, name="Start", phase=phase_named(journey, "Apply"), index=0
    )
    assert layout(journey)[1] == ("Apply", ["Start", "Fill in", "Verify ID"])


def test_structural_change_on_a_stale_revision_is_refused(journey, editor):
    maps.step_create(journey=journey, actor=editor, revision=1, name="New")
    with pytest.raises(maps.StaleEdit) as refused:
        maps.step_create(journey=journey, actor=editor, revision=1, name="Also new")
    assert refused.value.current.revision == 2
    assert not Step.objects.filter(name="Also new").exists()


def test_step_move_into_another_phase(journey, editor):
    maps.step_move(
        step=step_named(journey, "Search"),
        actor=editor,
        revision=1,
        phase=phase_named(journey, "Apply"),
        index=1,
    )
    assert layout(journey) == [("Discover", ["Compare"]), ("Apply", ["Fill in", "Search", "Verify ID"])]
    assert list(
        Step.objects.filter(journey=journey).order_by("position").values_list("position", flat=True)
    ) == [
        0,
        1,
        2,
        3,
    ]


def test_step_shift_crosses_phase_edges(journey, editor):
    maps.step_shift(step=step_named(journey, "Compare"), actor=editor, revision=1, offset=1)
    assert layout(journey) == [("Discover", ["Search"]), ("Apply", ["Compare", "Fill in", "Verify ID"])]
    maps.step_shift(step=step_named(journey, "Compare"), actor=editor, revision=2, offset=1)
    assert layout(journey)[1] == ("Apply", ["Fill in", "Compare", "Verify ID"])
    maps.step_shift(step=step_named(journey, "Search"), actor=editor, revision=3, offset=-1)
    assert layout(journey)[0] == ("Discover", ["Search"])  # already first: stays


def test_reordering_many_steps_keeps_positions_unique(workspace, editor):
    journey = make_journey(workspace, steps=[f"S{i}" for i in range(12)])
    for revision in range(1, 12):
        maps.step_move(
            step=step_named(journey, "S0"), actor=editor, revision=revision, phase=None, index=revision
        )
    assert layout(journey) == [(None, [*(f"S{i}" for i in range(1, 12)), "S0"])]


def test_phase_create_first_phase_takes_every_step(workspace, editor):
    journey = make_journey(workspace, steps=["A", "B"])
    maps.phase_create(journey=journey, actor=editor, revision=1, name="Before")
    maps.phase_create(journey=journey, actor=editor, revision=2, name="During")
    assert layout(journey) == [("Before", ["A", "B"]), ("During", [])]


def test_phase_move_takes_its_steps_along(journey, editor):
    maps.phase_move(phase=phase_named(journey, "Apply"), actor=editor, revision=1, index=0)
    assert layout(journey) == [("Apply", ["Fill in", "Verify ID"]), ("Discover", ["Search", "Compare"])]
    maps.phase_shift(phase=phase_named(journey, "Apply"), actor=editor, revision=2, offset=1)
    assert layout(journey)[0] == ("Discover", ["Search", "Compare"])


def test_phase_rename_checks_the_journey_revision(journey, editor):
    phase = phase_named(journey, "Apply")
    maps.phase_rename(phase=phase, actor=editor, revision=1, name="Application")
    with pytest.raises(maps.StaleEdit):
        maps.phase_rename(phase=phase, actor=editor, revision=1, name="Other")
    assert phase_named(journey, "Application")
    with pytest.raises(ValidationError):
        maps.phase_rename(phase=phase, actor=editor, revision=2, name="  ")


def test_phase_delete_keeps_its_steps_in_the_previous_phase(journey, editor):
    maps.phase_delete(phase=phase_named(journey, "Apply"), actor=editor, revision=1)
    assert layout(journey) == [("Discover", ["Search", "Compare", "Fill in", "Verify ID"])]
    maps.phase_create(journey=journey, actor=editor, revision=2, name="Later", index=0)
    maps.phase_delete(phase=phase_named(journey, "Later"), actor=editor, revision=3)
    assert layout(journey) == [("Discover", ["Search", "Compare", "Fill in", "Verify ID"])]


def test_phase_delete_with_steps_snapshots_and_keeps_insights_and_opportunities(
    journey, editor, workspace, recomputes
):
    verify = step_named(journey, "Verify ID")
    insight = Insight.objects.create(workspace=workspace, title="The camera check fails")
    insight.steps.add(verify)
    opportunity = Opportunity.objects.create(workspace=workspace, title="Manual ID fallback")
    opportunity.steps.add(verify)

    result = maps.phase_delete(phase=phase_named(journey, "Apply"), actor=editor, revision=1, with_steps=True)

    assert result == maps.Unpinned(steps=2, insights=1, opportunities=1)
    assert layout(journey) == [("Discover", ["Search", "Compare"])]
    assert Insight.objects.filter(pk=insight.pk).exists()
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()
    version = JourneyVersion.objects.get(journey=journey)
    assert version.reason == JourneyVersion.Reason.BEFORE_BULK_CHANGE
    assert recomputes == [workspace.pk]


def test_step_delete_unpins_but_never_deletes_insights_or_opportunities(
    journey, editor, workspace, recomputes
):
    step = step_named(journey, "Compare")
    insight = Insight.objects.create(workspace=workspace, title="Rates are hidden")
    insight.steps.add(step, step_named(journey, "Search"))
    opportunity = Opportunity.objects.create(workspace=workspace, title="Show rates")
    opportunity.steps.add(step)

    unpinned = maps.step_delete(step=step, actor=editor, revision=1, step_revision=1)

    assert unpinned == maps.Unpinned(steps=1, insights=1, opportunities=1)
    assert layout(journey)[0] == ("Discover", ["Search"])
    assert list(insight.steps.values_list("name", flat=True)) == ["Search"]
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()
    assert recomputes == [workspace.pk]


def test_step_delete_is_refused_when_the_step_was_edited_meanwhile(journey, editor):
    step = step_named(journey, "Compare")
    maps.step_update(
        step=step_named(journey, "Compare"), actor=editor, revision=1, changes={"backstage": "Rates API"}
    )
    with pytest.raises(maps.StaleEdit):
        maps.step_delete(step=step, actor=editor, revision=1, step_revision=1)
    assert Step.objects.filter(pk=step.pk).exists()
    assert fresh(journey).revision == 1  # the refused delete raised nothing


def test_viewer_cannot_write_through_the_services(journey, viewer):
    with pytest.raises(ValidationError):
        maps.step_create(journey=journey, actor=viewer, revision=1, name="Sneaky")
    assert not Step.objects.filter(name="Sneaky").exists()


# --- lanes ------------------------------------------------------------------------------------------------


def test_step_update_sets_lanes_and_records_the_change(journey, editor):
    step = step_named(journey, "Search")
    maps.step_update(step=step, actor=editor, revision=1, changes={"customer_goal": "Find a good account"})
    step.refresh_from_db()
    assert step.customer_goal == "Find a good account"
    assert step.revision == 2
    activity = Activity.objects.get(verb="updated", target_type="step")
    assert activity.changes["customer_goal"] == ["", "Find a good account"]


def test_stale_lane_edit_of_the_same_lane_is_refused(journey, editor, owner):
    step = step_named(journey, "Search")
    digest = maps.step_digest(step, ["customer_goal"])
    maps.step_update(
        step=step_named(journey, "Search"), actor=owner, revision=1, changes={"customer_goal": "Theirs"}
    )
    with pytest.raises(maps.StaleEdit) as refused:
        maps.step_update(
            step=step, actor=editor, revision=1, changes={"customer_goal": "Mine"}, digest=digest
        )
    assert refused.value.current.customer_goal == "Theirs"
    assert step_named(journey, "Search").customer_goal == "Theirs"


def test_stale_lane_edit_of_another_lane_is_applied(journey, editor, owner):
    step = step_named(journey, "Search")
    digest = maps.step_digest(step, ["backstage"])
    maps.step_update(
        step=step_named(journey, "Search"), actor=owner, revision=1, changes={"customer_goal": "Theirs"}
    )
    maps.step_update(step=step, actor=editor, revision=1, changes={"backstage": "Mine"}, digest=digest)
    step = step_named(journey, "Search")
    assert (step.customer_goal, step.backstage, step.revision) == ("Theirs", "Mine", 3)


def test_emotion_outside_the_scale_is_refused(journey, editor):
    with pytest.raises(ValidationError):
        maps.step_update(step=step_named(journey, "Search"), actor=editor, revision=1, changes={"emotion": 3})


def test_moment_of_truth_asks_for_a_recompute_when_an_opportunity_addresses_the_step(
    journey, editor, workspace, recomputes
):
    step = step_named(journey, "Verify ID")
    Opportunity.objects.create(workspace=workspace, title="Faster ID").steps.add(step)
    maps.step_update(
        step=step,
        actor=editor,
        revision=1,
        changes={"is_moment_of_truth": True, "moment_of_truth_why": "Drop-off"},
    )
    assert recomputes == [workspace.pk]


def test_persona_emotion_set_and_clear(journey, editor, workspace):
    persona = Persona.objects.create(workspace=workspace, name="Saver Sam")
    step = step_named(journey, "Search")
    maps.step_persona_emotion_set(step=step, persona=persona, actor=editor, revision=1, score=-2)
    assert StepEmotion.objects.get(step=step, persona=persona).score == -2
    with pytest.raises(maps.StaleEdit):
        maps.step_persona_emotion_set(
            step=step, persona=persona, actor=editor, revision=1, score=1, based_on=None
        )
    maps.step_persona_emotion_set(step=step, persona=persona, actor=editor, revision=1, score=1, based_on=-2)
    assert StepEmotion.objects.get(step=step, persona=persona).score == 1
    maps.step_persona_emotion_set(step=step, persona=persona, actor=editor, revision=3, score=None)
    assert not StepEmotion.objects.filter(step=step).exists()


# --- touchpoints and opportunities ---------------------------------------------------------------------


def test_touchpoint_create_update_delete(journey, editor):
    step = step_named(journey, "Search")
    touchpoint = maps.touchpoint_create(step=step, actor=editor, name="Rates page", channel="web")
    digest = maps.touchpoint_digest(touchpoint)
    maps.touchpoint_update(
        touchpoint=touchpoint, actor=editor, revision=2, digest=digest, channel="mobile_app"
    )
    assert Touchpoint.objects.get(pk=touchpoint.pk).channel == "mobile_app"
    with pytest.raises(maps.StaleEdit):
        maps.touchpoint_update(
            touchpoint=touchpoint, actor=editor, revision=2, digest=digest, name="Old view"
        )
    with pytest.raises(ValidationError):
        maps.touchpoint_create(step=step, actor=editor, name="Fax", channel="fax")
    maps.touchpoint_delete(touchpoint=touchpoint, actor=editor)
    assert not Touchpoint.objects.filter(step=step).exists()


def test_opportunity_from_a_pain_point(journey, editor, workspace):
    step = step_named(journey, "Verify ID")
    insight = Insight.objects.create(
        workspace=workspace, title="The camera check fails", description="3 tries"
    )
    opportunity = maps.opportunity_create_from_insight(step=step, insight=insight, actor=editor)
    assert opportunity.title == "The camera check fails"
    assert opportunity.owner == editor
    assert list(opportunity.steps.all()) == [step]
    assert list(opportunity.insights.all()) == [insight]
    assert Activity.objects.filter(
        verb="created", target_type="opportunity", target_id=opportunity.pk
    ).exists()


def test_journey_update_and_conflict(journey, editor, workspace):
    persona = Persona.objects.create(workspace=workspace, name="Saver Sam")
    maps.journey_update(
        journey=journey, actor=editor, revision=1, name="Open an account online", personas=[persona]
    )
    journey.refresh_from_db()
    assert journey.name == "Open an account online"
    assert list(journey.personas.all()) == [persona]
    with pytest.raises(maps.StaleEdit):
        maps.journey_update(journey=journey, actor=editor, revision=1, description="late")
