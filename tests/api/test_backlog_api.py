"""The ranked backlog API: /api/v1/workspaces/<slug>/backlog/ — order, filters, keyset pages, the
explanation, query counts, and who may read it."""

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.models import Tag
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Step
from okrs.models import KeyResult, Objective, OkrCycle
from opportunities import recompute, services
from opportunities.backlog_api import BacklogOrdering, backlog_page
from opportunities.models import Criterion, CriterionValue, Opportunity
from opportunities.presets import scoring_model_install_preset


def backlog_url(workspace, **query) -> str:
    url = reverse("api:backlog-list", kwargs={"workspace_slug": workspace.slug})
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


@dataclass
class Framework:
    """Two of everything an opportunity can be filtered by."""

    stages: list[LifecycleStage]
    macros: list[MacroJourney]
    journeys: list[Journey]
    steps: list[Step]
    personas: list[Persona]
    insights: list[Insight]
    tags: list[Tag]
    objectives: list[Objective]
    key_results: list[KeyResult]


@pytest.fixture
def framework(workspace) -> Framework:
    ws = {"workspace": workspace}
    lifecycle = Lifecycle.objects.create(**ws, name="Customer lifecycle")
    stages = [
        LifecycleStage.objects.create(**ws, lifecycle=lifecycle, name=name, position=i)
        for i, name in enumerate(["Join", "Use"])
    ]
    macros = [
        MacroJourney.objects.create(**ws, stage=stage, name=f"Macro {stage.name}", position=1)
        for stage in stages
    ]
    personas = [
        Persona.objects.create(**ws, name=name) for name in ["First-time buyer", "Returning customer"]
    ]
    journeys = [
        Journey.objects.create(
            **ws, macro_journey=macros[0], name="Apply online", primary_persona=personas[0]
        ),
        Journey.objects.create(**ws, macro_journey=macros[1], name="Pay monthly"),
    ]
    journeys[1].personas.set([personas[1]])
    steps = [
        Step.objects.create(**ws, journey=journey, position=i, name=f"Step {i}")
        for journey in journeys
        for i in (1, 2)
    ]
    insights = [
        Insight.objects.create(**ws, title="The form is too long", severity=4, reach=100),
        Insight.objects.create(**ws, title="Statements are unclear", severity=3, reach=10),
    ]
    insights[0].personas.set([personas[1]])
    tags = [Tag.objects.create(**ws, kind="channel", name=name) for name in ["web", "app"]]
    today = date.today()
    cycle = OkrCycle.objects.create(
        **ws, name="This quarter", start=today - timedelta(days=10), end=today + timedelta(days=80)
    )
    objectives = [Objective.objects.create(**ws, cycle=cycle, title=title) for title in ["Grow", "Keep"]]
    key_results = [
        KeyResult.objects.create(
            **ws, objective=objective, title=f"KR of {objective.title}", start_value=0, target_value=10
        )
        for objective in objectives
    ]
    return Framework(stages, macros, journeys, steps, personas, insights, tags, objectives, key_results)


def make(workspace, title, *, links=None, **fields) -> Opportunity:
    """An opportunity with its score fields set directly (as the recompute would) and its links."""
    opportunity = Opportunity.objects.create(workspace=workspace, title=title, **fields)
    for name, items in (links or {}).items():
        getattr(opportunity, name).set(items)
    return opportunity


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def next_url(response) -> str | None:
    return response.json()["next"]


@pytest.fixture
def reader(owner, token_client_for):
    client, _ = token_client_for(owner)
    return client


# --- Order ---------------------------------------------------------------------------------------------


def test_backlog_ranks_by_priority_with_ties_by_id_and_unscored_last(workspace, reader):
    low = make(workspace, "Low", priority=10.0, rank=4)
    unscored_b = make(workspace, "Not scored yet B")
    tie_a = make(workspace, "Tie A", priority=50.0, rank=2)
    top = make(workspace, "Top", priority=90.0, rank=1)
    tie_b = make(workspace, "Tie B", priority=50.0, rank=3)
    unscored_a = make(workspace, "Not scored yet A")

    response = reader.get(backlog_url(workspace))

    assert ids(response) == [top.pk, tie_a.pk, tie_b.pk, low.pk, unscored_b.pk, unscored_a.pk]
    assert next_url(response) is None


def test_backlog_lists_open_opportunities_only(workspace, reader):
    open_ones = [make(workspace, status, status=status, priority=1.0) for status in ["new", "planned"]]
    make(workspace, "Shipped", status="done", priority=99.0)
    make(workspace, "Refused", status="rejected")

    assert sorted(ids(reader.get(backlog_url(workspace)))) == sorted(o.pk for o in open_ones)


def test_backlog_row_shows_owner_movement_scores_and_counts(workspace, owner, framework, reader):
    opportunity = make(
        workspace,
        "Shorter form",
        owner=owner,
        priority=42.5,
        rank=3,
        previous_rank=7,
        scores={"priority": 42.5, "customer_value": 0.8},
        links={"insights": framework.insights, "steps": framework.steps[:3]},  # 3 steps of 2 journeys
    )
    make(workspace, "Without owner or links", priority=1.0, rank=4)

    rows = reader.get(backlog_url(workspace)).json()["results"]

    assert rows[0] == {
        "id": opportunity.pk,
        "title": "Shorter form",
        "status": "new",
        "owner": {"id": owner.pk, "name": "Olivia Owner"},
        "rank": 3,
        "previous_rank": 7,
        "movement": 4,
        "priority": 42.5,
        "scores": {"priority": 42.5, "customer_value": 0.8},
        "evidence_count": 2,
        "journey_count": 2,
    }
    assert rows[1]["owner"] is None
    assert rows[1]["movement"] is None
    assert (rows[1]["evidence_count"], rows[1]["journey_count"]) == (0, 0)


def test_owner_without_a_name_is_shown_by_email(workspace, owner, reader):
    owner.user.full_name = ""
    owner.user.save()
    make(workspace, "Mine", owner=owner, priority=1.0)

    row = reader.get(backlog_url(workspace)).json()["results"][0]

    assert row["owner"] == {"id": owner.pk, "name": "owner@acme.test"}


@pytest.mark.parametrize("descending", [True, False])
def test_backlog_orders_by_a_score_key_with_missing_values_last(workspace, reader, descending):
    scoring_model_install_preset(workspace=workspace)
    a = make(workspace, "A", priority=1.0, scores={"customer_value": 0.2})
    b = make(workspace, "B", priority=9.0, scores={"customer_value": 0.9})
    c = make(workspace, "C", priority=5.0, scores={"customer_value": 0.5})
    tie = make(workspace, "Tie with C", priority=4.0, scores={"customer_value": 0.5})
    missing = make(workspace, "No scores")

    response = reader.get(
        backlog_url(workspace, ordering="-scores.customer_value" if descending else "scores.customer_value")
    )

    expected = [b.pk, c.pk, tie.pk, a.pk] if descending else [a.pk, c.pk, tie.pk, b.pk]
    assert ids(response) == [*expected, missing.pk]


def test_backlog_orders_by_rank_and_by_creation(workspace, reader):
    second = make(workspace, "Second", priority=5.0, rank=2)
    first = make(workspace, "First", priority=9.0, rank=1)
    unranked = make(workspace, "Unranked")

    assert ids(reader.get(backlog_url(workspace, ordering="rank"))) == [first.pk, second.pk, unranked.pk]
    assert ids(reader.get(backlog_url(workspace, ordering="-rank"))) == [second.pk, first.pk, unranked.pk]
    assert ids(reader.get(backlog_url(workspace, ordering="-created_at"))) == [
        unranked.pk,
        first.pk,
        second.pk,
    ]


@pytest.mark.parametrize(
    "ordering", ["title", "-scores.", "scores.no_such_score", "scores.bad key", "-priority,id", "owner"]
)
def test_unknown_ordering_is_refused(workspace, reader, ordering):
    scoring_model_install_preset(workspace=workspace)

    response = reader.get(backlog_url(workspace, ordering=ordering))

    assert response.status_code == 400
    assert "ordering" in response.json()


# --- Filters -------------------------------------------------------------------------------------------


@pytest.fixture
def filtered(workspace, owner, editor, framework):
    """One opportunity matching each filter value, and one matching none."""
    f = framework
    made = {
        "status": make(workspace, "Planned one", status="planned"),
        "stage": make(workspace, "On stage Use", links={"steps": [f.steps[2]]}),
        "journey": make(workspace, "On journey Apply", links={"steps": [f.steps[1]]}),
        "persona_by_insight": make(
            workspace, "Evidence about returning customers", links={"insights": [f.insights[0]]}
        ),
        "persona_by_journey": make(
            workspace, "Step of a journey for returning customers", links={"steps": [f.steps[3]]}
        ),
        "tag": make(workspace, "Tagged app", links={"tags": [f.tags[1]]}),
        "owner": make(workspace, "Edith's", owner=editor),
        "key_result": make(workspace, "Moves KR of Keep", links={"key_results": [f.key_results[1]]}),
        "q": make(workspace, "Plain title", description="Customers abandon the MORTGAGE calculator"),
        "none": make(workspace, "Nothing special", owner=owner),
    }
    return made


def test_backlog_filters(workspace, reader, framework, filtered, editor):
    f, made = framework, filtered

    def matching(**query) -> set[int]:
        return set(ids(reader.get(backlog_url(workspace, page_size=200, **query))))

    assert matching(status="planned") == {made["status"].pk}
    assert matching(stage=f.stages[1].pk) == {made["stage"].pk, made["persona_by_journey"].pk}
    assert matching(macro_journey=f.macros[0].pk) == {made["journey"].pk}
    assert matching(journey=f.journeys[0].pk) == {made["journey"].pk}
    # Returning customers: an insight about them, and two steps of the journey seen through their eyes.
    assert matching(persona=f.personas[1].pk) == {
        made["persona_by_insight"].pk,
        made["persona_by_journey"].pk,
        made["stage"].pk,
    }
    assert matching(persona=f.personas[0].pk) == {made["journey"].pk}  # the journey's primary persona
    assert matching(tag=f.tags[1].pk) == {made["tag"].pk}
    assert matching(owner=editor.pk) == {made["owner"].pk}
    assert matching(objective=f.objectives[1].pk) == {made["key_result"].pk}
    assert matching(key_result=f.key_results[1].pk) == {made["key_result"].pk}
    assert matching(q="mortgage+calculator") == {made["q"].pk}
    assert matching(q="mortgage+nothing") == set()
    assert matching(status="planned", owner=editor.pk) == set()
    assert len(matching()) == len(made)


def test_filters_combine_with_keyset_pages(workspace, reader, framework):
    tagged = [
        make(workspace, f"Tagged {i}", priority=float(i % 3), links={"tags": [framework.tags[0]]})
        for i in range(7)
    ]
    for i in range(5):
        make(workspace, f"Untagged {i}", priority=float(i))

    seen, url = [], backlog_url(workspace, tag=framework.tags[0].pk, page_size=2)
    while url:
        response = reader.get(url)
        seen += ids(response)
        url = next_url(response)

    assert sorted(seen) == sorted(o.pk for o in tagged)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    "query", [{"status": "done"}, {"status": "sideways"}, {"tag": "web"}, {"owner": "1.5"}]
)
def test_invalid_filter_values_are_refused(workspace, reader, query):
    assert reader.get(backlog_url(workspace, **query)).status_code == 400


# --- Keyset pages --------------------------------------------------------------------------------------


@pytest.fixture
def mixed_backlog(workspace):
    """Ties, unscored rows, unranked rows and missing score keys, created in an order that is not
    the order of any sort."""
    scoring_model_install_preset(workspace=workspace)
    priorities = [7.0, None, 3.0, 7.0, 7.0, None, 1.0, 3.0, None, 9.0, 7.0, 0.0, None, 3.0]
    made = [
        make(
            workspace,
            f"Opportunity {i}",
            priority=priority,
            scores={"value": (i * 7) % 5 / 5} if priority is not None and i % 4 else {},
        )
        for i, priority in enumerate(priorities)
    ]
    # Ranks as the recompute gives them: by priority, ties by id; not yet scored, no rank.
    scored = sorted((o for o in made if o.priority is not None), key=lambda o: (-o.priority, o.pk))
    for position, opportunity in enumerate(scored, start=1):
        Opportunity.objects.filter(pk=opportunity.pk).update(rank=position)
    return made


def expected_order(opportunities, value, descending) -> list[int]:
    with_value = [o for o in opportunities if value(o) is not None]
    without = [o for o in opportunities if value(o) is None]
    with_value.sort(key=lambda o: o.pk)
    with_value.sort(key=value, reverse=descending)  # stable: ties stay by id
    return [o.pk for o in with_value] + sorted(o.pk for o in without)


ORDERINGS = {
    "-priority": (lambda o: o.priority, True),
    "priority": (lambda o: o.priority, False),
    "rank": (lambda o: o.rank, False),
    "-rank": (lambda o: o.rank, True),
    "-scores.value": (lambda o: o.scores.get("value"), True),
    "scores.value": (lambda o: o.scores.get("value"), False),
    "created_at": (lambda o: o.created_at, False),
    "-created_at": (lambda o: o.created_at, True),
}


@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("page_size", [1, 3, 4])
def test_paging_visits_every_opportunity_once_in_order(workspace, reader, mixed_backlog, ordering, page_size):
    for opportunity in mixed_backlog:
        opportunity.refresh_from_db()
    seen, url, pages = [], backlog_url(workspace, ordering=ordering, page_size=page_size), 0
    while url:
        response = reader.get(url)
        page = ids(response)
        assert 0 < len(page) <= page_size
        seen += page
        url, pages = next_url(response), pages + 1

    value, descending = ORDERINGS[ordering]
    assert seen == expected_order(mixed_backlog, value, descending)
    assert pages == -(-len(mixed_backlog) // page_size)


def test_deep_page_follows_the_previous_one(workspace, reader):
    made = [make(workspace, f"O{i}", priority=float(i // 2), rank=300 - i) for i in range(300)]
    made += [make(workspace, f"Unscored {i}") for i in range(20)]

    url, seen = backlog_url(workspace, page_size=7), []
    for _ in range(40):
        response = reader.get(url)
        seen += ids(response)
        url = next_url(response)
    deep = ids(reader.get(url))

    by_priority = expected_order(made, lambda o: o.priority, True)
    assert seen == by_priority[:280]
    assert deep == by_priority[280:287]  # 19 scored rows left, so this page crosses into the unscored


def test_a_cursor_only_works_with_its_ordering(workspace, reader):
    for i in range(3):
        make(workspace, f"O{i}", priority=float(i), rank=3 - i)
    cursor = parse_qs(urlparse(next_url(reader.get(backlog_url(workspace, page_size=1)))).query)["cursor"][0]

    assert reader.get(backlog_url(workspace, page_size=1, cursor=cursor)).status_code == 200
    assert reader.get(backlog_url(workspace, ordering="rank", cursor=cursor)).status_code == 404


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        "eyJvIjoiLXByaW9yaXR5In0",  # {"o":"-priority"}
        "eyJvIjoiLXByaW9yaXR5IiwidiI6InRlbiIsImkiOjF9",  # {"o":"-priority","v":"ten","i":1}
        "eyJvIjoiLXByaW9yaXR5IiwidiI6MSwiaSI6IjEifQ",  # {"o":"-priority","v":1,"i":"1"}
    ],
)
def test_a_forged_cursor_is_refused(workspace, reader, cursor):
    make(workspace, "O", priority=1.0)

    assert reader.get(backlog_url(workspace, cursor=cursor)).status_code == 404


@pytest.mark.parametrize("payload", ['{"o":"-priority","v":NaN,"i":1}', "[" * 50000 + "]" * 50000])
def test_a_cursor_that_is_not_a_position_is_refused(workspace, reader, payload):
    cursor = base64.urlsafe_b64encode(payload.encode()).decode()

    assert reader.get(backlog_url(workspace, cursor=cursor)).status_code == 404


def test_page_size_is_capped_and_checked(workspace, reader):
    for i in range(3):
        make(workspace, f"O{i}", priority=float(i))

    assert len(ids(reader.get(backlog_url(workspace, page_size=100000)))) == 3
    assert reader.get(backlog_url(workspace, page_size=0)).status_code == 400
    assert reader.get(backlog_url(workspace, page_size="many")).status_code == 400


# --- The explanation -----------------------------------------------------------------------------------


def test_breakdown_is_the_recompute_explanation(workspace, reader, framework):
    scoring_model_install_preset(workspace=workspace)
    criteria = {c.key: c for c in Criterion.objects.filter(workspace=workspace)}
    for i in range(3):
        opportunity = make(
            workspace,
            f"Scored {i}",
            links={"insights": framework.insights[: i + 1], "steps": framework.steps[i : i + 2]},
        )
        CriterionValue.objects.create(
            workspace=workspace, opportunity=opportunity, criterion=criteria["customer_impact"], value=i + 2
        )
    make(workspace, "Without criterion values")
    services.priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    unscored = make(workspace, "Created after the recompute")
    _, spec = recompute.load_spec(workspace.pk)

    rows = reader.get(backlog_url(workspace, breakdown=1)).json()["results"]

    by_id = {o.pk: o for o in Opportunity.objects.filter(workspace=workspace)}
    for row in rows:
        assert row["breakdown"] == recompute.explain(by_id[row["id"]], spec)
    assert rows[0]["breakdown"]["nodes"] and rows[0]["breakdown"]["rank"] == 1
    assert rows[-1]["id"] == unscored.pk and rows[-1]["breakdown"] is None
    assert all("breakdown" not in row for row in reader.get(backlog_url(workspace)).json()["results"])


# --- Query counts --------------------------------------------------------------------------------------


def count_queries(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def later_page(client, url) -> str:
    return client.get(url).json()["next"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # the token (1), the page (1)
        ({}, 2),
        # …and whether the score key exists (1)
        ({"ordering": "-scores.value"}, 3),
        # …and for the explanations the scoring model (4) and the rows' criterion values (1)
        ({"breakdown": "1"}, 7),
        # filters are subqueries of the same statement
        ({"status": "new", "q": "form", "ordering": "rank"}, 2),
        ({"ordering": "-rank", "status": "new"}, 2),
    ],
)
def test_query_count_does_not_grow_with_rows(workspace, owner, framework, token_client_for, query, expected):
    scoring_model_install_preset(workspace=workspace)
    client, _ = token_client_for(owner)

    def add(n, start):
        for i in range(start, start + n):
            make(
                workspace,
                f"Shorter form {i}",
                owner=owner,
                priority=None if i % 10 == 0 else float(i % 7),
                rank=i + 1,
                scores={"value": i / 200},
                links={"insights": framework.insights, "steps": framework.steps, "tags": framework.tags},
            )

    add(3, 0)
    client.get(backlog_url(workspace))  # the token's first use records it
    small_first, _ = count_queries(client, backlog_url(workspace, page_size=2, **query))
    small_later, _ = count_queries(client, later_page(client, backlog_url(workspace, page_size=2, **query)))
    add(117, 3)
    big_first, page = count_queries(client, backlog_url(workspace, **query))
    big_later, _ = count_queries(client, later_page(client, backlog_url(workspace, **query)))

    assert len(page["results"]) == 50
    assert small_first == small_later == big_first == big_later == expected


# --- Who may read --------------------------------------------------------------------------------------


def test_viewer_reads_the_backlog(workspace, viewer, api_for):
    opportunity = make(workspace, "Visible", priority=1.0)

    assert ids(api_for(viewer).get(backlog_url(workspace))) == [opportunity.pk]


def test_outsider_gets_404(workspace, outsider, api_for):
    make(workspace, "Secret", priority=1.0)

    response = api_for(outsider).get(backlog_url(workspace))

    assert response.status_code == 404
    assert b"Secret" not in response.content


def test_token_of_another_workspace_gets_404(workspace, other_workspace, outsider, token_client_for):
    make(workspace, "Secret", priority=1.0)
    client, _ = token_client_for(outsider)

    assert client.get(backlog_url(workspace)).status_code == 404
    assert client.get(backlog_url(other_workspace)).status_code == 200


def test_anonymous_is_refused(client, workspace):
    assert client.get(backlog_url(workspace)).status_code in (401, 403)


def test_backlog_is_read_only(workspace, owner, api_for):
    assert api_for(owner).post(backlog_url(workspace), {}).status_code == 405


def test_a_filter_that_joins_still_pages_by_the_index_order(workspace, owner, editor):
    """The statement takes the filters' WHERE clause on the opportunity table alone; a filter that
    needs a join (none does today) is matched by id instead, with the same result."""
    mine = [make(workspace, f"Mine {i}", owner=owner, priority=float(i)) for i in range(4)]
    make(workspace, "Edith's", owner=editor, priority=10.0)
    joined = Opportunity.objects.filter(workspace=workspace, owner__user__email="owner@acme.test")

    rows = backlog_page(
        joined, workspace_id=workspace.pk, ordering=BacklogOrdering.parse(None), cursor=None, limit=10
    )

    assert [row["id"] for row in rows] == [o.pk for o in reversed(mine)]
