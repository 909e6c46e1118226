"""The journey map editor in a real browser: building a journey from empty, pinning an insight,
reordering steps (drag and drop, and the keyboard), an opportunity from a pain point, a refused stale
edit, and a viewer who sees no edit controls and is refused on a forged request."""

import json
import re

import pytest
from playwright.sync_api import expect

from journeys.models import Insight, Persona, Phase, Step
from opportunities.models import Opportunity
from tests.journey_map_world import layout, make_journey

pytestmark = pytest.mark.browser


def open_map(page, journey, query=""):
    page.goto(f"/w/{journey.workspace.slug}/journeys/{journey.pk}/{query}")
    expect(page.locator("#map-board")).to_be_visible()


def board(page):
    return page.locator("#map-board")


def step_head(page, name):
    return page.locator(
        "th.step-head", has=page.locator(".step-title", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def column_cell(page, row_class, name):
    """The cell of lane `row_class` in the column of the step called `name`."""
    index = page.locator("tr.step-row > th").evaluate_all(
        "(ths, name) => ths.findIndex(th => (th.querySelector('.step-title') || {}).textContent === name)",
        name,
    )
    assert index > 0, f"no step {name!r} on the map"
    return page.locator(f"tr.{row_class} > *").nth(index)


def wait_for_board(page, revision_before):
    expect(board(page)).not_to_have_attribute("data-revision", revision_before)


def test_editor_builds_a_journey_from_empty(page, log_in, screenshot, workspace, editor):
    journey = make_journey(workspace)
    log_in(editor.user.email)
    open_map(page, journey)
    expect(page.get_by_role("heading", name="This journey has no steps yet")).to_be_visible()

    page.get_by_label("Phase name").fill("Discover")
    page.get_by_role("button", name="Add phase").click()
    expect(page.locator("th.phase-head")).to_have_count(1)
    expect(page.get_by_label("Phase name")).to_be_focused()  # ready for the next phase
    page.get_by_label("Step name").fill("Search for an account")
    page.get_by_role("button", name="Add step").click()
    expect(step_head(page, "Search for an account")).to_be_visible()
    page.get_by_label("Step name").fill("Compare offers")
    page.get_by_role("button", name="Add step").click()
    expect(step_head(page, "Compare offers")).to_be_visible()
    expect(page.get_by_label("Step name")).to_be_focused()  # ready for the next step
    page.get_by_label("Phase name").fill("Apply")
    page.get_by_role("button", name="Add phase").click()
    expect(page.locator("th.phase-head")).to_have_count(2)
    expect(page.get_by_label("Phase name")).to_be_focused()  # ready for the next phase
    page.get_by_label("Step name").fill("Fill in the form")
    page.locator(".map-toolbar select[name=phase]").select_option(label="Apply")
    page.get_by_role("button", name="Add step").click()
    expect(step_head(page, "Fill in the form")).to_be_visible()
    expect(page.get_by_label("Step name")).to_be_focused()

    # A lane, in place.
    column_cell(page, "lane-goal", "Compare offers").get_by_role("link", name=re.compile("Add")).click()
    editor_box = column_cell(page, "lane-goal", "Compare offers").locator("textarea")
    expect(editor_box).to_be_focused()
    editor_box.fill("Find the account with the lowest fees")
    column_cell(page, "lane-goal", "Compare offers").get_by_role("button", name="Save").click()
    expect(column_cell(page, "lane-goal", "Compare offers").locator(".cell-text")).to_have_text(
        "Find the account with the lowest fees"
    )
    expect(column_cell(page, "lane-goal", "Compare offers").locator(".cell-edit")).to_be_focused()

    # A touchpoint with its channel.
    column_cell(page, "lane-touchpoints", "Compare offers").get_by_role(
        "link", name=re.compile("Touchpoint")
    ).click()
    cell = column_cell(page, "lane-touchpoints", "Compare offers")
    cell.get_by_label("Name").fill("Comparison table")
    cell.get_by_label("Channel").select_option(label="Website")
    cell.get_by_role("button", name="Add touchpoint").click()
    expect(column_cell(page, "lane-touchpoints", "Compare offers")).to_contain_text("Comparison table")
    expect(  # the keyboard stays in the lane, ready for the next touchpoint
        column_cell(page, "lane-touchpoints", "Compare offers").get_by_role(
            "link", name=re.compile("Touchpoint")
        )
    ).to_be_focused()

    # Emotions: one click per step; the curve gets a point per scored step.
    for name, score in (
        ("Search for an account", "+1 Pleased"),
        ("Compare offers", "−2 Angry"),
        ("Fill in the form", "0 Neutral"),
    ):
        column_cell(page, "lane-emotion", name).get_by_role("button", name=score).click()
        expect(column_cell(page, "lane-emotion", name).get_by_role("button", name=score)).to_have_attribute(
            "aria-pressed", "true"
        )
        # The board is redrawn; the keyboard stays on the button just pressed.
        expect(column_cell(page, "lane-emotion", name).get_by_role("button", name=score)).to_be_focused()
    expect(page.locator(".curve-cell circle")).to_have_count(3)

    assert layout(journey) == [
        ("Discover", ["Search for an account", "Compare offers"]),
        ("Apply", ["Fill in the form"]),
    ]
    compare = Step.objects.get(journey=journey, name="Compare offers")
    assert (compare.customer_goal, compare.emotion, compare.touchpoints.get().channel) == (
        "Find the account with the lowest fees",
        -2,
        "web",
    )
    screenshot("built")


def test_editor_pins_an_insight_and_creates_one(page, log_in, screenshot, workspace, editor):
    journey = make_journey(workspace, phases={"Apply": ["Fill in the form", "Verify ID"]})
    Insight.objects.create(workspace=workspace, title="Address history is painful", kind="pain", severity=4)
    Insight.objects.create(workspace=workspace, title="Branch queues are long", kind="pain")
    log_in(editor.user.email)
    open_map(page, journey)

    column_cell(page, "lane-insights", "Fill in the form").get_by_role(
        "link", name=re.compile("Insight")
    ).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Pin an existing insight").fill("address")
    expect(dialog.locator(".pin-results li")).to_have_count(1)
    screenshot("pin-dialog")
    dialog.get_by_role("button", name="Pin “Address history is painful”").click()
    expect(dialog).to_be_hidden()
    expect(column_cell(page, "lane-insights", "Fill in the form")).to_contain_text(
        "Address history is painful"
    )
    expect(  # back where the dialog was opened from
        column_cell(page, "lane-insights", "Fill in the form").get_by_role("link", name=re.compile("Insight"))
    ).to_be_focused()

    column_cell(page, "lane-insights", "Verify ID").get_by_role("link", name=re.compile("Insight")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Create and pin").click()
    assert dialog.get_by_label("Title").evaluate("input => !input.checkValidity()")  # the title is required
    dialog.get_by_label("Title").fill("The selfie check fails in low light")
    dialog.get_by_label("Severity").select_option("5")
    dialog.get_by_label("Source method").select_option(label="Survey")
    dialog.get_by_role("button", name="Create and pin").click()
    expect(column_cell(page, "lane-insights", "Verify ID")).to_contain_text(
        "The selfie check fails in low light"
    )

    assert list(
        Insight.objects.get(title="Address history is painful").steps.values_list("name", flat=True)
    ) == ["Fill in the form"]
    created = Insight.objects.get(title="The selfie check fails in low light")
    assert (created.severity, created.source) == (5, "survey")


def test_editor_reorders_steps_by_drag_and_drop_and_keyboard(page, log_in, screenshot, workspace, editor):
    journey = make_journey(
        workspace, phases={"Discover": ["Search", "Compare"], "Apply": ["Fill in", "Verify ID"]}
    )
    log_in(editor.user.email)
    open_map(page, journey)

    revision = board(page).get_attribute("data-revision")
    step_head(page, "Verify ID").locator(".drag-handle").drag_to(
        step_head(page, "Search"), target_position={"x": 10, "y": 30}
    )
    wait_for_board(page, revision)
    expect(page.locator(".step-title")).to_have_text(["Verify ID", "Search", "Compare", "Fill in"])
    assert layout(journey) == [("Discover", ["Verify ID", "Search", "Compare"]), ("Apply", ["Fill in"])]

    # The keyboard alternative: focus the handle, press → ; the handle keeps the focus.
    revision = board(page).get_attribute("data-revision")
    step_head(page, "Compare").locator(".drag-handle").focus()
    page.keyboard.press("ArrowRight")
    wait_for_board(page, revision)
    expect(page.locator(".step-title")).to_have_text(["Verify ID", "Search", "Compare", "Fill in"])
    assert layout(journey) == [("Discover", ["Verify ID", "Search"]), ("Apply", ["Compare", "Fill in"])]
    expect(step_head(page, "Compare").locator(".drag-handle")).to_be_focused()

    # Phases move with their steps.
    revision = board(page).get_attribute("data-revision")
    page.locator("th.phase-head", has_text="Apply").locator(".drag-handle").drag_to(
        page.locator("th.phase-head", has_text="Discover"), target_position={"x": 10, "y": 10}
    )
    wait_for_board(page, revision)
    expect(page.locator(".step-title")).to_have_text(["Compare", "Fill in", "Verify ID", "Search"])
    screenshot("reordered")


def test_editor_creates_an_opportunity_from_a_pain_point(page, log_in, screenshot, workspace, editor):
    journey = make_journey(workspace, phases={"Apply": ["Verify ID"]})
    pain = Insight.objects.create(
        workspace=workspace, title="The camera check fails", kind="pain", severity=5
    )
    pain.steps.add(Step.objects.get(journey=journey))
    log_in(editor.user.email)
    open_map(page, journey)

    column_cell(page, "lane-insights", "Verify ID").get_by_role(
        "button", name=re.compile("Opportunity")
    ).click()
    expect(page.locator(".map-notice")).to_contain_text("Opportunity “The camera check fails” created")
    expect(column_cell(page, "lane-opportunities", "Verify ID")).to_contain_text("The camera check fails")
    expect(column_cell(page, "lane-insights", "Verify ID")).to_contain_text("✓ Opportunity")
    opportunity = Opportunity.objects.get()
    assert list(opportunity.insights.all()) == [pain]
    page.locator(".map-notice a").click()
    expect(page).to_have_url(re.compile(rf"/opportunities/{opportunity.pk}/$"))


def test_stale_edit_is_refused_and_keeps_what_the_editor_typed(page, log_in, screenshot, workspace, editor):
    journey = make_journey(workspace, phases={"Apply": ["Fill in"]})
    log_in(editor.user.email)
    open_map(page, journey)
    column_cell(page, "lane-thoughts", "Fill in").get_by_role("link", name=re.compile("Add")).click()
    column_cell(page, "lane-thoughts", "Fill in").locator("textarea").fill("Why so many fields?")

    # Meanwhile, someone else writes the same lane.
    Step.objects.filter(journey=journey).update(thoughts_feelings="This is tedious", revision=2)

    column_cell(page, "lane-thoughts", "Fill in").get_by_role("button", name="Save").click()
    cell = column_cell(page, "lane-thoughts", "Fill in")
    expect(cell.get_by_role("alert")).to_contain_text("Someone else changed this step")
    expect(cell.locator(".conflict-current")).to_have_text("This is tedious")
    expect(cell.locator("textarea")).to_have_value("Why so many fields?")
    screenshot("conflict")
    cell.get_by_role("button", name="Save mine").click()
    expect(column_cell(page, "lane-thoughts", "Fill in").locator(".cell-text")).to_have_text(
        "Why so many fields?"
    )
    assert Step.objects.get(journey=journey).thoughts_feelings == "Why so many fields?"


def test_deleting_a_step_with_pins_asks_first_and_keeps_the_insight(page, log_in, workspace, editor):
    journey = make_journey(workspace, steps=["Search", "Compare"])
    insight = Insight.objects.create(workspace=workspace, title="Rates are hidden")
    insight.steps.add(Step.objects.get(name="Compare"))
    log_in(editor.user.email)
    open_map(page, journey)
    step_head(page, "Compare").locator("summary").click()
    step_head(page, "Compare").get_by_role("link", name="Delete step…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("only be unpinned")
    expect(dialog.get_by_role("link", name="Keep it")).to_be_focused()  # the safe choice, not "Delete"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(step_head(page, "Compare").locator("summary")).to_be_focused()  # back on the step's menu
    assert Step.objects.filter(name="Compare").exists()

    step_head(page, "Compare").locator("summary").click()
    step_head(page, "Compare").get_by_role("link", name="Delete step…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete step").click()
    notice = page.locator(".map-notice")
    expect(notice).to_contain_text("1 insight was unpinned; it is still in the insight repository.")
    expect(notice).to_be_focused()  # what had the focus is gone: the notice takes it
    expect(page.locator(".step-title")).to_have_text(["Search"])
    assert Insight.objects.filter(pk=insight.pk).exists()


def test_viewer_sees_no_edit_controls_and_a_forged_request_is_refused(
    page, log_in, screenshot, workspace, viewer
):
    journey = make_journey(workspace, phases={"Apply": ["Fill in", "Verify ID"]})
    persona = Persona.objects.create(workspace=workspace, name="Saver Sam")
    journey.personas.add(persona)
    Step.objects.filter(name="Fill in").update(customer_goal="Apply in five minutes", emotion=-1)
    log_in(viewer.user.email)
    open_map(page, journey)

    expect(page.locator(".map")).to_contain_text("Apply in five minutes")
    for control in (
        ".drag-handle",
        ".map-menu",
        ".cell-edit",
        ".cell-add",
        ".emotion-scale",
        ".map-toolbar",
        "[hx-post]",
    ):
        expect(page.locator(control)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit details")).to_have_count(0)
    screenshot("viewer")

    token = json.loads(page.locator("body").get_attribute("hx-headers"))["X-CSRFToken"]
    step = Step.objects.get(name="Fill in")
    response = page.request.post(
        f"/w/{workspace.slug}/journeys/{journey.pk}/steps/{step.pk}/cell/",
        form={"lane": "customer_goal", "revision": "1", "text": "Forged"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status == 403
    response = page.request.post(
        f"/w/{workspace.slug}/journeys/{journey.pk}/phases/add/",
        form={"revision": "1", "name": "Forged"},
        headers={"X-CSRFToken": token},
    )
    assert response.status == 403
    assert Step.objects.get(pk=step.pk).customer_goal == "Apply in five minutes"
    assert not Phase.objects.filter(name="Forged").exists()


def test_persona_view_and_print(page, log_in, screenshot, workspace, editor):
    journey = make_journey(workspace, phases={"Apply": ["Fill in", "Verify ID"]})
    persona = Persona.objects.create(workspace=workspace, name="Saver Sam")
    journey.personas.add(persona)
    Step.objects.filter(journey=journey).update(emotion=1)
    log_in(editor.user.email)
    open_map(page, journey)
    page.get_by_role("link", name="Saver Sam").click()
    expect(page.locator(".persona-note")).to_contain_text("Saver Sam")
    column_cell(page, "lane-emotion", "Verify ID").get_by_role("button", name="−2 Angry").click()
    expect(column_cell(page, "lane-emotion", "Verify ID")).to_contain_text("−2 · Angry")
    expect(page).to_have_url(re.compile(rf"\?persona={persona.pk}$"))
    assert Step.objects.get(name="Verify ID").persona_emotions.get().score == -2
    assert Step.objects.get(name="Verify ID").emotion == 1

    page.emulate_media(media="print")
    expect(page.locator(".map-toolbar")).to_be_hidden()
    expect(page.locator(".emotion-scale").first).to_be_hidden()
    screenshot("print")


def test_a_comment_posted_from_the_map_shows_in_the_step_header(page, log_in, workspace, editor):
    journey = make_journey(workspace, steps=["Search", "Compare"])
    log_in(editor.user.email)
    open_map(page, journey)
    step_head(page, "Compare").locator("a.step-comments").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("textarea").fill("Is the rate table up to date?")
    dialog.get_by_role("button", name="Comment").click()
    expect(dialog).to_contain_text("Is the rate table up to date?")
    expect(dialog.locator("textarea")).to_be_focused()  # ready for the next comment
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    link = step_head(page, "Compare").locator("a.step-comments")
    expect(link).to_contain_text("1 comment on")
    expect(link).to_be_focused()
