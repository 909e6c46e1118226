"""Workspace-level API endpoints, and how the OpenAPI schema describes the Bearer token."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import generics, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from atlas.api.scoping import WorkspaceScopedViewSetMixin
from atlas.models import Membership


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Declares `BearerTokenAuthentication` in the schema (loaded with the API's URLconf)."""

    target_class = "atlas.api.authentication.BearerTokenAuthentication"
    name = "BearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token of one workspace: `Authorization: Bearer ja_…`. "
            "Create one in the workspace settings or with `manage.py create_api_token`.",
        }


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI. GET only: its HTML renderer has no page for an OPTIONS answer (it would be a 500)."""

    http_method_names = ["get", "head"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role"]


class CurrentMembershipSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "role", "email"]


class WorkspaceSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    slug = serializers.SlugField(read_only=True)
    membership = CurrentMembershipSerializer(read_only=True, help_text="The caller's membership.")


@extend_schema(tags=["workspace"])
class WorkspaceView(WorkspaceScopedViewSetMixin, generics.GenericAPIView):
    """The workspace and the caller's membership of it: the simplest call to check a token."""

    queryset = Membership.objects.all()
    serializer_class = WorkspaceSerializer
    pagination_class = None
    filter_backends = []

    def get(self, request: Request, workspace_slug: str) -> Response:
        workspace = self.workspace
        data = {"name": workspace.name, "slug": workspace.slug, "membership": self.membership}
        return Response(self.get_serializer(data).data)


@extend_schema(tags=["workspace"])
class MemberViewSet(WorkspaceScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Members of the workspace: the ids that `owner` fields take."""

    queryset = Membership.objects.select_related("user")
    serializer_class = MemberSerializer
    filterset_fields = ["role"]
    ordering_fields = ["id", "role"]
