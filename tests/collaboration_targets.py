"""Something of each kind to comment on, in one workspace: a journey with a step, an insight and an
opportunity."""

from dataclasses import dataclass

from atlas.models import Workspace
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Step
from opportunities.models import Opportunity


@dataclass
class Targets:
    journey: Journey
    step: Step
    insight: Insight
    opportunity: Opportunity

    def of(self, kind: str):
        return getattr(self, kind)


def make_targets(workspace: Workspace, prefix: str = "") -> Targets:
    ws = {"workspace": workspace}
    lifecycle = Lifecycle.objects.create(**ws, name=f"{prefix}Customer lifecycle")
    stage = LifecycleStage.objects.create(**ws, lifecycle=lifecycle, name=f"{prefix}Purchase", position=1)
    macro = MacroJourney.objects.create(**ws, stage=stage, name=f"{prefix}Get a mortgage", position=1)
    journey = Journey.objects.create(**ws, macro_journey=macro, name=f"{prefix}Apply online")
    step = Step.objects.create(**ws, journey=journey, position=1, name=f"{prefix}Compare offers")
    insight = Insight.objects.create(**ws, title=f"{prefix}Rates are hard to compare")
    opportunity = Opportunity.objects.create(**ws, title=f"{prefix}Side-by-side rate table")
    return Targets(journey=journey, step=step, insight=insight, opportunity=opportunity)
