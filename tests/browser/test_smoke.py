"""The shortest path through the product in a real browser: sign in, land on the workspace's atlas."""

import re

import pytest
from playwright.sync_api import expect

from journeys.models import Lifecycle, LifecycleStage, MacroJourney

pytestmark = pytest.mark.browser


def test_member_logs_in_and_lands_on_the_workspace_atlas(page, log_in, screenshot, workspace, editor):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer lifecycle")
    LifecycleStage.objects.create(workspace=workspace, lifecycle=lifecycle, name="Consideration", position=0)
    onboarding = LifecycleStage.objects.create(
        workspace=workspace, lifecycle=lifecycle, name="Onboarding", position=1
    )
    MacroJourney.objects.create(
        workspace=workspace, stage=onboarding, name="Open a current account", position=0
    )

    log_in(editor.user.email)

    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))
    stages = page.locator(".stage h2")
    expect(stages).to_have_text(["Consideration", "Onboarding"])
    expect(page.get_by_role("region", name="Onboarding")).to_contain_text("Open a current account")
    screenshot("atlas")
