"""Who the API lets in: Bearer tokens of one workspace, and the browser's session (with CSRF)."""

import hashlib

from django.urls import reverse
from rest_framework.test import APIClient

from atlas.models import ApiToken, Membership, Role
from atlas.services import api_token_create
from journeys.models import Persona
from tests.api.conftest import api_url


def workspace_url(slug: str) -> str:
    return reverse("api:workspace-detail", kwargs={"workspace_slug": slug})


def test_bearer_token_authenticates_as_its_member(workspace, editor):
    _, raw = api_token_create(membership=editor, name="CI")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.get(workspace_url("acme"))

    assert response.status_code == 200
    assert response.json() == {
        "name": "Acme Bank",
        "slug": "acme",
        "membership": {"id": editor.pk, "role": "editor", "email": "editor@acme.test"},
    }


def test_only_the_sha256_of_a_token_is_stored(editor):
    token, raw = api_token_create(membership=editor, name="CI")

    stored = ApiToken.objects.values().get(pk=token.pk)
    assert stored["token_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert not any(raw in str(value) for value in stored.values())


def test_revoked_token_is_refused_with_401(editor, token_client_for):
    client, token = token_client_for(editor)
    token.revoke()

    response = client.get(workspace_url("acme"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_refused_with_401(workspace):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer ja_not-a-real-token")

    assert client.get(workspace_url("acme")).status_code == 401


def test_token_of_workspace_a_is_404_on_workspace_b(editor, other_workspace, token_client_for):
    client, _ = token_client_for(editor)

    assert client.get(workspace_url("rival")).status_code == 404
    assert client.get(api_url("journey", "rival")).status_code == 404


def test_token_of_workspace_a_is_404_on_b_even_if_its_user_is_a_member_of_b(
    editor, other_workspace, token_client_for
):
    Membership.objects.create(workspace=other_workspace, user=editor.user, role=Role.OWNER)
    client, _ = token_client_for(editor)

    assert client.get(api_url("persona", "rival")).status_code == 404


def test_anonymous_requests_to_data_endpoints_are_refused(workspace, owner):
    client = APIClient()

    for url in (workspace_url("acme"), api_url("journey", workspace), api_url("opportunity", workspace)):
        assert client.get(url).status_code == 401
        assert client.post(url, {}, format="json").status_code == 401


def test_session_authentication_works_for_the_browser(workspace, editor, client_for):
    client = client_for(editor)

    response = client.get(workspace_url("acme"))

    assert response.status_code == 200
    assert response.json()["membership"]["role"] == "editor"


def test_session_writes_need_the_csrf_token(workspace, editor):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(editor.user)
    url = api_url("persona", workspace)

    refused = client.post(url, {"name": "Student"}, format="json")
    assert refused.status_code == 403
    assert not Persona.objects.filter(name="Student").exists()

    client.get(url, HTTP_ACCEPT="text/html")  # the browsable API page sets the csrftoken cookie
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(url, {"name": "Student"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 201


def test_token_writes_need_no_csrf_token(workspace, editor):
    _, raw = api_token_create(membership=editor, name="CI")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.post(api_url("persona", workspace), {"name": "Student"}, format="json")

    assert response.status_code == 201
