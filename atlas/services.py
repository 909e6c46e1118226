"""Writes across tenancy models: workspaces, memberships, invitations, API tokens, activity."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from atlas.models import Activity, ApiToken, Invitation, Membership, Role, User, Workspace

security_log = logging.getLogger("atlas.security")


def unique_workspace_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner: User, slug: str | None = None) -> Workspace:
    """A new workspace owned by `owner`."""
    workspace = Workspace.objects.create(name=name, slug=slug or unique_workspace_slug(name))
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    activity_record(workspace=workspace, actor=owner, verb="created", target=workspace)
    return workspace


def api_token_create(*, membership: Membership, name: str) -> tuple[ApiToken, str]:
    """A new personal token for this member; returns the token row and the raw token (shown once)."""
    raw, token_hash, prefix = ApiToken.generate()
    token = ApiToken.objects.create(
        workspace_id=membership.workspace_id,
        membership=membership,
        name=name,
        token_hash=token_hash,
        token_prefix=prefix,
    )
    return token, raw


def activity_record(
    *, workspace: Workspace, actor: User | None, verb: str, target, changes: dict | None = None
) -> Activity:
    """Record who changed what. `target` is any model instance (its type, id and label are kept)."""
    return Activity.objects.create(
        workspace=workspace,
        actor=actor if actor is not None and actor.is_authenticated else None,
        verb=verb,
        target_type=target._meta.model_name,
        target_id=target.pk,
        target_label=str(target)[:200],
        changes=changes or {},
    )


# --- accounts, members, invitations and tokens ---------------------------------------------------


@transaction.atomic
def user_signup(
    *, email: str, full_name: str, password: str, workspace_name: str = ""
) -> tuple[User, Workspace | None]:
    """A new account; with a workspace name, also a workspace the new user owns."""
    user = User.objects.create_user(email=email, password=password, full_name=full_name)
    workspace = workspace_create(name=workspace_name, owner=user) if workspace_name else None
    return user, workspace


def _lock_workspace(workspace: Workspace) -> None:
    """Serialise membership changes of one workspace, so two concurrent changes cannot both remove
    "the other" owner and leave the workspace with none."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()


def _other_owners(membership: Membership) -> int:
    return (
        Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )


def _check_owner_rules(*, membership: Membership, actor: Membership, new_role: str | None) -> None:
    """Only an owner may grant or take away the owner role; a workspace always keeps one owner.

    `new_role` None means the membership is being removed."""
    touches_owner = membership.role == Role.OWNER or new_role == Role.OWNER
    if touches_owner and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner may grant or take away the owner role.")
    if membership.role == Role.OWNER and new_role != Role.OWNER and _other_owners(membership) == 0:
        who = "You are" if membership.pk == actor.pk else f"{membership.display_name} is"
        raise ValidationError(
            f"{who} the last owner of {membership.workspace.name}. Make someone else an owner first.",
            code="last_owner",
        )


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Membership) -> Membership:
    """Give a member another role. `actor` must be an admin or owner of the same workspace."""
    if membership.workspace_id != actor.workspace_id or not actor.can(Role.ADMIN):
        raise PermissionDenied("Only admins may change roles.")
    if role not in Role.values:
        raise ValidationError("Choose a valid role.", code="invalid_role")
    _lock_workspace(membership.workspace)
    membership.refresh_from_db(fields=["role"])
    if membership.role == role:
        return membership
    _check_owner_rules(membership=membership, actor=actor, new_role=role)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    activity_record(
        workspace=membership.workspace,
        actor=actor.user,
        verb="role_changed",
        target=membership,
        changes={"role": [old, role]},
    )
    security_log.info(
        "role changed: membership=%s workspace=%s %s->%s by user=%s",
        membership.pk,
        membership.workspace_id,
        old,
        role,
        actor.user_id,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> None:
    """Remove a member (an admin removing someone) or leave (a member removing themselves).

    Their personal API tokens go with the membership."""
    leaving = membership.pk == actor.pk
    if membership.workspace_id != actor.workspace_id or not (leaving or actor.can(Role.ADMIN)):
        raise PermissionDenied("Only admins may remove members.")
    _lock_workspace(membership.workspace)
    membership.refresh_from_db(fields=["role"])
    _check_owner_rules(membership=membership, actor=actor, new_role=None)
    activity_record(
        workspace=membership.workspace,
        actor=actor.user,
        verb="left" if leaving else "removed",
        target=membership,
        changes={"user": membership.user.email, "role": membership.role},
    )
    security_log.info(
        "membership %s: membership=%s workspace=%s user=%s by user=%s",
        "left" if leaving else "removed",
        membership.pk,
        membership.workspace_id,
        membership.user_id,
        actor.user_id,
    )
    membership.delete()


def invitation_create(
    *, workspace: Workspace, role: str, email: str = "", invited_by: Membership
) -> Invitation:
    """An invitation link to join `workspace` with `role` (never owner)."""
    if role not in (Role.ADMIN, Role.EDITOR, Role.VIEWER):
        raise ValidationError("Invitations are for the admin, editor or viewer role.", code="invalid_role")
    if invited_by.workspace_id != workspace.pk or not invited_by.can(Role.ADMIN):
        raise PermissionDenied("Only admins may invite.")
    with transaction.atomic():
        invitation = Invitation.objects.create(
            workspace=workspace, role=role, email=email.strip().lower(), invited_by=invited_by.user
        )
        activity_record(
            workspace=workspace,
            actor=invited_by.user,
            verb="invited",
            target=invitation,
            changes={"role": role, "email": invitation.email},
        )
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Membership) -> Invitation:
    if invitation.workspace_id != actor.workspace_id or not actor.can(Role.ADMIN):
        raise PermissionDenied("Only admins may revoke invitations.")
    if invitation.revoked_at is None and invitation.accepted_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        activity_record(workspace=invitation.workspace, actor=actor.user, verb="revoked", target=invitation)
    return invitation


class InvitationUnusable(Exception):
    """The invitation was accepted, revoked or has expired."""


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the invitation's workspace with its role. Each invitation can be used once.

    Raises InvitationUnusable, or ValidationError when the user is already a member."""
    invitation = Invitation.objects.select_for_update().select_related("workspace").get(pk=invitation.pk)
    if not invitation.is_usable:
        raise InvitationUnusable
    if Membership.objects.filter(workspace_id=invitation.workspace_id, user=user).exists():
        raise ValidationError(f"You are already a member of {invitation.workspace.name}.", code="member")
    membership = Membership.objects.create(workspace=invitation.workspace, user=user, role=invitation.role)
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_by", "accepted_at"])
    activity_record(
        workspace=invitation.workspace,
        actor=user,
        verb="joined",
        target=membership,
        changes={"role": invitation.role, "invitation": invitation.pk},
    )
    security_log.info(
        "invitation accepted: invitation=%s workspace=%s user=%s role=%s",
        invitation.pk,
        invitation.workspace_id,
        user.pk,
        invitation.role,
    )
    return membership


@transaction.atomic
def api_token_issue(*, membership: Membership, name: str) -> tuple[ApiToken, str]:
    """A member creates a personal token for themselves: the token, recorded in the history."""
    token, raw = api_token_create(membership=membership, name=name)
    activity_record(workspace=membership.workspace, actor=membership.user, verb="created", target=token)
    security_log.info(
        "api token created: token=%s prefix=%s membership=%s", token.pk, token.token_prefix, membership.pk
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Membership) -> ApiToken:
    """Revoke a token: its own member may, and so may an admin of the workspace."""
    own = token.membership_id == actor.pk
    if token.workspace_id != actor.workspace_id or not (own or actor.can(Role.ADMIN)):
        raise PermissionDenied("Only the token's member or an admin may revoke it.")
    if token.revoked_at is None:
        token.revoke()
        activity_record(workspace=actor.workspace, actor=actor.user, verb="revoked", target=token)
        security_log.info("api token revoked: token=%s by user=%s", token.pk, actor.user_id)
    return token
