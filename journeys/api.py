"""REST API of the journey framework, personas and insights: /api/v1/workspaces/<slug>/…

Each viewset inherits the scoping mixin (workspace from the URL, roles, activity). Every list
prefetches its many-to-many fields, so its query count does not grow with the rows returned
(tests/api/test_query_counts.py)."""

from django.db.models import F
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import APIException

from atlas.api.scoping import WorkspaceScopedViewSetMixin
from journeys import filters, serializers
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Phase, Step
from opportunities.api_mixins import MovesScoresMixin


class StaleRevision(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "stale_revision"

    def __init__(self, current: dict) -> None:
        super().__init__(
            "Someone changed this since the revision you sent; nothing was written. "
            "`current` is how it is now: re-apply your change on top of it."
        )
        # Set after __init__, which would turn every value of `current` into a string.
        self.detail = {"detail": self.detail, "current": current}


def revision_checked_schema(serializer_class) -> dict:
    stale = OpenApiResponse(
        description="Based on an older revision: nothing written; the body holds `current`."
    )
    responses = {200: serializer_class, 409: stale}
    return {
        "update": extend_schema(responses=responses),
        "partial_update": extend_schema(responses=responses),
    }


class RevisionCheckedMixin:
    """Writes claim the row's revision with one compare-and-set UPDATE (`… WHERE revision = sent`), the
    same protocol as the journey map editor (journeys/services/maps.py), so an API client and a person
    in the browser never overwrite each other silently."""

    def update_object(self, serializer):
        instance = serializer.instance
        sent = serializer.validated_data.pop("revision", None)
        rows = type(instance).objects.filter(pk=instance.pk)
        claimed = (rows if sent is None else rows.filter(revision=sent)).update(revision=F("revision") + 1)
        if not claimed:
            raise StaleRevision(
                current=serializer.to_representation(self.scoped_queryset().get(pk=instance.pk))
            )
        instance.revision = rows.values_list("revision", flat=True).get()
        return super().update_object(serializer)

    def create_object(self, serializer):
        serializer.validated_data.pop("revision", None)
        return super().create_object(serializer)


def journey_structure_changed(journey_id: int) -> None:
    """Steps or phases were added, removed or reordered: editors holding the older structure are refused."""
    Journey.objects.filter(pk=journey_id).update(revision=F("revision") + 1)


class ChangesJourneyStructureMixin:
    """Phases and steps: creating, deleting or moving one raises its journey's revision."""

    structure_fields = ("position", "phase", "journey")

    def create_object(self, serializer):
        instance = super().create_object(serializer)
        journey_structure_changed(instance.journey_id)
        return instance

    def update_object(self, serializer):
        moved = {name for name in self.structure_fields if name in serializer.validated_data}
        journey_before = serializer.instance.journey_id
        instance = super().update_object(serializer)
        if moved:
            journey_structure_changed(journey_before)
            if instance.journey_id != journey_before:
                journey_structure_changed(instance.journey_id)
        return instance

    def destroy_object(self, instance) -> None:
        super().destroy_object(instance)
        journey_structure_changed(instance.journey_id)


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
@extend_schema_view(**revision_checked_schema(serializers.JourneySerializer))
class JourneyViewSet(RevisionCheckedMixin, WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Journeys of a macro journey: current journeys and the to-be journeys that improve them."""

    queryset = Journey.objects.prefetch_related("personas", "tags")
    serializer_class = serializers.JourneySerializer
    filterset_class = filters.JourneyFilter
    ordering_fields = ["id", "name", "created_at", "updated_at"]


@extend_schema(tags=["phases"])
class PhaseViewSet(ChangesJourneyStructureMixin, WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """Phases of a journey: ordered groups of consecutive steps."""

    queryset = Phase.objects.all()
    serializer_class = serializers.PhaseSerializer
    structure_fields = ("position", "journey", "name")  # the map guards phase names by the journey revision
    filterset_class = filters.PhaseFilter
    ordering_fields = ["id", "name", "position"]


@extend_schema(tags=["steps"])
@extend_schema_view(**revision_checked_schema(serializers.StepSerializer))
class StepViewSet(
    MovesScoresMixin,
    ChangesJourneyStructureMixin,
    RevisionCheckedMixin,
    WorkspaceScopedViewSetMixin,
    viewsets.ModelViewSet,
):
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
