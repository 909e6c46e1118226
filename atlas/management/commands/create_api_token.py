"""`manage.py create_api_token --workspace acme --email ada@acme.test [--name "CI"]`

Prints the new token as the last line of stdout (the explanation goes to stderr), so a script can
capture it: TOKEN=$(python manage.py create_api_token --workspace acme --email ada@acme.test)."""

import logging

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from atlas.models import Membership, User, Workspace
from atlas.services import activity_record, api_token_create

security_log = logging.getLogger("atlas.security")


class Command(BaseCommand):
    help = "Create a personal API token for a member of a workspace and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Slug of the workspace.")
        parser.add_argument("--email", required=True, help="Email address of the member.")
        parser.add_argument("--name", default="Command-line token", help="A name to recognise the token by.")

    def handle(self, *args, workspace: str, email: str, name: str, **options):
        try:
            workspace_obj = Workspace.objects.get(slug=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"No workspace with the slug {workspace!r}.") from None
        try:
            user = User.objects.get(email__iexact=email.strip())
        except User.DoesNotExist:
            raise CommandError(f"No user with the email address {email!r}.") from None
        try:
            membership = Membership.objects.select_related("workspace", "user").get(
                workspace=workspace_obj, user=user
            )
        except Membership.DoesNotExist:
            raise CommandError(f"{user.email} is not a member of {workspace_obj.slug!r}.") from None
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; a token of theirs would not authenticate.")
        with transaction.atomic():
            token, raw = api_token_create(membership=membership, name=name)
            # No actor: the command is run by whoever operates the server, not by a member.
            activity_record(workspace=workspace_obj, actor=None, verb="created", target=token)
        security_log.info(
            "api token created from the command line: token=%s prefix=%s membership=%s",
            token.pk,
            token.token_prefix,
            membership.pk,
        )
        self.stderr.write(
            f"Created token {token.name!r} ({token.token_prefix}…) for {user.email} as {membership.role} "
            f"in {workspace_obj.slug!r}. Store it now: it cannot be shown again."
        )
        self.stdout.write(raw)
