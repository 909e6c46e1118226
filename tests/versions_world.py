"""A journey map with something in every lane, for the versions, to-be and compare tests."""

from dataclasses import dataclass, field

from atlas.models import Membership, Tag, Workspace
from journeys.models import (
    Insight,
    Journey,
    Lifecycle,
    LifecycleStage,
    MacroJourney,
    Persona,
    Phase,
    Step,
    StepEmotion,
    Touchpoint,
)
from opportunities.models import Opportunity


@dataclass
class MapWorld:
    journey: Journey
    phases: list[Phase]
    steps: list[Step]
    persona: Persona
    tag: Tag
    insight: Insight
    opportunity: Opportunity
    touchpoints: list[Touchpoint] = field(default_factory=list)


def build_map(
    workspace: Workspace, owner: Membership | None, *, steps: int = 3, name: str = "Open an account"
) -> MapWorld:
    """A current journey with two phases and `steps` steps; every step has lanes, a tag, a persona
    emotion, a touchpoint (tagged), the insight and the opportunity pinned."""
    ws = {"workspace": workspace}
    lifecycle, _ = Lifecycle.objects.get_or_create(**ws, name="Customer lifecycle")
    stage, _ = LifecycleStage.objects.get_or_create(
        **ws, lifecycle=lifecycle, position=0, defaults={"name": "Onboarding"}
    )
    macro = MacroJourney.objects.create(
        **ws, stage=stage, name=f"{name} (macro)", position=MacroJourney.objects.filter(**ws).count()
    )
    persona, _ = Persona.objects.get_or_create(**ws, name="Saver Sam")
    tag, _ = Tag.objects.get_or_create(**ws, kind="channel", name="Mobile app")
    journey = Journey.objects.create(
        **ws, macro_journey=macro, name=name, owner=owner, primary_persona=persona, description="Today."
    )
    journey.personas.add(persona)
    journey.tags.add(tag)
    phases = [
        Phase.objects.create(**ws, journey=journey, name="Apply", position=0),
        Phase.objects.create(**ws, journey=journey, name="Get started", position=1),
    ]
    step_rows = Step.objects.bulk_create(
        Step(
            **ws,
            journey=journey,
            phase=phases[0 if p < steps / 2 else 1],
            position=p,
            name=f"Step {p}",
            customer_goal=f"Goal {p}",
            customer_actions=f"Actions {p}",
            thoughts_feelings=f"Feels {p}",
            emotion=(p % 5) - 2,
            frontstage=f"Front {p}",
            backstage=f"Back {p}",
            is_moment_of_truth=p == 0,
            moment_of_truth_why="First impression" if p == 0 else "",
        )
        for p in range(steps)
    )
    Step.tags.through.objects.bulk_create(Step.tags.through(step_id=s.pk, tag_id=tag.pk) for s in step_rows)
    StepEmotion.objects.bulk_create(
        StepEmotion(**ws, step=s, persona=persona, score=1, note="ok") for s in step_rows
    )
    touchpoints = Touchpoint.objects.bulk_create(
        Touchpoint(**ws, step=s, name=f"Touchpoint {s.position}", channel="web", position=0)
        for s in step_rows
    )
    Touchpoint.tags.through.objects.bulk_create(
        Touchpoint.tags.through(touchpoint_id=t.pk, tag_id=tag.pk) for t in touchpoints
    )
    insight = Insight.objects.create(**ws, title="Too many forms", severity=4)
    insight.steps.add(*step_rows)
    opportunity = Opportunity.objects.create(**ws, title="One short form")
    opportunity.steps.add(*step_rows)
    return MapWorld(
        journey=journey,
        phases=phases,
        steps=step_rows,
        persona=persona,
        tag=tag,
        insight=insight,
        opportunity=opportunity,
        touchpoints=touchpoints,
    )
