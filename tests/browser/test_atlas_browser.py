"""Editing the atlas in a real browser: add a stage and a macro journey, rename it inline, reorder stages
from the keyboard, and find it all again after a reload. A viewer sees no edit control."""

import re

import pytest
from playwright.sync_api import expect

from journeys.models import Lifecycle, LifecycleStage, MacroJourney

pytestmark = pytest.mark.browser

# True once htmx has processed the "Move left Onboarding" form.
MOVE_LEFT_WIRED = """() => {
    const button = [...document.querySelectorAll('form[hx-post] button[value="left"]')]
        .find((b) => b.textContent.includes("Onboarding"));
    return Boolean(button && button.form["htmx-internal-data"] && !button.closest(".htmx-settling"));
}"""


@pytest.fixture
def lifecycle(workspace):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer lifecycle")
    for position, name in enumerate(("Awareness", "Purchase")):
        LifecycleStage.objects.create(workspace=workspace, lifecycle=lifecycle, name=name, position=position)
    return lifecycle


def test_editor_builds_renames_and_reorders_the_framework_inline(page, log_in, screenshot, lifecycle, editor):
    log_in(editor.user.email)
    stages = page.locator(".stage h2")
    expect(stages).to_have_text(["Awareness", "Purchase"])

    page.get_by_text("Add stage", exact=True).click()
    page.get_by_label("Name of the new stage").fill("Onboarding")
    page.get_by_label("Name of the new stage").press("Enter")
    expect(stages).to_have_text(["Awareness", "Purchase", "Onboarding"])

    onboarding = page.get_by_role("region", name="Onboarding")
    onboarding.get_by_text("Add macro journey").click()
    name = onboarding.get_by_label("Name of the new macro journey in Onboarding")
    name.fill("Open an acount")
    name.press("Enter")
    expect(onboarding.locator(".macro h3")).to_have_text(["Open an acount"])

    # Rename inline: the card turns into a form, Enter saves, the card comes back with the new name.
    onboarding.locator(".macro .macro-menu > summary").click()
    page.get_by_role("link", name="Rename or edit…").click()
    field = page.get_by_label("Macro journey", exact=True)
    expect(field).to_be_focused()
    field.fill("Open an account")
    field.press("Enter")
    expect(onboarding.locator(".macro h3")).to_have_text(["Open an account"])

    # Reorder stages from the keyboard: the stage menu (its actions load as it opens), Tab to "Move left",
    # Enter, and again.
    onboarding.locator(".stage-menu > summary").focus()
    page.keyboard.press("Enter")
    move_left = page.get_by_role("button", name="Move left Onboarding")
    expect(move_left).to_be_visible()
    # htmx wires up swapped-in content as it settles (20 ms later); a key pressed before that would post
    # the plain form (the no-JavaScript path, which moves the stage too but reloads the page).
    page.wait_for_function(MOVE_LEFT_WIRED)
    page.keyboard.press("Tab")  # Rename…
    page.keyboard.press("Tab")  # Move left
    expect(move_left).to_be_focused()
    page.keyboard.press("Enter")
    expect(stages).to_have_text(["Awareness", "Onboarding", "Purchase"])
    # The menu comes back open on the moved stage, so the keyboard can keep moving it. (Where the focus
    # lands after the swap is not asserted: on a saturated CI machine that raced.)
    expect(move_left).to_be_visible()
    page.wait_for_function(MOVE_LEFT_WIRED)
    move_left.press("Enter")
    expect(stages).to_have_text(["Onboarding", "Awareness", "Purchase"])
    screenshot("reordered")

    page.reload()
    expect(stages).to_have_text(["Onboarding", "Awareness", "Purchase"])
    expect(page.get_by_role("region", name="Onboarding").locator(".macro h3")).to_have_text(
        ["Open an account"]
    )
    assert list(LifecycleStage.objects.filter(lifecycle=lifecycle).values_list("name", flat=True)) == [
        "Onboarding",
        "Awareness",
        "Purchase",
    ]
    assert MacroJourney.objects.get().name == "Open an account"


def test_editor_drags_a_macro_journey_to_another_stage(page, log_in, lifecycle, workspace, editor):
    awareness, purchase = LifecycleStage.objects.filter(lifecycle=lifecycle)
    MacroJourney.objects.create(workspace=workspace, stage=awareness, name="Discover us", position=0)
    log_in(editor.user.email)
    card = page.locator(".macro", has_text="Discover us")
    card.locator(".drag-handle").drag_to(page.get_by_role("region", name="Purchase").locator(".macro-list"))
    expect(page.get_by_role("region", name="Purchase").locator(".macro h3")).to_have_text(["Discover us"])
    assert MacroJourney.objects.get().stage == purchase


def test_editor_drags_a_stage_to_another_column(page, log_in, lifecycle, editor):
    log_in(editor.user.email)
    purchase = page.get_by_role("region", name="Purchase")
    purchase.locator(".stage-head .drag-handle").drag_to(page.get_by_role("region", name="Awareness"))
    expect(page.locator(".stage h2")).to_have_text(["Purchase", "Awareness"])
    assert list(LifecycleStage.objects.filter(lifecycle=lifecycle).values_list("name", flat=True)) == [
        "Purchase",
        "Awareness",
    ]


def test_viewer_sees_the_atlas_without_edit_controls(page, log_in, lifecycle, workspace, viewer):
    purchase = LifecycleStage.objects.get(name="Purchase")
    MacroJourney.objects.create(workspace=workspace, stage=purchase, name="Get a mortgage", position=0)
    log_in(viewer.user.email)
    expect(page).to_have_url(re.compile(r"/w/acme/$"))
    expect(page.get_by_role("region", name="Purchase")).to_contain_text("Get a mortgage")
    for selector in (".stage-menu", ".macro-menu", ".drag-handle", ".add-inline", ".stage-new", ".tab-add"):
        expect(page.locator(selector)).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Rename|Delete"))).to_have_count(0)
