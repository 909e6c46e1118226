"""The insight repository's writes: create, update, delete, pins, bulk status and tags. Every write stays
inside its workspace, records activity and asks for a recompute only when a score can move."""

import pytest
from django.core.exceptions import ValidationError

from atlas.models import Activity, Tag
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Step
from journeys.services import insights as services
from opportunities.models import Opportunity


@pytest.fixture
def recomputes(monkeypatch) -> list[int]:
    """The workspace ids the insight services asked to recompute."""
    calls: list[int] = []
    monkeypatch.setattr(
        services, "priorities_request_recompute", lambda *, workspace_id: calls.append(workspace_id)
    )
    return calls


def make_journey(
    workspace, name="Open an account", steps=("Find the offer", "Fill in the form", "Verify ID")
):
    lifecycle, _ = Lifecycle.objects.get_or_create(workspace=workspace, name="Customer lifecycle")
    stage, _ = LifecycleStage.objects.get_or_create(
        workspace=workspace, lifecycle=lifecycle, position=1, defaults={"name": "Onboarding"}
    )
    macro, _ = MacroJourney.objects.get_or_create(
        workspace=workspace, stage=stage, name="Become a customer", defaults={"position": 1}
    )
    journey = Journey.objects.create(workspace=workspace, macro_journey=macro, name=name)
    for position, step_name in enumerate(steps, start=1):
        Step.objects.create(workspace=workspace, journey=journey, position=position, name=step_name)
    return journey


def make_insight(workspace, title="Form is too long", **fields) -> Insight:
    return Insight.objects.create(workspace=workspace, title=title, **fields)


def test_insight_create_links_personas_steps_and_tags(workspace, editor):
    journey = make_journey(workspace)
    step = journey.steps.first()
    persona = Persona.objects.create(workspace=workspace, name="Saver Sam")
    tag = Tag.objects.create(workspace=workspace, kind="channel", name="Web")
    insight = services.insight_create(
        workspace=workspace,
        actor=editor,
        title="I gave up at the ID check",
        kind=Insight.Kind.QUOTE,
        severity=5,
        reach=1200,
        personas=[persona],
        steps=[step],
        tags=[tag],
    )
    assert insight.created_by == editor
    assert list(insight.personas.all()) == [persona]
    assert list(insight.steps.all()) == [step]
    assert list(insight.tags.all()) == [tag]
    assert Activity.objects.filter(verb="created", target_type="insight", target_id=insight.pk).exists()


def test_insight_create_refuses_links_to_another_workspace(workspace, other_workspace, editor):
    foreign = Persona.objects.create(workspace=other_workspace, name="Their persona")
    with pytest.raises(ValidationError):
        services.insight_create(workspace=workspace, actor=editor, title="x", personas=[foreign])
    assert not Insight.objects.exists()


def test_insight_create_refuses_a_severity_out_of_range(workspace, editor):
    with pytest.raises(ValidationError) as error:
        services.insight_create(workspace=workspace, actor=editor, title="x", severity=6)
    assert "severity" in error.value.message_dict


def test_insight_update_of_evidence_asks_for_a_recompute(workspace, editor, recomputes):
    insight = make_insight(workspace)
    opportunity = Opportunity.objects.create(workspace=workspace, title="Shorter form")
    opportunity.insights.add(insight)
    services.insight_update(insight=insight, actor=editor, severity=5)
    assert recomputes == [workspace.pk]
    activity = Activity.objects.get(verb="updated", target_id=insight.pk)
    assert activity.changes == {"severity": [3, 5]}


def test_insight_update_of_unused_insight_or_wording_moves_no_score(workspace, editor, recomputes):
    used = make_insight(workspace)
    Opportunity.objects.create(workspace=workspace, title="Shorter form").insights.add(used)
    unused = make_insight(workspace, "Nobody's evidence")
    services.insight_update(insight=used, actor=editor, title="The form is far too long")
    services.insight_update(insight=unused, actor=editor, severity=5)
    assert recomputes == []


def test_insight_update_refuses_a_stale_version(workspace, editor):
    insight = make_insight(workspace)
    seen = insight.updated_at
    services.insight_update(insight=insight, actor=editor, title="Changed by someone else")
    with pytest.raises(services.InsightChanged):
        services.insight_update(insight=insight, actor=editor, version=seen, title="Mine")
    insight.refresh_from_db()
    assert insight.title == "Changed by someone else"


def test_insight_update_replaces_links(workspace, editor):
    first = Persona.objects.create(workspace=workspace, name="First")
    second = Persona.objects.create(workspace=workspace, name="Second")
    insight = make_insight(workspace)
    insight.personas.add(first)
    services.insight_update(insight=insight, actor=editor, personas=[second])
    assert list(insight.personas.all()) == [second]


def test_insight_delete_of_evidence_asks_for_a_recompute(workspace, editor, recomputes):
    insight = make_insight(workspace)
    Opportunity.objects.create(workspace=workspace, title="Shorter form").insights.add(insight)
    services.insight_delete(insight=insight, actor=editor)
    assert not Insight.objects.exists()
    assert recomputes == [workspace.pk]
    assert Activity.objects.filter(verb="deleted", target_type="insight").exists()


def test_insights_pin_counts_only_new_pins(workspace, editor, django_assert_num_queries):
    step = make_journey(workspace).steps.first()
    insights = [make_insight(workspace, f"Insight {i}") for i in range(5)]
    insights[0].steps.add(step)
    with django_assert_num_queries(7):  # savepoint pair, existing pins, insert, touch, titles, activity
        assert services.insights_pin(workspace=workspace, insights=insights, step=step, actor=editor) == 4
    assert step.insights.count() == 5
    assert services.insights_pin(workspace=workspace, insights=insights, step=step, actor=editor) == 0
    assert Activity.objects.filter(verb="pinned").count() == 4


def test_insights_pin_refuses_another_workspace(workspace, other_workspace, editor, outsider):
    step = make_journey(workspace).steps.first()
    foreign = make_insight(other_workspace, "Theirs")
    with pytest.raises(ValidationError):
        services.insights_pin(workspace=workspace, insights=[foreign], step=step, actor=editor)
    foreign_step = make_journey(other_workspace).steps.first()
    with pytest.raises(ValidationError):
        services.insights_pin(
            workspace=workspace, insights=[make_insight(workspace)], step=foreign_step, actor=editor
        )
    assert not Insight.steps.through.objects.exists()


def test_insight_unpin_removes_one_pin(workspace, editor):
    first, second = make_journey(workspace).steps.all()[:2]
    insight = make_insight(workspace)
    insight.steps.add(first, second)
    services.insight_unpin(insight=insight, step=first, actor=editor)
    assert list(insight.steps.all()) == [second]
    assert Activity.objects.filter(verb="unpinned", target_id=insight.pk).count() == 1
    services.insight_unpin(insight=insight, step=first, actor=editor)  # not pinned: nothing recorded
    assert Activity.objects.filter(verb="unpinned").count() == 1


def test_insights_set_status_changes_only_other_statuses(workspace, editor, recomputes):
    validated = make_insight(workspace, "Already", status="validated")
    hypotheses = [make_insight(workspace, f"H{i}") for i in range(3)]
    changed = services.insights_set_status(
        workspace=workspace, insights=[validated, *hypotheses], status="validated", actor=editor
    )
    assert changed == 3
    assert Insight.objects.filter(status="validated").count() == 4
    assert Activity.objects.filter(verb="updated", changes__status=["hypothesis", "validated"]).count() == 3
    assert recomputes == []  # none of them is an opportunity's evidence


def test_insights_set_status_of_evidence_asks_for_a_recompute(workspace, editor, recomputes):
    insight = make_insight(workspace)
    Opportunity.objects.create(workspace=workspace, title="Shorter form").insights.add(insight)
    services.insights_set_status(workspace=workspace, insights=[insight], status="rejected", actor=editor)
    assert recomputes == [workspace.pk]


def test_insights_set_status_refuses_insights_of_another_workspace(workspace, other_workspace, editor):
    foreign = make_insight(other_workspace, "Theirs")
    with pytest.raises(ValidationError):
        services.insights_set_status(workspace=workspace, insights=[foreign], status="rejected", actor=editor)
    foreign.refresh_from_db()
    assert foreign.status == "hypothesis"


def test_insights_tag_adds_the_tag_once(workspace, editor):
    tag = Tag.objects.create(workspace=workspace, kind="segment", name="Young adults")
    insights = [make_insight(workspace, f"I{i}") for i in range(3)]
    insights[0].tags.add(tag)
    assert services.insights_tag(workspace=workspace, insights=insights, tag=tag, actor=editor) == 2
    assert Insight.tags.through.objects.filter(tag=tag).count() == 3


def test_insights_tag_refuses_a_tag_of_another_workspace(workspace, other_workspace, editor):
    tag = Tag.objects.create(workspace=other_workspace, kind="segment", name="Theirs")
    with pytest.raises(ValidationError):
        services.insights_tag(workspace=workspace, insights=[make_insight(workspace)], tag=tag, actor=editor)


def test_insights_import_creates_rows_and_links_in_a_fixed_number_of_queries(
    workspace, editor, django_assert_max_num_queries
):
    step = make_journey(workspace).steps.first()
    persona = Persona.objects.create(workspace=workspace, name="Saver Sam")
    tag = Tag.objects.create(workspace=workspace, kind="channel", name="Web")
    rows = [
        services.InsightRow(
            title=f"Imported {i}", persona_ids=[persona.pk], tag_ids=[tag.pk], step_ids=[step.pk]
        )
        for i in range(60)
    ]
    with django_assert_max_num_queries(12):
        created = services.insights_import(workspace=workspace, actor=editor, rows=rows)
    assert len(created) == 60
    assert Insight.personas.through.objects.count() == 60
    assert Insight.steps.through.objects.count() == 60
    assert Activity.objects.filter(verb="imported").count() == 60


def test_insights_import_refuses_links_of_another_workspace(workspace, other_workspace, editor):
    foreign = Persona.objects.create(workspace=other_workspace, name="Theirs")
    rows = [services.InsightRow(title="x"), services.InsightRow(title="y", persona_ids=[foreign.pk])]
    with pytest.raises(ValidationError):
        services.insights_import(workspace=workspace, actor=editor, rows=rows)
    assert not Insight.objects.exists()
