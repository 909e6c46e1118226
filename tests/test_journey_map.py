"""The journey map editor's pages: editors edit in place, viewers read the same map with no edit
controls and are refused on any write, stale edits are refused with the fresh content, and the map's
query count does not grow with the journey."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.models import Activity, Comment
from journeys.models import Insight, Journey, Persona, Phase, Step, StepEmotion, Touchpoint
from metrics.models import DataPoint, Kpi
from opportunities.models import Opportunity
from tests.journey_map_world import layout, make_journey

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def journey(workspace):
    return make_journey(
        workspace, phases={"Discover": ["Search", "Compare"], "Apply": ["Fill in", "Verify ID"]}
    )


def url(journey, rest=""):
    return f"/w/acme/journeys/{journey.pk}/{rest}"


def step_named(journey, name) -> Step:
    return Step.objects.get(journey=journey, name=name)


def phase_named(journey, name) -> Phase:
    return Phase.objects.get(journey=journey, name=name)


# --- reading -------------------------------------------------------------------------------------------


def test_editor_sees_edit_controls(client_for, editor, journey):
    body = client_for(editor).get(url(journey)).content.decode()
    assert "Add a step" in body and "drag-handle" in body and "hx-post" in body
    assert "+ Touchpoint" in body and "+ Insight" in body and "emotion-scale" in body


def test_viewer_sees_the_same_map_without_edit_controls(client_for, viewer, journey, workspace):
    step = step_named(journey, "Search")
    Step.objects.filter(pk=step.pk).update(customer_goal="Find a fair account", emotion=-1)
    Insight.objects.create(workspace=workspace, title="Fees are hidden", kind="pain").steps.add(step)
    body = client_for(viewer).get(url(journey)).content.decode()
    assert "Find a fair account" in body and "Fees are hidden" in body and "Discover" in body
    for control in (
        "hx-post",
        "drag-handle",
        "Add a step",
        "+ Touchpoint",
        "+ Insight",
        "emotion-scale",
        "cell-edit",
        "Delete step",
        "Edit details",
        "Unpin",
    ):
        assert control not in body, control


def test_breadcrumbs_show_where_the_map_is(client_for, viewer, journey):
    body = client_for(viewer).get(url(journey)).content.decode()
    crumbs = body[body.index('class="breadcrumbs"') :]
    assert crumbs.index("Acme Bank") < crumbs.index("Customer lifecycle") < crumbs.index(journey.name)


def test_empty_journey_says_what_to_do_first(client_for, editor, viewer, workspace):
    journey = make_journey(workspace)
    editor_body = client_for(editor).get(url(journey)).content.decode()
    assert "This journey has no steps yet" in editor_body and "Add step" in editor_body
    viewer_body = client_for(viewer).get(url(journey)).content.decode()
    assert "Ask an editor" in viewer_body and "Add step" not in viewer_body


def test_step_of_another_journey_is_404(client_for, editor, journey, workspace):
    other = make_journey(workspace, steps=["Elsewhere"])
    response = client_for(editor).get(
        url(journey, f"steps/{step_named(other, 'Elsewhere').pk}/cell/?lane=customer_goal")
    )
    assert response.status_code == 404


def test_persona_view_shows_the_personas_emotions_and_insights(client_for, viewer, journey, workspace):
    sam = Persona.objects.create(workspace=workspace, name="Saver Sam")
    ria = Persona.objects.create(workspace=workspace, name="Retiree Ria")
    journey.personas.add(sam, ria)
    step = step_named(journey, "Search")
    StepEmotion.objects.create(workspace=workspace, step=step, persona=sam, score=2)
    for title, personas in (("About Sam", [sam]), ("About Ria", [ria]), ("About everyone", [])):
        insight = Insight.objects.create(workspace=workspace, title=title)
        insight.personas.set(personas)
        insight.steps.add(step)
    client = client_for(viewer)

    everyone = client.get(url(journey)).content.decode()
    assert "About Sam" in everyone and "About Ria" in everyone
    assert 'data-series="Saver Sam"' in everyone  # one line per persona with emotions

    as_sam = client.get(url(journey) + f"?persona={sam.pk}").content.decode()
    assert "About Sam" in as_sam and "About everyone" in as_sam and "About Ria" not in as_sam
    assert "+2 · Delighted" in as_sam
    assert "Seen through <strong>Saver Sam</strong>" in as_sam


# --- viewers and outsiders ----------------------------------------------------------------------------

WRITES = [
    "edit/",
    "delete/",
    "steps/add/",
    "steps/{step}/cell/",
    "steps/{step}/emotion/",
    "steps/{step}/move/",
    "steps/{step}/delete/",
    "steps/{step}/touchpoints/add/",
    "steps/{step}/touchpoints/{touchpoint}/",
    "steps/{step}/touchpoints/{touchpoint}/delete/",
    "steps/{step}/insights/",
    "steps/{step}/insights/new/",
    "steps/{step}/insights/{insight}/unpin/",
    "steps/{step}/insights/{insight}/opportunity/",
    "phases/add/",
    "phases/{phase}/",
    "phases/{phase}/move/",
    "phases/{phase}/delete/",
]


def _fill(path, journey, workspace):
    step = step_named(journey, "Search")
    touchpoint = Touchpoint.objects.create(workspace=workspace, step=step, name="Rates page")
    insight = Insight.objects.create(workspace=workspace, title="Pain", kind="pain")
    insight.steps.add(step)
    return url(
        journey,
        path.format(
            step=step.pk, touchpoint=touchpoint.pk, insight=insight.pk, phase=phase_named(journey, "Apply").pk
        ),
    )


@pytest.mark.parametrize("path", WRITES)
def test_viewer_is_refused_on_a_forged_write(client_for, viewer, journey, workspace, path):
    target = _fill(path, journey, workspace)
    before = (
        Step.objects.count(),
        Phase.objects.count(),
        Touchpoint.objects.count(),
        Opportunity.objects.count(),
    )
    data = {
        "revision": 1,
        "step_revision": 1,
        "lane": "customer_goal",
        "text": "forged",
        "name": "forged",
        "score": "2",
        "insight": Insight.objects.first().pk,
        "title": "forged",
        "kind": "pain",
        "severity": 3,
        "channel": "web",
        "direction": "left",
        "steps": "delete",
    }
    response = client_for(viewer).post(target, data, **HTMX)
    assert response.status_code == 403
    assert before == (
        Step.objects.count(),
        Phase.objects.count(),
        Touchpoint.objects.count(),
        Opportunity.objects.count(),
    )
    assert not Step.objects.filter(customer_goal="forged").exists()


@pytest.mark.parametrize(
    "path",
    [
        "edit/",
        "delete/",
        "steps/{step}/cell/?lane=customer_goal&edit=1",
        "steps/{step}/touchpoints/add/",
        "steps/{step}/touchpoints/{touchpoint}/",
        "steps/{step}/insights/",
        "steps/{step}/delete/",
        "phases/{phase}/",
        "phases/{phase}/delete/",
    ],
)
def test_viewer_gets_no_edit_form(client_for, viewer, journey, workspace, path):
    assert client_for(viewer).get(_fill(path, journey, workspace)).status_code == 403


def test_outsider_gets_404(client_for, outsider, journey):
    assert client_for(outsider).get(url(journey)).status_code == 404
    response = client_for(outsider).post(url(journey, "steps/add/"), {"revision": 1, "name": "x"})
    assert response.status_code == 404


# --- cells ------------------------------------------------------------------------------------------------


def test_cell_edit_form_and_save_with_htmx(client_for, editor, journey):
    client = client_for(editor)
    step = step_named(journey, "Search")
    form = client.get(url(journey, f"steps/{step.pk}/cell/?lane=customer_goal&edit=1"), **HTMX)
    assert form.status_code == 200
    assert 'name="text"' in form.content.decode() and 'name="revision" value="1"' in form.content.decode()

    response = client.post(
        url(journey, f"steps/{step.pk}/cell/"),
        {"lane": "customer_goal", "revision": 1, "digest": "", "text": "Find an account without fees"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Find an account without fees" in response.content.decode()
    assert 'name="text"' not in response.content.decode()
    step.refresh_from_db()
    assert (step.customer_goal, step.revision) == ("Find an account without fees", 2)
    assert Activity.objects.filter(verb="updated", target_type="step", target_id=step.pk).exists()


def test_cell_edit_without_javascript(client_for, editor, journey):
    client = client_for(editor)
    step = step_named(journey, "Search")
    page = client.get(url(journey, f"steps/{step.pk}/cell/?lane=backstage&edit=1"))
    assert (
        page.status_code == 200
        and "<html" in page.content.decode()
        and 'name="text"' in page.content.decode()
    )
    response = client.post(
        url(journey, f"steps/{step.pk}/cell/"), {"lane": "backstage", "revision": 1, "text": "CRM"}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"#step-{step.pk}")
    assert step_named(journey, "Search").backstage == "CRM"


def test_stale_cell_edit_is_refused_with_the_fresh_content_and_the_typed_text(
    client_for, editor, owner, journey
):
    step = step_named(journey, "Search")
    digest = __import__("journeys.services.maps", fromlist=["step_digest"]).step_digest(
        step, ["customer_goal"]
    )
    client_for(owner).post(
        url(journey, f"steps/{step.pk}/cell/"),
        {"lane": "customer_goal", "revision": 1, "text": "Theirs"},
        **HTMX,
    )
    response = client_for(editor).post(
        url(journey, f"steps/{step.pk}/cell/"),
        {"lane": "customer_goal", "revision": 1, "digest": digest, "text": "Mine, carefully typed"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this step" in body
    assert "Theirs" in body and "Mine, carefully typed" in body
    assert 'name="revision" value="2"' in body  # saving again is deliberate
    assert step_named(journey, "Search").customer_goal == "Theirs"


def test_edit_of_another_cell_of_the_same_step_is_not_refused(client_for, editor, owner, journey):
    step = step_named(journey, "Search")
    maps = __import__("journeys.services.maps", fromlist=["step_digest"])
    digest = maps.step_digest(step, ["backstage"])
    client_for(owner).post(
        url(journey, f"steps/{step.pk}/cell/"),
        {"lane": "customer_goal", "revision": 1, "text": "Theirs"},
        **HTMX,
    )
    response = client_for(editor).post(
        url(journey, f"steps/{step.pk}/cell/"),
        {"lane": "backstage", "revision": 1, "digest": digest, "text": "Mine"},
        **HTMX,
    )
    assert response.status_code == 200
    step = step_named(journey, "Search")
    assert (step.customer_goal, step.backstage) == ("Theirs", "Mine")


def test_invalid_cell_shows_the_error_inline_and_changes_nothing(client_for, editor, journey):
    step = step_named(journey, "Search")
    response = client_for(editor).post(
        url(journey, f"steps/{step.pk}/cell/"), {"lane": "name", "revision": 1, "name": "   "}, **HTMX
    )
    assert response.status_code == 422
    assert "errorlist" in response.content.decode()
    assert step_named(journey, "Search").revision == 1


def test_moment_of_truth_cell_updates_the_header_mark(client_for, editor, journey):
    step = step_named(journey, "Verify ID")
    response = client_for(editor).post(
        url(journey, f"steps/{step.pk}/cell/"),
        {
            "lane": "moment_of_truth",
            "revision": 1,
            "is_moment_of_truth": "on",
            "moment_of_truth_why": "Drop-off",
        },
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="mot-mark-{step.pk}" hx-swap-oob="true"' in body and "★" in body
    assert step_named(journey, "Verify ID").is_moment_of_truth


def test_unknown_lane_is_404(client_for, editor, journey):
    step = step_named(journey, "Search")
    assert (
        client_for(editor)
        .post(url(journey, f"steps/{step.pk}/cell/"), {"lane": "revision", "revision": 1})
        .status_code
        == 404
    )


# --- emotions ----------------------------------------------------------------------------------------------


def test_emotion_set_and_persona_emotion(client_for, editor, journey, workspace):
    client = client_for(editor)
    step = step_named(journey, "Compare")
    response = client.post(
        url(journey, f"steps/{step.pk}/emotion/"), {"revision": 1, "based_on": "", "score": "-2"}, **HTMX
    )
    assert response.status_code == 200
    assert 'id="map-board"' in response.content.decode()
    assert step_named(journey, "Compare").emotion == -2

    sam = Persona.objects.create(workspace=workspace, name="Saver Sam")
    response = client.post(
        url(journey, f"steps/{step.pk}/emotion/") + f"?persona={sam.pk}",
        {"revision": 2, "based_on": "", "score": "1", "persona": sam.pk},
        **HTMX,
    )
    assert response.status_code == 200
    assert StepEmotion.objects.get(step=step, persona=sam).score == 1
    assert step_named(journey, "Compare").emotion == -2


def test_stale_emotion_is_refused(client_for, editor, journey):
    step = step_named(journey, "Compare")
    client = client_for(editor)
    client.post(
        url(journey, f"steps/{step.pk}/emotion/"), {"revision": 1, "based_on": "", "score": "1"}, **HTMX
    )
    response = client.post(
        url(journey, f"steps/{step.pk}/emotion/"), {"revision": 1, "based_on": "", "score": "-2"}, **HTMX
    )
    assert response.status_code == 409
    assert "Someone else changed the emotion" in response.content.decode()
    assert step_named(journey, "Compare").emotion == 1


# --- structure -----------------------------------------------------------------------------------------------


def test_add_step_to_a_phase(client_for, editor, journey):
    response = client_for(editor).post(
        url(journey, "steps/add/"),
        {"revision": 1, "name": "Read terms", "phase": phase_named(journey, "Discover").pk},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Read terms" in response.content.decode()
    assert layout(journey)[0] == ("Discover", ["Search", "Compare", "Read terms"])


def test_add_step_without_a_name_shows_the_error_inline(client_for, editor, journey):
    response = client_for(editor).post(url(journey, "steps/add/"), {"revision": 1, "name": ""}, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "This field is required" in body and "The step was not added" in body
    assert Step.objects.filter(journey=journey).count() == 4


def test_stale_structural_change_is_refused_and_keeps_the_typed_name(client_for, editor, owner, journey):
    client_for(owner).post(url(journey, "steps/add/"), {"revision": 1, "name": "Theirs"}, **HTMX)
    response = client_for(editor).post(url(journey, "steps/add/"), {"revision": 1, "name": "Mine"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this journey" in body
    assert 'value="Mine"' in body and "Theirs" in body
    assert not Step.objects.filter(name="Mine").exists()


def test_move_step_left_and_by_drag_and_drop(client_for, editor, journey):
    client = client_for(editor)
    compare = step_named(journey, "Compare")
    assert (
        client.post(
            url(journey, f"steps/{compare.pk}/move/"), {"revision": 1, "direction": "right"}, **HTMX
        ).status_code
        == 200
    )
    assert layout(journey) == [("Discover", ["Search"]), ("Apply", ["Compare", "Fill in", "Verify ID"])]
    response = client.post(
        url(journey, f"steps/{compare.pk}/move/"),
        {"revision": 2, "phase": phase_named(journey, "Discover").pk, "index": 0},
        **HTMX,
    )
    assert response.status_code == 200
    assert layout(journey)[0] == ("Discover", ["Compare", "Search"])


def test_move_without_javascript_redirects_to_the_step(client_for, editor, journey):
    search = step_named(journey, "Search")
    response = client_for(editor).post(
        url(journey, f"steps/{search.pk}/move/"), {"revision": 1, "direction": "right"}
    )
    assert response.status_code == 302 and response["Location"].endswith(f"#step-{search.pk}")


def test_deleting_a_step_with_pins_asks_for_confirmation_and_only_unpins(
    client_for, editor, journey, workspace
):
    client = client_for(editor)
    step = step_named(journey, "Compare")
    insight = Insight.objects.create(workspace=workspace, title="Rates are hidden")
    insight.steps.add(step)
    opportunity = Opportunity.objects.create(workspace=workspace, title="Show rates")
    opportunity.steps.add(step)

    confirm = client.get(url(journey, f"steps/{step.pk}/delete/"), **HTMX).content.decode()
    assert "<dialog" in confirm and "1 insight and 1 opportunity" in confirm and "only be unpinned" in confirm
    assert "data-close-dialog autofocus" in confirm  # the safe choice has the focus, not "Delete"

    unconfirmed = client.post(url(journey, f"steps/{step.pk}/delete/"), {}, **HTMX)
    assert unconfirmed.status_code == 422
    assert Step.objects.filter(pk=step.pk).exists()

    done = client.post(url(journey, f"steps/{step.pk}/delete/"), {"revision": 1, "step_revision": 1}, **HTMX)
    assert done.status_code == 200
    notice = done.content.decode()
    assert (
        "1 insight and 1 opportunity were unpinned; they are still in the insight repository and the backlog."
        in notice
    )
    assert "(s)" not in notice and "(ies)" not in notice
    assert not Step.objects.filter(pk=step.pk).exists()
    assert (
        Insight.objects.filter(pk=insight.pk).exists()
        and Opportunity.objects.filter(pk=opportunity.pk).exists()
    )


def test_phase_add_rename_move_delete(client_for, editor, journey):
    client = client_for(editor)
    assert client.post(url(journey, "phases/add/"), {"revision": 1, "name": "Use"}, **HTMX).status_code == 200
    use = phase_named(journey, "Use")
    form = client.get(url(journey, f"phases/{use.pk}/"), **HTMX).content.decode()
    assert 'name="name"' in form and 'value="Use"' in form
    assert (
        client.post(url(journey, f"phases/{use.pk}/"), {"revision": 2, "name": "Use it"}, **HTMX).status_code
        == 200
    )
    assert (
        client.post(
            url(journey, f"phases/{use.pk}/move/"), {"revision": 3, "direction": "left"}, **HTMX
        ).status_code
        == 200
    )
    assert list(
        Phase.objects.filter(journey=journey).order_by("position").values_list("name", flat=True)
    ) == [
        "Discover",
        "Use it",
        "Apply",
    ]
    confirm = client.get(
        url(journey, f"phases/{phase_named(journey, 'Apply').pk}/delete/"), **HTMX
    ).content.decode()
    assert "It has 2 steps" in confirm and "the phase “Use it”" in confirm
    response = client.post(
        url(journey, f"phases/{phase_named(journey, 'Apply').pk}/delete/"),
        {"revision": 4, "steps": "keep"},
        **HTMX,
    )
    assert response.status_code == 200
    assert layout(journey) == [("Discover", ["Search", "Compare"]), ("Use it", ["Fill in", "Verify ID"])]


# --- touchpoints ------------------------------------------------------------------------------------------


def test_touchpoint_add_edit_delete(client_for, editor, journey):
    client = client_for(editor)
    step = step_named(journey, "Search")
    form = client.get(url(journey, f"steps/{step.pk}/touchpoints/add/"), **HTMX).content.decode()
    assert 'name="channel"' in form
    added = client.post(
        url(journey, f"steps/{step.pk}/touchpoints/add/"),
        {"revision": 1, "name": "Rates page", "channel": "web"},
        **HTMX,
    )
    assert (
        added.status_code == 200
        and "Rates page" in added.content.decode()
        and "Website" in added.content.decode()
    )
    touchpoint = Touchpoint.objects.get(step=step)
    invalid = client.post(
        url(journey, f"steps/{step.pk}/touchpoints/add/"),
        {"revision": 1, "name": "", "channel": "fax"},
        **HTMX,
    )
    assert invalid.status_code == 422 and "errorlist" in invalid.content.decode()

    maps = __import__("journeys.services.maps", fromlist=["touchpoint_digest"])
    edited = client.post(
        url(journey, f"steps/{step.pk}/touchpoints/{touchpoint.pk}/"),
        {
            "revision": 2,
            "digest": maps.touchpoint_digest(touchpoint),
            "name": "Rates app screen",
            "channel": "mobile_app",
        },
        **HTMX,
    )
    assert edited.status_code == 200 and "Mobile app" in edited.content.decode()
    stale = client.post(
        url(journey, f"steps/{step.pk}/touchpoints/{touchpoint.pk}/"),
        {"revision": 2, "digest": maps.touchpoint_digest(touchpoint), "name": "Old idea", "channel": "web"},
        **HTMX,
    )
    assert (
        stale.status_code == 409
        and "Old idea" in stale.content.decode()
        and "Rates app screen" in stale.content.decode()
    )
    deleted = client.post(url(journey, f"steps/{step.pk}/touchpoints/{touchpoint.pk}/delete/"), **HTMX)
    assert deleted.status_code == 200 and not Touchpoint.objects.filter(pk=touchpoint.pk).exists()


# --- insights and opportunities -------------------------------------------------------------------------


def test_pin_panel_searches_and_pins_an_insight(client_for, editor, journey, workspace):
    client = client_for(editor)
    step = step_named(journey, "Compare")
    Insight.objects.create(workspace=workspace, title="Rates are hidden in PDFs")
    Insight.objects.create(workspace=workspace, title="Branch queues")
    panel = client.get(url(journey, f"steps/{step.pk}/insights/?q=rates"), **HTMX).content.decode()
    assert "Rates are hidden in PDFs" in panel and "Branch queues" not in panel
    insight = Insight.objects.get(title="Rates are hidden in PDFs")
    response = client.post(url(journey, f"steps/{step.pk}/insights/"), {"insight": insight.pk}, **HTMX)
    assert response.status_code == 200
    assert list(insight.steps.all()) == [step]
    assert "Pinned “Rates are hidden in PDFs”" in response.content.decode()


def test_pinning_an_insight_of_another_workspace_is_refused(client_for, editor, journey, other_workspace):
    foreign = Insight.objects.create(workspace=other_workspace, title="Theirs")
    step = step_named(journey, "Compare")
    response = client_for(editor).post(
        url(journey, f"steps/{step.pk}/insights/"), {"insight": foreign.pk}, **HTMX
    )
    assert response.status_code == 422
    assert not foreign.steps.exists()


def test_create_an_insight_on_a_step_for_the_persona_in_view(client_for, editor, journey, workspace):
    sam = Persona.objects.create(workspace=workspace, name="Saver Sam")
    journey.personas.add(sam)
    step = step_named(journey, "Fill in")
    client = client_for(editor)
    invalid = client.post(
        url(journey, f"steps/{step.pk}/insights/new/") + f"?persona={sam.pk}",
        {"title": "", "kind": "pain", "severity": 3},
        **HTMX,
    )
    assert invalid.status_code == 422 and invalid["HX-Retarget"] == "#map-dialog"
    response = client.post(
        url(journey, f"steps/{step.pk}/insights/new/") + f"?persona={sam.pk}",
        {"title": "Too many fields", "kind": "pain", "severity": 4, "source": "survey", "description": ""},
        **HTMX,
    )
    assert response.status_code == 200
    insight = Insight.objects.get(title="Too many fields")
    assert list(insight.steps.all()) == [step] and list(insight.personas.all()) == [sam]
    assert insight.severity == 4 and insight.source == "survey" and insight.created_by == editor


def test_the_quick_insight_form_asks_for_the_source_method(client_for, editor, journey):
    step = step_named(journey, "Fill in")
    panel = client_for(editor).get(url(journey, f"steps/{step.pk}/insights/"), **HTMX).content.decode()
    assert 'name="source"' in panel and "Source method" in panel


def test_unpin_keeps_the_insight(client_for, editor, journey, workspace):
    step = step_named(journey, "Compare")
    insight = Insight.objects.create(workspace=workspace, title="Rates are hidden")
    insight.steps.add(step)
    response = client_for(editor).post(url(journey, f"steps/{step.pk}/insights/{insight.pk}/unpin/"), **HTMX)
    assert response.status_code == 200
    assert not insight.steps.exists() and Insight.objects.filter(pk=insight.pk).exists()


def test_opportunity_from_a_pain_point_in_one_action(client_for, editor, journey, workspace):
    step = step_named(journey, "Verify ID")
    pain = Insight.objects.create(workspace=workspace, title="The camera check fails", kind="pain")
    pain.steps.add(step)
    client = client_for(editor)
    assert "→ Opportunity" in client.get(url(journey)).content.decode()
    response = client.post(url(journey, f"steps/{step.pk}/insights/{pain.pk}/opportunity/"), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    opportunity = Opportunity.objects.get(title="The camera check fails")
    assert list(opportunity.insights.all()) == [pain] and list(opportunity.steps.all()) == [step]
    assert f"/w/acme/opportunities/{opportunity.pk}/" in body
    assert "✓ Opportunity" in body


def test_opportunity_from_an_insight_not_on_the_step_is_404(client_for, editor, journey, workspace):
    pain = Insight.objects.create(workspace=workspace, title="Elsewhere", kind="pain")
    step = step_named(journey, "Verify ID")
    assert (
        client_for(editor).post(url(journey, f"steps/{step.pk}/insights/{pain.pk}/opportunity/")).status_code
        == 404
    )
    assert not Opportunity.objects.exists()


# --- the journey's details ---------------------------------------------------------------------------------


def test_journey_edit_saves_and_refuses_a_stale_save(client_for, editor, owner, journey, workspace):
    sam = Persona.objects.create(workspace=workspace, name="Saver Sam")
    data = {
        "revision": 1,
        "name": "Open an account online",
        "description": "",
        "status": "in_review",
        "owner": editor.pk,
        "primary_persona": sam.pk,
        "personas": [sam.pk],
    }
    response = client_for(owner).post(url(journey, "edit/"), data)
    assert response.status_code == 302
    journey.refresh_from_db()
    assert (journey.name, journey.status, journey.owner, journey.revision) == (
        "Open an account online",
        "in_review",
        editor,
        2,
    )
    assert list(journey.personas.all()) == [sam]

    stale = client_for(editor).post(url(journey, "edit/"), data | {"name": "My late name"})
    body = stale.content.decode()
    assert stale.status_code == 409
    assert "Someone else changed this journey" in body and 'value="My late name"' in body
    journey.refresh_from_db()
    assert journey.name == "Open an account online"


def test_journey_delete_keeps_insights_and_opportunities(client_for, editor, journey, workspace):
    step = step_named(journey, "Search")
    insight = Insight.objects.create(workspace=workspace, title="Kept")
    insight.steps.add(step)
    confirm = client_for(editor).get(url(journey, "delete/")).content.decode()
    assert "1 insight pin" in confirm
    response = client_for(editor).post(url(journey, "delete/"), {"revision": 1})
    assert response.status_code == 302
    assert not Journey.objects.filter(pk=journey.pk).exists()
    assert Insight.objects.filter(pk=insight.pk).exists()


# --- query count -------------------------------------------------------------------------------------------


def build_big_map(workspace, *, steps: int, insights: int, opportunities: int) -> Journey:
    names = [f"Step {i}" for i in range(steps)]
    journey = make_journey(
        workspace, phases={"Before": names[: steps // 2], "During": names[steps // 2 :], "After": []}
    )
    step_rows = list(Step.objects.filter(journey=journey).order_by("position"))
    sam, _ = Persona.objects.get_or_create(workspace=workspace, name="Saver Sam")
    journey.personas.add(sam)
    StepEmotion.objects.bulk_create(
        StepEmotion(workspace=workspace, step=s, persona=sam, score=i % 5 - 2)
        for i, s in enumerate(step_rows)
    )
    Step.objects.filter(journey=journey).update(emotion=1)
    Touchpoint.objects.bulk_create(
        Touchpoint(workspace=workspace, step=s, name=f"TP {s.name}", channel="web") for s in step_rows
    )
    insight_rows = Insight.objects.bulk_create(
        Insight(workspace=workspace, title=f"Insight {i}", kind="pain") for i in range(insights)
    )
    Insight.steps.through.objects.bulk_create(
        Insight.steps.through(insight_id=row.pk, step_id=step_rows[i % steps].pk)
        for i, row in enumerate(insight_rows)
    )
    Insight.personas.through.objects.bulk_create(
        Insight.personas.through(insight_id=row.pk, persona_id=sam.pk) for row in insight_rows[::3]
    )
    opp_rows = Opportunity.objects.bulk_create(
        Opportunity(workspace=workspace, title=f"Opportunity {i}", rank=i + 1) for i in range(opportunities)
    )
    Opportunity.steps.through.objects.bulk_create(
        Opportunity.steps.through(opportunity_id=row.pk, step_id=step_rows[i % steps].pk)
        for i, row in enumerate(opp_rows)
    )
    Opportunity.insights.through.objects.bulk_create(
        Opportunity.insights.through(opportunity_id=row.pk, insight_id=insight_rows[i].pk)
        for i, row in enumerate(opp_rows[: len(insight_rows)])
    )
    kpis = Kpi.objects.bulk_create(
        [
            Kpi(workspace=workspace, name=f"KPI {s.name}", kpi_type="ratio", scope="step", step=s, target=0.6)
            for s in step_rows[:10]
        ]
        + [
            Kpi(
                workspace=workspace,
                name="Journey NPS",
                kpi_type="nps",
                scope="journey",
                journey=journey,
                target=20,
            )
        ]
    )
    DataPoint.objects.bulk_create(
        DataPoint(
            workspace=workspace,
            kpi=kpi,
            date=datetime.date(2026, 1, day),
            numerator=50,
            denominator=100,
            promoters=5,
            passives=3,
            detractors=2,
        )
        for kpi in kpis
        for day in (1, 2)
    )
    return journey


def _count(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


@pytest.mark.parametrize("member", ["editor", "viewer"])
@pytest.mark.parametrize("as_persona", [False, True])
def test_map_query_count_does_not_grow_with_the_journey(
    client_for, workspace, request, member, as_persona, django_assert_num_queries
):
    client = client_for(request.getfixturevalue(member))
    small = build_big_map(workspace, steps=5, insights=5, opportunities=5)
    large = build_big_map(workspace, steps=40, insights=500, opportunities=200)
    sam = Persona.objects.get(name="Saver Sam")
    query = f"?persona={sam.pk}" if as_persona else ""
    small_count, _ = _count(client, url(small) + query)
    with django_assert_num_queries(small_count):
        response = client.get(url(large) + query)
    body = response.content.decode()
    assert "Step 39" in body and "Opportunity 199" in body and "KPI Step 9" in body
    assert ("Insight 498" in body) is True  # insight_rows[498] is about Sam (every third) — shown either way
    if as_persona:
        assert "Insight 499" in body  # about no persona: everyone sees it


# --- comments on a step ----------------------------------------------------------------------------------


def test_step_comments_open_in_a_dialog_and_are_counted(client_for, viewer, editor, journey, workspace):
    step = step_named(journey, "Compare")
    Comment.objects.create(
        workspace=workspace, author=editor, body="Ask legal about the fee wording", step=step
    )
    client = client_for(viewer)
    body = client.get(url(journey)).content.decode()
    assert "1 comment on “Compare”" in body
    dialog = client.get(url(journey, f"steps/{step.pk}/comments/"), **HTMX).content.decode()
    assert "<dialog" in dialog and f"/w/acme/comments/step/{step.pk}/" in dialog
    page = client.get(url(journey, f"steps/{step.pk}/comments/"))
    assert page.status_code == 302 and page["Location"] == f"/w/acme/comments/step/{step.pk}/"


def test_confirmations_work_without_javascript(client_for, editor, journey):
    client = client_for(editor)
    step = step_named(journey, "Compare")
    page = client.get(url(journey, f"steps/{step.pk}/delete/")).content.decode()
    assert "<html" in page and "Delete the step “Compare”?" in page and 'name="step_revision"' in page
    phase = phase_named(journey, "Apply")
    page = client.get(url(journey, f"phases/{phase.pk}/delete/")).content.decode()
    assert "<html" in page and "Delete the phase “Apply”?" in page
    response = client.post(url(journey, f"steps/{step.pk}/delete/"), {"revision": 1, "step_revision": 1})
    assert response.status_code == 302
    assert not Step.objects.filter(pk=step.pk).exists()


def test_saving_a_cell_of_a_step_deleted_meanwhile_says_so_and_shows_the_text(client_for, editor, journey):
    step = step_named(journey, "Search")
    Step.objects.filter(pk=step.pk).delete()
    response = client_for(editor).post(
        url(journey, f"steps/{step.pk}/cell/"),
        {"lane": "customer_goal", "revision": 1, "text": "Lost words"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 409
    assert "someone deleted it" in body and "Lost words" in body
    assert response["HX-Retarget"] == "#map-board"


def test_a_phase_without_steps_renders_beside_scored_steps(client_for, editor, journey):
    Step.objects.filter(journey=journey).update(emotion=1)
    empty = Phase.objects.create(workspace=journey.workspace, journey=journey, name="Aftercare", position=9)
    response = client_for(editor).get(url(journey))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Aftercare" in body and "emotion-chart" in body
    assert empty.steps.count() == 0
