"""The Django admin shows the whole domain model to staff."""

import pytest
from django.contrib import admin
from django.urls import reverse

from atlas.models import User
from tests.world import build_world


@pytest.fixture
def staff_client(client, db):
    user = User.objects.create_superuser(email="ops@atlas.test", password="x-very-secret-1")
    client.force_login(user)
    return client


def test_every_model_has_an_admin_list_and_change_page(staff_client, workspace, owner):
    world = build_world(workspace, owner, "ADMINCHECK")
    for model in world.objects:
        assert admin.site.is_registered(model), f"{model.__name__} is not in the admin"
        opts = model._meta
        changelist = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, opts.label
        change = staff_client.get(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[world[model].pk])
        )
        assert change.status_code == 200, opts.label


def test_member_who_is_not_staff_cannot_open_the_admin(client, owner):
    client.force_login(owner.user)
    response = client.get(reverse("admin:journeys_journey_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
