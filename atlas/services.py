"""Writes across tenancy models: workspaces, memberships, invitations, API tokens, activity."""

from django.db import transaction
from django.utils.text import slugify

from atlas.models import Activity, ApiToken, Membership, Role, User, Workspace


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
