"""Workspaces: creating one, its members and invitations, accepting an invitation, and each member's
personal API tokens. Every page under /w/<slug>/ goes through `workspace_view`; writes go through
atlas.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from atlas.models import ApiToken, Invitation, Membership, Role, Workspace
from atlas.services import (
    InvitationUnusable,
    api_token_issue,
    api_token_revoke,
    invitation_accept,
    invitation_create,
    invitation_revoke,
    membership_change_role,
    membership_remove,
    workspace_create,
)
from atlas.tenancy import get_scoped, scoped, workspace_view
from atlas.workspaces.forms import ApiTokenForm, InvitationForm, RoleForm, WorkspaceForm


@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = workspace_create(
            name=form.cleaned_data["name"], owner=request.user, slug=form.cleaned_data["slug"] or None
        )
        messages.success(request, f"{workspace.name} is ready. Invite your colleagues from Members.")
        return redirect("journeys:atlas", workspace.slug)
    return render(request, "workspaces/create.html", {"form": form})


# --- members and invitations ---------------------------------------------------------------------


def pending_invitations(workspace: Workspace):
    return (
        scoped(workspace, Invitation)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def _members_page(request: HttpRequest, invitation_form: InvitationForm | None = None) -> HttpResponse:
    workspace, membership = request.workspace, request.membership
    members = list(
        scoped(workspace, Membership).select_related("user").order_by("user__full_name", "user__email")
    )
    invitations = []
    if membership.can_admin:
        invitations = [
            (
                invitation,
                request.build_absolute_uri(reverse("workspaces:invitation", args=[invitation.token])),
            )
            for invitation in pending_invitations(workspace)
        ]
    for member in members:
        # Only an owner may change or remove an owner; one's own membership is left with "Leave".
        member.manageable = member.pk != membership.pk and (
            membership.role == Role.OWNER or (membership.can_admin and member.role != Role.OWNER)
        )
    if membership.role == Role.OWNER:
        role_choices = Role.choices
    else:
        role_choices = [choice for choice in Role.choices if choice[0] != Role.OWNER]
    return render(
        request,
        "workspaces/members.html",
        {
            "nav": "settings",
            "members": members,
            "owner_count": sum(1 for m in members if m.role == Role.OWNER),
            "role_choices": role_choices,
            "invitations": invitations,
            "invitation_form": invitation_form or InvitationForm(),
        },
    )


@workspace_view()
@require_safe
def members(request: HttpRequest) -> HttpResponse:
    """Who is in the workspace; admins also change roles, remove members and invite by link."""
    return _members_page(request)


@workspace_view(write=Role.ADMIN)
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = get_scoped(
        request.workspace, Membership.objects.select_related("user", "workspace"), pk=membership_id
    )
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
        return redirect("workspaces:members", request.workspace.slug)
    try:
        membership_change_role(membership=member, role=form.cleaned_data["role"], actor=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{member.display_name} is now {member.get_role_display().lower()}.")
    return redirect("workspaces:members", request.workspace.slug)


@workspace_view(write=Role.ADMIN)
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = get_scoped(
        request.workspace, Membership.objects.select_related("user", "workspace"), pk=membership_id
    )
    if member.pk == request.membership.pk:
        return _leave(request)
    try:
        membership_remove(membership=member, actor=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{member.display_name} was removed from {request.workspace.name}.")
    return redirect("workspaces:members", request.workspace.slug)


@workspace_view(write=Role.VIEWER)
@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    """Any member may leave, except the last owner."""
    return _leave(request)


def _leave(request: HttpRequest) -> HttpResponse:
    try:
        membership_remove(membership=request.membership, actor=request.membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("workspaces:members", request.workspace.slug)
    messages.success(request, f"You have left {request.workspace.name}.")
    return redirect("home")


@workspace_view(write=Role.ADMIN)
@require_POST
def invitation_new(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, invitation_form=form)
    invitation_create(
        workspace=request.workspace,
        role=form.cleaned_data["role"],
        email=form.cleaned_data["email"],
        invited_by=request.membership,
    )
    messages.success(request, "Invitation created. Copy its link below and send it to the person you invite.")
    return redirect(reverse("workspaces:members", args=[request.workspace.slug]) + "#invitations")


@workspace_view(write=Role.ADMIN)
@require_POST
def invitation_cancel(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = get_scoped(
        request.workspace, Invitation.objects.select_related("workspace"), pk=invitation_id
    )
    invitation_revoke(invitation=invitation, actor=request.membership)
    if invitation.accepted_at is not None:
        messages.error(request, "This invitation was already accepted; remove the member instead.")
    else:
        messages.success(request, "Invitation revoked: its link no longer works.")
    return redirect(reverse("workspaces:members", args=[request.workspace.slug]) + "#invitations")


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation link opens. The token itself is the capability, so this page is not
    under /w/<slug>/: it answers 404 for an unknown token and 410 for a used, revoked or expired one."""
    invitation = get_object_or_404(Invitation.objects.select_related("workspace", "invited_by"), token=token)
    context = {"invitation": invitation, "workspace_invited": invitation.workspace}
    if request.user.is_authenticated:
        existing = Membership.objects.filter(workspace=invitation.workspace, user=request.user).first()
        if existing is not None:
            return render(request, "workspaces/invitation.html", {**context, "state": "member"})
    if not invitation.is_usable:
        return render(request, "workspaces/invitation.html", {**context, "state": "unusable"}, status=410)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        return render(request, "workspaces/invitation.html", {**context, "state": "anonymous"})
    if request.method == "POST":
        try:
            invitation_accept(invitation=invitation, user=request.user)
        except InvitationUnusable:
            invitation.refresh_from_db()
            return render(request, "workspaces/invitation.html", {**context, "state": "unusable"}, status=410)
        except ValidationError:
            return render(request, "workspaces/invitation.html", {**context, "state": "member"})
        messages.success(request, f"Welcome to {invitation.workspace.name}.")
        return redirect("journeys:atlas", invitation.workspace.slug)
    return render(request, "workspaces/invitation.html", {**context, "state": "confirm"})


# --- API tokens ------------------------------------------------------------------------------------


def _tokens_page(
    request: HttpRequest, form: ApiTokenForm, created: ApiToken | None = None, raw: str = ""
) -> HttpResponse:
    workspace, membership = request.workspace, request.membership
    tokens = scoped(workspace, ApiToken)
    others = []
    if membership.can_admin:
        others = list(tokens.exclude(membership=membership).select_related("membership__user"))
    return render(
        request,
        "workspaces/tokens.html",
        {
            "nav": "settings",
            "form": form,
            "tokens": list(tokens.filter(membership=membership)),
            "others": others,
            "created": created,
            "raw_token": raw,
        },
    )


@workspace_view(read=Role.VIEWER, write=Role.VIEWER)
def tokens(request: HttpRequest) -> HttpResponse:
    """Each member's personal tokens for this workspace; admins see and may revoke everyone's.

    A new token is shown in the response to the POST that creates it and never again: it is not
    kept anywhere but as its hash."""
    if request.method != "POST":
        return _tokens_page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form)
    token, raw = api_token_issue(membership=request.membership, name=form.cleaned_data["name"])
    response = _tokens_page(request, ApiTokenForm(), created=token, raw=raw)
    response["Cache-Control"] = "no-store"
    return response


@workspace_view(write=Role.VIEWER)
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    tokens = scoped(request.workspace, ApiToken)
    if not request.membership.can_admin:
        # Another member's token is not visible to a non-admin, so it does not exist for them.
        tokens = tokens.filter(membership=request.membership)
    token = get_scoped(request.workspace, tokens, pk=token_id)
    api_token_revoke(token=token, actor=request.membership)
    messages.success(request, f"Token “{token.name}” revoked. Clients using it are refused from now on.")
    return redirect("workspaces:tokens", request.workspace.slug)
