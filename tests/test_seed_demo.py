"""seed_demo: the hand-written Northbank demo, synthetic scale workspaces, and the scoring preset they use."""

from collections import Counter
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, ForeignKey
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from atlas.demo import content
from atlas.demo.build import workspace_counts
from atlas.demo.scale import scale_seed
from atlas.models import Comment, Membership, Role, Tag, TagKind, User, Workspace, WorkspaceScoped
from journeys.models import Insight, Journey, LifecycleStage, MacroJourney, Persona, Step, StepEmotion
from metrics.models import DataPoint, Kpi
from okrs.models import CheckIn, KeyResult, OkrCycle
from opportunities import scoring
from opportunities.models import (
    ComputedScore,
    ComputedScoreInput,
    Criterion,
    CriterionValue,
    Opportunity,
    Solution,
)
from opportunities.presets import scoring_model_install_preset
from opportunities.recompute import load_spec

DEMO_USERS = {
    "demo@northbank.example": Role.OWNER,
    "admin@northbank.example": Role.ADMIN,
    "editor@northbank.example": Role.EDITOR,
    "viewer@northbank.example": Role.VIEWER,
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def northbank(db) -> Workspace:
    seed()
    return Workspace.objects.get(slug="northbank")


def links_leaving(workspace: Workspace) -> list[str]:
    """Every foreign key and many-to-many row that joins a row of `workspace` to a row of another one."""
    leaks = []
    for model in apps.get_models():
        if not issubclass(model, WorkspaceScoped):
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, ForeignKey) and issubclass(f.related_model, WorkspaceScoped):
                outward = model.objects.filter(workspace=workspace, **{f"{f.name}__isnull": False}).exclude(
                    **{f"{f.name}__workspace": workspace}
                )
                inward = model.objects.filter(**{f"{f.name}__workspace": workspace}).exclude(
                    workspace=workspace
                )
                if outward.exists() or inward.exists():
                    leaks.append(f"{model.__name__}.{f.name}")
        for f in model._meta.local_many_to_many:
            if not issubclass(f.related_model, WorkspaceScoped):
                continue
            through, source, target = f.remote_field.through, f.m2m_field_name(), f.m2m_reverse_field_name()
            across = through.objects.filter(**{f"{source}__workspace": workspace}).exclude(
                **{f"{target}__workspace": workspace}
            ) | through.objects.filter(**{f"{target}__workspace": workspace}).exclude(
                **{f"{source}__workspace": workspace}
            )
            if across.exists():
                leaks.append(f"{model.__name__}.{f.name}")
    return leaks


# --- The Northbank demo ----------------------------------------------------------------------------------


def test_demo_has_a_seven_stage_lifecycle_and_enough_macro_journeys(northbank):
    stages = LifecycleStage.objects.filter(workspace=northbank)
    assert stages.count() == 7
    assert stages.values("lifecycle").distinct().count() == 1
    macros = MacroJourney.objects.filter(workspace=northbank)
    assert macros.count() >= 6
    assert {"Open a current account", "Get a mortgage", "Report fraud or a lost card"} <= set(
        macros.values_list("name", flat=True)
    )


def test_demo_journeys_have_six_to_fifteen_steps_with_every_lane(northbank):
    journeys = Journey.objects.filter(workspace=northbank).annotate(
        n_steps=Count("steps", distinct=True), n_phases=Count("phases", distinct=True)
    )
    assert journeys.count() >= 10
    for journey in journeys:
        assert 6 <= journey.n_steps <= 15, journey.name
        assert journey.n_phases >= 2, journey.name
        assert journey.owner_id and journey.primary_persona_id, journey.name
    steps = Step.objects.filter(workspace=northbank)
    assert not steps.filter(phase__isnull=True).exists()
    assert not steps.filter(customer_goal="").exists()
    assert not steps.filter(customer_actions="").exists()
    assert not steps.filter(thoughts_feelings="").exists()
    assert not steps.filter(emotion__isnull=True).exists()
    assert not steps.filter(touchpoints__isnull=True).exists()
    moments = steps.filter(is_moment_of_truth=True)
    assert moments.count() >= 10
    assert not moments.filter(moment_of_truth_why="").exists()
    assert len(set(steps.values_list("emotion", flat=True))) == 5
    assert StepEmotion.objects.filter(workspace=northbank).values("persona").distinct().count() >= 4


def test_demo_to_be_journeys_improve_a_current_journey(northbank):
    to_be = Journey.objects.filter(workspace=northbank, kind=Journey.Kind.TO_BE)
    assert to_be.count() >= 3
    for journey in to_be:
        assert journey.current_journey is not None
        assert journey.current_journey.kind == Journey.Kind.CURRENT
        assert journey.current_journey.macro_journey_id == journey.macro_journey_id


def test_demo_to_be_steps_point_at_the_current_steps_they_rework(northbank):
    for to_be in Journey.objects.filter(workspace=northbank, kind=Journey.Kind.TO_BE):
        steps = list(to_be.steps.select_related("origin"))
        derived = [s for s in steps if s.origin is not None]
        assert derived, f"{to_be} has no step aligned with its current journey"
        assert all(s.origin.journey_id == to_be.current_journey_id for s in derived)
        assert len({s.origin_id for s in derived}) == len(derived)  # one to-be step per current step
        assert len(derived) < len(steps) or to_be.current_journey.steps.count() > len(derived)


def test_demo_to_be_origin_map_names_real_steps():
    keys = {j.key: {s.key for _phase, specs in j.phases for s in specs} for j in content.JOURNEYS}
    improves = {j.key: j.improves for j in content.JOURNEYS}
    for journey_key, renamed in content.TO_BE_ORIGINS.items():
        for to_be_step, current_step in renamed.items():
            assert to_be_step in keys[journey_key]
            assert current_step in keys[improves[journey_key]]


def test_demo_has_conversations_with_mentions_on_every_kind_of_target(northbank):
    comments = Comment.objects.filter(workspace=northbank)
    assert comments.count() == len(content.COMMENTS)
    for kind in ("journey", "step", "insight", "opportunity"):
        assert comments.filter(**{f"{kind}__isnull": False}).exists()
    mentioned = Membership.objects.filter(mentioned_in__workspace=northbank)
    assert set(mentioned.values_list("user__email", flat=True)) == {
        "admin@northbank.example",
        "demo@northbank.example",
        "editor@northbank.example",
        "viewer@northbank.example",
    }
    assert comments.order_by("created_at").first().created_at < timezone.now() - timezone.timedelta(hours=48)


def test_demo_has_personas_and_a_hierarchical_taxonomy(northbank):
    personas = Persona.objects.filter(workspace=northbank)
    assert personas.count() >= 5
    for persona in personas:
        assert (
            persona.summary and persona.segment and persona.needs and persona.goals and persona.frustrations
        )
    tags = Tag.objects.filter(workspace=northbank)
    assert set(tags.values_list("kind", flat=True)) == set(TagKind.values)
    assert tags.filter(parent__parent__isnull=False).exists()  # three levels somewhere


def test_demo_insights_are_varied_and_pinned_to_steps_and_personas(northbank):
    insights = Insight.objects.filter(workspace=northbank)
    assert insights.count() >= 80
    assert len(set(insights.values_list("source", flat=True))) >= 5
    assert set(insights.values_list("kind", flat=True)) == set(Insight.Kind.values)
    assert set(insights.values_list("status", flat=True)) == set(Insight.Status.values)
    assert len(set(insights.values_list("severity", flat=True))) == 5
    assert not insights.filter(steps__isnull=True).exists()
    assert insights.filter(personas__isnull=False).distinct().count() >= 40
    assert len(set(insights.values_list("title", flat=True))) == insights.count()
    assert not insights.filter(title__regex=r"^Insight \d+$").exists()


def test_demo_opportunities_are_scored_on_every_criterion_and_linked(northbank):
    opportunities = Opportunity.objects.filter(workspace=northbank)
    assert opportunities.count() >= 40
    criteria = Criterion.objects.filter(workspace=northbank).count()
    assert criteria == 7
    per_opportunity = Counter(
        CriterionValue.objects.filter(workspace=northbank).values_list("opportunity_id", flat=True)
    )
    assert set(per_opportunity.values()) == {criteria}
    assert len(per_opportunity) == opportunities.count()
    assert not opportunities.filter(steps__isnull=True).exists()
    assert not opportunities.filter(insights__isnull=True).exists()
    assert not opportunities.filter(owner__isnull=True).exists()
    assert not opportunities.filter(description="").exists()
    assert len(set(opportunities.values_list("status", flat=True))) == len(Opportunity.Status.values)
    assert Solution.objects.filter(workspace=northbank).count() >= 5
    # The demo opens on a ranked backlog: the seed runs the recompute once.
    open_opportunities = opportunities.open()
    assert not open_opportunities.filter(priority__isnull=True).exists()
    assert sorted(open_opportunities.values_list("rank", flat=True)) == list(
        range(1, open_opportunities.count() + 1)
    )
    assert not opportunities.exclude(pk__in=open_opportunities).filter(rank__isnull=False).exists()


def test_demo_has_two_okr_cycles_one_active_with_key_results_on_opportunities(northbank):
    today = timezone.localdate()
    cycles = OkrCycle.objects.filter(workspace=northbank)
    assert cycles.count() == 2
    assert cycles.filter(start__lte=today, end__gte=today).count() == 1
    for cycle in cycles:
        key_results = KeyResult.objects.filter(objective__cycle=cycle)
        assert key_results.filter(opportunities__isnull=False).exists(), cycle.name
        assert CheckIn.objects.filter(key_result__objective__cycle=cycle).exists(), cycle.name
    key_results = KeyResult.objects.filter(workspace=northbank)
    assert len(set(key_results.values_list("kind", flat=True))) == len(KeyResult.Kind.values)
    assert key_results.filter(kpi__isnull=False).count() >= 5
    past = cycles.get(end__lt=today)
    assert not KeyResult.objects.filter(objective__cycle=past, grade__isnull=True).exists()


def test_demo_kpis_cover_every_type_with_a_year_of_monthly_data(northbank):
    kpis = Kpi.objects.filter(workspace=northbank)
    assert kpis.count() >= 12
    assert set(kpis.values_list("kpi_type", flat=True)) == set(Kpi.Type.values)
    assert len(set(kpis.values_list("scope", flat=True))) == len(Kpi.Scope.values)
    for kpi in kpis:
        assert kpi.baseline is not None and kpi.target is not None, kpi.name
        months = {d.replace(day=1) for d in DataPoint.objects.filter(kpi=kpi).values_list("date", flat=True)}
        assert len(months) == 12, kpi.name
    assert DataPoint.objects.filter(workspace=northbank).exclude(dimension_key="").exists()


def test_demo_users_log_in_with_one_role_each(northbank, client):
    members = Membership.objects.filter(workspace=northbank).select_related("user")
    assert {m.user.email: m.role for m in members} == DEMO_USERS
    for member in members:
        assert member.user.full_name
        assert client.login(email=member.user.email, password=content.DEMO_PASSWORD)
        client.logout()


def test_demo_owner_sees_the_atlas_and_a_journey_map(northbank, client):
    client.login(email="demo@northbank.example", password=content.DEMO_PASSWORD)
    response = client.get("/w/northbank/")
    assert response.status_code == 200
    html = response.content.decode()
    for stage in LifecycleStage.objects.filter(workspace=northbank):
        assert escape(stage.name) in html
    to_be = Journey.objects.filter(workspace=northbank, kind=Journey.Kind.TO_BE).first()
    response = client.get(f"/w/northbank/journeys/{to_be.pk}/")
    assert response.status_code == 200
    assert escape(to_be.current_journey.name) in response.content.decode()


def test_seed_demo_prints_counts_and_the_login(db):
    output = seed()
    assert 'Created demo workspace "Northbank"' in output
    assert "7 stages" in output
    assert (
        "Demo login: demo@northbank.example / journey-atlas-demo (owner); "
        "also admin@, editor@, viewer@northbank.example"
    ) in output


def test_seed_demo_twice_duplicates_nothing(northbank):
    before = workspace_counts(northbank)
    users = User.objects.count()
    output = seed()
    assert "already exists; nothing changed" in output
    assert Workspace.objects.filter(slug="northbank").count() == 1
    assert workspace_counts(northbank) == before
    assert User.objects.count() == users


def test_seed_demo_reset_rebuilds_the_same_demo(northbank, client):
    before = workspace_counts(northbank)
    users = User.objects.count()
    output = seed("--reset")
    assert "Rebuilt demo workspace" in output
    rebuilt = Workspace.objects.get(slug="northbank")
    assert rebuilt.pk != northbank.pk
    assert not Workspace.objects.filter(pk=northbank.pk).exists()
    assert workspace_counts(rebuilt) == before
    assert User.objects.count() == users
    connection.check_constraints()  # the purge left no row pointing at deleted ones
    assert client.login(email="viewer@northbank.example", password=content.DEMO_PASSWORD)


def test_demo_links_stay_inside_the_workspace(northbank, outsider):
    scale_seed(slug="big", n=60)
    assert links_leaving(northbank) == []
    assert links_leaving(Workspace.objects.get(slug="big")) == []


# --- Synthetic scale workspaces --------------------------------------------------------------------------


def test_scale_builds_n_opportunities_with_proportionate_content(db):
    out = StringIO()
    call_command("seed_demo", "--scale", "200", "--workspace", "big", stdout=out)
    workspace = Workspace.objects.get(slug="big")
    assert "scale-owner@big.example" in out.getvalue()
    assert (
        Membership.objects.get(workspace=workspace, role=Role.OWNER).user.email == "scale-owner@big.example"
    )

    opportunities = Opportunity.objects.filter(workspace=workspace)
    assert opportunities.count() == 200
    assert Journey.objects.filter(workspace=workspace).count() == 4
    assert Journey.objects.filter(workspace=workspace, kind="to_be", current_journey__isnull=False).exists()
    for n_steps in (
        Journey.objects.filter(workspace=workspace).annotate(n=Count("steps")).values_list("n", flat=True)
    ):
        assert 8 <= n_steps <= 12
    assert LifecycleStage.objects.filter(workspace=workspace).count() == 7
    assert MacroJourney.objects.filter(workspace=workspace).exists()
    assert Insight.objects.filter(workspace=workspace).count() == 400
    assert not Insight.objects.filter(workspace=workspace, steps__isnull=True).exists()
    for n_steps, n_insights in opportunities.annotate(
        s=Count("steps", distinct=True), i=Count("insights", distinct=True)
    ).values_list("s", "i"):
        assert 1 <= n_steps <= 3
        assert 1 <= n_insights <= 5
    criteria = Criterion.objects.filter(workspace=workspace).count()
    assert CriterionValue.objects.filter(workspace=workspace).count() == 200 * criteria
    assert 3 <= Persona.objects.filter(workspace=workspace).count() <= 10
    kpis = Kpi.objects.filter(workspace=workspace)
    assert kpis.count() >= 5
    assert DataPoint.objects.filter(workspace=workspace).count() == 12 * kpis.count()
    cycle = OkrCycle.objects.get(workspace=workspace)
    assert cycle.start <= timezone.localdate() <= cycle.end
    linked = opportunities.filter(key_results__isnull=False).distinct().count()
    assert 0 < linked < 200


def test_scale_refuses_an_existing_workspace(db):
    scale_seed(slug="big", n=50)
    before = workspace_counts(Workspace.objects.get(slug="big"))
    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_demo", "--scale", "50", "--workspace", "big", stdout=StringIO())
    assert workspace_counts(Workspace.objects.get(slug="big")) == before


def test_scale_reset_rebuilds_without_duplicates(db):
    scale_seed(slug="big", n=50)
    before = workspace_counts(Workspace.objects.get(slug="big"))
    call_command("seed_demo", "--scale", "50", "--workspace", "big", "--reset", stdout=StringIO())
    assert Workspace.objects.filter(slug="big").count() == 1
    assert workspace_counts(Workspace.objects.get(slug="big")) == before
    assert User.objects.filter(email="scale-owner@big.example").count() == 1
    connection.check_constraints()


def test_scale_is_deterministic(db):
    scale_seed(slug="one", n=80, seed=7)
    scale_seed(slug="two", n=80, seed=7)

    def fingerprint(slug):
        opportunities = Opportunity.objects.filter(workspace__slug=slug).order_by("pk")
        values = CriterionValue.objects.filter(workspace__slug=slug).order_by(
            "opportunity_id", "criterion__key"
        )
        return (
            list(opportunities.values_list("title", "status")),
            list(values.values_list("value", flat=True)),
            [o.steps.count() + 10 * o.insights.count() for o in opportunities],
        )

    assert fingerprint("one") == fingerprint("two")


def test_scale_query_count_does_not_grow_with_n(db):
    with CaptureQueriesContext(connection) as small:
        scale_seed(slug="small", n=100)
    with CaptureQueriesContext(connection) as large:
        scale_seed(slug="large", n=400)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_scale_command_needs_a_workspace_and_a_positive_n(db):
    with pytest.raises(CommandError, match="--workspace"):
        call_command("seed_demo", "--scale", "10", stdout=StringIO())
    with pytest.raises(CommandError, match="positive"):
        call_command("seed_demo", "--scale", "0", "--workspace", "big", stdout=StringIO())
    with pytest.raises(CommandError, match="slug"):
        call_command("seed_demo", "--scale", "10", "--workspace", "not a slug", stdout=StringIO())
    assert not Workspace.objects.exists()


# --- The scoring preset ----------------------------------------------------------------------------------


def test_atlas_preset_installs_an_acyclic_node_graph_with_a_priority(workspace):
    model = scoring_model_install_preset(workspace=workspace)
    assert model.preset == "atlas"
    assert model.priority_node.key == "priority"
    assert set(Criterion.objects.filter(scoring_model=model).values_list("key", flat=True)) == {
        "customer_impact",
        "customer_reach",
        "revenue_impact",
        "cost_to_serve",
        "strategic_fit",
        "effort",
        "confidence",
    }
    nodes = {n.pk: n for n in ComputedScore.objects.filter(scoring_model=model)}
    children = {pk: [] for pk in nodes}
    for operand in ComputedScoreInput.objects.filter(node__scoring_model=model):
        assert operand.workspace_id == workspace.pk
        if operand.source == ComputedScoreInput.Source.NODE:
            children[operand.node_id].append(operand.child_id)

    visiting, done = set(), set()

    def visit(pk):  # depth-first; meeting a node still on the path is a cycle
        assert pk not in visiting, f"cycle through {nodes[pk].key}"
        if pk in done:
            return
        visiting.add(pk)
        for child in children[pk]:
            visit(child)
        visiting.discard(pk)
        done.add(pk)

    visit(model.priority_node_id)
    assert done == set(nodes)  # every node feeds the priority
    assert ComputedScore.objects.filter(scoring_model=model).count() >= 8


def test_atlas_preset_computes_the_design_formula(workspace):
    scoring_model_install_preset(workspace=workspace)
    _, spec = load_spec(workspace.pk)
    assert scoring.validate(spec) == []
    values = {
        "customer_impact": 4,
        "customer_reach": 2,
        "revenue_impact": 5,
        "cost_to_serve": 3,
        "strategic_fit": 2,
        "effort": 3,
        "confidence": 0.8,
    }
    evidence, okr = 0.6, 1

    def norm(key):
        return (values[key] - 1) / 4

    cv = (evidence + (2 * norm("customer_impact") + norm("customer_reach")) / 3) / 2
    bv = (norm("revenue_impact") + norm("cost_to_serve") + norm("strategic_fit")) / 3
    bv += (1 - bv) * 0.25 * okr
    expected = 100 * (0.5 * cv + 0.5 * bv) * values["confidence"] / (1 + (values["effort"] - 1) / 4)
    scores = scoring.compile_model(spec).evaluate(values, {"evidence": evidence, "okr_alignment": okr})
    assert scores["priority"] == pytest.approx(expected)


def test_preset_install_refuses_unknown_names_and_a_second_model(workspace):
    with pytest.raises(ValueError, match="Unknown scoring preset"):
        scoring_model_install_preset(workspace=workspace, preset="astrology")
    scoring_model_install_preset(workspace=workspace)
    with pytest.raises(ValueError, match="already has a scoring model"):
        scoring_model_install_preset(workspace=workspace)
