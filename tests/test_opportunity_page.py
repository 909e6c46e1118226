"""The opportunity page: what it is, its evidence, steps, key results and solutions, its scores and why it
ranks where it does; editors edit it, score it and plan solutions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Step
from okrs.models import KeyResult, Objective, OkrCycle
from opportunities.models import Criterion, CriterionValue, Opportunity, Solution
from opportunities.presets import scoring_model_install_preset
from opportunities.recompute import recompute_workspace
from tests.test_backlog import BREAKDOWN, count_queries, make_opportunity, make_scoring_model, scored


def page(opportunity) -> str:
    return f"/w/acme/opportunities/{opportunity.pk}/"


@pytest.fixture
def journey(workspace):
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer")
    stage = LifecycleStage.objects.create(
        workspace=workspace, lifecycle=lifecycle, name="Onboarding", position=1
    )
    macro = MacroJourney.objects.create(workspace=workspace, stage=stage, name="Open an account", position=1)
    return Journey.objects.create(workspace=workspace, macro_journey=macro, name="Open a current account")


def add_links(workspace, opportunity, journey, n: int):
    """n insights, n steps, n key results and n solutions."""
    persona, _ = Persona.objects.get_or_create(workspace=workspace, name="Saver Sam")
    start = Step.objects.filter(journey=journey).count()
    steps = [
        Step.objects.create(
            workspace=workspace, journey=journey, position=start + i, name=f"Step {start + i}"
        )
        for i in range(n)
    ]
    opportunity.steps.add(*steps)
    for i in range(n):
        insight = Insight.objects.create(
            workspace=workspace, title=f"Insight {i}", severity=4, status="validated", kind="pain", reach=120
        )
        insight.personas.add(persona)
        opportunity.insights.add(insight)
    today = timezone.localdate()
    cycle, _ = OkrCycle.objects.get_or_create(
        workspace=workspace,
        name="2027 Q1",
        defaults={"start": today - timedelta(days=10), "end": today + timedelta(days=80)},
    )
    objective, _ = Objective.objects.get_or_create(
        workspace=workspace, cycle=cycle, title="Delight new customers"
    )
    for i in range(n):
        kr = KeyResult.objects.create(
            workspace=workspace, objective=objective, title=f"KR {i}", start_value=0, target_value=10
        )
        opportunity.key_results.add(kr)
        Solution.objects.create(workspace=workspace, opportunity=opportunity, title=f"Solution {i}")


def test_opportunity_page_shows_every_section(client_for, viewer, owner, workspace, journey):
    make_scoring_model(workspace)
    opportunity = make_opportunity(
        workspace,
        "Instant ID check",
        description="Customers drop out while waiting for the ID check.",
        status="planned",
        owner=owner,
        priority=61.2,
        rank=3,
        previous_rank=7,
    )
    Opportunity.objects.filter(pk=opportunity.pk).update(score_breakdown=BREAKDOWN, previous_priority=58)
    add_links(workspace, opportunity, journey, 1)
    Solution.objects.filter(opportunity=opportunity).update(external_url="https://jira.example/ACC-12")
    body = client_for(viewer).get(page(opportunity)).content.decode()
    assert "<h1>Instant ID check</h1>" in body
    assert "Customers drop out while waiting" in body
    assert "Planned</span>" in body and "Olivia Owner" in body
    # evidence with severity, status and kind
    assert "Insight 0" in body and 'title="Severity 4 of 5"' in body
    assert "Validated</span>" in body and "Pain point</span>" in body and "Saver Sam" in body
    # steps grouped under their journey, which links to its map
    assert f'href="/w/acme/journeys/{journey.pk}/">Open a current account</a>' in body
    assert "Step 0" in body
    assert "KR 0" in body and "Delight new customers" in body
    assert 'href="https://jira.example/ACC-12"' in body and "Solution 0" in body
    # the score, its history and its explanation
    assert '<span class="score-big">61.2</span>' in body
    assert "Priority 58.0 → <strong>61.2</strong>" in body
    assert "Rank #7 → <strong>#3</strong>" in body
    assert 'id="breakdown"' in body and "Evidence strength" in body and ">assumed</span>" in body
    # a viewer reads the scores but gets no forms
    assert 'id="criteria"' in body and "Customer impact" in body
    assert "Save scores" not in body and "Add solution" not in body and ">Edit</a>" not in body


def test_unscored_opportunity_page_says_so(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "New idea")
    body = client_for(viewer).get(page(opportunity)).content.decode()
    assert "No score yet" in body
    assert "recomputing…" in body
    assert "No insights linked yet" in body and "No solutions yet" in body


def test_editor_sees_the_forms(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Scorable", priority=5, rank=1)
    body = client_for(editor).get(page(opportunity)).content.decode()
    assert "Save scores" in body and "Add solution" in body
    assert f'href="/w/acme/opportunities/{opportunity.pk}/edit/">Edit</a>' in body


def test_opportunity_page_query_count_does_not_grow_with_links(
    client_for, viewer, workspace, journey, django_assert_num_queries
):
    scoring_model_install_preset(workspace=workspace)
    opportunity = make_opportunity(workspace, "Linked")
    add_links(workspace, opportunity, journey, 1)
    recompute_workspace(workspace.pk)  # a real stored breakdown, explained with the model on the page
    client = client_for(viewer)
    few, body = count_queries(client, page(opportunity))
    assert b"Evidence strength" in body
    add_links(workspace, opportunity, journey, 9)
    recompute_workspace(workspace.pk)
    with django_assert_num_queries(few):
        client.get(page(opportunity))


# --- scores on the page ---------------------------------------------------------------------------------


def test_editor_saves_scores_on_the_page(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Scorable", priority=5, rank=1)
    client = client_for(editor)
    response = client.post(f"{page(opportunity)}criteria/", {"effort": "3", "customer_impact": "5"})
    assert response.status_code == 302 and response.url == f"{page(opportunity)}#criteria"
    values = dict(
        CriterionValue.objects.filter(opportunity=opportunity).values_list("criterion__key", "value")
    )
    assert values == {"effort": 3, "customer_impact": 5}
    assert "recomputing…" in client.get(page(opportunity)).content.decode()


def test_htmx_score_save_returns_the_scores_card(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Scorable", priority=5, rank=1)
    body = (
        client_for(editor)
        .post(f"{page(opportunity)}criteria/", {"effort": "3"}, headers={"HX-Request": "true"})
        .content.decode()
    )
    assert body.lstrip().startswith('<section class="card" id="criteria"')
    assert "Scores saved" in body


def test_invalid_score_on_the_page_shows_the_error_and_saves_nothing(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Scorable", priority=5, rank=1)
    response = client_for(editor).post(
        f"{page(opportunity)}criteria/", {"effort": "9", "customer_impact": "2"}
    )
    assert response.status_code == 200
    assert "Effort must be between 1 and 5; 9 is not." in response.content.decode()
    assert not CriterionValue.objects.exists()


def test_viewer_cannot_save_scores(client_for, viewer, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Scorable", priority=5, rank=1)
    assert client_for(viewer).post(f"{page(opportunity)}criteria/", {"effort": "3"}).status_code == 403
    assert not CriterionValue.objects.exists()


# --- editing ---------------------------------------------------------------------------------------------


def test_editor_edits_title_description_status_and_owner(client_for, editor, owner, workspace):
    opportunity = make_opportunity(workspace, "Old title", priority=5, rank=1)
    client = client_for(editor)
    form = client.get(f"{page(opportunity)}edit/").content.decode()
    assert 'value="Old title"' in form
    version = Opportunity.objects.get(pk=opportunity.pk).updated_at.isoformat()
    response = client.post(
        f"{page(opportunity)}edit/",
        {
            "title": "New title",
            "description": "Why",
            "status": "in_progress",
            "owner": owner.pk,
            "version": version,
        },
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.title, opportunity.description, opportunity.status, opportunity.owner) == (
        "New title",
        "Why",
        "in_progress",
        owner,
    )


def test_edit_on_top_of_someone_elses_change_is_refused(client_for, editor, workspace):
    opportunity = make_opportunity(workspace, "Old title", priority=5, rank=1)
    stale = (opportunity.updated_at - timedelta(minutes=5)).isoformat()
    response = client_for(editor).post(
        f"{page(opportunity)}edit/", {"title": "Mine", "status": "new", "version": stale}
    )
    assert response.status_code == 200
    assert "Someone else changed this opportunity" in response.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).title == "Old title"


def test_edit_shows_field_errors(client_for, editor, workspace):
    opportunity = make_opportunity(workspace, "Old title", priority=5, rank=1)
    response = client_for(editor).post(f"{page(opportunity)}edit/", {"title": "", "status": "bogus"})
    body = response.content.decode()
    assert "This field is required." in body and "Select a valid choice." in body


def test_owner_must_be_a_member_of_this_workspace(client_for, editor, outsider, workspace):
    opportunity = make_opportunity(workspace, "Mine", priority=5, rank=1)
    response = client_for(editor).post(
        f"{page(opportunity)}edit/",
        {
            "title": "Mine",
            "status": "new",
            "owner": outsider.pk,
            "version": opportunity.updated_at.isoformat(),
        },
    )
    assert "Select a valid choice." in response.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).owner is None


def test_viewer_cannot_edit(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Old title", priority=5, rank=1)
    client = client_for(viewer)
    assert client.get(f"{page(opportunity)}edit/").status_code == 403
    assert client.post(f"{page(opportunity)}edit/", {"title": "X", "status": "new"}).status_code == 403
    assert Opportunity.objects.get(pk=opportunity.pk).title == "Old title"


# --- solutions -------------------------------------------------------------------------------------------


def test_editor_adds_a_solution(client_for, editor, workspace):
    opportunity = make_opportunity(workspace, "Needs ideas", priority=5, rank=1)
    client = client_for(editor)
    form = client.get(f"{page(opportunity)}solutions/new/", headers={"HX-Request": "true"}).content.decode()
    assert form.lstrip().startswith('<section class="card" id="solutions"') and "New solution" in form
    body = client.post(
        f"{page(opportunity)}solutions/new/",
        {
            "title": "Selfie ID",
            "status": "planned",
            "external_url": "https://jira.example/ID-1",
            "description": "",
        },
        headers={"HX-Request": "true"},
    ).content.decode()
    solution = Solution.objects.get(opportunity=opportunity)
    assert (solution.title, solution.status, solution.external_url) == (
        "Selfie ID",
        "planned",
        "https://jira.example/ID-1",
    )
    assert "Selfie ID" in body and "New solution" not in body


def test_adding_a_solution_works_without_javascript(client_for, editor, workspace):
    opportunity = make_opportunity(workspace, "Needs ideas", priority=5, rank=1)
    client = client_for(editor)
    form = client.get(f"{page(opportunity)}solutions/new/").content.decode()
    assert "<html" in form and "New solution" in form
    response = client.post(f"{page(opportunity)}solutions/new/", {"title": "Selfie ID", "status": "idea"})
    assert response.status_code == 302 and response.url == f"{page(opportunity)}#solutions"
    assert Solution.objects.filter(opportunity=opportunity, title="Selfie ID").exists()


@pytest.mark.parametrize("url", ["not a url", "javascript:alert(1)", "ftp//broken"])
def test_solution_with_a_bad_link_shows_a_field_error_and_saves_nothing(client_for, editor, workspace, url):
    opportunity = make_opportunity(workspace, "Needs ideas", priority=5, rank=1)
    response = client_for(editor).post(
        f"{page(opportunity)}solutions/new/",
        {"title": "Selfie ID", "status": "idea", "external_url": url},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid URL." in body
    assert 'aria-invalid="true"' in body
    assert not Solution.objects.exists()


def test_editor_edits_a_solution(client_for, editor, workspace):
    opportunity = make_opportunity(workspace, "Needs ideas", priority=5, rank=1)
    solution = Solution.objects.create(workspace=workspace, opportunity=opportunity, title="Draft")
    client = client_for(editor)
    url = f"{page(opportunity)}solutions/{solution.pk}/edit/"
    assert 'value="Draft"' in client.get(url, headers={"HX-Request": "true"}).content.decode()
    client.post(url, {"title": "Shipped thing", "status": "shipped", "external_url": "example.com/x"})
    solution.refresh_from_db()
    assert (solution.title, solution.status, solution.external_url) == (
        "Shipped thing",
        "shipped",
        "https://example.com/x",
    )


def test_editing_a_solution_with_a_bad_link_keeps_the_old_one(client_for, editor, workspace):
    opportunity = make_opportunity(workspace, "Needs ideas", priority=5, rank=1)
    solution = Solution.objects.create(
        workspace=workspace, opportunity=opportunity, title="Draft", external_url="https://ok.example"
    )
    response = client_for(editor).post(
        f"{page(opportunity)}solutions/{solution.pk}/edit/",
        {"title": "Draft", "status": "idea", "external_url": "http://"},
    )
    assert "Enter a valid URL." in response.content.decode()
    solution.refresh_from_db()
    assert solution.external_url == "https://ok.example"


def test_viewer_cannot_add_or_edit_solutions(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Needs ideas", priority=5, rank=1)
    solution = Solution.objects.create(workspace=workspace, opportunity=opportunity, title="Draft")
    client = client_for(viewer)
    assert (
        client.post(f"{page(opportunity)}solutions/new/", {"title": "X", "status": "idea"}).status_code == 403
    )
    edit_url = f"{page(opportunity)}solutions/{solution.pk}/edit/"
    assert client.post(edit_url, {"title": "X", "status": "idea"}).status_code == 403
    assert list(Solution.objects.values_list("title", flat=True)) == ["Draft"]


def test_solution_of_another_opportunity_is_404(client_for, editor, workspace):
    one = make_opportunity(workspace, "One", priority=5, rank=1)
    other = make_opportunity(workspace, "Other", priority=4, rank=2)
    solution = Solution.objects.create(workspace=workspace, opportunity=other, title="Theirs")
    assert client_for(editor).get(f"{page(one)}solutions/{solution.pk}/edit/").status_code == 404


# --- tenancy -------------------------------------------------------------------------------------------


def test_outsider_gets_404_on_every_opportunity_url(client_for, outsider, workspace):
    opportunity = make_opportunity(workspace, "Secret", priority=5, rank=1)
    solution = Solution.objects.create(workspace=workspace, opportunity=opportunity, title="Hidden")
    client = client_for(outsider)
    for url in ("", "edit/", "solutions/new/", f"solutions/{solution.pk}/edit/"):
        assert client.get(f"{page(opportunity)}{url}").status_code == 404, url
    assert client.post(f"{page(opportunity)}criteria/", {"effort": "1"}).status_code == 404


def test_opportunity_of_another_workspace_is_404_to_a_member(client_for, owner, other_workspace):
    theirs = scored(Opportunity.objects.create(workspace=other_workspace, title="Theirs"), priority=1, rank=1)
    assert client_for(owner).get(page(theirs)).status_code == 404


def test_breakdown_stored_by_the_recompute_is_explained(client_for, viewer, workspace):
    """The recompute stores only the inputs it used; the page rebuilds the explanation with the model."""
    scoring_model_install_preset(workspace=workspace)
    impact = Criterion.objects.get(workspace=workspace, key="customer_impact")
    opportunity = Opportunity.objects.create(workspace=workspace, title="Really scored")
    CriterionValue.objects.create(workspace=workspace, opportunity=opportunity, criterion=impact, value=4)
    recompute_workspace(workspace.pk)
    opportunity.refresh_from_db()
    assert "nodes" not in opportunity.score_breakdown
    client = client_for(viewer)
    body = client.get(page(opportunity)).content.decode()
    assert "recomputing…" not in body
    assert f'id="node-{opportunity.pk}-priority"' in body
    assert "Customer impact" in body and ">assumed</span>" in body  # the other criteria were not scored
    panel = client.get(f"{page(opportunity)}breakdown/", headers={"HX-Request": "true"}).content.decode()
    assert "Customer value" in panel and "Evidence strength" in panel
