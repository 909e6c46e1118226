"""Editing the journey framework on the atlas: lifecycles, stages, macro journeys and new journeys.

Every write works with htmx (the atlas body comes back) and without (a redirect); a viewer sees no
controls and is refused on a forged POST; every change is recorded in the activity history."""

import pytest
from django.core.exceptions import ValidationError

from atlas.models import Activity
from journeys.models import Journey, Lifecycle, LifecycleStage, MacroJourney, Persona
from journeys.services import framework

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "atlas-body"}


def make_lifecycle(workspace, *stage_names, name="Customer lifecycle"):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name=name)
    stages = [
        LifecycleStage.objects.create(workspace=workspace, lifecycle=lifecycle, name=stage, position=i)
        for i, stage in enumerate(stage_names)
    ]
    return lifecycle, stages


def make_macros(stage, *names):
    return [
        MacroJourney.objects.create(workspace=stage.workspace, stage=stage, name=name, position=i)
        for i, name in enumerate(names)
    ]


def stage_order(lifecycle):
    return list(
        LifecycleStage.objects.filter(lifecycle=lifecycle)
        .order_by("position")
        .values_list("name", "position")
    )


def macro_order(stage):
    return list(MacroJourney.objects.filter(stage=stage).order_by("position").values_list("name", "position"))


def last_activity(workspace):
    return Activity.objects.filter(workspace=workspace).order_by("-id").first()


# --- services: positions ----------------------------------------------------------------------------------


def test_stage_move_reorders_every_position_without_a_clash(workspace, editor):
    lifecycle, stages = make_lifecycle(workspace, "Awareness", "Consideration", "Purchase", "Onboarding")
    framework.stage_move(stage=stages[3], actor=editor.user, to_index=0)
    assert stage_order(lifecycle) == [
        ("Onboarding", 0),
        ("Awareness", 1),
        ("Consideration", 2),
        ("Purchase", 3),
    ]
    framework.stage_move(stage=stages[0], actor=editor.user, by=1)  # Awareness one to the right
    assert [n for n, _ in stage_order(lifecycle)] == ["Onboarding", "Consideration", "Awareness", "Purchase"]
    activity = last_activity(workspace)
    assert (activity.verb, activity.target_label, activity.changes) == (
        "moved",
        "Awareness",
        {"position": [1, 2]},
    )


def test_stage_move_renumbers_positions_with_gaps_and_clamps_at_the_edges(workspace, editor):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="L")
    rows = [
        LifecycleStage.objects.create(workspace=workspace, lifecycle=lifecycle, name=n, position=p)
        for n, p in (("A", 3), ("B", 7), ("C", 20))
    ]
    framework.stage_move(stage=rows[0], actor=editor.user, by=-1)  # already first: nothing happens
    assert stage_order(lifecycle) == [("A", 3), ("B", 7), ("C", 20)]
    framework.stage_move(stage=rows[0], actor=editor.user, to_index=99)
    assert stage_order(lifecycle) == [("B", 0), ("C", 1), ("A", 2)]


def test_macro_journey_moves_up_down_and_to_another_stage(workspace, editor):
    _, (first, second) = make_lifecycle(workspace, "Purchase", "Onboarding")
    a, b, c = make_macros(first, "A", "B", "C")
    (_d,) = make_macros(second, "D")
    framework.macro_journey_move(macro_journey=c, actor=editor.user, by=-1)
    assert macro_order(first) == [("A", 0), ("C", 1), ("B", 2)]
    framework.macro_journey_move(macro_journey=a, actor=editor.user, stage=second, to_index=0)
    assert macro_order(first) == [("C", 0), ("B", 1)]
    assert macro_order(second) == [("A", 0), ("D", 1)]
    framework.macro_journey_move(macro_journey=b, actor=editor.user, stage=second)  # no place: the bottom
    assert macro_order(second) == [("A", 0), ("D", 1), ("B", 2)]
    assert last_activity(workspace).changes == {"stage": ["Purchase", "Onboarding"], "position": [None, 2]}


def test_macro_journey_cannot_move_to_a_stage_of_another_workspace(workspace, other_workspace, editor):
    _, (stage,) = make_lifecycle(workspace, "Purchase")
    _, (foreign,) = make_lifecycle(other_workspace, "Elsewhere")
    (macro,) = make_macros(stage, "A")
    with pytest.raises(ValidationError):
        framework.macro_journey_move(macro_journey=macro, actor=editor.user, stage=foreign)
    assert MacroJourney.objects.get(pk=macro.pk).stage == stage


# --- services: deletion rules --------------------------------------------------------------------------


def test_stage_with_macro_journeys_is_not_deleted_without_a_new_home(workspace, editor):
    _lifecycle, (purchase, _onboarding) = make_lifecycle(workspace, "Purchase", "Onboarding")
    make_macros(purchase, "Get a mortgage")
    with pytest.raises(ValidationError, match="still has 1 macro journey"):
        framework.stage_delete(stage=purchase, actor=editor.user)
    assert LifecycleStage.objects.filter(pk=purchase.pk).exists()


def test_stage_deletion_moves_its_macro_journeys_below_the_target_stage_ones(workspace, editor):
    lifecycle, (purchase, onboarding, _usage) = make_lifecycle(workspace, "Purchase", "Onboarding", "Usage")
    make_macros(purchase, "P1", "P2")
    make_macros(onboarding, "O1")
    framework.stage_delete(stage=purchase, actor=editor.user, move_macro_journeys_to=onboarding)
    assert macro_order(onboarding) == [("O1", 0), ("P1", 1), ("P2", 2)]
    assert stage_order(lifecycle) == [("Onboarding", 0), ("Usage", 1)]
    activity = last_activity(workspace)
    assert activity.verb == "deleted" and activity.changes["macro_journeys_moved_to"] == "Onboarding"


def test_macro_journey_with_journeys_is_not_deleted(workspace, editor):
    _, (stage,) = make_lifecycle(workspace, "Purchase")
    keep, drop = make_macros(stage, "Keep", "Drop")
    Journey.objects.create(workspace=workspace, macro_journey=keep, name="Apply online")
    with pytest.raises(ValidationError, match="still has 1 journey"):
        framework.macro_journey_delete(macro_journey=keep, actor=editor.user)
    framework.macro_journey_delete(macro_journey=drop, actor=editor.user)
    assert macro_order(stage) == [("Keep", 0)]


def test_lifecycle_with_placed_macro_journeys_is_not_deleted(workspace, editor):
    lifecycle, (stage,) = make_lifecycle(workspace, "Purchase")
    (macro,) = make_macros(stage, "Get a mortgage")
    with pytest.raises(ValidationError, match="still has 1 macro journey"):
        framework.lifecycle_delete(lifecycle=lifecycle, actor=editor.user)
    macro.delete()
    framework.lifecycle_delete(lifecycle=lifecycle, actor=editor.user)
    assert not Lifecycle.objects.filter(pk=lifecycle.pk).exists()
    assert not LifecycleStage.objects.filter(pk=stage.pk).exists()
    assert last_activity(workspace).changes == {"stages": ["Purchase"]}


def test_lifecycle_created_with_the_usual_stages(workspace, editor):
    lifecycle = framework.lifecycle_create(
        workspace=workspace,
        actor=editor.user,
        name=" Customer lifecycle ",
        stage_names=framework.STANDARD_STAGES,
    )
    assert lifecycle.name == "Customer lifecycle"
    assert [n for n, _ in stage_order(lifecycle)] == list(framework.STANDARD_STAGES)
    with pytest.raises(ValidationError):
        framework.lifecycle_create(workspace=workspace, actor=editor.user, name="customer LIFECYCLE")


# --- the atlas page: editing with htmx and without ------------------------------------------------------


def test_editor_adds_a_stage_with_htmx_and_gets_the_atlas_body_back(client_for, editor, workspace):
    lifecycle, _ = make_lifecycle(workspace, "Awareness")
    response = client_for(editor).post(
        f"/w/acme/lifecycles/{lifecycle.pk}/stages/new/", {"name": "Consideration"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="atlas-body"' in body and "<html" not in body
    assert 'hx-swap-oob="true"' in body  # the breadcrumbs follow
    assert [n for n, _ in stage_order(lifecycle)] == ["Awareness", "Consideration"]
    assert last_activity(workspace).verb == "created"


def test_stage_added_without_javascript_redirects_to_its_column(client_for, editor, workspace):
    lifecycle, _ = make_lifecycle(workspace, "Awareness")
    response = client_for(editor).post(f"/w/acme/lifecycles/{lifecycle.pk}/stages/new/", {"name": "Purchase"})
    stage = LifecycleStage.objects.get(name="Purchase")
    assert response.status_code == 302
    assert response["Location"] == f"/w/acme/?lifecycle={lifecycle.pk}#stage-{stage.pk}"


def test_blank_or_duplicate_stage_name_is_refused_inline_and_keeps_the_input(client_for, editor, workspace):
    lifecycle, _ = make_lifecycle(workspace, "Awareness")
    client = client_for(editor)
    url = f"/w/acme/lifecycles/{lifecycle.pk}/stages/new/"
    body = client.post(url, {"name": "  "}, **HTMX).content.decode()
    assert "This field is required." in body and 'aria-invalid="true"' in body
    body = client.post(url, {"name": "awareness"}, **HTMX).content.decode()
    assert "already has a stage called" in body and 'value="awareness"' in body
    page = client.post(url, {"name": ""})  # without JavaScript: the form on its own page
    assert page.status_code == 200 and "This field is required." in page.content.decode()
    assert LifecycleStage.objects.filter(lifecycle=lifecycle).count() == 1


def test_stage_rename_opens_inline_and_saves(client_for, editor, workspace):
    _, (stage,) = make_lifecycle(workspace, "Awarenes")
    client = client_for(editor)
    form = client.get(f"/w/acme/stages/{stage.pk}/edit/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in form and 'value="Awarenes"' in form and "Stage name" in form
    response = client.post(
        f"/w/acme/stages/{stage.pk}/edit/", {"name": "Awareness", "description": ""}, **HTMX
    )
    assert response.status_code == 200
    stage.refresh_from_db()
    assert stage.name == "Awareness"
    assert last_activity(workspace).changes == {"name": ["Awarenes", "Awareness"]}
    page = client.get(f"/w/acme/stages/{stage.pk}/edit/")  # without JavaScript: a page with the form
    assert "<html" in page.content.decode()


def test_stage_rename_error_shows_in_the_open_header_form(client_for, editor, workspace):
    _, (stage, _other) = make_lifecycle(workspace, "Awareness", "Purchase")
    body = (
        client_for(editor)
        .post(f"/w/acme/stages/{stage.pk}/edit/", {"name": "Purchase"}, **HTMX)
        .content.decode()
    )
    assert "already has a stage called" in body
    assert f'id="stage-{stage.pk}-name"' in body  # the input (not the heading) carries the id now
    assert LifecycleStage.objects.get(pk=stage.pk).name == "Awareness"


def test_stage_moves_right_with_the_arrow_button(client_for, editor, workspace):
    lifecycle, (a, b) = make_lifecycle(workspace, "A", "B")
    client = client_for(editor)
    response = client.post(f"/w/acme/stages/{a.pk}/move/", {"direction": "right"})
    assert response.status_code == 302
    assert [n for n, _ in stage_order(lifecycle)] == ["B", "A"]
    body = client.post(f"/w/acme/stages/{a.pk}/move/", {"direction": "left"}, **HTMX).content.decode()
    assert body.index(f'id="stage-{a.pk}"') < body.index(f'id="stage-{b.pk}"')


def test_stage_menu_loads_its_actions_when_it_opens(client_for, editor, workspace):
    lifecycle, (first, second) = make_lifecycle(workspace, "Awareness", "Purchase")
    client = client_for(editor)
    atlas = client.get("/w/acme/").content.decode()
    assert f'href="/w/acme/stages/{first.pk}/move/"' in atlas  # the menu's way to its actions
    assert 'name="direction"' not in atlas  # the move forms are not on the page
    menu = client.get(f"/w/acme/stages/{second.pk}/move/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in menu
    assert f'id="stage-{second.pk}-rename"' in menu and f'href="/w/acme/stages/{second.pk}/delete/"' in menu
    assert f'id="stage-{second.pk}-left" name="direction" value="left">' in menu
    assert f'id="stage-{second.pk}-right" name="direction" value="right" aria-disabled="true"' in menu  # last
    page = client.get(f"/w/acme/stages/{first.pk}/move/").content.decode()  # without JavaScript
    assert "<html" in page and 'value="right"' in page and "Back to the atlas" in page
    assert f'href="/w/acme/?lifecycle={lifecycle.pk}#stage-{first.pk}"' in page


def test_macro_journey_menu_loads_its_actions_with_every_stage_to_move_to(client_for, editor, workspace):
    _, (purchase, onboarding) = make_lifecycle(workspace, "Purchase", "Onboarding")
    _, (hiring,) = make_lifecycle(workspace, "Hiring", name="Employee lifecycle")
    first, second = make_macros(purchase, "Get a mortgage", "Open an account")
    client = client_for(editor)
    atlas = client.get("/w/acme/").content.decode()
    assert f'href="/w/acme/macro-journeys/{first.pk}/move/"' in atlas
    assert "Move to stage" not in atlas and "<option" not in atlas
    menu = client.get(f"/w/acme/macro-journeys/{first.pk}/move/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in menu
    assert f'id="macro-{first.pk}-up" name="direction" value="up" aria-disabled="true"' in menu  # first
    assert f'id="macro-{first.pk}-down" name="direction" value="down">' in menu
    assert f'<option value="{purchase.pk}" selected>Purchase</option>' in menu
    assert f'value="{onboarding.pk}"' in menu and f'value="{hiring.pk}"' in menu
    assert f"/w/acme/macro-journeys/{first.pk}/journeys/new/" in menu
    page = client.get(f"/w/acme/macro-journeys/{second.pk}/move/").content.decode()  # without JavaScript
    assert "<html" in page and "Move to stage" in page and "hx-disable" in page


def test_keyboard_move_keeps_the_menu_open_with_its_actions(client_for, editor, workspace):
    _, (purchase,) = make_lifecycle(workspace, "Purchase")
    first, second = make_macros(purchase, "A", "B")
    body = (
        client_for(editor)
        .post(f"/w/acme/macro-journeys/{second.pk}/move/", {"direction": "up"}, **HTMX)
        .content.decode()
    )
    assert macro_order(purchase) == [("B", 0), ("A", 1)]
    assert body.count('<details class="macro-menu" open>') == 1
    assert f'id="macro-{second.pk}-up" name="direction" value="up" aria-disabled="true"' in body
    assert f'<option value="{purchase.pk}" selected>Purchase</option>' in body
    assert f'<a class="menu-load" id="macro-{first.pk}-rename"' in body  # the other menu stays closed


def test_stage_delete_page_offers_to_move_its_macro_journeys(client_for, editor, workspace):
    _lifecycle, (purchase, onboarding) = make_lifecycle(workspace, "Purchase", "Onboarding")
    make_macros(purchase, "Get a mortgage")
    client = client_for(editor)
    body = client.get(f"/w/acme/stages/{purchase.pk}/delete/").content.decode()
    assert "Get a mortgage" in body and "Move them and delete the stage" in body
    refused = client.post(f"/w/acme/stages/{purchase.pk}/delete/", {"move_to": ""})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    done = client.post(f"/w/acme/stages/{purchase.pk}/delete/", {"move_to": onboarding.pk})
    assert done.status_code == 302
    assert macro_order(onboarding) == [("Get a mortgage", 0)]


def test_macro_journey_added_renamed_and_moved_on_the_atlas(client_for, editor, workspace):
    _lifecycle, (purchase, onboarding) = make_lifecycle(workspace, "Purchase", "Onboarding")
    client = client_for(editor)
    body = client.post(f"/w/acme/stages/{purchase.pk}/macro-journeys/new/", {"name": "Get a mortgag"}, **HTMX)
    macro = MacroJourney.objects.get(name="Get a mortgag")
    assert f'id="macro-{macro.pk}"' in body.content.decode()
    client.post(
        f"/w/acme/macro-journeys/{macro.pk}/edit/",
        {"name": "Get a mortgage", "owner": editor.pk, "description": "From first search to keys."},
        **HTMX,
    )
    macro.refresh_from_db()
    assert (macro.name, macro.owner, macro.description) == (
        "Get a mortgage",
        editor,
        "From first search to keys.",
    )
    response = client.post(f"/w/acme/macro-journeys/{macro.pk}/move/", {"stage": onboarding.pk})
    assert response.status_code == 302 and response["Location"].endswith(f"#macro-{macro.pk}")
    assert macro_order(onboarding) == [("Get a mortgage", 0)]


def test_macro_journey_moved_to_another_lifecycle_leaves_a_message_on_this_one(client_for, editor, workspace):
    _, (purchase,) = make_lifecycle(workspace, "Purchase")
    _, (hiring,) = make_lifecycle(workspace, "Hiring", name="Employee lifecycle")
    (macro,) = make_macros(purchase, "Get a mortgage")
    body = client_for(editor).post(f"/w/acme/macro-journeys/{macro.pk}/move/", {"stage": hiring.pk}, **HTMX)
    html = body.content.decode()
    assert "“Get a mortgage” moved to Employee lifecycle › Hiring." in html
    assert f'id="stage-{purchase.pk}"' in html  # still the customer lifecycle's board
    assert macro_order(hiring) == [("Get a mortgage", 0)]


def test_blank_macro_journey_name_keeps_the_add_form_open_with_the_error(client_for, editor, workspace):
    _, (stage,) = make_lifecycle(workspace, "Purchase")
    body = client_for(editor).post(f"/w/acme/stages/{stage.pk}/macro-journeys/new/", {"name": ""}, **HTMX)
    html = body.content.decode()
    assert "This field is required." in html
    assert '<details class="add-inline" open>' in html
    assert not MacroJourney.objects.exists()


def test_deleting_a_macro_journey_with_journeys_is_refused_with_a_clear_message(
    client_for, editor, workspace
):
    _, (stage,) = make_lifecycle(workspace, "Purchase")
    (macro,) = make_macros(stage, "Get a mortgage")
    Journey.objects.create(workspace=workspace, macro_journey=macro, name="Apply for a mortgage")
    client = client_for(editor)
    page = client.get(f"/w/acme/macro-journeys/{macro.pk}/delete/").content.decode()
    assert (
        "cannot be deleted" in page and "Apply for a mortgage" in page and "Delete macro journey" not in page
    )
    forged = client.post(f"/w/acme/macro-journeys/{macro.pk}/delete/")
    assert forged.status_code == 400 and "still has 1 journey" in forged.content.decode()
    assert MacroJourney.objects.filter(pk=macro.pk).exists()


def test_new_journey_lands_on_its_map(client_for, editor, workspace):
    _, (stage,) = make_lifecycle(workspace, "Purchase")
    (macro,) = make_macros(stage, "Get a mortgage")
    persona = Persona.objects.create(workspace=workspace, name="First-time buyer")
    client = client_for(editor)
    form = client.get(f"/w/acme/macro-journeys/{macro.pk}/journeys/new/").content.decode()
    assert "First-time buyer" in form
    response = client.post(
        f"/w/acme/macro-journeys/{macro.pk}/journeys/new/",
        {"name": "Apply online", "owner": editor.pk, "primary_persona": persona.pk, "description": ""},
    )
    journey = Journey.objects.get(name="Apply online")
    assert response.status_code == 302 and response["Location"] == f"/w/acme/journeys/{journey.pk}/"
    assert (journey.kind, journey.owner, journey.primary_persona, journey.macro_journey) == (
        "current",
        editor,
        persona,
        macro,
    )
    assert last_activity(workspace).target_type == "journey"
    refused = client.post(f"/w/acme/macro-journeys/{macro.pk}/journeys/new/", {"name": ""})
    assert refused.status_code == 200 and "This field is required." in refused.content.decode()


def test_persona_of_another_workspace_is_not_a_choice_for_a_new_journey(
    client_for, editor, workspace, other_workspace
):
    _, (stage,) = make_lifecycle(workspace, "Purchase")
    (macro,) = make_macros(stage, "Get a mortgage")
    foreign = Persona.objects.create(workspace=other_workspace, name="Their persona")
    response = client_for(editor).post(
        f"/w/acme/macro-journeys/{macro.pk}/journeys/new/", {"name": "Apply", "primary_persona": foreign.pk}
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Journey.objects.exists()


def test_lifecycles_are_created_renamed_switched_and_deleted(client_for, editor, workspace):
    client = client_for(editor)
    empty = client.get("/w/acme/").content.decode()
    assert "No lifecycle yet" in empty and "Create lifecycle" in empty
    client.post("/w/acme/lifecycles/new/", {"name": "Customer lifecycle", "standard_stages": "on"})
    customer = Lifecycle.objects.get(name="Customer lifecycle")
    response = client.post("/w/acme/lifecycles/new/", {"name": "Employee lifecycle"})
    employee = Lifecycle.objects.get(name="Employee lifecycle")
    assert response["Location"] == f"/w/acme/?lifecycle={employee.pk}"
    body = client.get(f"/w/acme/?lifecycle={employee.pk}").content.decode()
    assert "has no stages yet" in body and "Add your first stage" in body
    assert body.count('aria-current="page"') >= 1 and "Customer lifecycle" in body  # the tab to switch
    client.post(f"/w/acme/lifecycles/{employee.pk}/edit/", {"name": "Colleague lifecycle", "description": ""})
    employee.refresh_from_db()
    assert employee.name == "Colleague lifecycle"
    assert "Onboarding" in client.get(f"/w/acme/?lifecycle={customer.pk}").content.decode()
    assert client.post(f"/w/acme/lifecycles/{employee.pk}/delete/").status_code == 302
    assert not Lifecycle.objects.filter(pk=employee.pk).exists()


def test_lifecycle_delete_is_refused_while_it_holds_macro_journeys(client_for, editor, workspace):
    lifecycle, (stage,) = make_lifecycle(workspace, "Purchase")
    make_macros(stage, "Get a mortgage")
    client = client_for(editor)
    assert "cannot be deleted" in client.get(f"/w/acme/lifecycles/{lifecycle.pk}/delete/").content.decode()
    assert client.post(f"/w/acme/lifecycles/{lifecycle.pk}/delete/").status_code == 400
    assert Lifecycle.objects.filter(pk=lifecycle.pk).exists()


# --- roles -----------------------------------------------------------------------------------------------


def test_viewer_sees_the_atlas_without_any_edit_control(client_for, viewer, workspace):
    _lifecycle, (stage,) = make_lifecycle(workspace, "Purchase")
    (_macro,) = make_macros(stage, "Get a mortgage")
    body = client_for(viewer).get("/w/acme/").content.decode()
    assert "Get a mortgage" in body
    for control in (
        "Add stage",
        "Add macro journey",
        "Rename",
        "stage_move",
        "/move/",
        "/delete/",
        "New lifecycle",
    ):
        assert control not in body, control


@pytest.fixture
def framework_rows(workspace):
    lifecycle, (stage, other) = make_lifecycle(workspace, "Purchase", "Onboarding")
    (macro,) = make_macros(stage, "Get a mortgage")
    return {"lifecycle": lifecycle.pk, "stage": stage.pk, "other": other.pk, "macro": macro.pk}


WRITES = [
    ("/w/acme/lifecycles/new/", {"name": "X"}),
    ("/w/acme/lifecycles/{lifecycle}/edit/", {"name": "X"}),
    ("/w/acme/lifecycles/{lifecycle}/delete/", {}),
    ("/w/acme/lifecycles/{lifecycle}/stages/new/", {"name": "X"}),
    ("/w/acme/stages/{stage}/edit/", {"name": "X"}),
    ("/w/acme/stages/{stage}/move/", {"direction": "right"}),
    ("/w/acme/stages/{other}/delete/", {}),
    ("/w/acme/stages/{stage}/macro-journeys/new/", {"name": "X"}),
    ("/w/acme/macro-journeys/{macro}/edit/", {"name": "X"}),
    ("/w/acme/macro-journeys/{macro}/move/", {"stage": "{other}"}),
    ("/w/acme/macro-journeys/{macro}/delete/", {}),
    ("/w/acme/macro-journeys/{macro}/journeys/new/", {"name": "X"}),
]


@pytest.mark.parametrize(("url", "data"), WRITES)
def test_viewer_cannot_change_the_framework(client_for, viewer, workspace, framework_rows, url, data):
    client = client_for(viewer)
    data = {k: v.format(**framework_rows) for k, v in data.items()}
    before = Activity.objects.count()
    response = client.post(url.format(**framework_rows), data)
    assert response.status_code == 403
    assert Activity.objects.count() == before
    assert client.get(url.format(**framework_rows)).status_code == 403  # nor open the forms or menus
    assert [n for n, _ in stage_order(Lifecycle.objects.get())] == ["Purchase", "Onboarding"]
    assert MacroJourney.objects.get().name == "Get a mortgage"


@pytest.mark.parametrize(("url", "data"), WRITES)
def test_outsider_gets_404_on_every_framework_write(
    client_for, outsider, workspace, framework_rows, url, data
):
    data = {k: v.format(**framework_rows) for k, v in data.items()}
    response = client_for(outsider).post(url.format(**framework_rows), data)
    assert response.status_code == 404
