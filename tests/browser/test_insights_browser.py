"""The insight repository in a real browser: filter the list, validate two insights at once, and import
a CSV that has a bad row, then the fixed one."""

import pytest
from playwright.sync_api import expect

from journeys.models import Insight, Persona

pytestmark = pytest.mark.browser


def test_editor_filters_and_bulk_validates_insights(page, log_in, screenshot, workspace, editor):
    for title, kind in (
        ("Forms ask for the same data twice", "pain"),
        ("Branch staff explain the options well", "gain"),
        ("Fees are hidden in PDF documents", "pain"),
        ("Customers compare rates on their phone", "observation"),
    ):
        Insight.objects.create(workspace=workspace, title=title, kind=kind)
    log_in(editor.user.email)
    page.goto(f"/w/{workspace.slug}/insights/")
    rows = page.locator("table.insights tbody tr")
    expect(rows).to_have_count(4)

    page.get_by_label("Kind").select_option("pain")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("status").first).to_contain_text("2 insights match these filters")
    expect(page).to_have_url(f"{page.url.split('?')[0]}?kind=pain")

    page.get_by_label("Search").fill("fees")
    expect(rows).to_have_count(1)
    page.get_by_label("Search").fill("")
    expect(rows).to_have_count(2)

    page.get_by_label("Select all insights on this page").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2")
    screenshot("selected")
    page.get_by_role("button", name="Mark validated").click()

    expect(page.locator(".messages")).to_contain_text("2 insights marked validated.")
    expect(page.get_by_label("Kind")).to_have_value("pain")  # back on the filtered list
    assert sorted(Insight.objects.filter(status="validated").values_list("title", flat=True)) == [
        "Fees are hidden in PDF documents",
        "Forms ask for the same data twice",
    ]
    assert Insight.objects.filter(status="hypothesis").count() == 2


def test_editor_imports_a_csv_after_fixing_its_bad_row(page, log_in, screenshot, workspace, editor):
    Persona.objects.create(workspace=workspace, name="Saver Sam")
    log_in(editor.user.email)
    page.goto(f"/w/{workspace.slug}/insights/")
    page.get_by_role("link", name="Import a CSV").click()

    bad = (
        b"title;kind;severity;personas\n"
        b"Statements arrive late;Pain point;4;Saver Sam\n"
        b"Tariff table is confusing;pains;9;Nobody\n"
    )
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "insights.csv", "mimeType": "text/csv", "buffer": bad}]
    )
    page.get_by_role("button", name="Check and import").click()

    problems = page.locator("#import-problems")
    expect(problems).to_contain_text("1 row cannot be imported")
    expect(problems).to_contain_text("Kind “pains” is not one of")
    expect(problems).to_contain_text("Severity must be a whole number from 1 to 5")
    expect(problems).to_contain_text("There is no persona “Nobody”")
    expect(problems.locator("tbody td.num")).to_have_text("3")
    screenshot("errors")
    assert not Insight.objects.exists()

    pasted = page.get_by_label("Or paste the rows")
    expect(pasted).to_have_value(bad.decode())
    pasted.fill(bad.decode().replace("pains;9;Nobody", "Pain point;5;Saver Sam"))
    page.get_by_role("button", name="Check and import").click()

    expect(page.locator(".messages")).to_contain_text("Imported 2 insights.")
    expect(page.locator("table.insights tbody tr")).to_have_count(2)
    assert Insight.objects.get(title="Tariff table is confusing").severity == 5
    assert Insight.personas.through.objects.count() == 2


def test_editor_pins_an_insight_through_the_journey_then_step_pickers(page, log_in, workspace, editor):
    from tests.test_insights_services import make_journey

    account = make_journey(workspace)
    mortgage = make_journey(workspace, "Get a mortgage", steps=("Compare offers", "Apply", "Sign"))
    insight = Insight.objects.create(workspace=workspace, title="Rates are hard to compare")
    insight.steps.add(account.steps.get(position=1))
    log_in(editor.user.email)

    # The form: choosing a journey swaps in its steps (htmx) and keeps the ones ticked before.
    page.goto(f"/w/{workspace.slug}/insights/{insight.pk}/edit/")
    picker = page.locator("#step-picker")
    page.get_by_label("Add steps of a journey").select_option(label="Get a mortgage")
    expect(picker.get_by_label("Apply")).to_be_visible()
    picker.get_by_label("Apply").check()
    page.get_by_label("Add steps of a journey").select_option(label="Open an account")
    expect(picker.get_by_label("Verify ID")).to_be_visible()
    expect(picker.get_by_label("Apply")).to_be_checked()  # carried over to the chosen steps
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Insight saved.")
    assert set(insight.steps.values_list("name", flat=True)) == {"Find the offer", "Apply"}

    # The insight's page: a journey, then one of its steps.
    page.get_by_label("Journey", exact=True).select_option(label="Get a mortgage")
    expect(page.locator("#pin-step option")).to_have_count(4)
    page.get_by_label("Step", exact=True).select_option(label="3. Sign")
    page.get_by_role("button", name="Pin", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Pinned to Get a mortgage › Sign.")
    assert insight.steps.filter(journey=mortgage, name="Sign").exists()
