"""The priority recompute over the API: ask for one, and follow the runs.

    POST /api/v1/workspaces/<slug>/recompute/            editors and up: 202, the run is queued
    GET  /api/v1/workspaces/<slug>/recompute-runs/       newest first, with `pending`
    GET  /api/v1/workspaces/<slug>/recompute-runs/<id>/  one run's status

Why 202 and not the new run: a RecomputeRun is created by the task when it starts (it records the
sequence of changes it covers, under the workspace's lock), and the model has no "queued" status, so a
run record made by the request would be a fiction the task must then adopt. The request enqueues the
`recompute_priorities` task after commit and answers with what is true at that moment: whether a
recompute is pending, and the latest run — the run under way when there is one, and, where tasks run
in-process (no REDIS_URL: development and tests), the run this request has just made. `Location`
points at the runs list, where the queued run appears when it starts.

Requests are deduplicated by `services.priorities_request_manual_recompute`: while a recompute is queued
or running, a request enqueues nothing (`enqueued: false`) and that recompute covers it.

`pending` (the runs list, and the request's answer) is true while changes wait for a recompute
(RecomputeState) or a run is under way."""

from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from atlas.api.pagination import CursorPagination
from atlas.api.scoping import WorkspaceScopedViewSetMixin
from opportunities import services
from opportunities.models import RecomputeRun, RecomputeState


class RecomputeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecomputeRun
        fields = [
            "id",
            "trigger",
            "status",
            "started_at",
            "finished_at",
            "duration_ms",
            "opportunity_count",
            "error",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "duration_ms": {"help_text": "Null while running."},
            "opportunity_count": {"help_text": "Open opportunities scored; null until succeeded."},
            "error": {"help_text": "Why a failed run failed."},
        }


class RecomputeRequestSerializer(serializers.Serializer):
    enqueued = serializers.BooleanField(
        help_text="False when a recompute was already queued or running: that one covers this request."
    )
    pending = serializers.BooleanField(
        help_text="A recompute is queued or running: the scores do not yet reflect every change."
    )
    latest_run = RecomputeRunSerializer(
        allow_null=True,
        help_text="The run under way when there is one, else the newest run. With a task queue the queued "
        "run is not in it yet (follow `Location`); where tasks run in-process it is the run this request made.",
    )


def recompute_pending(workspace_id: int) -> bool:
    """Whether the scores are waiting for a recompute: one is queued, changes are not covered yet,
    or a run is under way."""
    state = RecomputeState.objects.filter(workspace_id=workspace_id).first()
    if state is not None and state.is_pending:
        return True
    return RecomputeRun.objects.filter(workspace_id=workspace_id, status=RecomputeRun.Status.RUNNING).exists()


class RecomputeRunPagination(CursorPagination):
    ordering = ("-started_at", "-id")

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"] = {
            "pending": {
                "type": "boolean",
                "description": "A recompute is queued or running: the scores do not yet reflect every change.",
            },
            **paginated["properties"],
        }
        paginated["required"] = ["pending", *paginated.get("required", ["results"])]
        return paginated


@extend_schema(tags=["opportunities"])
@extend_schema_view(
    list=extend_schema(summary="Recompute runs, newest first, and whether a recompute is pending"),
    retrieve=extend_schema(summary="One recompute run: its status and duration"),
)
class RecomputeRunViewSet(WorkspaceScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Runs of the workspace's priority recompute (after a change, on request, nightly)."""

    queryset = RecomputeRun.objects.all()
    serializer_class = RecomputeRunSerializer
    pagination_class = RecomputeRunPagination
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["status", "trigger"]

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        response.data = {"pending": recompute_pending(self.workspace.pk), **response.data}
        return response


@extend_schema(tags=["opportunities"])
class RecomputeView(WorkspaceScopedViewSetMixin, generics.GenericAPIView):
    """Ask for the workspace's scores and ranks to be recomputed now (editors and up)."""

    queryset = RecomputeRun.objects.all()
    serializer_class = RecomputeRequestSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        request=None,
        responses={202: RecomputeRequestSerializer},
        parameters=[
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI,
                location=OpenApiParameter.HEADER,
                response=[202],
                description="The runs list, where the queued run appears when it starts.",
            )
        ],
        summary="Request a recompute of every open opportunity's priority",
        description="Queues one recompute of the workspace (trigger `manual`) and answers 202 at once; "
        "`Location` is the runs list, where the run appears with status `running` when it starts and "
        "`succeeded` or `failed` when it ends. Runs of a workspace never overlap. While a recompute is "
        "queued or running, a request queues nothing (`enqueued` is false): that recompute covers it, "
        "and `latest_run` is the run under way.",
    )
    def post(self, request: Request, workspace_slug: str) -> Response:
        workspace_id = self.workspace.pk
        requested = services.priorities_request_manual_recompute(workspace_id=workspace_id)
        latest = requested.running or self.get_queryset().order_by("-started_at", "-id").first()
        data = {
            "enqueued": requested.enqueued,
            "pending": recompute_pending(workspace_id),
            "latest_run": latest,
        }
        runs_url = reverse("api:recompute-run-list", kwargs={"workspace_slug": workspace_slug})
        return Response(
            self.get_serializer(data).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": request.build_absolute_uri(runs_url)},
        )
