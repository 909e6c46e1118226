"""Shared fixtures: workspace A with an owner, an admin, an editor and a viewer; workspace B with its
own owner (the outsider, from A's point of view)."""

import pytest

from atlas.models import Membership, Role, User, Workspace

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _test_server_settings(settings):
    """Tests talk plain HTTP to the test server (production redirects to HTTPS), serve static
    files without a collectstatic manifest and hash passwords quickly."""
    settings.SECURE_SSL_REDIRECT = False
    # Argon2 is deliberately slow; tests hash hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _tasks_in_process():
    """Tasks run in-process in tests, whether or not REDIS_URL is set (CI sets it): the Celery app read
    the setting once at start-up. Tests with a real worker switch to the broker themselves
    (tests/test_services.py `celery_config`)."""
    from atlas.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def make_member(workspace: Workspace, email: str, role: str, name: str = "") -> Membership:
    user = User.objects.create_user(
        email=email, password=PASSWORD, full_name=name or email.split("@")[0].title()
    )
    return Membership.objects.create(workspace=workspace, user=user, role=role)


@pytest.fixture
def workspace(db) -> Workspace:
    return Workspace.objects.create(name="Acme Bank", slug="acme")


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(name="Rival Bank", slug="rival")


@pytest.fixture
def owner(workspace) -> Membership:
    return make_member(workspace, "owner@acme.test", Role.OWNER, "Olivia Owner")


@pytest.fixture
def admin_member(workspace) -> Membership:
    return make_member(workspace, "admin@acme.test", Role.ADMIN, "Adam Admin")


@pytest.fixture
def editor(workspace) -> Membership:
    return make_member(workspace, "editor@acme.test", Role.EDITOR, "Edith Editor")


@pytest.fixture
def viewer(workspace) -> Membership:
    return make_member(workspace, "viewer@acme.test", Role.VIEWER, "Victor Viewer")


@pytest.fixture
def outsider(other_workspace) -> Membership:
    return make_member(other_workspace, "owner@rival.test", Role.OWNER, "Oscar Outsider")


@pytest.fixture
def client_for(client):
    """client_for(membership) → the test client logged in as that member."""

    def login(membership: Membership):
        client.force_login(membership.user)
        return client

    return login
