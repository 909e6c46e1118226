"""Sign-up, log-in (with throttling), log-out, password reset and password change."""

import logging
import re
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.utils import timezone

from atlas.auth import ACCOUNT_THROTTLED, ADDRESS_THROTTLED
from atlas.models import Invitation, LoginFailure, Membership, Role, User, Workspace
from tests.conftest import PASSWORD

NEW_PASSWORD = "a-brand-new-long-passphrase"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signup_data(**overrides) -> dict:
    data = {
        "full_name": "Nina New",
        "email": "Nina@Example.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "workspace_name": "Nina Corp",
    }
    data.update(overrides)
    return data


def login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": email, "password": password}, **extra)


def session_user_id(client):
    return client.session.get("_auth_user_id")


# --- sign-up ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_signup_page_renders_accessible_form(client):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("full_name", "email", "password1", "password2", "workspace_name"):
        assert f'for="id_{name}"' in html
        assert f'name="{name}"' in html


@pytest.mark.django_db
def test_signup_creates_user_and_owned_workspace_and_logs_in(client):
    response = client.post("/accounts/signup/", signup_data())
    user = User.objects.get()
    workspace = Workspace.objects.get()
    assert user.email == "nina@example.test"
    assert user.full_name == "Nina New"
    assert user.check_password(PASSWORD)
    assert workspace.name == "Nina Corp"
    assert workspace.slug == "nina-corp"
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.OWNER
    assert response.status_code == 302
    assert response.url == f"/w/{workspace.slug}/"
    assert session_user_id(client) == str(user.pk)


@pytest.mark.django_db
def test_signup_with_duplicate_email_in_other_case_is_a_field_error(client, owner):
    response = client.post("/accounts/signup/", signup_data(email="OWNER@acme.TEST"))
    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["email"][0]
    assert User.objects.count() == 1
    assert not Workspace.objects.exclude(slug="acme").exists()
    assert session_user_id(client) is None


@pytest.mark.django_db
def test_signup_password_mismatch_saves_nothing(client):
    response = client.post("/accounts/signup/", signup_data(password2="something-else-entirely"))
    assert response.status_code == 200
    assert response.context["form"].errors["password2"] == ["The two passwords do not match."]
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.exists()
    assert not Workspace.objects.exists()


@pytest.mark.django_db
def test_signup_reports_a_weak_password_and_a_mismatch_together(client):
    response = client.post("/accounts/signup/", signup_data(password1="short", password2="shorter"))
    errors = response.context["form"].errors
    assert "at least 8 characters" in errors["password1"][0]
    assert errors["password2"] == ["The two passwords do not match."]
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("password", ["short", "password123", "12345678901234", "nina@example.test"])
def test_signup_applies_password_validators(client, password):
    response = client.post("/accounts/signup/", signup_data(password1=password, password2=password))
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_signup_requires_workspace_name_and_full_name(client):
    response = client.post("/accounts/signup/", signup_data(workspace_name="", full_name=""))
    form = response.context["form"]
    assert "workspace_name" in form.errors
    assert "full_name" in form.errors
    assert not User.objects.exists()


@pytest.mark.django_db
def test_signup_by_invitation_may_skip_the_workspace_and_returns_to_the_invitation(client, owner):
    invitation = Invitation.objects.create(
        workspace=owner.workspace, role=Role.EDITOR, email="nina@example.test", invited_by=owner.user
    )
    next_url = f"/invitations/{invitation.token}/"
    page = client.get("/accounts/signup/", {"next": next_url})
    assert "Acme Bank" in page.content.decode()
    assert page.context["form"].initial["email"] == "nina@example.test"

    response = client.post("/accounts/signup/", signup_data(workspace_name="", next=next_url))
    assert response.status_code == 302
    assert response.url == next_url
    user = User.objects.get(email="nina@example.test")
    assert not Membership.objects.filter(user=user).exists()  # joining takes the explicit POST
    assert session_user_id(client) == str(user.pk)


@pytest.mark.django_db
def test_signup_ignores_an_external_next(client):
    response = client.post("/accounts/signup/", signup_data(next="https://evil.test/phish"))
    assert response.url == f"/w/{Workspace.objects.get().slug}/"


@pytest.mark.django_db
def test_signup_when_logged_in_redirects_home(client_for, owner):
    response = client_for(owner).get("/accounts/signup/")
    assert response.status_code == 302
    assert response.url == "/"


# --- log-in and log-out ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_renders_with_links(client):
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'for="id_username"' in html
    assert "/accounts/password/reset/" in html
    assert "/accounts/signup/" in html


@pytest.mark.django_db
def test_login_by_email_in_any_case(client, owner):
    response = login(client, "  OWNER@Acme.Test ")
    assert response.status_code == 302
    assert response.url == "/"
    assert session_user_id(client) == str(owner.user.pk)


@pytest.mark.django_db
def test_login_with_wrong_password_shows_error_and_records_failure(client, owner):
    response = login(client, "Owner@acme.test", "wrong-password", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert "do not match" in response.content.decode()
    assert session_user_id(client) is None
    failure = LoginFailure.objects.get()
    assert failure.username == "owner@acme.test"
    assert failure.ip_address == "10.1.2.3"


@pytest.mark.django_db
def test_login_rotates_the_session_key(client, owner):
    session = client.session
    session["before_login"] = True
    session.save()
    key_before = client.cookies["sessionid"].value

    login(client, owner.user.email)

    key_after = client.cookies["sessionid"].value
    assert key_after != key_before
    assert not SessionStore().exists(key_before)


@pytest.mark.django_db
def test_login_honours_a_local_next(client, owner):
    page = client.get("/accounts/login/?next=/w/acme/")
    assert 'name="next" value="/w/acme/"' in page.content.decode()
    response = client.post(
        "/accounts/login/", {"username": owner.user.email, "password": PASSWORD, "next": "/w/acme/"}
    )
    assert response.url == "/w/acme/"


@pytest.mark.django_db
def test_login_ignores_an_external_next(client, owner):
    response = client.post(
        "/accounts/login/",
        {"username": owner.user.email, "password": PASSWORD, "next": "https://evil.test/"},
    )
    assert response.url == "/"


@pytest.mark.django_db
def test_workspace_page_sends_anonymous_visitor_to_login_with_next(client, workspace):
    response = client.get("/w/acme/settings/members/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/w/acme/settings/members/"


@pytest.mark.django_db
def test_logout_needs_post(client_for, owner):
    client = client_for(owner)
    assert client.get("/accounts/logout/").status_code == 405
    assert session_user_id(client) == str(owner.user.pk)


@pytest.mark.django_db
def test_logout_ends_the_session(client, owner):
    login(client, owner.user.email)
    key = client.cookies["sessionid"].value
    assert SessionStore().exists(key)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response.url == "/accounts/login/"
    assert not SessionStore().exists(key)
    assert client.get("/w/acme/").status_code == 302


# --- throttling ------------------------------------------------------------------------------------


def record_failures(count: int, *, username: str = "owner@acme.test", address: str = "10.9.9.9", ago=None):
    LoginFailure.objects.bulk_create(
        LoginFailure(username=username, ip_address=address) for _ in range(count)
    )
    if ago is not None:
        LoginFailure.objects.update(created_at=timezone.now() - ago)


@pytest.mark.django_db
def test_account_throttle_refuses_even_the_right_password(client, owner, caplog):
    record_failures(100, username="owner@acme.test")
    with caplog.at_level(logging.WARNING, logger="atlas.security"):
        response = login(client, "Owner@Acme.test", REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 200
    assert ACCOUNT_THROTTLED in response.content.decode()
    assert response.context["form"].non_field_errors() == [ACCOUNT_THROTTLED]
    assert session_user_id(client) is None
    assert any("login throttled" in r.message and "reason=account" in r.message for r in caplog.records)


@pytest.mark.django_db
def test_account_below_the_limit_may_log_in(client, owner):
    record_failures(99, username="owner@acme.test")
    login(client, owner.user.email)
    assert session_user_id(client) == str(owner.user.pk)


@pytest.mark.django_db
def test_failures_older_than_an_hour_do_not_count(client, owner):
    record_failures(150, username="owner@acme.test", ago=timedelta(minutes=61))
    login(client, owner.user.email)
    assert session_user_id(client) == str(owner.user.pk)


@pytest.mark.django_db
def test_address_throttle_refuses_every_account_from_that_address(client, owner, caplog):
    for n in range(3):
        record_failures(100, username=f"guess{n}@acme.test", address="203.0.113.7")
    with caplog.at_level(logging.WARNING, logger="atlas.security"):
        refused = login(client, owner.user.email, REMOTE_ADDR="203.0.113.7")
    assert ADDRESS_THROTTLED in refused.content.decode()
    assert session_user_id(client) is None
    assert any("reason=address" in r.message for r in caplog.records)

    login(client, owner.user.email, REMOTE_ADDR="198.51.100.1")
    assert session_user_id(client) == str(owner.user.pk)


@pytest.mark.django_db
def test_failed_logins_through_the_form_lead_to_the_throttle(client, owner, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR = 3
    for _ in range(3):
        login(client, owner.user.email, "wrong-password")
    assert LoginFailure.objects.filter(username="owner@acme.test").count() == 3

    response = login(client, owner.user.email)

    assert ACCOUNT_THROTTLED in response.content.decode()
    assert session_user_id(client) is None
    assert LoginFailure.objects.count() == 3  # a refused attempt checks no password and records nothing


@pytest.mark.django_db
def test_failed_and_successful_logins_are_logged(client, owner, caplog):
    with caplog.at_level(logging.INFO, logger="atlas.security"):
        login(client, owner.user.email, "wrong-password")
        login(client, owner.user.email)
    messages = [r.message for r in caplog.records if r.name == "atlas.security"]
    assert any(m.startswith("login failed") for m in messages)
    assert any(m.startswith(f"login: user={owner.user.pk}") for m in messages)
    assert not any(PASSWORD in m or "wrong-password" in m for m in messages)


# --- password reset and change ---------------------------------------------------------------------


@pytest.mark.django_db
def test_password_reset_email_link_sets_a_new_password(client, owner, caplog):
    with caplog.at_level(logging.INFO, logger="atlas.security"):
        response = client.post("/accounts/password/reset/", {"email": "OWNER@acme.test"})
    assert response.status_code == 302
    assert response.url == "/accounts/password/reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@acme.test"]
    assert message.subject == "Reset your Journey Atlas password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.url == "/accounts/password/reset/done/"
    owner.user.refresh_from_db()
    assert owner.user.check_password(NEW_PASSWORD)
    assert any(r.message.startswith("password reset: user=") for r in caplog.records)

    # The link works once.
    assert not client.get(link, follow=True).context["validlink"]


@pytest.mark.django_db
def test_password_reset_for_unknown_email_shows_the_same_page_and_sends_nothing(client, owner):
    response = client.post("/accounts/password/reset/", {"email": "nobody@acme.test"})
    assert response.url == "/accounts/password/reset/sent/"
    assert mail.outbox == []


@pytest.mark.django_db
def test_password_reset_pages_render(client):
    assert client.get("/accounts/password/reset/").status_code == 200
    assert client.get("/accounts/password/reset/sent/").status_code == 200
    assert client.get("/accounts/password/reset/done/").status_code == 200
    bad = client.get("/accounts/password/reset/MQ/bad-token/")
    assert bad.status_code == 200
    assert "no longer works" in bad.content.decode()


@pytest.mark.django_db
def test_password_change_needs_login(client):
    response = client.get("/accounts/password/change/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_password_change_keeps_the_user_logged_in(client_for, owner, caplog):
    client = client_for(owner)
    assert client.get("/accounts/password/change/").status_code == 200
    with caplog.at_level(logging.INFO, logger="atlas.security"):
        response = client.post(
            "/accounts/password/change/",
            {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    assert response.url == "/accounts/password/change/done/"
    owner.user.refresh_from_db()
    assert owner.user.check_password(NEW_PASSWORD)
    assert client.get("/w/acme/").status_code == 200
    assert any(r.message.startswith("password changed") for r in caplog.records)


@pytest.mark.django_db
def test_password_change_with_wrong_old_password_changes_nothing(client_for, owner):
    client = client_for(owner)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    owner.user.refresh_from_db()
    assert owner.user.check_password(PASSWORD)
