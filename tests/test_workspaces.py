"""New workspaces, members (roles, removal, leaving), invitations by link and accepting them."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from atlas.models import Activity, ApiToken, Invitation, Membership, Role, Workspace
from atlas.services import api_token_create
from tests.conftest import PASSWORD, make_member


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


MEMBERS = "/w/acme/settings/members/"


def role_url(membership) -> str:
    return f"{MEMBERS}{membership.pk}/role/"


def remove_url(membership) -> str:
    return f"{MEMBERS}{membership.pk}/remove/"


def invitation_for(workspace, inviter, **fields) -> Invitation:
    return Invitation.objects.create(workspace=workspace, invited_by=inviter.user, **fields)


# --- new workspace ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_new_workspace_needs_login(client):
    response = client.get("/workspaces/new/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/workspaces/new/"


@pytest.mark.django_db
def test_new_workspace_gets_an_automatic_slug_and_its_creator_as_owner(client_for, outsider):
    client = client_for(outsider)
    assert client.get("/workspaces/new/").status_code == 200
    response = client.post("/workspaces/new/", {"name": "Rival Bank", "slug": ""})
    workspace = Workspace.objects.get(name="Rival Bank", slug="rival-bank")
    assert response.url == "/w/rival-bank/"
    assert Membership.objects.get(workspace=workspace, user=outsider.user).role == Role.OWNER
    assert Activity.objects.filter(workspace=workspace, verb="created").exists()


@pytest.mark.django_db
def test_new_workspace_with_a_chosen_slug(client_for, outsider):
    response = client_for(outsider).post("/workspaces/new/", {"name": "Labs", "slug": "rival-labs"})
    assert response.url == "/w/rival-labs/"
    assert Workspace.objects.filter(slug="rival-labs", name="Labs").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "Copy", "slug": "acme"}, "slug"),
        ({"name": "Copy", "slug": "not a slug!"}, "slug"),
        ({"name": "", "slug": ""}, "name"),
    ],
)
def test_new_workspace_bad_input_is_a_field_error_and_saves_nothing(client_for, owner, data, field):
    response = client_for(owner).post("/workspaces/new/", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Workspace.objects.count() == 1


# --- tenancy of every /w/acme/ page ------------------------------------------------------------------


def acme_urls(owner, editor) -> list[tuple[str, str]]:
    invitation = invitation_for(owner.workspace, owner, role=Role.VIEWER)
    token, _ = api_token_create(membership=editor, name="ci")
    return [
        ("get", MEMBERS),
        ("post", role_url(editor)),
        ("post", remove_url(editor)),
        ("post", f"{MEMBERS}leave/"),
        ("post", "/w/acme/settings/invitations/"),
        ("post", f"/w/acme/settings/invitations/{invitation.pk}/revoke/"),
        ("get", "/w/acme/settings/tokens/"),
        ("post", "/w/acme/settings/tokens/"),
        ("post", f"/w/acme/settings/tokens/{token.pk}/revoke/"),
    ]


@pytest.mark.django_db
def test_outsider_gets_404_on_every_acme_settings_page(client_for, owner, editor, outsider):
    client = client_for(outsider)
    for method, url in acme_urls(owner, editor):
        response = getattr(client, method)(url, {"role": Role.OWNER, "name": "x"})
        assert response.status_code == 404, (method, url)
    assert Membership.objects.filter(pk=editor.pk, role=Role.EDITOR).exists()
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.django_db
def test_anonymous_visitor_is_sent_to_login_from_every_acme_settings_page(client, owner, editor):
    for method, url in acme_urls(owner, editor):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response.url.startswith("/accounts/login/?next=")


# --- members list ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin_member", "editor", "viewer"])
def test_every_member_sees_the_members_list(client_for, owner, admin_member, editor, viewer, role):
    member = {"owner": owner, "admin_member": admin_member, "editor": editor, "viewer": viewer}[role]
    response = client_for(member).get(MEMBERS)
    html = response.content.decode()
    assert response.status_code == 200
    for m in (owner, admin_member, editor, viewer):
        assert m.user.full_name in html
        assert m.user.email in html
    assert "Victor Viewer" in html and "Viewer" in html


@pytest.mark.django_db
def test_viewer_sees_no_management_controls(client_for, owner, viewer):
    invitation_for(owner.workspace, owner, role=Role.EDITOR)
    html = client_for(viewer).get(MEMBERS).content.decode()
    assert "/role/" not in html
    assert "/remove/" not in html
    assert "Invite by link" not in html
    assert "/invitations/" not in html  # invitation links are for admins only
    assert "Leave workspace" in html


@pytest.mark.django_db
def test_admin_sees_controls_but_not_for_owners(client_for, owner, admin_member, editor):
    html = client_for(admin_member).get(MEMBERS).content.decode()
    assert role_url(editor) in html
    assert remove_url(editor) in html
    assert role_url(owner) not in html
    assert remove_url(owner) not in html
    assert '<option value="owner"' not in html


@pytest.mark.django_db
def test_members_list_query_count_does_not_grow_with_members(
    client_for, owner, workspace, django_assert_num_queries
):
    client = client_for(owner)
    make_member(workspace, "second@acme.test", Role.EDITOR)
    invitation_for(workspace, owner, role=Role.VIEWER)
    # session, user, membership (tenancy), members, pending invitations, the switcher's memberships.
    with django_assert_num_queries(6):
        assert client.get(MEMBERS).status_code == 200

    for n in range(28):
        make_member(workspace, f"member{n}@acme.test", Role.VIEWER)
        invitation_for(workspace, owner, role=Role.VIEWER)
    with django_assert_num_queries(6):
        response = client.get(MEMBERS)
    assert len(response.context["members"]) == 30


# --- changing roles --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_changes_an_editors_role(client_for, admin_member, editor):
    response = client_for(admin_member).post(role_url(editor), {"role": Role.VIEWER})
    assert response.status_code == 302
    assert response.url == MEMBERS
    editor.refresh_from_db()
    assert editor.role == Role.VIEWER
    activity = Activity.objects.get(verb="role_changed")
    assert activity.target_id == editor.pk
    assert activity.actor == admin_member.user
    assert activity.changes == {"role": ["editor", "viewer"]}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editor_and_viewer_cannot_change_roles(client_for, editor, viewer, role):
    member, target = (editor, viewer) if role == "editor" else (viewer, editor)
    response = client_for(member).post(role_url(target), {"role": Role.ADMIN})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.role != Role.ADMIN


@pytest.mark.django_db
def test_admin_cannot_grant_the_owner_role(client_for, admin_member, editor):
    response = client_for(admin_member).post(role_url(editor), {"role": Role.OWNER})
    assert response.status_code == 403
    editor.refresh_from_db()
    assert editor.role == Role.EDITOR


@pytest.mark.django_db
def test_admin_cannot_demote_an_owner(client_for, owner, admin_member):
    make_member(owner.workspace, "owner2@acme.test", Role.OWNER)
    response = client_for(admin_member).post(role_url(owner), {"role": Role.VIEWER})
    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


@pytest.mark.django_db
def test_owner_grants_and_takes_away_the_owner_role(client_for, owner, admin_member):
    client = client_for(owner)
    client.post(role_url(admin_member), {"role": Role.OWNER})
    admin_member.refresh_from_db()
    assert admin_member.role == Role.OWNER
    client.post(role_url(admin_member), {"role": Role.ADMIN})
    admin_member.refresh_from_db()
    assert admin_member.role == Role.ADMIN


@pytest.mark.django_db
def test_last_owner_cannot_be_demoted(client_for, owner):
    response = client_for(owner).post(role_url(owner), {"role": Role.ADMIN}, follow=True)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    assert "the last owner of Acme Bank" in response.content.decode()
    assert not Activity.objects.filter(verb="role_changed").exists()


@pytest.mark.django_db
def test_an_owner_may_step_down_while_another_owner_remains(client_for, owner):
    make_member(owner.workspace, "owner2@acme.test", Role.OWNER)
    client_for(owner).post(role_url(owner), {"role": Role.ADMIN})
    owner.refresh_from_db()
    assert owner.role == Role.ADMIN


@pytest.mark.django_db
def test_invalid_role_changes_nothing(client_for, owner, editor):
    response = client_for(owner).post(role_url(editor), {"role": "superuser"}, follow=True)
    editor.refresh_from_db()
    assert editor.role == Role.EDITOR
    assert "Choose a valid role." in response.content.decode()


@pytest.mark.django_db
def test_admin_cannot_touch_a_membership_of_another_workspace(client_for, admin_member, outsider):
    response = client_for(admin_member).post(role_url(outsider), {"role": Role.VIEWER})
    assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.role == Role.OWNER


# --- removing and leaving --------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_removes_an_editor_and_their_tokens(client_for, admin_member, editor):
    api_token_create(membership=editor, name="ci")
    response = client_for(admin_member).post(remove_url(editor))
    assert response.url == MEMBERS
    assert not Membership.objects.filter(pk=editor.pk).exists()
    assert not ApiToken.objects.exists()
    activity = Activity.objects.get(verb="removed")
    assert activity.target_id == editor.pk
    assert activity.changes["user"] == "editor@acme.test"


@pytest.mark.django_db
def test_viewer_cannot_remove_members(client_for, viewer, editor):
    assert client_for(viewer).post(remove_url(editor)).status_code == 403
    assert Membership.objects.filter(pk=editor.pk).exists()


@pytest.mark.django_db
def test_admin_cannot_remove_an_owner(client_for, owner, admin_member):
    assert client_for(admin_member).post(remove_url(owner)).status_code == 403
    assert Membership.objects.filter(pk=owner.pk).exists()


@pytest.mark.django_db
def test_owner_removes_another_owner(client_for, owner):
    second = make_member(owner.workspace, "owner2@acme.test", Role.OWNER)
    client_for(owner).post(remove_url(second))
    assert not Membership.objects.filter(pk=second.pk).exists()


@pytest.mark.django_db
def test_member_leaves_the_workspace(client_for, editor, caplog):
    with caplog.at_level(logging.INFO, logger="atlas.security"):
        response = client_for(editor).post(f"{MEMBERS}leave/")
    assert response.url == "/"
    assert not Membership.objects.filter(pk=editor.pk).exists()
    assert Activity.objects.filter(verb="left", target_id=editor.pk).exists()
    assert any(r.message.startswith("membership left") for r in caplog.records)


@pytest.mark.django_db
def test_last_owner_cannot_leave(client_for, owner):
    response = client_for(owner).post(f"{MEMBERS}leave/", follow=True)
    assert Membership.objects.filter(pk=owner.pk).exists()
    assert "You are the last owner of Acme Bank" in response.content.decode()


@pytest.mark.django_db
def test_last_owner_cannot_remove_themselves(client_for, owner):
    client_for(owner).post(remove_url(owner))
    assert Membership.objects.filter(pk=owner.pk).exists()


@pytest.mark.django_db
def test_leave_needs_post(client_for, editor):
    assert client_for(editor).get(f"{MEMBERS}leave/").status_code == 405
    assert Membership.objects.filter(pk=editor.pk).exists()


# --- invitations -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_creates_an_invitation_and_sees_its_full_link(client_for, admin_member):
    client = client_for(admin_member)
    response = client.post(
        "/w/acme/settings/invitations/", {"role": Role.VIEWER, "email": "New@Example.test"}
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.workspace == admin_member.workspace
    assert invitation.role == Role.VIEWER
    assert invitation.email == "new@example.test"
    assert invitation.invited_by == admin_member.user
    assert Activity.objects.filter(verb="invited", target_id=invitation.pk).exists()

    html = client.get(MEMBERS).content.decode()
    assert f"http://testserver/invitations/{invitation.token}/" in html
    assert "new@example.test" in html
    assert "Copy" in html


@pytest.mark.django_db
def test_viewer_cannot_invite(client_for, viewer):
    response = client_for(viewer).post("/w/acme/settings/invitations/", {"role": Role.VIEWER})
    assert response.status_code == 403
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_editor_cannot_invite(client_for, editor):
    assert client_for(editor).post("/w/acme/settings/invitations/", {"role": Role.EDITOR}).status_code == 403
    assert not Invitation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [({"role": Role.OWNER}, "role"), ({"role": Role.EDITOR, "email": "not-an-email"}, "email")],
)
def test_bad_invitation_is_a_field_error_and_saves_nothing(client_for, owner, data, field):
    response = client_for(owner).post("/w/acme/settings/invitations/", data)
    assert response.status_code == 200
    assert field in response.context["invitation_form"].errors
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_admin_revokes_an_invitation(client_for, admin_member):
    invitation = invitation_for(admin_member.workspace, admin_member, role=Role.EDITOR)
    client = client_for(admin_member)
    client.post(f"/w/acme/settings/invitations/{invitation.pk}/revoke/")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert Activity.objects.filter(verb="revoked", target_id=invitation.pk).exists()
    assert invitation.token not in client.get(MEMBERS).content.decode()


@pytest.mark.django_db
def test_editor_cannot_revoke_an_invitation(client_for, owner, editor):
    invitation = invitation_for(owner.workspace, owner, role=Role.EDITOR)
    assert client_for(editor).post(f"/w/acme/settings/invitations/{invitation.pk}/revoke/").status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.django_db
def test_admin_cannot_revoke_another_workspaces_invitation(client_for, admin_member, outsider):
    invitation = invitation_for(outsider.workspace, outsider, role=Role.EDITOR)
    response = client_for(admin_member).post(f"/w/acme/settings/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


@pytest.mark.django_db
def test_expired_revoked_and_used_invitations_are_not_listed_as_pending(client_for, owner):
    now = timezone.now()
    invitation_for(
        owner.workspace, owner, role=Role.EDITOR, email="expired@x.test", expires_at=now - timedelta(days=1)
    )
    invitation_for(owner.workspace, owner, role=Role.EDITOR, email="revoked@x.test", revoked_at=now)
    invitation_for(owner.workspace, owner, role=Role.EDITOR, email="used@x.test", accepted_at=now)
    invitation_for(owner.workspace, owner, role=Role.EDITOR, email="pending@x.test")
    html = client_for(owner).get(MEMBERS).content.decode()
    assert "pending@x.test" in html
    for email in ("expired@x.test", "revoked@x.test", "used@x.test"):
        assert email not in html


# --- accepting an invitation -----------------------------------------------------------------------


@pytest.mark.django_db
def test_logged_out_visitor_sees_the_invitation_with_login_and_signup_links(client, owner):
    invitation = invitation_for(owner.workspace, owner, role=Role.EDITOR)
    url = f"/invitations/{invitation.token}/"
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Join Acme Bank" in html
    assert "Olivia Owner" in html
    assert f"/accounts/login/?next=/invitations/{invitation.token}/" in html
    assert f"/accounts/signup/?next=/invitations/{invitation.token}/" in html


@pytest.mark.django_db
def test_logged_out_visitor_logs_in_and_comes_back_to_join(client, owner, outsider):
    invitation = invitation_for(owner.workspace, owner, role=Role.VIEWER)
    url = f"/invitations/{invitation.token}/"
    login_page = client.get(f"/accounts/login/?next={url}")
    assert "join <strong>Acme Bank</strong>" in login_page.content.decode()
    response = client.post(
        "/accounts/login/", {"username": outsider.user.email, "password": PASSWORD, "next": url}
    )
    assert response.url == url
    confirm = client.get(url)
    assert '<button type="submit" class="btn btn-primary">Join Acme Bank</button>' in confirm.content.decode()


@pytest.mark.django_db
def test_accepting_an_invitation_makes_a_member_with_its_role(client_for, owner, outsider, caplog):
    invitation = invitation_for(owner.workspace, owner, role=Role.EDITOR)
    with caplog.at_level(logging.INFO, logger="atlas.security"):
        response = client_for(outsider).post(f"/invitations/{invitation.token}/")
    assert response.status_code == 302
    assert response.url == "/w/acme/"
    membership = Membership.objects.get(workspace=owner.workspace, user=outsider.user)
    assert membership.role == Role.EDITOR
    invitation.refresh_from_db()
    assert invitation.accepted_by == outsider.user
    assert invitation.accepted_at is not None
    assert Activity.objects.filter(verb="joined", target_id=membership.pk, actor=outsider.user).exists()
    assert any(r.message.startswith("invitation accepted") for r in caplog.records)


@pytest.mark.django_db
def test_an_invitation_cannot_be_reused(client_for, client, owner, outsider):
    invitation = invitation_for(owner.workspace, owner, role=Role.ADMIN)
    client_for(outsider).post(f"/invitations/{invitation.token}/")
    client.logout()
    third = make_member(outsider.workspace, "third@rival.test", Role.VIEWER)
    client.force_login(third.user)
    response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert not Membership.objects.filter(workspace=owner.workspace, user=third.user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expired"),
        ({"revoked_at": timezone.now()}, "revoked"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_expired_or_revoked_invitation_answers_410(client_for, owner, outsider, fields, reason, method):
    invitation = invitation_for(owner.workspace, owner, role=Role.EDITOR, **fields)
    response = getattr(client_for(outsider), method)(f"/invitations/{invitation.token}/")
    assert response.status_code == 410
    assert reason in response.content.decode()
    assert not Membership.objects.filter(workspace=owner.workspace, user=outsider.user).exists()


@pytest.mark.django_db
def test_expired_invitation_answers_410_when_logged_out_too(client, owner):
    invitation = invitation_for(owner.workspace, owner, role=Role.EDITOR, expires_at=timezone.now())
    assert client.get(f"/invitations/{invitation.token}/").status_code == 410


@pytest.mark.django_db
def test_unknown_invitation_token_answers_404(client_for, outsider):
    assert client_for(outsider).get("/invitations/not-a-real-token/").status_code == 404


@pytest.mark.django_db
def test_member_opening_an_invitation_is_told_so_with_a_link(client_for, owner, editor):
    invitation = invitation_for(owner.workspace, owner, role=Role.VIEWER)
    client = client_for(editor)
    for method in ("get", "post"):
        response = getattr(client, method)(f"/invitations/{invitation.token}/")
        assert response.status_code == 200
        assert "already a member of Acme Bank" in response.content.decode()
        assert 'href="/w/acme/"' in response.content.decode()
    editor.refresh_from_db()
    assert editor.role == Role.EDITOR
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


@pytest.mark.django_db
def test_anonymous_post_to_an_invitation_goes_to_login(client, owner):
    invitation = invitation_for(owner.workspace, owner, role=Role.VIEWER)
    response = client.post(f"/invitations/{invitation.token}/")
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next=/invitations/{invitation.token}/"
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


# --- topbar ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_topbar_links_to_members_tokens_new_workspace_and_password_change(client_for, editor):
    html = client_for(editor).get(MEMBERS).content.decode()
    assert 'href="/w/acme/settings/members/"' in html
    assert 'href="/w/acme/settings/tokens/"' in html
    assert 'href="/workspaces/new/"' in html
    assert 'href="/accounts/password/change/"' in html
