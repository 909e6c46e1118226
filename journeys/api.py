"""REST API of the journey framework, personas and insights: /api/v1/workspaces/<slug>/…

Each viewset inherits the scoping mixin (workspace from the URL, roles, activity). Every list
prefetches its many-to-many fields, so its query count does not grow with the rows returned
(tests/api/test_query_counts.py)."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets

from atlas.api.scoping import WorkspaceScopedViewSetMixin
from journeys import filters, serializers
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Phase, Step
from opportunities.api_mixins import MovesScoresMixin


@extend_schema(tags=["lifecycles"])
class LifecycleViewSet(WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Lifecycles of the workspace, e.g. "Customer lifecycle"."""

    queryset = Lifecycle.objects.all()
    serializer_class = serializers.LifecycleSerializer
    ordering_fields = ["id", "name", "position"]


@extend_schema(tags=["stages"])
class LifecycleStageViewSet(WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Ordered stages of a lifecycle (Awareness, Purchase, Usage…); `position` is unique within the lifecycle."""

    queryset = LifecycleStage.objects.all()
    serializer_class = serializers.LifecycleStageSerializer
    filterset_class = filters.LifecycleStageFilter
    ordering_fields = ["id", "name", "position"]


@extend_schema(tags=["macro journeys"])
class MacroJourneyViewSet(WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Macro journeys (e.g. "Get a mortgage"), each placed on one lifecycle stage."""

    queryset = MacroJourney.objects.all()
    serializer_class = serializers.MacroJourneySerializer
    filterset_class = filters.MacroJourneyFilter
    ordering_fields = ["id", "name", "position"]


@extend_schema(tags=["journeys"])
class JourneyViewSet(WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Journeys of a macro journey: current journeys and the to-be journeys that improve them."""

    queryset = Journey.objects.prefetch_related("personas", "tags")
    serializer_class = serializers.JourneySerializer
    filterset_class = filters.JourneyFilter
    ordering_fields = ["id", "name", "created_at", "updated_at"]


@extend_schema(tags=["phases"])
class PhaseViewSet(WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Phases of a journey: ordered groups of consecutive steps."""

    queryset = Phase.objects.all()
    serializer_class = serializers.PhaseSerializer
    filterset_class = filters.PhaseFilter
    ordering_fields = ["id", "name", "position"]


@extend_schema(tags=["steps"])
class StepViewSet(MovesScoresMixin, WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Steps of a journey with their lanes; a step's phase must belong to its journey."""

    queryset = Step.objects.prefetch_related("tags")
    serializer_class = serializers.StepSerializer
    filterset_class = filters.StepFilter
    ordering_fields = ["id", "name", "position"]


@extend_schema(tags=["personas"])
class PersonaViewSet(WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Personas of the workspace."""

    queryset = Persona.objects.prefetch_related("tags")
    serializer_class = serializers.PersonaSerializer
    filterset_class = filters.PersonaFilter
    ordering_fields = ["id", "name", "created_at"]


@extend_schema(tags=["insights"])
class InsightViewSet(MovesScoresMixin, WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """The insight repository: customer evidence pinned to steps and personas."""

    queryset = Insight.objects.prefetch_related("personas", "steps", "tags")
    serializer_class = serializers.InsightSerializer
    filterset_class = filters.InsightFilter
    ordering_fields = ["id", "title", "severity", "reach", "created_at", "updated_at"]

    def create_object(self, serializer):
        return serializer.save(workspace=self.workspace, created_by=self.membership)
