"""The backlog: one ranked table of open opportunities across all journeys, with filters, sorting,
pagination, "Why this rank?" and inline scoring by editors."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from atlas.models import Activity, Tag
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Step
from okrs.models import KeyResult, Objective, OkrCycle
from opportunities.models import ComputedScore, Criterion, CriterionValue, Opportunity, ScoringModel

BACKLOG = "/w/acme/backlog/"


# --- builders (also used by the other prioritisation page tests) ---------------------------------------


def make_scoring_model(workspace) -> dict[str, Criterion]:
    """A small scoring model: one criterion per perspective and the atlas preset's score nodes."""
    model = ScoringModel.objects.create(workspace=workspace)
    ws = {"workspace": workspace, "scoring_model": model}
    criteria = {
        "customer_impact": Criterion.objects.create(
            **ws, key="customer_impact", name="Customer impact", perspective="customer", position=0
        ),
        "revenue_impact": Criterion.objects.create(
            **ws, key="revenue_impact", name="Revenue impact", perspective="business", position=1
        ),
        "effort": Criterion.objects.create(
            **ws, key="effort", name="Effort", perspective="effort", position=2
        ),
        "confidence": Criterion.objects.create(
            **ws,
            key="confidence",
            name="Confidence",
            perspective="other",
            min_value=0.5,
            max_value=1,
            step=0.1,
            position=3,
        ),
    }
    for position, (key, name) in enumerate(
        [
            ("customer_value", "Customer value"),
            ("business_value", "Business value"),
            ("value", "Value"),
            ("priority", "Priority"),
        ]
    ):
        ComputedScore.objects.create(**ws, key=key, name=name, operation="weighted_mean", position=position)
    return criteria


def scored(opportunity: Opportunity, *, priority, rank, previous_rank=None, cv=0.5, bv=0.5, breakdown=None):
    """Set the fields the recompute will write (it does not exist yet in these tests)."""
    Opportunity.objects.filter(pk=opportunity.pk).update(
        priority=priority,
        rank=rank,
        previous_rank=previous_rank,
        previous_priority=None if priority is None else priority - 1,
        scores={"priority": priority, "customer_value": cv, "business_value": bv, "value": (cv + bv) / 2},
        score_breakdown=breakdown or {},
        updated_at=timezone.now() - timedelta(seconds=1),
        scored_at=timezone.now(),
    )
    opportunity.refresh_from_db()
    return opportunity


def make_opportunity(
    workspace, title, *, priority=None, rank=None, previous_rank=None, cv=0.5, bv=0.5, **fields
):
    opportunity = Opportunity.objects.create(workspace=workspace, title=title, **fields)
    if priority is not None:
        scored(opportunity, priority=priority, rank=rank, previous_rank=previous_rank, cv=cv, bv=bv)
    return opportunity


def build_backlog(workspace, owner, count: int, *, start: int = 0, criteria=None):
    """`count` scored open opportunities (ranked start+1…), each on two steps of two journeys, with two
    insights and a value for every criterion. Call again with `start` to add more to the same atlas."""
    if criteria is None:
        criteria = {c.key: c for c in Criterion.objects.filter(workspace=workspace)} or make_scoring_model(
            workspace
        )
    lifecycle, _ = Lifecycle.objects.get_or_create(workspace=workspace, name="Customer")
    stage, _ = LifecycleStage.objects.get_or_create(
        workspace=workspace, lifecycle=lifecycle, position=1, defaults={"name": "Onboarding"}
    )
    macro, _ = MacroJourney.objects.get_or_create(
        workspace=workspace, stage=stage, position=1, defaults={"name": "Open an account"}
    )
    steps = []
    for n in range(2):
        journey, _ = Journey.objects.get_or_create(
            workspace=workspace, macro_journey=macro, name=f"Journey {n}"
        )
        step, _ = Step.objects.get_or_create(
            workspace=workspace, journey=journey, position=1, defaults={"name": f"Step of {journey.name}"}
        )
        steps.append(step)
    opportunities = []
    for n in range(start, start + count):
        opportunity = make_opportunity(
            workspace, f"Opportunity {n:03}", priority=1000 - n, rank=n + 1, previous_rank=n + 2, owner=owner
        )
        opportunity.steps.set(steps)
        insights = Insight.objects.bulk_create(
            Insight(workspace=workspace, title=f"Insight {n}.{i}") for i in range(2)
        )
        opportunity.insights.set(insights)
        CriterionValue.objects.bulk_create(
            CriterionValue(workspace=workspace, opportunity=opportunity, criterion=criterion, value=1)
            for criterion in criteria.values()
            if criterion.perspective != "other"
        )
        opportunities.append(opportunity)
    return opportunities


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        body = b"".join(response) if response.streaming else response.content
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries), body


def titles_in(body: bytes | str) -> list[str]:
    """The opportunity titles linked in a page, in order."""
    text = body.decode() if isinstance(body, bytes) else body
    return [html.unescape(t) for t in re.findall(r'<a href="/w/acme/opportunities/\d+/">([^<]+)</a>', text)]


# --- tests ----------------------------------------------------------------------------------------------


def test_backlog_lists_open_opportunities_by_priority(client_for, viewer, workspace):
    make_opportunity(workspace, "Second", priority=50, rank=2)
    make_opportunity(workspace, "First", priority=80, rank=1)
    make_opportunity(workspace, "Done already", priority=99, rank=None, status="done")
    make_opportunity(workspace, "Not scored yet")
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert titles_in(body) == ["First", "Second", "Not scored yet"]
    assert "Done already" not in body
    assert "3</strong> open opportunities" in body


def test_unscored_opportunity_shows_recomputing_and_polls_itself(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Fresh idea")
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert "recomputing…" in body
    assert f'hx-get="/w/acme/backlog/rows/{opportunity.pk}/?poll=1" hx-trigger="every 2s"' in body


def test_scored_opportunity_changed_since_scoring_shows_recomputing(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Changed", priority=10, rank=1)
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=timezone.now() + timedelta(minutes=1))
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert "recomputing…" in body


def test_fresh_row_does_not_poll(client_for, viewer, workspace):
    make_opportunity(workspace, "Scored", priority=10, rank=1)
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert "recomputing…" not in body
    assert "every 2s" not in body


def test_polled_row_stops_polling_once_fresh(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Fresh idea")
    client = client_for(viewer)
    url = f"/w/acme/backlog/rows/{opportunity.pk}/?poll=3"
    stale = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert stale.lstrip().startswith("<tr")
    assert "?poll=4" in stale and "recomputing…" in stale
    scored(opportunity, priority=42, rank=1)
    fresh = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "every 2s" not in fresh and "recomputing…" not in fresh
    assert "42" in fresh


def test_polling_gives_up_after_a_minute(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Fresh idea")
    row = client_for(viewer).get(f"/w/acme/backlog/rows/{opportunity.pk}/?poll=30").content.decode()
    assert "every 2s" not in row
    assert "score pending" in row


def test_movement_arrows_since_the_start_of_the_week(client_for, viewer, workspace):
    make_opportunity(workspace, "Climber", priority=90, rank=1, previous_rank=5)
    make_opportunity(workspace, "Faller", priority=80, rank=4, previous_rank=2)
    make_opportunity(workspace, "Steady", priority=70, rank=6, previous_rank=6)
    make_opportunity(workspace, "Newcomer", priority=60, rank=7, previous_rank=None)
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert '<span aria-hidden="true">▲</span>4' in body
    assert '<span aria-hidden="true">▼</span>2' in body
    assert "Down 2 places since the start of the week (was #2)" in body
    assert 'class="move move-none"' in body
    assert 'class="move move-new"' in body


def test_row_shows_scores_effort_evidence_journeys_status_and_owner(client_for, viewer, owner, workspace):
    [opportunity] = build_backlog(workspace, owner, 1)
    Opportunity.objects.filter(pk=opportunity.pk).update(
        scores={"customer_value": 0.6349, "business_value": 0.4, "value": 0.5175}
    )
    effort = Criterion.objects.get(workspace=workspace, key="effort")
    CriterionValue.objects.filter(opportunity=opportunity, criterion=effort).update(value=4)
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert "<strong>1000.0</strong>" in body  # priority
    assert '<td class="num">0.63</td>' in body and '<td class="num">0.40</td>' in body
    assert '<td class="num">4</td>' in body  # effort, from the effort criterion's value
    assert 'title="2 linked insights">2<' in body
    assert 'title="Journey 0, Journey 1"' in body
    assert "New</span>" in body
    assert "Olivia Owner" in body


# --- filters ----------------------------------------------------------------------------------------------


@pytest.fixture
def framework(workspace):
    """Two stages, each with a macro journey and a journey with one step; a persona on each journey."""
    lifecycle = Lifecycle.objects.create(workspace=workspace, name="Customer")
    made = {}
    for n, name in enumerate(["Onboarding", "Support"], start=1):
        stage = LifecycleStage.objects.create(workspace=workspace, lifecycle=lifecycle, name=name, position=n)
        macro = MacroJourney.objects.create(
            workspace=workspace, stage=stage, name=f"{name} macro", position=1
        )
        journey = Journey.objects.create(workspace=workspace, macro_journey=macro, name=f"{name} journey")
        step = Step.objects.create(workspace=workspace, journey=journey, position=1, name=f"{name} step")
        made[name] = {"stage": stage, "macro": macro, "journey": journey, "step": step}
    return made


def _shown(client, query: str) -> list[str]:
    return titles_in(client.get(f"{BACKLOG}?{query}").content)


def test_filter_by_lifecycle_stage_macro_journey_and_journey(client_for, viewer, workspace, framework):
    onboarding = make_opportunity(workspace, "Faster ID check", priority=9, rank=1)
    onboarding.steps.add(framework["Onboarding"]["step"])
    support = make_opportunity(workspace, "Callback option", priority=8, rank=2)
    support.steps.add(framework["Support"]["step"])
    make_opportunity(workspace, "Nowhere yet", priority=7, rank=3)
    client = client_for(viewer)
    assert _shown(client, f"stage={framework['Onboarding']['stage'].pk}") == ["Faster ID check"]
    assert _shown(client, f"macro_journey={framework['Support']['macro'].pk}") == ["Callback option"]
    assert _shown(client, f"journey={framework['Support']['journey'].pk}") == ["Callback option"]


def test_filter_by_persona_through_insights_or_journeys(client_for, viewer, workspace, framework):
    saver = Persona.objects.create(workspace=workspace, name="Saver Sam")
    by_insight = make_opportunity(workspace, "Evidence about Sam", priority=9, rank=1)
    insight = Insight.objects.create(workspace=workspace, title="Sam cannot find the rate")
    insight.personas.add(saver)
    by_insight.insights.add(insight)
    journey = framework["Support"]["journey"]
    journey.personas.add(saver)
    by_journey = make_opportunity(workspace, "On Sam's journey", priority=8, rank=2)
    by_journey.steps.add(framework["Support"]["step"])
    framework["Onboarding"]["journey"].primary_persona = saver
    framework["Onboarding"]["journey"].save()
    by_primary = make_opportunity(workspace, "On a journey Sam leads", priority=7, rank=3)
    by_primary.steps.add(framework["Onboarding"]["step"])
    make_opportunity(workspace, "Not about Sam", priority=6, rank=4)
    shown = _shown(client_for(viewer), f"persona={saver.pk}")
    assert shown == ["Evidence about Sam", "On Sam's journey", "On a journey Sam leads"]


def test_filter_by_status_tag_and_owner(client_for, viewer, editor, workspace):
    tag = Tag.objects.create(workspace=workspace, kind="channel", name="Mobile app")
    planned = make_opportunity(workspace, "Planned one", priority=9, rank=1, status="planned", owner=editor)
    planned.tags.add(tag)
    make_opportunity(workspace, "New one", priority=8, rank=2)
    client = client_for(viewer)
    assert _shown(client, "status=planned") == ["Planned one"]
    assert _shown(client, f"tag={tag.pk}") == ["Planned one"]
    assert _shown(client, f"owner={editor.pk}") == ["Planned one"]


def test_filter_by_objective_and_key_result(client_for, viewer, workspace):
    today = timezone.localdate()
    cycle = OkrCycle.objects.create(
        workspace=workspace, name="2027 Q1", start=today - timedelta(days=10), end=today + timedelta(days=80)
    )
    objective = Objective.objects.create(workspace=workspace, cycle=cycle, title="Delight new customers")
    kr = KeyResult.objects.create(
        workspace=workspace,
        objective=objective,
        title="Onboarding NPS to 40",
        start_value=20,
        target_value=40,
    )
    other_kr = KeyResult.objects.create(
        workspace=workspace, objective=objective, title="Fewer calls", start_value=100, target_value=50
    )
    moving = make_opportunity(workspace, "Moves the NPS", priority=9, rank=1)
    moving.key_results.add(kr)
    calls = make_opportunity(workspace, "Cuts calls", priority=8, rank=2)
    calls.key_results.add(other_kr)
    make_opportunity(workspace, "No OKR", priority=7, rank=3)
    client = client_for(viewer)
    assert _shown(client, f"objective={objective.pk}") == ["Moves the NPS", "Cuts calls"]
    assert _shown(client, f"key_result={kr.pk}") == ["Moves the NPS"]


def test_text_search_matches_every_word_in_title_or_description(client_for, viewer, workspace):
    make_opportunity(workspace, "Instant card freeze", description="From the app", priority=9, rank=1)
    make_opportunity(workspace, "Card delivery tracking", priority=8, rank=2)
    make_opportunity(workspace, "Mortgage calculator", priority=7, rank=3)
    client = client_for(viewer)
    assert _shown(client, "search=card") == ["Instant card freeze", "Card delivery tracking"]
    assert _shown(client, "search=card+app") == ["Instant card freeze"]


def test_combined_filters_narrow_the_list(client_for, viewer, workspace, framework):
    tag = Tag.objects.create(workspace=workspace, kind="team", name="Payments")
    both = make_opportunity(workspace, "Card on onboarding", priority=9, rank=1, status="planned")
    both.steps.add(framework["Onboarding"]["step"])
    both.tags.add(tag)
    only_stage = make_opportunity(workspace, "Card elsewhere", priority=8, rank=2, status="planned")
    only_stage.steps.add(framework["Onboarding"]["step"])
    only_tag = make_opportunity(workspace, "Card tagged", priority=7, rank=3, status="planned")
    only_tag.tags.add(tag)
    query = f"stage={framework['Onboarding']['stage'].pk}&tag={tag.pk}&status=planned&search=card"
    assert _shown(client_for(viewer), query) == ["Card on onboarding"]


def test_invalid_filter_values_are_ignored(client_for, viewer, workspace):
    make_opportunity(workspace, "Still listed", priority=9, rank=1)
    assert _shown(client_for(viewer), "journey=abc&sort=nonsense") == ["Still listed"]


def test_empty_form_fields_redirect_to_a_clean_url(client_for, viewer, workspace):
    response = client_for(viewer).get(f"{BACKLOG}?search=&stage=&status=planned&sort=priority&dir=asc")
    assert response.status_code == 302
    assert response.url == f"{BACKLOG}?status=planned&dir=asc"  # sort=priority is the default


def test_filter_options_list_this_workspace_only(client_for, viewer, workspace, other_workspace):
    Persona.objects.create(workspace=workspace, name="Saver Sam")
    Persona.objects.create(workspace=other_workspace, name="Rival Rita")
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert "Saver Sam" in body and "Rival Rita" not in body


def test_htmx_filter_request_returns_the_results_only_and_a_clean_url(client_for, viewer, workspace):
    make_opportunity(workspace, "Card freeze", priority=9, rank=1)
    response = client_for(viewer).get(
        f"{BACKLOG}?search=card&stage=&tag=",
        headers={"HX-Request": "true", "HX-Target": "backlog-results"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="backlog-results"')
    assert "<html" not in body and 'name="stage"' not in body
    assert response["HX-Push-Url"] == f"{BACKLOG}?search=card"
    assert "Card freeze" in body


def test_no_opportunities_empty_state(client_for, viewer):
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert "No open opportunities yet" in body


def test_no_results_empty_state_offers_to_clear_the_filters(client_for, viewer, workspace):
    make_opportunity(workspace, "Card freeze", priority=9, rank=1)
    body = client_for(viewer).get(f"{BACKLOG}?search=mortgage&sort=effort").content.decode()
    assert "No opportunities match these filters" in body
    assert 'href="/w/acme/backlog/?sort=effort">Clear filters</a>' in body


# --- sorting and pagination --------------------------------------------------------------------------


def test_sort_by_customer_value_both_ways(client_for, viewer, workspace):
    make_opportunity(workspace, "Mid", priority=9, rank=1, cv=0.5)
    make_opportunity(workspace, "High", priority=8, rank=2, cv=0.9)
    make_opportunity(workspace, "Low", priority=7, rank=3, cv=0.1)
    make_opportunity(workspace, "Unscored")
    client = client_for(viewer)
    assert _shown(client, "sort=customer_value") == ["High", "Mid", "Low", "Unscored"]
    assert _shown(client, "sort=customer_value&dir=asc") == ["Low", "Mid", "High", "Unscored"]


def test_sort_by_effort_evidence_and_movement(client_for, viewer, workspace):
    criteria = make_scoring_model(workspace)
    small = make_opportunity(workspace, "Small", priority=9, rank=1, previous_rank=1)
    big = make_opportunity(workspace, "Big", priority=8, rank=2, previous_rank=9)
    for opportunity, effort in ((small, 1), (big, 5)):
        CriterionValue.objects.create(
            workspace=workspace, opportunity=opportunity, criterion=criteria["effort"], value=effort
        )
    big.insights.add(
        *Insight.objects.bulk_create(Insight(workspace=workspace, title=f"i{n}") for n in range(3))
    )
    client = client_for(viewer)
    assert _shown(client, "sort=effort&dir=asc") == ["Small", "Big"]
    assert _shown(client, "sort=evidence") == ["Big", "Small"]
    assert _shown(client, "sort=movement") == ["Big", "Small"]


def test_sorted_column_header_says_so_and_toggles(client_for, viewer, workspace):
    make_opportunity(workspace, "One", priority=9, rank=1)
    body = client_for(viewer).get(f"{BACKLOG}?sort=business_value").content.decode()
    assert 'aria-sort="descending"' in body
    assert 'href="/w/acme/backlog/?sort=business_value&amp;dir=asc"' in body


def test_pagination_shows_50_per_page_and_the_total(client_for, viewer, owner, workspace):
    build_backlog(workspace, owner, 55)
    client = client_for(viewer)
    first = client.get(BACKLOG).content.decode()
    assert "<strong>55</strong> open opportunities" in first
    assert "showing 1–50" in first
    assert len(titles_in(first)) == 50
    assert 'href="/w/acme/backlog/?page=2"' in first
    second = client.get(f"{BACKLOG}?page=2").content.decode()
    assert titles_in(second) == [f"Opportunity {n:03}" for n in range(50, 55)]
    assert "showing 51–55" in second


def test_unscored_opportunities_follow_the_scored_ones_across_pages(client_for, viewer, owner, workspace):
    build_backlog(workspace, owner, 48)
    unscored = [make_opportunity(workspace, f"Unscored {n}") for n in range(5)]
    client = client_for(viewer)
    first = titles_in(client.get(BACKLOG).content)
    assert first[:48] == [f"Opportunity {n:03}" for n in range(48)]
    assert first[48:] == ["Unscored 0", "Unscored 1"]
    assert titles_in(client.get(f"{BACKLOG}?page=2").content) == ["Unscored 2", "Unscored 3", "Unscored 4"]
    lowest_first = titles_in(client.get(f"{BACKLOG}?dir=asc").content)
    assert lowest_first[:2] == ["Opportunity 047", "Opportunity 046"]
    assert lowest_first[-2:] == ["Unscored 0", "Unscored 1"]
    assert len(unscored) == 5


def test_backlog_query_count_does_not_grow_with_rows(
    client_for, viewer, owner, workspace, django_assert_num_queries
):
    build_backlog(workspace, owner, 3)
    client = client_for(viewer)
    few, _ = count_queries(client, BACKLOG)
    build_backlog(workspace, owner, 57, start=3)
    with django_assert_num_queries(few):
        response = client.get(BACKLOG)
    assert len(titles_in(response.content)) == 50


def test_deep_page_costs_the_same_as_the_first(client_for, viewer, owner, workspace):
    build_backlog(workspace, owner, 60)
    client = client_for(viewer)
    first, _ = count_queries(client, BACKLOG)
    second, _ = count_queries(client, f"{BACKLOG}?page=2&sort=evidence")
    assert first == second


# --- "Why this rank?" ------------------------------------------------------------------------------------

BREAKDOWN = {
    "priority": 61.2,
    "priority_node": "priority",
    "assumed": ["effort"],
    "nodes": [
        {
            "key": "customer_value",
            "name": "Customer value",
            "operation": "weighted_mean",
            "value": 0.7,
            "inputs": [
                {
                    "source": "evidence",
                    "ref": "evidence",
                    "name": "Evidence strength",
                    "raw": 0.9,
                    "weight": 1,
                    "share": 0.64,
                },
                {
                    "source": "criterion",
                    "ref": "customer_impact",
                    "name": "Customer impact",
                    "raw": 3,
                    "normalised": 0.5,
                    "weight": 1,
                    "share": 0.36,
                    "assumed": False,
                },
            ],
        },
        {
            "key": "priority",
            "name": "Priority",
            "operation": "quotient",
            "value": 61.2,
            "inputs": [
                {
                    "source": "node",
                    "ref": "customer_value",
                    "name": "Customer value",
                    "raw": 0.7,
                    "weight": 1,
                },
                {
                    "source": "criterion",
                    "ref": "effort",
                    "name": "Effort",
                    "raw": 3,
                    "weight": 1,
                    "assumed": True,
                },
                {"source": "constant", "raw": 100, "weight": 1},
            ],
        },
    ],
}


def test_why_this_rank_panel_renders_the_breakdown(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Explained", priority=61.2, rank=3)
    Opportunity.objects.filter(pk=opportunity.pk).update(score_breakdown=BREAKDOWN)
    response = client_for(viewer).get(
        f"/w/acme/opportunities/{opportunity.pk}/breakdown/", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "Why is “Explained” #3?" in body
    assert body.index(">Priority</span>") < body.index(">Customer value</span>")  # parents first
    assert "Weighted mean" in body and "Quotient" in body
    assert "Evidence strength" in body and "64%" in body
    assert ">0.5<" in body  # normalised
    assert ">assumed</span>" in body
    assert "Not scored yet, so assumed" in body and "Effort" in body
    assert f'href="#node-{opportunity.pk}-customer_value"' in body


def test_why_this_rank_link_works_without_javascript(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Explained", priority=61.2, rank=3)
    body = client_for(viewer).get(BACKLOG).content.decode()
    detail = f"/w/acme/opportunities/{opportunity.pk}/"
    assert f'href="{detail}#breakdown" hx-get="{detail}breakdown/"' in body
    response = client_for(viewer).get(f"{detail}breakdown/")
    assert response.status_code == 302 and response.url == f"{detail}#breakdown"


@pytest.mark.parametrize(
    "breakdown",
    [
        {},
        {"nodes": "nonsense"},
        {"nodes": [{"key": "priority"}, "junk", {"inputs": [{"raw": "x"}, None]}]},
        {"priority": "priority", "nodes": [{"key": "priority", "value": None, "inputs": [{}]}]},
    ],
)
def test_why_this_rank_survives_a_partial_breakdown(client_for, viewer, workspace, breakdown):
    opportunity = make_opportunity(workspace, "Odd", priority=1, rank=1)
    Opportunity.objects.filter(pk=opportunity.pk).update(score_breakdown=breakdown)
    response = client_for(viewer).get(
        f"/w/acme/opportunities/{opportunity.pk}/breakdown/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200


# --- inline scoring ------------------------------------------------------------------------------------


def test_editor_opens_the_inline_score_form(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    body = (
        client_for(editor)
        .get(f"/w/acme/backlog/rows/{opportunity.pk}/?edit=1", headers={"HX-Request": "true"})
        .content.decode()
    )
    assert body.lstrip().startswith(f'<tbody id="opp-{opportunity.pk}"')
    assert f'hx-post="/w/acme/backlog/rows/{opportunity.pk}/"' in body
    assert 'name="effort"' in body and 'min="1" max="5" step="1"' in body


def test_editor_scores_inline_and_the_row_shows_recomputing(client_for, editor, workspace):
    criteria = make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    response = client_for(editor).post(
        f"/w/acme/backlog/rows/{opportunity.pk}/",
        {"customer_impact": "4", "effort": "2", "confidence": "0.8", "revenue_impact": ""},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    values = dict(
        CriterionValue.objects.filter(opportunity=opportunity).values_list("criterion__key", "value")
    )
    assert values == {"customer_impact": 4, "effort": 2, "confidence": 0.8}
    assert "recomputing…" in body and "every 2s" in body
    assert "score-form" not in body  # the form closes on success
    assert criteria["effort"].values.count() == 1


def test_viewer_cannot_score_inline(client_for, viewer, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    client = client_for(viewer)
    response = client.post(
        f"/w/acme/backlog/rows/{opportunity.pk}/", {"effort": "2"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 403
    assert not CriterionValue.objects.exists()
    assert client.get(f"/w/acme/backlog/rows/{opportunity.pk}/?edit=1").status_code == 403
    page = client.get(BACKLOG).content.decode()
    assert "?edit=1" not in page and ">Score<" not in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("effort", "7", "Effort must be between 1 and 5; 7 is not."),
        ("effort", "2.5", "Effort goes in steps of 1"),
        ("confidence", "0.75", "Confidence goes in steps of 0.1"),
        ("effort", "a lot", "Enter a number."),
    ],
)
def test_invalid_inline_value_shows_the_error_in_the_row_and_saves_nothing(
    client_for, editor, workspace, field, value, message
):
    criteria = make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    CriterionValue.objects.create(
        workspace=workspace, opportunity=opportunity, criterion=criteria["customer_impact"], value=2
    )
    before = Opportunity.objects.get(pk=opportunity.pk).updated_at
    response = client_for(editor).post(
        f"/w/acme/backlog/rows/{opportunity.pk}/",
        {"customer_impact": "5", field: value},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert message in body
    assert 'class="score-field has-error"' in body
    assert CriterionValue.objects.get(opportunity=opportunity).value == 2  # the valid 5 was not saved either
    assert Opportunity.objects.get(pk=opportunity.pk).updated_at == before
    assert "recomputing…" not in body


def test_unchanged_inline_scores_do_not_trigger_a_recompute(client_for, editor, workspace):
    criteria = make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    CriterionValue.objects.create(
        workspace=workspace, opportunity=opportunity, criterion=criteria["effort"], value=3
    )
    body = (
        client_for(editor)
        .post(f"/w/acme/backlog/rows/{opportunity.pk}/", {"effort": "3"}, headers={"HX-Request": "true"})
        .content.decode()
    )
    assert "recomputing…" not in body


# --- tenancy -------------------------------------------------------------------------------------------


def test_outsider_gets_404_on_every_backlog_url(client_for, outsider, workspace):
    opportunity = make_opportunity(workspace, "Secret", priority=5, rank=1)
    client = client_for(outsider)
    for url in (
        BACKLOG,
        f"/w/acme/backlog/rows/{opportunity.pk}/",
        f"/w/acme/opportunities/{opportunity.pk}/breakdown/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/w/acme/backlog/rows/{opportunity.pk}/", {"effort": "1"}).status_code == 404


def test_row_of_another_workspace_is_404_to_a_member(client_for, viewer, other_workspace):
    theirs = make_opportunity(other_workspace, "Theirs", priority=5, rank=1)
    assert client_for(viewer).get(f"/w/acme/backlog/rows/{theirs.pk}/").status_code == 404


def test_nav_links_to_backlog_and_matrix(client_for, viewer):
    body = client_for(viewer).get(BACKLOG).content.decode()
    assert '<a href="/w/acme/backlog/" aria-current="page">Backlog</a>' in body
    assert '<a href="/w/acme/matrix/" >Matrix</a>' in body


def test_inline_scoring_is_recorded_in_the_activity_history(client_for, editor, workspace):
    make_scoring_model(workspace)
    opportunity = make_opportunity(workspace, "Score me", priority=5, rank=1)
    client_for(editor).post(
        f"/w/acme/backlog/rows/{opportunity.pk}/", {"effort": "2"}, headers={"HX-Request": "true"}
    )
    activity = Activity.objects.get(workspace=workspace, target_type="opportunity", target_id=opportunity.pk)
    assert (activity.actor, activity.verb, activity.changes) == (editor.user, "scored", {"effort": 2.0})
