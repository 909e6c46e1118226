"""One row of every domain model in a workspace, each carrying a marker string in its text fields.

The tenant-isolation matrix fills URL parameters with these rows of workspace B and checks that none
of B's markers leaks to a member of workspace A."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.apps import apps
from django.db.models import Model
from django.utils import timezone

from atlas.db_guards import PROJECT_APPS
from atlas.models import (
    Activity,
    ApiToken,
    Comment,
    Invitation,
    MaturityAnswer,
    MaturityDimension,
    MaturityResult,
    MaturityScan,
    Membership,
    Tag,
    Workspace,
)
from journeys.models import (
    Insight,
    Journey,
    JourneyVersion,
    Lifecycle,
    LifecycleStage,
    MacroJourney,
    Persona,
    Phase,
    Step,
    StepEmotion,
    Touchpoint,
)
from metrics.models import DataPoint, Kpi
from okrs.models import CheckIn, KeyResult, Objective, OkrCycle
from opportunities.models import (
    ComputedScore,
    ComputedScoreInput,
    Criterion,
    CriterionValue,
    Opportunity,
    RecomputeRun,
    RecomputeState,
    ScoreSnapshot,
    ScoringModel,
    Solution,
)


@dataclass
class World:
    workspace: Workspace
    marker: str
    objects: dict[type[Model], Model] = field(default_factory=dict)

    def __getitem__(self, model: type[Model]) -> Model:
        return self.objects[model]

    def add(self, obj: Model) -> Model:
        self.objects.setdefault(type(obj), obj)
        return obj


def build_world(workspace: Workspace, owner: Membership, marker: str) -> World:
    """Every model of the project, once, in `workspace`; text fields contain `marker`."""
    w = World(workspace=workspace, marker=marker)
    ws = {"workspace": workspace}
    m = marker
    w.add(workspace)
    w.add(owner)
    w.add(owner.user)
    tag = w.add(Tag.objects.create(**ws, kind="channel", name=f"{m} tag"))
    persona = w.add(Persona.objects.create(**ws, name=f"{m} persona", summary=f"{m} summary"))
    lifecycle = w.add(Lifecycle.objects.create(**ws, name=f"{m} lifecycle"))
    stage = w.add(LifecycleStage.objects.create(**ws, lifecycle=lifecycle, name=f"{m} stage", position=1))
    macro = w.add(MacroJourney.objects.create(**ws, stage=stage, name=f"{m} macro journey", position=1))
    journey = w.add(
        Journey.objects.create(
            **ws, macro_journey=macro, name=f"{m} journey", owner=owner, primary_persona=persona
        )
    )
    Journey.objects.create(
        **ws, macro_journey=macro, name=f"{m} to-be journey", kind=Journey.Kind.TO_BE, current_journey=journey
    )
    phase = w.add(Phase.objects.create(**ws, journey=journey, name=f"{m} phase", position=1))
    step = w.add(
        Step.objects.create(
            **ws,
            journey=journey,
            phase=phase,
            position=1,
            name=f"{m} step",
            customer_goal=f"{m} goal",
            emotion=-1,
        )
    )
    w.add(StepEmotion.objects.create(**ws, step=step, persona=persona, score=1, note=f"{m} emotion"))
    w.add(Touchpoint.objects.create(**ws, step=step, name=f"{m} touchpoint"))
    insight = w.add(Insight.objects.create(**ws, title=f"{m} insight", description=f"{m} quote", reach=10))
    w.add(
        JourneyVersion.objects.create(
            **ws,
            journey=journey,
            number=1,
            label=f"{m} version",
            journey_revision=1,
            snapshot={"journey": {"name": f"{m} journey"}, "phases": [], "steps": []},
            created_by=owner,
        )
    )
    insight.steps.add(step)
    insight.personas.add(persona)
    model = w.add(ScoringModel.objects.create(**ws))
    criterion = w.add(
        Criterion.objects.create(**ws, scoring_model=model, key="impact", name=f"{m} criterion")
    )
    node = w.add(
        ComputedScore.objects.create(
            **ws, scoring_model=model, key="priority", name=f"{m} node", operation="weighted_mean"
        )
    )
    w.add(ComputedScoreInput.objects.create(**ws, node=node, source="criterion", criterion=criterion))
    model.priority_node = node
    model.save()
    opportunity = w.add(
        Opportunity.objects.create(**ws, title=f"{m} opportunity", description=f"{m} why", owner=owner)
    )
    opportunity.steps.add(step)
    opportunity.insights.add(insight)
    opportunity.tags.add(tag)
    w.add(CriterionValue.objects.create(**ws, opportunity=opportunity, criterion=criterion, value=3))
    w.add(Solution.objects.create(**ws, opportunity=opportunity, title=f"{m} solution"))
    w.add(RecomputeState.objects.create(**ws, requested_seq=2, done_seq=1))
    w.add(RecomputeRun.objects.create(**ws, started_at=timezone.now(), error=f"{m} error"))
    w.add(
        ScoreSnapshot.objects.create(**ws, opportunity=opportunity, date=date.today(), priority=42.0, rank=1)
    )
    today = date.today()
    cycle = w.add(
        OkrCycle.objects.create(
            **ws, name=f"{m} cycle", start=today - timedelta(days=30), end=today + timedelta(days=60)
        )
    )
    objective = w.add(Objective.objects.create(**ws, cycle=cycle, title=f"{m} objective", owner=owner))
    kpi = w.add(
        Kpi.objects.create(**ws, name=f"{m} kpi", kpi_type="nps", scope="journey", journey=journey, target=30)
    )
    w.add(DataPoint.objects.create(**ws, kpi=kpi, date=today, promoters=50, passives=30, detractors=20))
    key_result = w.add(
        KeyResult.objects.create(
            **ws, objective=objective, title=f"{m} key result", start_value=10, target_value=30, kpi=kpi
        )
    )
    opportunity.key_results.add(key_result)
    w.add(CheckIn.objects.create(**ws, key_result=key_result, value=12, confidence=0.7, note=f"{m} check-in"))
    w.add(Comment.objects.create(**ws, author=owner, body=f"{m} comment", journey=journey))
    w.add(
        Activity.objects.create(
            **ws,
            actor=owner.user,
            verb="created",
            target_type="journey",
            target_id=journey.pk,
            target_label=f"{m} journey",
        )
    )
    scan = w.add(MaturityScan.objects.create(**ws, title=f"{m} scan", created_by=owner))
    w.add(
        MaturityAnswer.objects.create(
            **ws,
            scan=scan,
            membership=owner,
            dimension=MaturityDimension.CUSTOMER_INSIGHT,
            statement="ci_1",
            value=3,
        )
    )
    w.add(MaturityResult.objects.create(**ws, scan=scan, overall_score=42, stage=3))
    w.add(
        Invitation.objects.create(
            **ws, email=f"{m.lower()}@invitee.test", role="editor", invited_by=owner.user
        )
    )
    w.add(
        ApiToken.objects.create(
            **ws,
            membership=owner,
            name=f"{m} token",
            token_hash=f"{m}-hash".ljust(64, "0")[:64],
            token_prefix="ja_x",
        )
    )
    missing = [
        model
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
        and "workspace" in {f.name for f in model._meta.fields}
        and model not in w.objects
    ]
    assert not missing, f"tests/world.py does not build these models yet: {missing}"
    return w
