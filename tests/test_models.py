"""Invariants the database itself enforces: ordering, value ranges, one workspace per link."""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction

from atlas.db_guards import _trigger_name, workspace_links
from atlas.models import Comment, Membership, Role, Tag
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Phase, Step
from metrics.models import DataPoint, Kpi
from okrs.models import CheckIn, KeyResult, Objective, OkrCycle
from opportunities.models import Criterion, Opportunity, ScoringModel
from tests.world import build_world


def refused(callable_, *args, **kwargs) -> bool:
    try:
        with transaction.atomic():
            callable_(*args, **kwargs)
    except IntegrityError:
        return True
    return False


@pytest.fixture
def journey(workspace):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer lifecycle")
    stage = LifecycleStage.objects.create(
        workspace=workspace, lifecycle=lifecycle, name="Onboarding", position=1
    )
    macro = MacroJourney.objects.create(workspace=workspace, stage=stage, name="Open an account", position=1)
    return Journey.objects.create(workspace=workspace, macro_journey=macro, name="Open an account online")


@pytest.fixture
def other_journey(other_workspace):
    lifecycle = Lifecycle.objects.create(workspace=other_workspace, name="Customer lifecycle")
    stage = LifecycleStage.objects.create(
        workspace=other_workspace, lifecycle=lifecycle, name="Onboarding", position=1
    )
    macro = MacroJourney.objects.create(
        workspace=other_workspace, stage=stage, name="Open an account", position=1
    )
    return Journey.objects.create(workspace=other_workspace, macro_journey=macro, name="Their journey")


def test_step_positions_are_unique_within_a_journey(workspace, journey):
    Step.objects.create(workspace=workspace, journey=journey, position=1, name="Find the product")
    assert refused(Step.objects.create, workspace=workspace, journey=journey, position=1, name="Apply")


def test_same_step_position_is_fine_in_another_journey(workspace, journey):
    other = Journey.objects.create(
        workspace=workspace, macro_journey=journey.macro_journey, name="Branch variant"
    )
    Step.objects.create(workspace=workspace, journey=journey, position=1, name="A")
    Step.objects.create(workspace=workspace, journey=other, position=1, name="B")
    assert Step.objects.count() == 2


def test_phase_stage_and_macro_journey_positions_are_unique(workspace, journey):
    Phase.objects.create(workspace=workspace, journey=journey, name="Before", position=1)
    assert refused(Phase.objects.create, workspace=workspace, journey=journey, name="During", position=1)
    stage = journey.macro_journey.stage
    assert refused(
        LifecycleStage.objects.create,
        workspace=workspace,
        lifecycle=stage.lifecycle,
        name="Usage",
        position=1,
    )
    assert refused(MacroJourney.objects.create, workspace=workspace, stage=stage, name="Other", position=1)


@pytest.mark.parametrize("emotion", [-3, 3])
def test_emotion_outside_minus_two_to_two_is_refused(workspace, journey, emotion):
    assert refused(
        Step.objects.create, workspace=workspace, journey=journey, position=1, name="S", emotion=emotion
    )


@pytest.mark.parametrize("severity", [0, 6])
def test_insight_severity_outside_one_to_five_is_refused(workspace, severity):
    assert refused(Insight.objects.create, workspace=workspace, title="Slow", severity=severity)


def test_only_a_to_be_journey_links_to_a_current_journey(workspace, journey):
    assert refused(
        Journey.objects.create,
        workspace=workspace,
        macro_journey=journey.macro_journey,
        name="Wrong",
        kind=Journey.Kind.CURRENT,
        current_journey=journey,
    )
    to_be = Journey.objects.create(
        workspace=workspace,
        macro_journey=journey.macro_journey,
        name="Future",
        kind=Journey.Kind.TO_BE,
        current_journey=journey,
    )
    assert to_be.current_journey == journey


def test_criterion_needs_min_below_max_and_a_non_negative_weight(workspace):
    model = ScoringModel.objects.create(workspace=workspace)
    assert refused(
        Criterion.objects.create,
        workspace=workspace,
        scoring_model=model,
        key="a",
        name="A",
        min_value=5,
        max_value=1,
    )
    assert refused(
        Criterion.objects.create, workspace=workspace, scoring_model=model, key="b", name="B", weight=-1
    )
    assert refused(ScoringModel.objects.create, workspace=workspace)  # one model per workspace


def test_okr_ranges(workspace):
    assert refused(
        OkrCycle.objects.create, workspace=workspace, name="Bad", start=date(2027, 3, 1), end=date(2027, 1, 1)
    )
    cycle = OkrCycle.objects.create(
        workspace=workspace, name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31)
    )
    objective = Objective.objects.create(workspace=workspace, cycle=cycle, title="Delight movers")
    assert refused(KeyResult.objects.create, workspace=workspace, objective=objective, title="No target")
    kr = KeyResult.objects.create(
        workspace=workspace, objective=objective, title="NPS", start_value=10, target_value=30
    )
    assert refused(CheckIn.objects.create, workspace=workspace, key_result=kr, confidence=1.5)
    assert refused(
        KeyResult.objects.create,
        workspace=workspace,
        objective=objective,
        kind="milestone",
        title="G",
        grade=1.2,
    )


def test_kpi_scope_must_match_its_target(workspace, journey):
    assert refused(Kpi.objects.create, workspace=workspace, name="NPS", kpi_type="nps", scope="journey")
    kpi = Kpi.objects.create(
        workspace=workspace, name="NPS", kpi_type="nps", scope="journey", journey=journey
    )
    DataPoint.objects.create(
        workspace=workspace, kpi=kpi, date=date(2026, 1, 1), dimensions={"region": "North"}
    )
    assert refused(
        DataPoint.objects.create,
        workspace=workspace,
        kpi=kpi,
        date=date(2026, 1, 1),
        dimensions={"region": "North"},
    )
    DataPoint.objects.create(
        workspace=workspace, kpi=kpi, date=date(2026, 1, 1), dimensions={"region": "South"}
    )
    assert refused(
        DataPoint.objects.create,
        workspace=workspace,
        kpi=kpi,
        date=date(2026, 2, 1),
        numerator=1,
        denominator=0,
    )


def test_comment_has_exactly_one_target(workspace, journey):
    assert refused(Comment.objects.create, workspace=workspace, body="Orphan")
    step = Step.objects.create(workspace=workspace, journey=journey, position=1, name="S")
    assert refused(Comment.objects.create, workspace=workspace, body="Two", journey=journey, step=step)


def test_a_member_joins_a_workspace_once(owner):
    assert refused(Membership.objects.create, workspace=owner.workspace, user=owner.user, role=Role.VIEWER)


def test_foreign_key_across_workspaces_is_refused_by_the_database(workspace, journey, other_journey):
    assert refused(Step.objects.create, workspace=workspace, journey=other_journey, position=1, name="Sneaky")
    step = Step.objects.create(workspace=workspace, journey=journey, position=1, name="Fine")
    step.journey_id = other_journey.pk
    assert refused(step.save)


def test_owner_from_another_workspace_is_refused(workspace, journey, outsider):
    journey.owner = outsider
    assert refused(journey.save)


def test_many_to_many_link_across_workspaces_is_refused(workspace, journey, other_journey, other_workspace):
    step = Step.objects.create(workspace=workspace, journey=journey, position=1, name="Mine")
    their_step = Step.objects.create(
        workspace=other_workspace, journey=other_journey, position=1, name="Theirs"
    )
    insight = Insight.objects.create(workspace=workspace, title="Confusing form")
    opportunity = Opportunity.objects.create(workspace=workspace, title="Simplify the form")
    insight.steps.add(step)
    assert refused(insight.steps.add, their_step)
    assert refused(opportunity.steps.add, their_step)
    their_persona = Persona.objects.create(workspace=other_workspace, name="Theirs")
    assert refused(insight.personas.add, their_persona)
    their_tag = Tag.objects.create(workspace=other_workspace, name="Theirs")
    assert refused(opportunity.tags.add, their_tag)
    assert list(insight.steps.all()) == [step]


def test_every_scoped_link_has_a_guard_installed(db):
    """Every FK and M2M between scoped rows is guarded, including ones added later (derived from the models)."""
    links = workspace_links()
    assert len(links) >= 60
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            installed = {row[0] for row in cursor.fetchall()}
            expected = {_trigger_name(name) for name, *_ in links}
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            installed = {row[0] for row in cursor.fetchall()}
            expected = {
                f"{_trigger_name(name)}_{event}" for name, *_ in links for event in ("insert", "update")
            }
    assert expected <= installed


def test_every_guard_refuses_a_link_to_the_other_workspace(workspace, owner, other_workspace, outsider):
    """Point every guarded column of A's rows at B's row of the same target table: all refused."""
    world_a = build_world(workspace, owner, "A")
    world_b = build_world(other_workspace, outsider, "B")
    tables_b = {type(obj)._meta.db_table: obj for obj in world_b.objects.values()}
    tables_a = {type(obj)._meta.db_table: obj for obj in world_a.objects.values()}
    checked = 0
    with connection.cursor() as cursor:
        for name, table, _left, right, column in workspace_links():
            target_table = right.split("FROM ")[1].split(" ")[0]
            target_b = tables_b.get(target_table)
            if target_b is None:
                continue
            if name.endswith("__link"):  # M2M: insert A's source with B's target
                source_table = _left.split("FROM ")[1].split(" ")[0]
                source_col = _left.split("NEW.")[1].rstrip(")")
                source_a = tables_a.get(source_table)
                if source_a is None:
                    continue
                sql = f"INSERT INTO {table} ({source_col}, {column}) VALUES (%s, %s)"
                params = [source_a.pk, target_b.pk]
            else:
                row_a = tables_a.get(table)
                if row_a is None:
                    continue
                sql = f"UPDATE {table} SET {column} = %s WHERE id = %s"
                params = [target_b.pk, row_a.pk]
            try:
                with transaction.atomic():
                    cursor.execute(sql, params)
            except IntegrityError:
                checked += 1
            else:
                raise AssertionError(f"{table}.{column} accepted a row of another workspace")
    assert checked >= 50


def test_guards_come_off_for_migrations_and_back_on_after(workspace, journey, other_journey):
    """migrate drops the guards first (SQLite rebuilds tables to alter them) and reinstalls them after."""
    from atlas.db_guards import install_guards, remove_guards

    remove_guards()
    Step.objects.create(workspace=workspace, journey=other_journey, position=1, name="Unguarded")
    install_guards()
    assert refused(
        Step.objects.create, workspace=workspace, journey=other_journey, position=2, name="Guarded"
    )
