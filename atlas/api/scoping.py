"""The one tenancy mechanism for the API (after PostHog's TeamAndOrgViewSetMixin).

Every viewset inherits `WorkspaceScopedViewSetMixin`. The workspace comes from the URL
(`/api/v1/workspaces/<workspace_slug>/…`); the requesting user's membership of it decides access:
not a member (or a token of another workspace) → 404, a role too low for the method → 403.
`get_queryset` is final: viewsets declare `queryset` (or `scoped_queryset()` for extra
select_related) and the mixin adds the workspace filter; overriding `get_queryset` is refused at
import time, so a viewset cannot forget the scope by accident."""

import logging

from django.http import Http404
from django.utils.functional import cached_property
from rest_framework import permissions

from atlas.models import Membership, Role, Workspace

security_log = logging.getLogger("atlas.security")


class WorkspaceRolePermission(permissions.BasePermission):
    """Safe methods need the viewset's `read_role`, writes its `write_role`."""

    message = "Your role in this workspace does not allow this."

    def has_permission(self, request, view) -> bool:
        membership = view.membership  # raises 404 for non-members
        needed = view.read_role if request.method in permissions.SAFE_METHODS else view.write_role
        allowed = membership.can(needed)
        if not allowed:
            security_log.warning(
                "api permission refused: user=%s workspace=%s role=%s needs=%s %s %s",
                membership.user_id,
                membership.workspace_id,
                membership.role,
                needed,
                request.method,
                request.path,
            )
        return allowed


class WorkspaceScopedViewSetMixin:
    read_role = Role.VIEWER
    write_role = Role.EDITOR
    permission_classes = [permissions.IsAuthenticated, WorkspaceRolePermission]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); define scoped_queryset() instead so the "
                "workspace filter cannot be lost."
            )

    @cached_property
    def membership(self) -> Membership:
        request = self.request
        slug = self.kwargs["workspace_slug"]
        user = request.user
        if not user or not user.is_authenticated:
            raise Http404("No such workspace.")
        token = getattr(request, "auth", None)
        membership = getattr(token, "membership", None)
        if membership is not None:
            if membership.workspace.slug != slug:
                security_log.warning("api token used on another workspace: token=%s slug=%s", token.pk, slug)
                raise Http404("No such workspace.")
            return membership
        try:
            return Membership.objects.select_related("workspace", "user").get(workspace__slug=slug, user=user)
        except Membership.DoesNotExist:
            security_log.warning("api workspace access refused: user=%s slug=%s", user.pk, slug)
            raise Http404("No such workspace.") from None

    @property
    def workspace(self) -> Workspace:
        return self.membership.workspace

    def scoped_queryset(self):
        return self.queryset.all()

    def get_queryset(self):
        return self.scoped_queryset().filter(workspace=self.workspace)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if "workspace_slug" in self.kwargs:
            context["workspace"] = self.workspace
            context["membership"] = self.membership
        return context

    def perform_create(self, serializer):
        serializer.save(workspace=self.workspace)
