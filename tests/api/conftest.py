"""API fixtures: clients (session or Bearer token) and a small atlas per workspace.

`atlas_a` is workspace A ("acme") with one row of each API resource and every link filled;
`atlas_b` is the same in workspace B ("rival"), whose ids must never be accepted by A's endpoints."""

from dataclasses import dataclass
from datetime import date

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from atlas.models import Membership, Tag, Workspace
from atlas.services import api_token_create
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Phase, Step
from okrs.models import KeyResult, Objective, OkrCycle
from opportunities.models import Criterion, CriterionValue, Opportunity, ScoringModel


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """API tests create several members each; Argon2 would make every setup take a second."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api_url(basename: str, workspace: Workspace | str, pk: int | None = None, **query) -> str:
    slug = workspace if isinstance(workspace, str) else workspace.slug
    if pk is None:
        url = reverse(f"api:{basename}-list", kwargs={"workspace_slug": slug})
    else:
        url = reverse(f"api:{basename}-detail", kwargs={"workspace_slug": slug, "pk": pk})
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


@pytest.fixture
def api_for():
    """api_for(membership) → an APIClient logged in (session) as that member."""

    def make(membership: Membership) -> APIClient:
        client = APIClient()
        client.force_login(membership.user)
        return client

    return make


@pytest.fixture
def token_client_for():
    """token_client_for(membership) → (APIClient sending `Authorization: Bearer …`, the ApiToken)."""

    def make(membership: Membership):
        token, raw = api_token_create(membership=membership, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client, token

    return make


@dataclass
class Atlas:
    workspace: Workspace
    member: Membership
    tag: Tag
    persona: Persona
    lifecycle: Lifecycle
    stage: LifecycleStage
    macro_journey: MacroJourney
    journey: Journey
    phase: Phase
    step: Step
    insight: Insight
    key_result: KeyResult
    scoring_model: ScoringModel
    impact: Criterion
    confidence: Criterion
    opportunity: Opportunity

    def __getitem__(self, basename: str):
        """The row behind an API basename: atlas["macro-journey"]."""
        return getattr(self, basename.replace("-", "_"))


def build_atlas(workspace: Workspace, member: Membership, label: str) -> Atlas:
    ws = {"workspace": workspace}
    tag = Tag.objects.create(**ws, kind="channel", name=f"{label} web")
    persona = Persona.objects.create(**ws, name=f"{label} first-time buyer")
    persona.tags.set([tag])
    lifecycle = Lifecycle.objects.create(**ws, name=f"{label} customer lifecycle")
    stage = LifecycleStage.objects.create(**ws, lifecycle=lifecycle, name="Purchase", position=1)
    macro = MacroJourney.objects.create(**ws, stage=stage, name=f"{label} get a mortgage", position=1)
    journey = Journey.objects.create(
        **ws, macro_journey=macro, name=f"{label} apply online", owner=member, primary_persona=persona
    )
    journey.personas.set([persona])
    journey.tags.set([tag])
    phase = Phase.objects.create(**ws, journey=journey, name="Apply", position=1)
    step = Step.objects.create(
        **ws, journey=journey, phase=phase, position=1, name="Fill in the form", emotion=-1
    )
    step.tags.set([tag])
    insight = Insight.objects.create(**ws, title=f"{label} the form is too long", severity=4, reach=120)
    insight.personas.set([persona])
    insight.steps.set([step])
    insight.tags.set([tag])
    cycle = OkrCycle.objects.create(**ws, name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    objective = Objective.objects.create(**ws, cycle=cycle, title="Faster applications")
    key_result = KeyResult.objects.create(
        **ws, objective=objective, title="Completion rate to 70 %", start_value=40, target_value=70
    )
    scoring_model = ScoringModel.objects.create(**ws)
    impact = Criterion.objects.create(
        **ws,
        scoring_model=scoring_model,
        key="customer_impact",
        name="Customer impact",
        min_value=1,
        max_value=5,
    )
    confidence = Criterion.objects.create(
        **ws,
        scoring_model=scoring_model,
        key="confidence",
        name="Confidence",
        min_value=0.5,
        max_value=1,
        step=0.25,
        position=1,
    )
    opportunity = Opportunity.objects.create(**ws, title=f"{label} shorter form", owner=member)
    opportunity.steps.set([step])
    opportunity.insights.set([insight])
    opportunity.key_results.set([key_result])
    opportunity.tags.set([tag])
    CriterionValue.objects.create(**ws, opportunity=opportunity, criterion=impact, value=4)
    return Atlas(
        workspace=workspace,
        member=member,
        tag=tag,
        persona=persona,
        lifecycle=lifecycle,
        stage=stage,
        macro_journey=macro,
        journey=journey,
        phase=phase,
        step=step,
        insight=insight,
        key_result=key_result,
        scoring_model=scoring_model,
        impact=impact,
        confidence=confidence,
        opportunity=opportunity,
    )


@pytest.fixture
def atlas_a(workspace, owner) -> Atlas:
    return build_atlas(workspace, owner, "A")


@pytest.fixture
def atlas_b(other_workspace, outsider) -> Atlas:
    return build_atlas(other_workspace, outsider, "B")


# Every CRUD resource of the API, by router basename.
RESOURCES = [
    "lifecycle",
    "stage",
    "macro-journey",
    "journey",
    "phase",
    "step",
    "persona",
    "insight",
    "opportunity",
]


def new_payload(basename: str, atlas: Atlas, n: int = 2) -> dict:
    """A valid creation payload for `basename` in `atlas`'s workspace, linking to its rows."""
    a = atlas
    return {
        "lifecycle": {"name": f"Employee lifecycle {n}", "position": n},
        "stage": {"lifecycle": a.lifecycle.pk, "name": f"Onboarding {n}", "position": n + 1},
        "macro-journey": {
            "stage": a.stage.pk,
            "name": f"Open an account {n}",
            "position": n + 1,
            "owner": a.member.pk,
        },
        "journey": {
            "macro_journey": a.macro_journey.pk,
            "name": f"Apply in the app {n}",
            "kind": "to_be",
            "current_journey": a.journey.pk,
            "owner": a.member.pk,
            "primary_persona": a.persona.pk,
            "personas": [a.persona.pk],
            "tags": [a.tag.pk],
        },
        "phase": {"journey": a.journey.pk, "name": f"Sign {n}", "position": n + 1},
        "step": {
            "journey": a.journey.pk,
            "phase": a.phase.pk,
            "position": n + 1,
            "name": f"Upload documents {n}",
            "emotion": -2,
            "tags": [a.tag.pk],
        },
        "persona": {"name": f"Returning customer {n}", "segment": "retail", "tags": [a.tag.pk]},
        "insight": {
            "title": f"Upload fails on mobile {n}",
            "kind": "pain",
            "source": "support_ticket",
            "severity": 5,
            "reach": 300,
            "personas": [a.persona.pk],
            "steps": [a.step.pk],
            "tags": [a.tag.pk],
        },
        "opportunity": {
            "title": f"Resumable uploads {n}",
            "status": "under_review",
            "owner": a.member.pk,
            "steps": [a.step.pk],
            "insights": [a.insight.pk],
            "key_results": [a.key_result.pk],
            "tags": [a.tag.pk],
            "criterion_values": {"customer_impact": 5, "confidence": 0.75},
        },
    }[basename]
