"""The one tenancy mechanism for HTML views.

The workspace always comes from the URL (`/w/<slug>/…`). `workspace_view` resolves it through the
requesting user's membership: a non-member gets 404 (never 403, never the data), a member whose role
is too low for the request gets 403. Objects are then fetched with `get_scoped`, which puts the
workspace in the query. Access-control failures are logged to `atlas.security`."""

import functools
import logging
from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from atlas.models import Membership, Role, Workspace

security_log = logging.getLogger("atlas.security")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def membership_for(user, slug: str) -> Membership:
    """The user's membership of the workspace with this slug, or 404."""
    if not user.is_authenticated:
        raise Http404("No such workspace.")
    try:
        return Membership.objects.select_related("workspace", "user").get(workspace__slug=slug, user=user)
    except Membership.DoesNotExist:
        security_log.warning("workspace access refused: user=%s slug=%s (not a member)", user.pk, slug)
        raise Http404("No such workspace.") from None


def require_role(membership: Membership, minimum: str, request: HttpRequest | None = None) -> None:
    if not membership.can(minimum):
        security_log.warning(
            "permission refused: user=%s workspace=%s role=%s needs=%s path=%s",
            membership.user_id,
            membership.workspace_id,
            membership.role,
            minimum,
            request.path if request else "-",
        )
        raise PermissionDenied(f"This needs the {Role(minimum).label.lower()} role or higher.")


def workspace_view(read: str = Role.VIEWER, write: str = Role.EDITOR) -> Callable:
    """Decorate a view taking `slug`: sets request.workspace and request.membership.

    Safe methods need the `read` role, every other method the `write` role."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for(request.user, slug)
            require_role(membership, read if request.method in SAFE_METHODS else write, request)
            request.membership = membership
            request.workspace = membership.workspace
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def scoped(workspace: Workspace, model_or_queryset: type[Model] | QuerySet) -> QuerySet:
    qs = model_or_queryset if isinstance(model_or_queryset, QuerySet) else model_or_queryset.objects.all()
    return qs.filter(workspace=workspace)


def get_scoped(workspace: Workspace, model_or_queryset: type[Model] | QuerySet, **lookup) -> Model:
    """One object of this workspace, or 404 (whether it does not exist or belongs to another workspace)."""
    qs = scoped(workspace, model_or_queryset)
    try:
        return qs.get(**lookup)
    except qs.model.DoesNotExist:
        raise Http404(f"No such {qs.model._meta.verbose_name}.") from None
