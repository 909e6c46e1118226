"""To-be journeys and versions in a real browser: create a to-be journey and compare it with the current
one; save a version, change the map, restore the version, then undo the restore."""

import re

import pytest
from playwright.sync_api import expect

from journeys.models import Journey, Step
from tests.versions_world import build_map

pytestmark = pytest.mark.browser


def test_editor_creates_a_to_be_journey_and_compares_it(page, log_in, screenshot, workspace, editor, owner):
    world = build_map(workspace, owner, steps=3)
    log_in(editor.user.email)

    page.goto(f"/w/{workspace.slug}/journeys/{world.journey.pk}/")
    page.get_by_role("link", name="Create to-be journey").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Create a to-be journey")
    page.get_by_label("Name").fill("Open an account in minutes")
    page.get_by_role("button", name="Create to-be journey").click()

    to_be = Journey.objects.get(kind=Journey.Kind.TO_BE)
    expect(page).to_have_url(re.compile(rf"/journeys/{to_be.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open an account in minutes")
    # Rework the to-be journey: one step reworked, one dropped.
    copies = list(Step.objects.filter(journey=to_be).order_by("position"))
    Step.objects.filter(pk=copies[0].pk).update(name="Apply in the app", emotion=2)
    copies[2].delete()

    page.get_by_role("link", name="Compare with current").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Compare")
    summary = page.get_by_role("list", name="Summary")
    expect(summary).to_contain_text("1Removed")
    expect(summary).to_contain_text("1Changed")
    expect(page.locator(".cmp-row .badge")).to_have_text(["Changed", "Unchanged", "Removed"])
    expect(page.locator(".cmp-row").first).to_contain_text("Apply in the app")
    expect(page.locator(".cmp-row").first).to_contain_text("What changed")
    expect(page.locator('.emotion-chart g[data-series="To-be"]')).to_have_count(1)
    screenshot("compare")


def test_editor_restores_a_version_and_undoes_the_restore(page, log_in, screenshot, workspace, editor, owner):
    world = build_map(workspace, owner, steps=3)
    log_in(editor.user.email)
    versions = f"/w/{workspace.slug}/journeys/{world.journey.pk}/versions/"

    page.goto(versions)
    page.get_by_label("Label").fill("Before the workshop")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_role("row", name=re.compile("Before the workshop"))).to_be_visible()

    # The workshop changes the map.
    Step.objects.filter(pk=world.steps[0].pk).update(name="Renamed in the workshop")
    world.steps[2].delete()

    page.get_by_role("link", name="Restore version 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Restore version 1 “Before the workshop”?")
    expect(page.locator(".plan-list")).to_contain_text("Step 2")
    screenshot("confirm")
    page.get_by_role("button", name="Restore version 1").click()

    expect(page.get_by_role("status")).to_contain_text("Version 1 restored.")
    page.get_by_role("link", name="Open the map").click()
    expect(page.get_by_role("main")).to_contain_text("Step 2")
    expect(page.get_by_role("main")).not_to_contain_text("Renamed in the workshop")
    screenshot("restored-map")
    page.go_back()

    page.get_by_role("link", name="View version 2").click()  # saved automatically before the restore
    expect(page.locator("table.map")).to_contain_text("Renamed in the workshop")
    page.go_back()

    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("Restore undone: the map is back as it was.")
    assert list(
        Step.objects.filter(journey=world.journey).order_by("position").values_list("name", flat=True)
    ) == ["Renamed in the workshop", "Step 1"]
    page.get_by_role("link", name="Compare version 1 with now").click()
    expect(page.locator(".cmp-row .badge")).to_have_text(["Changed", "Unchanged", "Removed"])
    screenshot("after-undo")
