"""The API tokens page: every member manages their own tokens; admins see and revoke everyone's."""

import logging

import pytest

from atlas.models import Activity, ApiToken, Role, hash_token
from atlas.services import api_token_create
from tests.conftest import make_member

TOKENS = "/w/acme/settings/tokens/"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def revoke_url(token) -> str:
    return f"{TOKENS}{token.pk}/revoke/"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin_member", "editor", "viewer"])
def test_every_member_sees_the_tokens_page_with_an_empty_state(
    client_for, owner, admin_member, editor, viewer, role
):
    member = {"owner": owner, "admin_member": admin_member, "editor": editor, "viewer": viewer}[role]
    response = client_for(member).get(TOKENS)
    html = response.content.decode()
    assert response.status_code == 200
    assert "You have no tokens for Acme Bank yet." in html
    assert 'for="id_name"' in html


@pytest.mark.django_db
def test_creating_a_token_shows_it_once_and_stores_only_its_hash(client_for, editor, caplog):
    client = client_for(editor)
    with caplog.at_level(logging.INFO, logger="atlas.security"):
        response = client.post(TOKENS, {"name": "KPI import"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = response.context["raw_token"]
    assert raw.startswith("ja_")
    html = response.content.decode()
    assert raw in html
    assert "Copy it now: it won't be shown again." in html

    token = ApiToken.objects.get()
    assert token.membership == editor
    assert token.workspace == editor.workspace
    assert token.name == "KPI import"
    assert token.token_hash == hash_token(raw)
    assert token.token_prefix == raw[:10]
    stored = [str(value) for value in ApiToken.objects.values_list().get()]
    assert raw not in stored
    assert Activity.objects.filter(verb="created", target_type="apitoken", target_id=token.pk).exists()
    assert not any(raw in r.getMessage() for r in caplog.records)

    # Never again: not on the next page, not in the session.
    assert raw not in client.get(TOKENS).content.decode()
    assert raw not in str(dict(client.session))
    assert f"{token.token_prefix}…" in client.get(TOKENS).content.decode()


@pytest.mark.django_db
def test_viewer_may_create_a_personal_token(client_for, viewer):
    client_for(viewer).post(TOKENS, {"name": "read-only export"})
    assert ApiToken.objects.get().membership == viewer


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_bad_token_name_is_a_field_error_and_creates_nothing(client_for, editor, name):
    response = client_for(editor).post(TOKENS, {"name": name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert response.context["raw_token"] == ""
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_member_revokes_their_own_token(client_for, editor, caplog):
    token, _ = api_token_create(membership=editor, name="ci")
    client = client_for(editor)
    with caplog.at_level(logging.INFO, logger="atlas.security"):
        response = client.post(revoke_url(token))
    assert response.status_code == 302
    assert response.url == TOKENS
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not ApiToken.objects.active().exists()
    assert Activity.objects.filter(verb="revoked", target_id=token.pk, actor=editor.user).exists()
    assert any(r.message.startswith("api token revoked") for r in caplog.records)
    html = client.get(TOKENS).content.decode()
    assert "Revoked" in html
    assert revoke_url(token) not in html


@pytest.mark.django_db
def test_revoke_needs_post(client_for, editor):
    token, _ = api_token_create(membership=editor, name="ci")
    assert client_for(editor).get(revoke_url(token)).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_editor_sees_only_their_own_tokens(client_for, editor, viewer, admin_member):
    api_token_create(membership=editor, name="editor-token")
    api_token_create(membership=viewer, name="viewer-token")
    api_token_create(membership=admin_member, name="admin-token")
    response = client_for(editor).get(TOKENS)
    html = response.content.decode()
    assert "editor-token" in html
    assert "viewer-token" not in html
    assert "admin-token" not in html
    assert "Other members' tokens" not in html


@pytest.mark.django_db
def test_editor_cannot_revoke_another_members_token(client_for, editor, viewer):
    token, _ = api_token_create(membership=viewer, name="viewer-token")
    assert client_for(editor).post(revoke_url(token)).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_admin_sees_every_token_of_the_workspace(client_for, admin_member, editor, viewer, outsider):
    api_token_create(membership=admin_member, name="admin-token")
    api_token_create(membership=editor, name="editor-token")
    api_token_create(membership=viewer, name="viewer-token")
    api_token_create(membership=outsider, name="rival-token")
    response = client_for(admin_member).get(TOKENS)
    html = response.content.decode()
    assert [t.name for t in response.context["tokens"]] == ["admin-token"]
    assert {t.name for t in response.context["others"]} == {"editor-token", "viewer-token"}
    assert "Edith Editor" in html and "Victor Viewer" in html
    assert "rival-token" not in html


@pytest.mark.django_db
def test_admin_revokes_another_members_token(client_for, admin_member, editor):
    token, _ = api_token_create(membership=editor, name="editor-token")
    client_for(admin_member).post(revoke_url(token))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Activity.objects.get(verb="revoked").actor == admin_member.user


@pytest.mark.django_db
def test_admin_cannot_revoke_another_workspaces_token(client_for, owner, outsider):
    token, _ = api_token_create(membership=outsider, name="rival-token")
    assert client_for(owner).post(revoke_url(token)).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_outsider_gets_404_on_the_tokens_page(client_for, outsider, workspace):
    client = client_for(outsider)
    assert client.get(TOKENS).status_code == 404
    assert client.post(TOKENS, {"name": "sneaky"}).status_code == 404
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_tokens_list_query_count_does_not_grow_with_tokens(
    client_for, owner, workspace, django_assert_num_queries
):
    client = client_for(owner)
    other = make_member(workspace, "member0@acme.test", Role.EDITOR)
    api_token_create(membership=owner, name="own-0")
    api_token_create(membership=other, name="other-0")
    # session, user, membership (tenancy), own tokens, others' tokens, the switcher's memberships.
    with django_assert_num_queries(6):
        assert client.get(TOKENS).status_code == 200

    for n in range(1, 30):
        other = make_member(workspace, f"member{n}@acme.test", Role.EDITOR)
        api_token_create(membership=other, name=f"other-{n}")
        api_token_create(membership=owner, name=f"own-{n}")
    with django_assert_num_queries(6):
        response = client.get(TOKENS)
    assert len(response.context["tokens"]) == 30
    assert len(response.context["others"]) == 30
