"""A small journey to edit in the journey map tests: a lifecycle stage, a macro journey and a journey
with phases and steps."""

from journeys.models import Journey, Lifecycle, LifecycleStage, MacroJourney, Phase, Step


def make_journey(workspace, *, phases: dict[str, list[str]] | None = None, steps: list[str] = ()) -> Journey:
    """A journey with `phases` ({phase name: [step names]}, in order) or, without phases, `steps`."""
    lifecycle, _ = Lifecycle.objects.get_or_create(workspace=workspace, name="Customer lifecycle")
    stage, _ = LifecycleStage.objects.get_or_create(
        workspace=workspace, lifecycle=lifecycle, position=0, defaults={"name": "Onboarding"}
    )
    position = MacroJourney.objects.filter(stage=stage).count()
    macro = MacroJourney.objects.create(
        workspace=workspace, stage=stage, name=f"Open an account {position}", position=position
    )
    journey = Journey.objects.create(workspace=workspace, macro_journey=macro, name="Open a current account")
    position = 0
    for index, (phase_name, step_names) in enumerate((phases or {}).items()):
        phase = Phase.objects.create(workspace=workspace, journey=journey, name=phase_name, position=index)
        for name in step_names:
            Step.objects.create(
                workspace=workspace, journey=journey, phase=phase, name=name, position=position
            )
            position += 1
    for name in steps:
        Step.objects.create(workspace=workspace, journey=journey, name=name, position=position)
        position += 1
    return journey


def layout(journey: Journey) -> list[tuple[str | None, list[str]]]:
    """The journey as [(phase name or None, [step names in order])], read from positions."""
    groups: list[tuple[str | None, list[str]]] = []
    for step in Step.objects.filter(journey=journey).select_related("phase").order_by("position"):
        name = step.phase.name if step.phase else None
        if groups and groups[-1][0] == name:
            groups[-1][1].append(step.name)
        else:
            groups.append((name, [step.name]))
    phases_with_steps = {name for name, _ in groups}
    for phase in Phase.objects.filter(journey=journey).order_by("position"):
        if phase.name not in phases_with_steps:
            groups.append((phase.name, []))
    return groups
