"""The insight repository's list: filters, search, sort, pagination, counts, empty states, and a number of
queries that does not grow with the rows."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.models import Tag
from journeys.models import Insight, Persona
from opportunities.models import Opportunity
from tests.test_insights_services import make_insight, make_journey


def url(**params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return "/w/acme/insights/" + (f"?{query}" if query else "")


def titles(response) -> list[str]:
    """The insight titles listed, in order."""
    return re.findall(
        r'<th scope="row" class="title-cell">\s*<a href="[^"]+">([^<]+)</a>', response.content.decode()
    )


@pytest.fixture
def repository(workspace):
    """A small repository: two journeys, personas, a tag tree, insights of every kind."""
    mortgage = make_journey(workspace, "Get a mortgage", steps=("Compare offers", "Apply"))
    account = make_journey(workspace, "Open an account", steps=("Sign up", "Verify ID"))
    sam = Persona.objects.create(workspace=workspace, name="Saver Sam")
    fiona = Persona.objects.create(workspace=workspace, name="First-time buyer Fiona")
    digital = Tag.objects.create(workspace=workspace, kind="channel", name="Digital")
    app = Tag.objects.create(workspace=workspace, kind="channel", name="Mobile app", parent=digital)
    ios = Tag.objects.create(workspace=workspace, kind="channel", name="iOS", parent=app)
    branch = Tag.objects.create(workspace=workspace, kind="channel", name="Branch")
    rate = make_insight(
        workspace, "Rates are hard to compare", kind="pain", severity=4, reach=900, status="validated"
    )
    rate.personas.add(fiona)
    rate.steps.add(mortgage.steps.get(position=1))
    rate.tags.add(digital)
    crash = make_insight(
        workspace,
        "App crashes on the ID photo",
        kind="pain",
        source="support_ticket",
        severity=5,
        reach=300,
        source_reference="ZD-4411",
    )
    crash.personas.add(sam)
    crash.steps.add(account.steps.get(position=2))
    crash.tags.add(ios)
    quote = make_insight(
        workspace,
        "“I love the instant decision”",
        kind="quote",
        description="Said about the online application.",
        severity=2,
        reach=40,
        status="rejected",
    )
    quote.steps.add(mortgage.steps.get(position=2))
    quote.tags.add(branch)
    loose = make_insight(workspace, "Nobody reads the terms", kind="observation", severity=3, reach=0)
    return {
        "mortgage": mortgage,
        "account": account,
        "sam": sam,
        "fiona": fiona,
        "digital": digital,
        "app": app,
        "ios": ios,
        "branch": branch,
        "rate": rate,
        "crash": crash,
        "quote": quote,
        "loose": loose,
    }


def test_list_shows_every_insight_newest_first_with_its_count(client_for, viewer, repository):
    response = client_for(viewer).get(url())
    assert response.status_code == 200
    assert titles(response) == [
        "Nobody reads the terms",
        "“I love the instant decision”",
        "App crashes on the ID photo",
        "Rates are hard to compare",
    ]
    assert "<strong>4</strong> insights" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "quote"}, ["“I love the instant decision”"]),
        ({"source": "support_ticket"}, ["App crashes on the ID photo"]),
        ({"status": "validated"}, ["Rates are hard to compare"]),
        ({"severity": "4"}, ["App crashes on the ID photo", "Rates are hard to compare"]),
        ({"journey": "none"}, ["Nobody reads the terms"]),
    ],
)
def test_list_filters_by_field(client_for, viewer, repository, params, expected):
    assert titles(client_for(viewer).get(url(**params))) == expected


def test_list_filters_by_persona_and_journey(client_for, viewer, repository):
    client = client_for(viewer)
    assert titles(client.get(url(persona=repository["sam"].pk))) == ["App crashes on the ID photo"]
    assert titles(client.get(url(journey=repository["mortgage"].pk))) == [
        "“I love the instant decision”",
        "Rates are hard to compare",
    ]


def test_insight_pinned_to_two_steps_of_a_journey_is_listed_once(client_for, viewer, repository):
    repository["rate"].steps.add(repository["mortgage"].steps.get(position=2))
    listed = titles(client_for(viewer).get(url(journey=repository["mortgage"].pk)))
    assert listed.count("Rates are hard to compare") == 1


def test_tag_filter_includes_the_tags_below_it(client_for, viewer, repository):
    client = client_for(viewer)
    assert titles(client.get(url(tag=repository["digital"].pk))) == [
        "App crashes on the ID photo",
        "Rates are hard to compare",
    ]
    assert titles(client.get(url(tag=repository["app"].pk))) == ["App crashes on the ID photo"]
    assert titles(client.get(url(tag=repository["branch"].pk))) == ["“I love the instant decision”"]


def test_search_looks_in_title_description_and_source_reference_in_any_case(client_for, viewer, repository):
    client = client_for(viewer)
    assert titles(client.get(url(q="RATES"))) == ["Rates are hard to compare"]
    assert titles(client.get(url(q="online+application"))) == ["“I love the instant decision”"]
    assert titles(client.get(url(q="zd-4411"))) == ["App crashes on the ID photo"]
    response = client.get(url(q="nothing+like+this"))
    assert titles(response) == []
    assert "No insights match these filters" in response.content.decode()


def test_filters_combine_and_say_how_many_match(client_for, viewer, repository):
    response = client_for(viewer).get(url(kind="pain", severity="5"))
    assert titles(response) == ["App crashes on the ID photo"]
    assert "<strong>1</strong> insight matches these filters" in response.content.decode()


def test_list_sorts_by_severity_and_reach(client_for, viewer, repository):
    client = client_for(viewer)
    assert titles(client.get(url(sort="severity")))[:2] == [
        "App crashes on the ID photo",
        "Rates are hard to compare",
    ]
    assert titles(client.get(url(sort="reach")))[0] == "Rates are hard to compare"


def test_invalid_filter_values_are_ignored(client_for, viewer, repository):
    response = client_for(viewer).get(url(kind="nonsense", persona="abc", sort="sideways", severity="9"))
    assert response.status_code == 200
    assert len(titles(response)) == 4


def test_filters_of_another_workspace_match_nothing(client_for, viewer, repository, other_workspace):
    foreign = Persona.objects.create(workspace=other_workspace, name="Theirs")
    assert titles(client_for(viewer).get(url(persona=foreign.pk))) == []


def test_empty_parameters_redirect_to_the_clean_url(client_for, viewer, repository):
    response = client_for(viewer).get("/w/acme/insights/?q=&kind=pain&status=&sort=newest")
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/insights/?kind=pain"


def test_htmx_filter_request_gets_only_the_results(client_for, viewer, repository):
    response = client_for(viewer).get(
        url(kind="quote"), headers={"HX-Request": "true", "HX-Target": "insight-results"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="insight-results"')
    assert "<html" not in body
    assert response["HX-Push-Url"] == "/w/acme/insights/?kind=quote"


def test_pagination_keeps_the_filters(client_for, viewer, workspace):
    for i in range(55):
        make_insight(workspace, f"Pain {i:02}", kind="pain")
    make_insight(workspace, "A gain", kind="gain")
    client = client_for(viewer)
    first = client.get(url(kind="pain"))
    assert len(titles(first)) == 50
    body = first.content.decode()
    assert "<strong>55</strong> insights match these filters · showing 1–50" in body
    assert 'href="/w/acme/insights/?kind=pain&amp;page=2"' in body
    second = client.get(url(kind="pain", page="2"))
    assert len(titles(second)) == 5


def test_each_row_shows_pins_journeys_personas_tags_and_opportunities(
    client_for, viewer, workspace, repository
):
    Opportunity.objects.create(workspace=workspace, title="Rate comparison").insights.add(repository["rate"])
    body = client_for(viewer).get(url(kind="pain", status="validated")).content.decode()
    row = body[body.index(f'id="insight-{repository["rate"].pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Pain point" in row and "Validated" in row and ">900<" in row
    assert "First-time buyer Fiona" in row
    assert "Digital" in row
    assert "1 step" in row and "Get a mortgage" in row
    assert f'href="/w/acme/insights/{repository["rate"].pk}/#opportunities"' in row


def test_editor_sees_checkboxes_and_bulk_actions(client_for, editor, repository):
    body = client_for(editor).get(url()).content.decode()
    assert 'name="insight"' in body
    assert "Select all insights on this page" in body
    assert "Mark validated" in body
    assert "New insight" in body


def test_viewer_sees_no_checkboxes_or_actions(client_for, viewer, repository):
    body = client_for(viewer).get(url()).content.decode()
    assert 'name="insight"' not in body
    assert "Mark validated" not in body
    assert "New insight" not in body and "Import CSV" not in body


def test_empty_repository_says_what_to_do_first(client_for, editor, viewer):
    body = client_for(editor).get(url()).content.decode()
    assert "Your insight repository is empty" in body
    assert "/w/acme/insights/new/" in body and "/w/acme/insights/import/" in body
    body = client_for(viewer).get(url()).content.decode()
    assert "Your insight repository is empty" in body
    assert "/w/acme/insights/new/" not in body


def test_outsider_gets_404(client_for, outsider, repository):
    assert client_for(outsider).get(url()).status_code == 404


def build_repository(workspace, n: int) -> None:
    """n insights, each with two personas, two tags, two pins on two journeys and two opportunities."""
    first = make_journey(workspace, f"Journey A{n}")
    second = make_journey(workspace, f"Journey B{n}")
    personas = [Persona.objects.create(workspace=workspace, name=f"P{n}-{i}") for i in range(2)]
    tags = [Tag.objects.create(workspace=workspace, kind="custom", name=f"T{n}-{i}") for i in range(2)]
    opportunities = [Opportunity.objects.create(workspace=workspace, title=f"O{n}-{i}") for i in range(2)]
    steps = [first.steps.first(), second.steps.first()]
    insights = Insight.objects.bulk_create(
        Insight(workspace=workspace, title=f"Insight {i}") for i in range(n)
    )
    for through, column, targets in (
        (Insight.personas.through, "persona_id", personas),
        (Insight.tags.through, "tag_id", tags),
        (Insight.steps.through, "step_id", steps),
    ):
        through.objects.bulk_create(
            through(insight_id=insight.pk, **{column: target.pk})
            for insight in insights
            for target in targets
        )
    through = Opportunity.insights.through
    through.objects.bulk_create(
        through(insight_id=insight.pk, opportunity_id=opportunity.pk)
        for insight in insights
        for opportunity in opportunities
    )


@pytest.mark.parametrize("member", ["viewer", "editor"])
def test_list_query_count_does_not_grow_with_rows(client_for, workspace, viewer, editor, member):
    client = client_for(viewer if member == "viewer" else editor)
    build_repository(workspace, 5)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url()).status_code == 200
    build_repository(workspace, 200)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url())
    assert len(titles(response)) == 50
    assert len(large) == len(small), "\n".join(q["sql"] for q in large.captured_queries)
    tag = Tag.objects.filter(workspace=workspace).first()
    persona = Persona.objects.filter(workspace=workspace).first()
    with CaptureQueriesContext(connection) as filtered:
        client.get(url(tag=tag.pk, q="Insight", persona=persona.pk, page=2))
    assert len(filtered) == len(small)
