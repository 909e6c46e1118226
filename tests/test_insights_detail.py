"""An insight's page, its create / edit / delete forms and its pins."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.models import Activity, Tag
from journeys.models import Insight, Persona
from opportunities.models import Opportunity
from tests.test_insights_services import make_insight, make_journey


def page(insight) -> str:
    return f"/w/acme/insights/{insight.pk}/"


@pytest.fixture
def journey(workspace):
    return make_journey(workspace)


@pytest.fixture
def insight(workspace, journey, editor):
    insight = make_insight(
        workspace,
        "ID check takes three days",
        description="“I nearly gave up waiting for the video call.”",
        kind="quote",
        source="interview",
        source_reference="https://research.example.com/interviews/12",
        severity=4,
        reach=1200,
        status="validated",
        created_by=editor,
    )
    insight.personas.add(Persona.objects.create(workspace=workspace, name="Saver Sam"))
    insight.tags.add(Tag.objects.create(workspace=workspace, kind="channel", name="Video call"))
    insight.steps.add(journey.steps.get(position=3))
    return insight


def test_insight_page_shows_fields_pins_and_opportunities(client_for, viewer, workspace, journey, insight):
    opportunity = Opportunity.objects.create(
        workspace=workspace, title="Instant ID check", priority=71.44, rank=2, status="planned"
    )
    opportunity.insights.add(insight)
    step = journey.steps.get(position=3)
    body = client_for(viewer).get(page(insight)).content.decode()
    assert "ID check takes three days" in body
    assert "I nearly gave up waiting" in body
    assert "Quote" in body and "Validated" in body and "1,200" in body
    assert "Saver Sam" in body and "Video call" in body
    assert 'href="https://research.example.com/interviews/12"' in body
    assert f'href="/w/acme/journeys/{journey.pk}/#step-{step.pk}"' in body
    assert "Verify ID" in body
    assert f'href="/w/acme/opportunities/{opportunity.pk}/"' in body
    assert "#2" in body and "71.4" in body
    assert "/unpin/" not in body and f"{page(insight)}edit/" not in body  # a viewer reads only


def test_insight_page_offers_editors_pin_unpin_and_status_changes(client_for, editor, insight):
    body = client_for(editor).get(page(insight)).content.decode()
    assert "Unpin" in body
    assert 'id="pin-step"' in body
    assert "Mark rejected" in body and "Back to hypothesis" in body
    assert "Mark validated" not in body  # it is validated already


def test_insight_page_query_count_does_not_grow_with_pins_and_opportunities(
    client_for, editor, workspace, journey, insight
):
    client = client_for(editor)
    with CaptureQueriesContext(connection) as few:
        assert client.get(page(insight)).status_code == 200
    other = make_journey(workspace, "Get a mortgage", steps=[f"Step {i}" for i in range(10)])
    insight.steps.add(*other.steps.all(), *journey.steps.all())
    for i in range(10):
        Opportunity.objects.create(workspace=workspace, title=f"Opportunity {i}", rank=i + 1).insights.add(
            insight
        )
    Insight.personas.through.objects.bulk_create(
        Insight.personas.through(insight_id=insight.pk, persona_id=p.pk)
        for p in Persona.objects.bulk_create(Persona(workspace=workspace, name=f"P{i}") for i in range(5))
    )
    with CaptureQueriesContext(connection) as many:
        assert client.get(page(insight)).status_code == 200
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


def test_insight_page_of_another_workspace_is_404(client_for, outsider, insight):
    assert client_for(outsider).get(page(insight)).status_code == 404


def test_editor_creates_an_insight_with_its_links(client_for, editor, workspace, journey):
    persona = Persona.objects.create(workspace=workspace, name="Saver Sam")
    tag = Tag.objects.create(workspace=workspace, kind="channel", name="Web")
    step = journey.steps.first()
    response = client_for(editor).post(
        "/w/acme/insights/new/",
        {
            "title": "Too many fields",
            "description": "Twelve fields before any value.",
            "kind": "pain",
            "status": "hypothesis",
            "source": "analytics",
            "source_reference": "Funnel report May",
            "severity": "4",
            "reach": "5400",
            "personas": [persona.pk],
            "tags": [tag.pk],
            "steps": [step.pk],
        },
    )
    insight = Insight.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page(insight)
    assert (insight.source, insight.severity, insight.reach, insight.created_by) == (
        "analytics",
        4,
        5400,
        editor,
    )
    assert list(insight.steps.all()) == [step]
    assert list(insight.personas.all()) == [persona]
    assert list(insight.tags.all()) == [tag]
    assert Activity.objects.filter(verb="created", target_id=insight.pk).exists()


def test_create_form_shows_errors_inline_and_keeps_the_input(client_for, editor):
    response = client_for(editor).post(
        "/w/acme/insights/new/",
        {
            "title": "",
            "description": "Kept text",
            "kind": "pain",
            "status": "hypothesis",
            "source": "survey",
            "severity": "9",
            "reach": "-4",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert body.count('class="errorlist"') >= 3
    assert "Kept text" in body
    assert 'aria-invalid="true"' in body
    assert not Insight.objects.exists()


def test_create_form_preselects_the_step_from_the_map(client_for, editor, journey):
    step = journey.steps.get(position=2)
    body = client_for(editor).get(f"/w/acme/insights/new/?step={step.pk}").content.decode()
    assert f'<input type="checkbox" name="steps" value="{step.pk}" checked>' in body
    assert f'<option value="{journey.pk}" selected>' in body  # its journey, to add its neighbours
    for sibling in journey.steps.exclude(pk=step.pk):
        assert f'<input type="checkbox" name="steps" value="{sibling.pk}">' in body


def test_create_form_offers_only_this_workspaces_personas_and_steps(client_for, editor, other_workspace):
    Persona.objects.create(workspace=other_workspace, name="Their persona")
    make_journey(other_workspace, "Their journey")
    body = client_for(editor).get("/w/acme/insights/new/").content.decode()
    assert "Their persona" not in body and "Their journey" not in body


def test_create_refuses_a_persona_of_another_workspace(client_for, editor, other_workspace):
    foreign = Persona.objects.create(workspace=other_workspace, name="Theirs")
    response = client_for(editor).post(
        "/w/acme/insights/new/",
        {
            "title": "x",
            "kind": "pain",
            "status": "hypothesis",
            "source": "survey",
            "severity": "3",
            "reach": "0",
            "personas": [foreign.pk],
        },
    )
    assert response.status_code == 400
    assert not Insight.objects.exists()


def test_viewer_cannot_open_or_post_the_forms(client_for, viewer, insight):
    client = client_for(viewer)
    assert client.get("/w/acme/insights/new/").status_code == 403
    assert client.post("/w/acme/insights/new/", {"title": "x"}).status_code == 403
    assert client.get(f"{page(insight)}edit/").status_code == 403
    assert client.post(f"{page(insight)}delete/").status_code == 403
    assert client.post(f"{page(insight)}pin/", {"step": 1}).status_code == 403
    assert Insight.objects.filter(pk=insight.pk).exists()


def edit_data(insight, **changes) -> dict:
    data = {
        "title": insight.title,
        "description": insight.description,
        "kind": insight.kind,
        "status": insight.status,
        "source": insight.source,
        "source_reference": insight.source_reference,
        "severity": str(insight.severity),
        "reach": str(insight.reach),
        "personas": [p.pk for p in insight.personas.all()],
        "tags": [t.pk for t in insight.tags.all()],
        "steps": [s.pk for s in insight.steps.all()],
        "version": insight.updated_at.isoformat(),
    }
    data.update(changes)
    return data


def test_editor_edits_an_insight(client_for, editor, insight):
    client = client_for(editor)
    assert "ID check takes three days" in client.get(f"{page(insight)}edit/").content.decode()
    response = client.post(f"{page(insight)}edit/", edit_data(insight, severity="5", status="rejected"))
    assert response.status_code == 302
    insight.refresh_from_db()
    assert (insight.severity, insight.status) == (5, "rejected")
    assert insight.steps.count() == 1


def test_edit_on_top_of_someone_elses_change_is_refused(client_for, editor, insight):
    stale = edit_data(insight, title="My title")
    Insight.objects.filter(pk=insight.pk).update(
        title="Their title", updated_at=insight.updated_at.replace(year=2030)
    )
    client = client_for(editor)
    response = client.post(f"{page(insight)}edit/", stale)
    body = response.content.decode()
    assert response.status_code == 400
    assert "Someone else changed this insight" in body
    assert "Their title" in body and "My title" in body
    insight.refresh_from_db()
    assert insight.title == "Their title"
    # Saving again, deliberately, replaces their change.
    version = body.split('name="version" value="')[1].split('"')[0]
    response = client.post(f"{page(insight)}edit/", {**stale, "version": version})
    assert response.status_code == 302
    insight.refresh_from_db()
    assert insight.title == "My title"


def test_delete_confirmation_says_what_goes_with_it(client_for, editor, workspace, insight):
    Opportunity.objects.create(workspace=workspace, title="Instant ID check").insights.add(insight)
    body = client_for(editor).get(f"{page(insight)}delete/").content.decode()
    assert "1 step" in body and "1 opportunity" in body and "Instant ID check" in body


def test_editor_deletes_an_insight(client_for, editor, insight):
    response = client_for(editor).post(f"{page(insight)}delete/")
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/insights/"
    assert not Insight.objects.filter(pk=insight.pk).exists()
    assert Activity.objects.filter(verb="deleted", target_id=insight.pk).exists()


def test_editor_pins_and_unpins_from_the_insight_page(client_for, editor, journey, insight):
    client = client_for(editor)
    first = journey.steps.get(position=1)
    response = client.post(f"{page(insight)}pin/", {"step": first.pk})
    assert response["Location"] == f"{page(insight)}#steps"
    assert insight.steps.count() == 2
    response = client.post(f"{page(insight)}unpin/{first.pk}/")
    assert response.status_code == 302
    assert list(insight.steps.values_list("position", flat=True)) == [3]
    assert Activity.objects.filter(verb="unpinned", target_id=insight.pk).exists()


def test_pin_refuses_a_step_of_another_workspace(client_for, editor, other_workspace, insight):
    foreign = make_journey(other_workspace).steps.first()
    assert client_for(editor).post(f"{page(insight)}pin/", {"step": foreign.pk}).status_code == 404
    assert client_for(editor).post(f"{page(insight)}unpin/{foreign.pk}/").status_code == 404
    assert insight.steps.count() == 1


def test_history_describes_the_changes(client_for, editor, insight):
    client = client_for(editor)
    client.post("/w/acme/insights/bulk/", {"insight": [insight.pk], "action": "reject"})
    body = client.get(page(insight)).content.decode()
    assert "marked it rejected" in body


def test_create_from_the_map_returns_to_it(client_for, editor, journey):
    step = journey.steps.first()
    data = {"title": "From the map", "kind": "pain", "status": "hypothesis", "source": "interview"}
    data |= {"severity": "3", "reach": "0", "steps": [step.pk]}
    back = f"/w/acme/journeys/{journey.pk}/#step-{step.pk}"
    response = client_for(editor).post(f"/w/acme/insights/new/?next={back}", {**data, "next": back})
    assert response["Location"] == back
    response = client_for(editor).post("/w/acme/insights/new/", {**data, "next": "https://evil.example/"})
    assert response["Location"] == page(Insight.objects.order_by("-id").first())


def test_create_form_ignores_a_step_of_another_workspace(client_for, editor, other_workspace):
    foreign = make_journey(other_workspace).steps.first()
    body = client_for(editor).get(f"/w/acme/insights/new/?step={foreign.pk}").content.decode()
    assert f'name="steps" value="{foreign.pk}"' not in body
    assert "Not pinned to any step yet." in body
