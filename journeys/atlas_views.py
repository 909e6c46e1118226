"""The atlas overview: the journey framework at a glance."""

from django.db.models import Count, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from atlas.tenancy import scoped, workspace_view
from journeys.models import Journey, Lifecycle, LifecycleStage, MacroJourney, Step
from opportunities.models import Opportunity


def _count(queryset, group_by: str):
    """COUNT(DISTINCT pk) of a correlated queryset, as a subquery: several counts on one row do not
    multiply each other's joins."""
    counted = queryset.order_by().values(group_by).annotate(n=Count("pk", distinct=True)).values("n")[:1]
    return Coalesce(Subquery(counted), 0)


def journeys_with_health(workspace):
    """Journeys with their health figures: steps, steps with insights, open opportunities."""
    journey = OuterRef("pk")
    return (
        scoped(workspace, Journey)
        .select_related("owner__user", "primary_persona")
        .annotate(
            step_count=_count(Step.objects.filter(journey=journey), "journey"),
            steps_with_insights=_count(
                Step.objects.filter(journey=journey, insights__isnull=False), "journey"
            ),
            open_opportunities=_count(
                Opportunity.objects.open().filter(steps__journey=journey), "steps__journey"
            ),
        )
        .order_by("kind", "name")
    )


@workspace_view()
def atlas(request: HttpRequest) -> HttpResponse:
    """The journey framework at a glance: the chosen lifecycle's stages as columns, their macro
    journeys and journeys with kind, owner, primary persona and health."""
    workspace = request.workspace
    lifecycles = list(scoped(workspace, Lifecycle))
    lifecycle = None
    if lifecycles:
        wanted = request.GET.get("lifecycle")
        lifecycle = next((lc for lc in lifecycles if str(lc.pk) == wanted), lifecycles[0])
    stages = []
    if lifecycle is not None:
        stages = list(
            scoped(workspace, LifecycleStage)
            .filter(lifecycle=lifecycle)
            .prefetch_related(
                Prefetch(
                    "macro_journeys",
                    queryset=scoped(workspace, MacroJourney)
                    .select_related("owner__user")
                    .order_by("position"),
                ),
                Prefetch("macro_journeys__journeys", queryset=journeys_with_health(workspace)),
            )
            .order_by("position")
        )
    return render(
        request,
        "journeys/atlas.html",
        {"nav": "atlas", "lifecycles": lifecycles, "lifecycle": lifecycle, "stages": stages},
    )
