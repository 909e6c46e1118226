"""REST API of the opportunity backlog: /api/v1/workspaces/<slug>/opportunities/…"""

from django.db.models import Prefetch, Value
from django.db.models.functions import Coalesce
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters as drf_filters
from rest_framework import viewsets

from atlas.api.scoping import WorkspaceScopedViewSetMixin
from opportunities import filters, serializers, services
from opportunities.api_mixins import MovesScoresMixin
from opportunities.models import CriterionValue, Opportunity

UNRANKED = 2**31 - 1  # sorts after every rank


class BacklogOrderingFilter(drf_filters.OrderingFilter):
    """`?ordering=rank` (best first, unranked last) and `-rank`.

    The cursor pagination takes its position from the first ordering field and cannot page over
    NULLs (it would compare ranks with the string "None"), so the rank is paged through
    `rank_position`, a never-null copy of it."""

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        return [
            term.replace("rank", "rank_position") if term.lstrip("-") == "rank" else term for term in ordering
        ]


@extend_schema(tags=["opportunities"])
class OpportunityViewSet(MovesScoresMixin, WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
    """The opportunity backlog. Score fields are computed by the workspace's scoring model and
    read-only; `criterion_values` holds the editors' input scores by criterion key."""

    queryset = Opportunity.objects.prefetch_related(
        "steps",
        "insights",
        "key_results",
        "tags",
        Prefetch("criterion_values", queryset=CriterionValue.objects.select_related("criterion")),
    )
    serializer_class = serializers.OpportunitySerializer
    filterset_class = filters.OpportunityFilter
    filter_backends = [DjangoFilterBackend, BacklogOrderingFilter]
    ordering_fields = ["id", "rank", "title", "status", "created_at", "updated_at"]

    def scoped_queryset(self):
        return self.queryset.annotate(rank_position=Coalesce("rank", Value(UNRANKED)))

    def create_object(self, serializer):
        data = {name: value for name, value in serializer.validated_data.items() if name != "workspace"}
        return services.opportunity_create(workspace=self.workspace, created_by=self.membership, **data)

    def update_object(self, serializer):
        data = {name: value for name, value in serializer.validated_data.items() if name != "workspace"}
        return services.opportunity_update(opportunity=serializer.instance, **data)
