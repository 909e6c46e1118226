"""`manage.py create_api_token`: prints a working token as the last line of stdout."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from atlas.models import Activity, ApiToken, hash_token


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_a_token_that_authenticates_as_the_member(workspace, editor):
    out, err = run("--workspace", "acme", "--email", "EDITOR@acme.test", "--name", "CI pipeline")

    raw = out.strip().splitlines()[-1]
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert (token.membership, token.name) == (editor, "CI pipeline")
    assert "shown again" in err
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/workspaces/acme/").json()["membership"]["email"] == "editor@acme.test"
    assert Activity.objects.filter(verb="created", target_type="apitoken", target_id=token.pk).exists()


def test_token_gets_a_default_name(workspace, editor):
    run("--workspace", "acme", "--email", "editor@acme.test")

    assert ApiToken.objects.get().name == "Command-line token"


@pytest.mark.parametrize(
    ("workspace_slug", "email", "message"),
    [
        ("nope", "editor@acme.test", "No workspace"),
        ("acme", "nobody@acme.test", "No user"),
        ("acme", "owner@rival.test", "not a member"),
    ],
)
def test_refuses_unknown_workspace_unknown_user_and_non_member(
    workspace_slug, email, message, workspace, editor, outsider
):
    with pytest.raises(CommandError, match=message):
        run("--workspace", workspace_slug, "--email", email)

    assert not ApiToken.objects.exists()


def test_refuses_a_deactivated_user(workspace, editor):
    editor.user.is_active = False
    editor.user.save()

    with pytest.raises(CommandError, match="deactivated"):
        run("--workspace", "acme", "--email", "editor@acme.test")
