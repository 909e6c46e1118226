"""The journey map."""

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from atlas.tenancy import get_scoped, scoped, workspace_view
from journeys.models import Insight, Journey, Phase, Step
from opportunities.models import Opportunity


@workspace_view()
def journey_map(request: HttpRequest, journey_id: int) -> HttpResponse:
    """A journey map, read-only: steps as columns grouped under phases, lanes as rows."""
    workspace = request.workspace
    journey = get_scoped(
        workspace,
        Journey.objects.select_related(
            "macro_journey__stage__lifecycle", "owner__user", "primary_persona", "current_journey"
        ),
        pk=journey_id,
    )
    steps = list(
        scoped(workspace, Step)
        .filter(journey=journey)
        .select_related("phase")
        .prefetch_related(
            "touchpoints",
            Prefetch("insights", queryset=scoped(workspace, Insight).order_by("-severity", "id")),
            Prefetch(
                "opportunities",
                queryset=scoped(workspace, Opportunity).order_by("rank", "id"),
            ),
        )
        .order_by("position")
    )
    phases = list(scoped(workspace, Phase).filter(journey=journey).order_by("position"))
    phase_spans = _phase_spans(steps)
    return render(
        request,
        "journeys/journey_map.html",
        {"nav": "atlas", "journey": journey, "steps": steps, "phases": phases, "phase_spans": phase_spans},
    )


def _phase_spans(steps: list[Step]) -> list[tuple[str, int]]:
    """Consecutive steps of one phase become one header cell: [(phase name, column count), …]."""
    spans: list[tuple[str, int]] = []
    for step in steps:
        name = step.phase.name if step.phase else ""
        if spans and spans[-1][0] == name:
            spans[-1] = (name, spans[-1][1] + 1)
        else:
            spans.append((name, 1))
    return spans
