"""The REST API, mounted at /api/v1/.

Everything with data lives under `workspaces/<workspace_slug>/`; route names are `api:<basename>-list`
and `api:<basename>-detail` (kwargs `workspace_slug`, and `pk` for a detail).

The OpenAPI schema and its docs are public on purpose: they describe the open-source API and hold no
workspace data. Every data endpoint needs a token or a session (anonymous → 401/403)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework import permissions, routers

from atlas.api import views
from journeys import api as journeys_api
from opportunities import api as opportunities_api
from opportunities import backlog_api, runs_api, scoring_api

app_name = "api"

# SimpleRouter, not DefaultRouter: the workspace endpoint itself sits at the prefix, where a
# DefaultRouter would put its API root. Path converters (not regexes) type the ids in the schema.
router = routers.SimpleRouter(use_regex_path=False)
router.register("members", views.MemberViewSet, basename="member")
router.register("lifecycles", journeys_api.LifecycleViewSet, basename="lifecycle")
router.register("stages", journeys_api.LifecycleStageViewSet, basename="stage")
router.register("macro-journeys", journeys_api.MacroJourneyViewSet, basename="macro-journey")
router.register("journeys", journeys_api.JourneyViewSet, basename="journey")
router.register("phases", journeys_api.PhaseViewSet, basename="phase")
router.register("steps", journeys_api.StepViewSet, basename="step")
router.register("personas", journeys_api.PersonaViewSet, basename="persona")
router.register("insights", journeys_api.InsightViewSet, basename="insight")
router.register("opportunities", opportunities_api.OpportunityViewSet, basename="opportunity")
router.register("backlog", backlog_api.BacklogViewSet, basename="backlog")
router.register("recompute-runs", runs_api.RecomputeRunViewSet, basename="recompute-run")
router.register("criteria", scoring_api.CriterionViewSet, basename="criterion")

public = [permissions.AllowAny]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=public), name="schema"),
    path(
        "docs/",
        views.ApiDocsView.as_view(url_name="api:schema", permission_classes=public),
        name="docs",
    ),
    path("workspaces/<slug:workspace_slug>/", views.WorkspaceView.as_view(), name="workspace-detail"),
    path("workspaces/<slug:workspace_slug>/", include(router.urls)),
    path("workspaces/<slug:workspace_slug>/recompute/", runs_api.RecomputeView.as_view(), name="recompute"),
]

# The scoring model is one resource per workspace (no list, no id): plain routes to its viewset.
_scoring_model = "workspaces/<slug:workspace_slug>/scoring-model/"
urlpatterns += [
    path(
        _scoring_model,
        scoring_api.ScoringModelViewSet.as_view({"get": "retrieve", "put": "update"}),
        name="scoring-model",
    ),
    path(
        f"{_scoring_model}preview/",
        scoring_api.ScoringModelViewSet.as_view({"post": "preview"}),
        name="scoring-model-preview",
    ),
    path(
        f"{_scoring_model}preset/",
        scoring_api.ScoringModelViewSet.as_view({"post": "preset"}),
        name="scoring-model-preset",
    ),
]
