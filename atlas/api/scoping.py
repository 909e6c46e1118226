"""The one tenancy mechanism for the API (after PostHog's TeamAndOrgViewSetMixin).

Every viewset inherits `WorkspaceScopedViewSetMixin`. The workspace comes from the URL
(`/api/v1/workspaces/<workspace_slug>/…`); the requesting user's membership of it decides access:
not a member (or a token of another workspace) → 404, a role too low for the method → 403.
`get_queryset` is final: viewsets declare `queryset` (or `scoped_queryset()` for extra
select_related) and the mixin adds the workspace filter; overriding `get_queryset` is refused at
import time, so a viewset cannot forget the scope by accident."""

import logging
from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils.functional import cached_property
from rest_framework import exceptions, permissions, status

from atlas.models import Membership, Role, Workspace
from atlas.services import activity_record

security_log = logging.getLogger("atlas.security")
log = logging.getLogger(__name__)


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


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This change conflicts with other data in the workspace."
    default_code = "conflict"


class WorkspaceScopedViewSetMixin:
    read_role = Role.VIEWER
    write_role = Role.EDITOR
    permission_classes = [permissions.IsAuthenticated, WorkspaceRolePermission]
    # Routers built with use_regex_path=False give `<int:pk>`: a non-numeric id is a plain 404 and the
    # schema types the parameter as an integer.
    lookup_value_converter = "int"

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

    # Writes: one transaction with the activity record. A delete refused by PROTECT (a stage that still
    # has macro journeys…) or a uniqueness race the validators could not see answers 409, never 500.

    def perform_create(self, serializer):
        with database_refusals_as_conflict(), transaction.atomic():
            serializer.instance = self.create_object(serializer)
            self.record_activity("created", serializer.instance)

    def perform_update(self, serializer):
        before = serializer.to_representation(serializer.instance)
        with database_refusals_as_conflict(), transaction.atomic():
            instance = serializer.instance = self.update_object(serializer)
            # Related-object caches of the instance are stale after the write; DRF clears them only
            # after perform_update, so clear them now to compare with what was really saved.
            instance._prefetched_objects_cache = {}
            after = serializer.to_representation(instance)
            changed = {
                name: {"from": before[name], "to": after[name]}
                for name in serializer.validated_data
                if name in before and name in after and before[name] != after[name]
            }
            if changed:  # a write that changed nothing is not history
                self.record_activity("updated", instance, changes=changed)

    def perform_destroy(self, instance):
        with database_refusals_as_conflict(), transaction.atomic():
            # Recorded first: the target's id is gone once the row is deleted.
            self.record_activity("deleted", instance)
            self.destroy_object(instance)

    def create_object(self, serializer):
        return serializer.save(workspace=self.workspace)

    def update_object(self, serializer):
        return serializer.save()

    def destroy_object(self, instance) -> None:
        instance.delete()

    def record_activity(self, verb: str, instance, changes: dict | None = None) -> None:
        activity_record(
            workspace=self.workspace, actor=self.request.user, verb=verb, target=instance, changes=changes
        )


@contextmanager
def database_refusals_as_conflict():
    """What the database refuses after validation passed becomes a 409 with a reason."""
    try:
        yield
    except (ProtectedError, RestrictedError) as exc:
        blocking = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
        names = sorted({str(obj._meta.verbose_name_plural) for obj in blocking})
        raise Conflict(f"Cannot delete: still used by {', '.join(names) or 'other data'}.") from exc
    except IntegrityError as exc:
        log.warning("api write refused by the database: %s", exc)
        raise Conflict() from exc
