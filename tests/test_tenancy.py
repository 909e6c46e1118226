"""The one tenancy mechanism: the workspace comes from the URL, outsiders get 404, low roles 403."""

import logging

import pytest
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from rest_framework import viewsets

from atlas.api.scoping import WorkspaceScopedViewSetMixin
from atlas.models import Role
from atlas.tenancy import get_scoped, workspace_view
from journeys.models import Lifecycle, Persona


@workspace_view()
def read_or_write(request):
    return HttpResponse(f"ok {request.workspace.slug} {request.membership.role}")


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
def admin_only(request):
    return HttpResponse("admin")


@pytest.fixture
def rf():
    return RequestFactory()


def call(rf, view, member, method="get", slug="acme"):
    request = getattr(rf, method)("/w/acme/x/")
    request.user = member.user
    return view(request, slug=slug)


def test_member_reads_their_workspace(rf, viewer):
    response = call(rf, read_or_write, viewer)
    assert response.status_code == 200
    assert response.content == b"ok acme viewer"


def test_viewer_who_writes_gets_403(rf, viewer):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        call(rf, read_or_write, viewer, method="post")


def test_editor_may_write(rf, editor):
    assert call(rf, read_or_write, editor, method="post").status_code == 200


def test_outsider_gets_404_not_403(rf, outsider, workspace, caplog):
    with caplog.at_level(logging.WARNING, logger="atlas.security"), pytest.raises(Http404):
        call(rf, read_or_write, outsider)
    assert "not a member" in caplog.text


def test_unknown_workspace_is_404(rf, owner):
    with pytest.raises(Http404):
        call(rf, read_or_write, owner, slug="nope")


def test_role_threshold_is_per_view(rf, editor, admin_member):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        call(rf, admin_only, editor)
    assert call(rf, admin_only, admin_member).status_code == 200


def test_anonymous_is_sent_to_login(rf, workspace):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/w/acme/")
    request.user = AnonymousUser()
    response = read_or_write(request, slug="acme")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_get_scoped_never_returns_another_workspaces_row(workspace, other_workspace):
    mine = Persona.objects.create(workspace=workspace, name="Mine")
    theirs = Persona.objects.create(workspace=other_workspace, name="Theirs")
    assert get_scoped(workspace, Persona, pk=mine.pk) == mine
    with pytest.raises(Http404):
        get_scoped(workspace, Persona, pk=theirs.pk)


def test_viewset_cannot_override_get_queryset():
    with pytest.raises(TypeError, match="scoped_queryset"):

        class Leaky(WorkspaceScopedViewSetMixin, viewsets.ModelViewSet):
            queryset = Lifecycle.objects.all()

            def get_queryset(self):
                return Lifecycle.objects.all()
