"""Checks every journeys service makes before it writes (the views check too; a task or a script that
calls a service directly is held to the same rules)."""

from django.core.exceptions import ValidationError
from django.db.models import Model

from atlas.models import Membership, Role


def check_editor(workspace_id: int, actor: Membership) -> None:
    """The actor is an editor (or above) of this workspace."""
    if actor.workspace_id != workspace_id or not actor.can(Role.EDITOR):
        raise ValidationError("Only editors of this workspace may change it.", code="forbidden")


def check_same_workspace(workspace_id: int, *rows: Model | None) -> None:
    """Every row given (None is allowed) belongs to this workspace."""
    if any(row is not None and row.workspace_id != workspace_id for row in rows):
        raise ValidationError("That belongs to another workspace.", code="other_workspace")
