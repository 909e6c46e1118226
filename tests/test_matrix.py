"""The opportunity matrix: open opportunities on two scores as an SVG scatter with quadrants, bubble size
by evidence, colour by status, the backlog's filters, and an accessible table."""

import re

from journeys.models import Insight
from opportunities.models import CriterionValue, Opportunity
from opportunities.views import Axis, axis_scale, bubble_radius, quadrant_names, split_value
from tests.test_backlog import build_backlog, count_queries, make_opportunity, make_scoring_model

MATRIX = "/w/acme/matrix/"


def bubbles(body: str) -> list[str]:
    return re.findall(r'<a class="bubble" href="(/w/acme/opportunities/\d+/)"', body)


def radius_of(body: str, opportunity) -> float:
    match = re.search(
        rf'<a class="bubble" href="/w/acme/opportunities/{opportunity.pk}/".*?<circle [^>]*r="([\d.]+)"',
        body,
        re.S,
    )
    return float(match.group(1))


def test_matrix_plots_each_scored_open_opportunity_as_a_link(client_for, viewer, workspace):
    make_scoring_model(workspace)
    one = make_opportunity(workspace, "One", priority=9, rank=1, cv=0.8, bv=0.7)
    two = make_opportunity(workspace, "Two", priority=8, rank=2, cv=0.2, bv=0.9)
    make_opportunity(workspace, "Closed", priority=7, rank=None, status="done")
    make_opportunity(workspace, "Fresh")
    body = client_for(viewer).get(MATRIX).content.decode()
    assert "<svg" in body
    assert sorted(bubbles(body)) == sorted([f"/w/acme/opportunities/{o.pk}/" for o in (one, two)])
    assert (
        "<title>#1 One — Customer value 0.8, Business value 0.7, 0 insights, New (Quick wins)</title>" in body
    )
    assert 'aria-label="#2 Two — Customer value 0.2' in body
    # the unscored one is listed below, the closed one nowhere
    assert "Not yet scored" in body and ">Fresh</a>" in body
    assert "Closed" not in body


def test_bubble_radius_grows_with_linked_insights(client_for, viewer, workspace):
    make_scoring_model(workspace)
    bare = make_opportunity(workspace, "Bare", priority=9, rank=1)
    backed = make_opportunity(workspace, "Backed", priority=8, rank=2, cv=0.3)
    backed.insights.add(
        *Insight.objects.bulk_create(Insight(workspace=workspace, title=f"i{n}") for n in range(9))
    )
    body = client_for(viewer).get(MATRIX).content.decode()
    assert radius_of(body, backed) > radius_of(body, bare)
    assert 'data-insights="9"' in body


def test_bubble_radius_is_a_capped_square_root():
    assert bubble_radius(0) < bubble_radius(1) < bubble_radius(4) < bubble_radius(25)
    assert bubble_radius(2) - bubble_radius(1) > bubble_radius(3) - bubble_radius(2)  # sqrt: growth slows
    assert bubble_radius(25) == bubble_radius(500)


def test_quadrant_labels_for_customer_by_business_value(client_for, viewer, workspace):
    make_scoring_model(workspace)
    make_opportunity(workspace, "Customer first", priority=9, rank=1, cv=0.9, bv=0.1)
    make_opportunity(workspace, "Business first", priority=8, rank=2, cv=0.1, bv=0.9)
    body = client_for(viewer).get(MATRIX).content.decode()
    for label in ("Quick wins", "Big bets", "Maybes", "Time sinks"):
        assert f">{label}</text>" in body
    assert "Customer first — Customer value 0.9, Business value 0.1, 0 insights, New (Big bets)" in body
    assert "Business first — Customer value 0.1, Business value 0.9, 0 insights, New (Maybes)" in body


def test_quadrants_for_value_by_effort_favour_low_effort():
    effort, value = Axis("effort", "Effort", cost=True), Axis("value", "Value")
    names = quadrant_names(effort, value)  # x = effort, y = value
    assert names[(False, True)] == "Quick wins"  # low effort, high value
    assert names[(True, True)] == "Big bets"
    assert names[(False, False)] == "Maybes"
    assert names[(True, False)] == "Time sinks"
    assert quadrant_names(value, effort)[(True, False)] == "Quick wins"  # axes swapped


def test_axes_are_chosen_with_get_parameters(client_for, viewer, workspace):
    criteria = make_scoring_model(workspace)
    cheap = make_opportunity(workspace, "Cheap", priority=9, rank=1, cv=0.8, bv=0.8)
    costly = make_opportunity(workspace, "Costly", priority=8, rank=2, cv=0.8, bv=0.8)
    unsized = make_opportunity(workspace, "Unsized", priority=7, rank=3)
    for opportunity, effort in ((cheap, 1), (costly, 5)):
        CriterionValue.objects.create(
            workspace=workspace, opportunity=opportunity, criterion=criteria["effort"], value=effort
        )
    body = client_for(viewer).get(f"{MATRIX}?x=effort&y=value").content.decode()
    assert '<title id="matrix-title">Value by Effort (input)</title>' in body
    assert "Effort (input) (lower is better)" in body
    assert "#1 Cheap — Effort (input) 1, Value 0.8, 0 insights, New (Quick wins)" in body
    assert "#2 Costly — Effort (input) 5, Value 0.8, 0 insights, New (Big bets)" in body
    assert len(bubbles(body)) == 2
    assert ">Unsized</a>" in body  # no effort yet: not yet scored on this pair
    assert '<option value="effort" selected>' in body
    assert unsized.pk


def test_unknown_axis_falls_back_to_the_default(client_for, viewer, workspace):
    make_scoring_model(workspace)
    make_opportunity(workspace, "One", priority=9, rank=1)
    body = client_for(viewer).get(f"{MATRIX}?x=nonsense").content.decode()
    assert '<title id="matrix-title">Business value by Customer value</title>' in body


def test_axes_have_ticks_and_labels_and_a_legend(client_for, viewer, workspace):
    make_scoring_model(workspace)
    make_opportunity(workspace, "One", priority=9, rank=1)
    body = client_for(viewer).get(MATRIX).content.decode()
    for tick in ("0", "0.2", "0.4", "0.6", "0.8", "1"):
        assert f'text-anchor="middle">{tick}</text>' in body
    assert 'class="axis-label"' in body
    assert "Legend" in body and "Under review" in body and "or more" in body


def test_matrix_uses_the_backlog_filters(client_for, viewer, workspace):
    make_scoring_model(workspace)
    make_opportunity(workspace, "Card freeze", priority=9, rank=1)
    make_opportunity(workspace, "Mortgage calculator", priority=8, rank=2, status="planned")
    client = client_for(viewer)
    assert len(bubbles(client.get(f"{MATRIX}?search=card").content.decode())) == 1
    assert len(bubbles(client.get(f"{MATRIX}?status=planned").content.decode())) == 1


def test_matrix_has_an_accessible_table(client_for, viewer, workspace):
    make_scoring_model(workspace)
    make_opportunity(workspace, "One", priority=9, rank=1, cv=0.9, bv=0.9)
    body = client_for(viewer).get(MATRIX).content.decode()
    assert "The matrix as a table" in body
    assert "<td>Quick wins</td>" in body
    assert 'role="group" aria-labelledby="matrix-title matrix-desc"' in body


def test_matrix_empty_states(client_for, viewer, workspace):
    client = client_for(viewer)
    assert "No open opportunities yet" in client.get(MATRIX).content.decode()
    make_opportunity(workspace, "One", priority=9, rank=1)
    filtered = client.get(f"{MATRIX}?search=zzz&x=value").content.decode()
    assert "No opportunities match these filters" in filtered
    assert 'href="/w/acme/matrix/?x=value">Clear filters</a>' in filtered


def test_htmx_axis_change_returns_the_chart_only(client_for, viewer, workspace):
    make_scoring_model(workspace)
    make_opportunity(workspace, "One", priority=9, rank=1)
    response = client_for(viewer).get(
        f"{MATRIX}?x=value&y=priority&search=", headers={"HX-Request": "true", "HX-Target": "matrix-results"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="matrix-results"') and "<html" not in body
    assert response["HX-Push-Url"] == f"{MATRIX}?x=value&y=priority"


def test_matrix_query_count_does_not_grow_with_opportunities(
    client_for, viewer, owner, workspace, django_assert_num_queries
):
    build_backlog(workspace, owner, 3)
    client = client_for(viewer)
    few, body = count_queries(client, f"{MATRIX}?x=effort&y=value")
    assert len(bubbles(body.decode())) == 3
    build_backlog(workspace, owner, 57, start=3)
    with django_assert_num_queries(few):
        response = client.get(f"{MATRIX}?x=effort&y=value")
    assert len(bubbles(response.content.decode())) == 60


def test_outsider_gets_404_on_the_matrix(client_for, outsider, workspace):
    assert client_for(outsider).get(MATRIX).status_code == 404


def test_closed_opportunities_stay_off_the_matrix_even_when_scored(client_for, viewer, workspace):
    make_scoring_model(workspace)
    done = make_opportunity(workspace, "Shipped", priority=9, rank=1)
    Opportunity.objects.filter(pk=done.pk).update(status="done")
    assert bubbles(client_for(viewer).get(MATRIX).content.decode()) == []


def test_middle_effort_counts_as_high_and_sits_off_the_split_line():
    effort = Axis("effort", "Effort", cost=True, low=1, high=5, step=1)
    low, high = axis_scale(effort, [1, 3, 5])
    assert (low, high) == (0.5, 5.5)  # half a step of room at each end
    assert split_value(effort, low, high) == 2.5  # effort 3 is on the costly side
    assert split_value(Axis("value", "Value"), 0, 1) == 0.5
