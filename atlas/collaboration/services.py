"""Writes of comments: create, edit and delete, with their @mentions, mention e-mails and activity.

Who may do what: editors, admins and owners comment (viewers read only, as everywhere); the author
edits their own comment; the author or an admin deletes it. Members mentioned in a new comment (or
newly mentioned by an edit) get one e-mail each, sent once the transaction has committed, never to the
author and never to anyone outside the workspace."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from atlas.collaboration.mentions import mentioned
from atlas.collaboration.selectors import workspace_members
from atlas.collaboration.targets import comment_target, kind_of
from atlas.models import Comment, Membership, Workspace
from atlas.services import activity_record

log = logging.getLogger(__name__)

MAX_BODY_LENGTH = 10_000
EXCERPT_LENGTH = 140


def may_comment(member: Membership) -> bool:
    return member.can_edit


def may_edit(member: Membership, comment: Comment) -> bool:
    return member.can_edit and comment.author_id == member.pk


def may_delete(member: Membership, comment: Comment) -> bool:
    return member.can_edit and (comment.author_id == member.pk or member.can_admin)


def comment_version(comment: Comment) -> str:
    """What an edit form was loaded from: an edit based on an older version is refused."""
    return comment.edited_at.isoformat() if comment.edited_at else "original"


def clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."}, code="required")
    if len(body) > MAX_BODY_LENGTH:
        raise ValidationError(
            {"body": f"Keep a comment under {MAX_BODY_LENGTH:,} characters (this one has {len(body):,})."},
            code="max_length",
        )
    return body


def excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT_LENGTH else flat[: EXCERPT_LENGTH - 1] + "…"


@transaction.atomic
def comment_create(*, workspace: Workspace, author: Membership, target: Model, body: str) -> Comment:
    """A comment by `author` on a journey, step, insight or opportunity of `workspace`."""
    kind = kind_of(target)
    if author.workspace_id != workspace.pk or target.workspace_id != workspace.pk:
        raise PermissionDenied("Comments stay inside their workspace.")
    if not may_comment(author):
        raise PermissionDenied("Viewers can read comments but not write them.")
    body = clean_body(body)
    comment = Comment.objects.create(workspace=workspace, author=author, body=body, **{kind: target})
    mentions = _mentioned_members(workspace, body)
    comment.mentions.set(mentions)
    activity_record(
        workspace=workspace,
        actor=author.user,
        verb="commented",
        target=target,
        changes={"comment": excerpt(body)},
    )
    _notify_on_commit(comment=comment, kind=kind, target=target, author=author, members=mentions)
    return comment


@transaction.atomic
def comment_edit(*, comment: Comment, actor: Membership, body: str, version: str | None = None) -> Comment:
    """The author's new text. `version` (from `comment_version`) refuses an edit made on top of a newer
    one, so two windows cannot silently overwrite each other. Members newly mentioned get an e-mail."""
    comment = (
        Comment.objects.select_for_update(of=("self",)).select_related("author__user").get(pk=comment.pk)
    )
    if comment.workspace_id != actor.workspace_id or not may_edit(actor, comment):
        raise PermissionDenied("Only its author can edit a comment.")
    if version is not None and version != comment_version(comment):
        raise ValidationError(
            "This comment was changed in another window since you opened it; it now reads "
            f"“{excerpt(comment.body)}”. Save again to replace that with your text below.",
            code="conflict",
        )
    body = clean_body(body)
    if body == comment.body:
        return comment
    old_body = comment.body
    already = set(comment.mentions.values_list("pk", flat=True))
    comment.body = body
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    mentions = _mentioned_members(comment.workspace, body)
    comment.mentions.set(mentions)
    kind, target = comment_target(comment)
    activity_record(
        workspace=comment.workspace,
        actor=actor.user,
        verb="comment_edited",
        target=target,
        changes={"comment": [excerpt(old_body), excerpt(body)]},
    )
    _notify_on_commit(
        comment=comment,
        kind=kind,
        target=target,
        author=actor,
        members=[m for m in mentions if m.pk not in already],
    )
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, actor: Membership) -> None:
    """Delete a comment: its author may, and so may an admin (moderation)."""
    if comment.workspace_id != actor.workspace_id or not may_delete(actor, comment):
        raise PermissionDenied("Only its author or an admin can delete a comment.")
    _, target = comment_target(comment)
    own = comment.author_id == actor.pk
    author_name = comment.author.display_name if comment.author else "a former member"
    activity_record(
        workspace=actor.workspace,
        actor=actor.user,
        verb="comment_deleted",
        target=target,
        changes={} if own else {"author": author_name},
    )
    comment.delete()


def _mentioned_members(workspace: Workspace, body: str) -> list[Membership]:
    members = workspace_members(workspace)
    return [members.by_id[pk] for pk in mentioned(body, members.directory)]


def _notify_on_commit(
    *, comment: Comment, kind: str, target: Model, author: Membership, members: list[Membership]
) -> None:
    """One e-mail per mentioned member (never the author), sent after the commit: a rolled-back comment
    notifies nobody."""
    recipients = [m for m in members if m.pk != author.pk and m.user.is_active]
    if not recipients:
        return
    workspace = comment.workspace
    path = reverse("collaboration:thread", kwargs={"slug": workspace.slug, f"{kind}_id": target.pk})
    context = {
        "author": author.display_name,
        "kind": kind,
        "target": str(target),
        "workspace": workspace.name,
        "body": comment.body,
        "url": f"{settings.SITE_URL.rstrip('/')}{path}#comment-{comment.pk}",
    }
    subject = " ".join(f'{author.display_name} mentioned you on {kind} "{target}"'.split())
    text = render_to_string("collaboration/mention_email.txt", context)
    messages = [EmailMessage(subject, text, None, [member.user.email]) for member in recipients]
    transaction.on_commit(lambda: _send(messages, comment.pk))


def _send(messages: list[EmailMessage], comment_id: int) -> None:
    """The comment is saved whatever the mail server says; a failure is logged, not raised."""
    try:
        mailers.default.send_messages(messages)
    except Exception:
        log.exception("mention e-mails for comment %s could not be sent", comment_id)
