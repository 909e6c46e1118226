"""The workspace activity feed: sentences, links to what still exists, compact changes, day groups,
filters, keyset pages and a constant number of queries."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from atlas.collaboration.display import changes_of, day_label, initials
from atlas.models import Activity
from atlas.services import activity_record
from journeys.models import Persona
from opportunities.models import Solution
from tests.collaboration_targets import make_targets


@pytest.fixture
def targets(workspace):
    return make_targets(workspace)


def feed_url(workspace, **params):
    url = reverse("collaboration:activity", args=[workspace.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def record(workspace, member, target, verb="updated", changes=None, when=None):
    activity = activity_record(
        workspace=workspace, actor=member.user, verb=verb, target=target, changes=changes
    )
    if when is not None:
        Activity.objects.filter(pk=activity.pk).update(created_at=when)
    return activity


# --- the page ------------------------------------------------------------------------------------------


def test_an_activity_reads_as_a_sentence_with_a_link_to_its_target(client_for, workspace, editor, targets):
    record(workspace, editor, targets.step, changes={"name": {"from": "Compare", "to": "Compare offers"}})

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    journey_url = reverse("journeys:journey", args=[workspace.slug, targets.journey.pk])
    assert "<strong>Edith Editor</strong> updated step" in body
    assert f'<a href="{journey_url}#step-{targets.step.pk}">“Compare offers”</a>' in body
    assert '<span class="change-field">name</span> <span class="change-before">Compare</span>' in body
    assert '<span class="change-after">Compare offers</span>' in body


def test_targets_link_to_their_pages(client_for, workspace, editor, targets):
    persona = Persona.objects.create(workspace=workspace, name="First-time buyer")
    solution = Solution.objects.create(
        workspace=workspace, opportunity=targets.opportunity, title="Rate table"
    )
    for target in (targets.journey, targets.insight, targets.opportunity, persona, solution, workspace):
        record(workspace, editor, target)

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    slug = workspace.slug
    opportunity_url = reverse("opportunities:detail", args=[slug, targets.opportunity.pk])
    assert f'href="{reverse("journeys:journey", args=[slug, targets.journey.pk])}"' in body
    assert f'href="{reverse("journeys:insight", args=[slug, targets.insight.pk])}"' in body
    assert f'href="{reverse("journeys:persona", args=[slug, persona.pk])}"' in body
    assert f'href="{opportunity_url}"' in body
    assert f'href="{opportunity_url}#solutions"' in body
    assert '<span class="feed-label">“Acme Bank”</span>' in body  # the workspace has no page to link


def test_a_deleted_target_keeps_its_label_without_a_link(client_for, workspace, editor, targets):
    record(workspace, editor, targets.opportunity, verb="created")
    opportunity_url = reverse("opportunities:detail", args=[workspace.slug, targets.opportunity.pk])
    targets.opportunity.delete()

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    assert "“Side-by-side rate table”" in body
    assert opportunity_url not in body


def test_a_comment_shows_its_excerpt(client_for, workspace, editor, targets):
    record(workspace, editor, targets.insight, verb="commented", changes={"comment": "Seen in 12 interviews"})

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    assert "commented on insight" in body
    assert '<blockquote class="feed-quote">Seen in 12 interviews</blockquote>' in body


def test_activities_are_newest_first_and_grouped_by_day(client_for, workspace, editor, targets):
    now = timezone.now()
    record(workspace, editor, targets.journey, verb="created", when=now - timedelta(days=1))
    record(workspace, editor, targets.step, verb="updated", when=now)

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    assert (
        body.index(">Today<")
        < body.index("updated step")
        < body.index(">Yesterday<")
        < body.index("created journey")
    )


def test_an_activity_without_actor_is_by_someone(client_for, workspace, editor, targets):
    activity_record(workspace=workspace, actor=None, verb="created", target=targets.journey)

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    assert "<strong>Someone</strong> created journey" in body


def test_a_new_workspace_feed_says_where_to_start(client_for, workspace, viewer):
    body = client_for(viewer).get(feed_url(workspace)).content.decode()

    assert "No activity yet" in body
    assert reverse("journeys:atlas", args=[workspace.slug]) in body


def test_many_changes_are_folded(client_for, workspace, editor, targets):
    record(workspace, editor, targets.step, changes={f"field_{i}": i for i in range(6)})

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    assert "2 more changes" in body


# --- filters and pages ---------------------------------------------------------------------------------


def test_filter_by_member(client_for, workspace, editor, admin_member, targets):
    record(workspace, editor, targets.journey, verb="created")
    record(workspace, admin_member, targets.step, verb="created")

    body = client_for(editor).get(feed_url(workspace, who=admin_member.pk)).content.decode()

    assert "created step" in body
    assert "created journey" not in body
    assert f'<option value="{admin_member.pk}" selected>' in body


def test_filter_by_type_of_thing(client_for, workspace, editor, targets):
    record(workspace, editor, targets.journey, verb="created")
    record(workspace, editor, targets.insight, verb="created")

    body = client_for(editor).get(feed_url(workspace, what="insight")).content.decode()

    assert "created insight" in body
    assert "created journey" not in body


def test_filter_by_period(client_for, workspace, editor, targets):
    record(workspace, editor, targets.journey, verb="created", when=timezone.now() - timedelta(days=10))
    record(workspace, editor, targets.step, verb="created")

    body = client_for(editor).get(feed_url(workspace, period="week")).content.decode()

    assert "created step" in body
    assert "created journey" not in body


def test_unknown_filter_values_are_ignored(client_for, workspace, editor, outsider, targets):
    record(workspace, editor, targets.journey, verb="created")

    response = client_for(editor).get(feed_url(workspace, who=outsider.pk, what="bogus", period="decade"))

    assert response.status_code == 200
    assert "created journey" in response.content.decode()


def test_nothing_matching_the_filters_offers_to_clear_them(client_for, workspace, editor, targets):
    record(workspace, editor, targets.journey, verb="created")

    body = client_for(editor).get(feed_url(workspace, what="persona")).content.decode()

    assert "Nothing matches" in body


def test_filters_with_htmx_answer_only_the_results(client_for, workspace, editor, targets):
    record(workspace, editor, targets.journey, verb="created")

    response = client_for(editor).get(
        feed_url(workspace, who="", what="journey", period=""),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="feed-results",
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="feed-results"')
    assert "created journey" in body
    assert response["HX-Push-Url"] == feed_url(workspace, what="journey")  # without the empty fields


def test_fifty_per_page_and_older_ones_by_keyset(client_for, workspace, editor, targets):
    start = timezone.now() - timedelta(hours=2)
    for i in range(60):
        record(workspace, editor, targets.journey, changes={"n": i}, when=start + timedelta(minutes=i))
    client = client_for(editor)

    first = client.get(feed_url(workspace)).content.decode()
    oldest_on_first = Activity.objects.order_by("-created_at", "-id")[49]
    second = client.get(feed_url(workspace, before=oldest_on_first.pk)).content.decode()

    assert first.count('class="feed-item"') == 50
    assert f"before={oldest_on_first.pk}" in first
    assert second.count('class="feed-item"') == 10
    assert "Older →" not in second and "← Newest" in second


def test_keyset_pages_split_activities_of_the_same_instant_by_id(workspace, editor, targets):
    from atlas.collaboration.selectors import FEED_PAGE_SIZE, FeedFilters, feed_page

    same = timezone.now() - timedelta(hours=1)
    for i in range(FEED_PAGE_SIZE + 20):  # 70, the newest 30 recorded at one instant
        record(workspace, editor, targets.journey, when=same if i >= 40 else same - timedelta(minutes=70 - i))
    expected = list(Activity.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    first, more = feed_page(workspace, FeedFilters())
    assert more and [a.pk for a in first] == expected[:FEED_PAGE_SIZE]
    second, more = feed_page(workspace, FeedFilters(), before=first[-1].pk)
    assert not more and [a.pk for a in second] == expected[FEED_PAGE_SIZE:]
    middle = expected[10]  # a cursor inside the instant: the rest of that instant, then older ones
    rows, _ = feed_page(workspace, FeedFilters(), before=middle)
    assert [a.pk for a in rows] == expected[11 : 11 + FEED_PAGE_SIZE]


def test_a_viewer_reads_the_feed_and_an_outsider_gets_404(
    client_for, workspace, viewer, outsider, editor, targets
):
    record(workspace, editor, targets.journey, verb="created")

    assert client_for(viewer).get(feed_url(workspace)).status_code == 200
    assert client_for(outsider).get(feed_url(workspace)).status_code == 404


def test_the_feed_shows_nothing_of_another_workspace(
    client_for, workspace, editor, other_workspace, outsider
):
    theirs = make_targets(other_workspace, prefix="Rival ")
    record(other_workspace, outsider, theirs.journey, verb="created")

    body = client_for(editor).get(feed_url(workspace)).content.decode()

    assert "Rival " not in body


def test_the_feed_costs_the_same_number_of_queries_for_5_or_200_activities(
    client_for, workspace, editor, admin_member, targets, django_assert_num_queries
):
    kinds = [targets.journey, targets.step, targets.insight, targets.opportunity, workspace]

    def add(count):
        for i in range(count):
            member = editor if i % 2 else admin_member
            record(workspace, member, kinds[i % len(kinds)], changes={"name": [f"old {i}", f"new {i}"]})

    client = client_for(editor)
    add(5)
    with CaptureQueriesContext(connection) as few:
        client.get(feed_url(workspace))
    add(195)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(feed_url(workspace))
    assert response.content.decode().count('class="feed-item"') == 50
    assert len(few.captured_queries) <= 12


def test_the_mentions_page_costs_the_same_for_1_or_30_mentions(
    client_for, workspace, editor, viewer, targets, django_assert_num_queries
):
    from atlas.collaboration.services import comment_create

    def add(count):
        for i in range(count):
            comment_create(
                workspace=workspace,
                author=editor,
                target=targets.of(["journey", "step", "insight", "opportunity"][i % 4]),
                body=f"@viewer number {i}",
            )

    client = client_for(viewer)
    url = reverse("collaboration:mentions", args=[workspace.slug])
    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    add(29)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('class="card mention-card"') == 30


# --- display helpers (no database) ---------------------------------------------------------------------


def test_changes_of_reads_every_shape_writers_use():
    changes = changes_of(
        {
            "status": {"from": "new", "to": "planned"},
            "role": ["editor", "admin"],
            "email": "a@b.test",
            "owner": None,
            "criteria": {"added": ["reach"], "removed": ["effort"]},
        }
    )

    assert [(c.field, c.before, c.after, c.value) for c in changes] == [
        ("status", "new", "planned", ""),
        ("role", "editor", "admin", ""),
        ("email", "", "", "a@b.test"),
        ("owner", "", "", "—"),
        ("criteria", "", "", "added: reach · removed: effort"),
    ]


def test_changes_of_hides_row_ids_and_counts_places_from_one():
    changes = changes_of(
        {
            "position": [1, 0],
            "phase": [46, 45],
            "journey": 17,
            "from_insight": 97,
            "persona": "Leo, the student",
            "stage": "Advocacy",
        }
    )

    assert [(c.field, c.before, c.after, c.value) for c in changes] == [
        ("place", "2", "1", ""),
        ("persona", "", "", "Leo, the student"),
        ("stage", "", "", "Advocacy"),
    ]


def test_long_values_are_cut_short():
    (change,) = changes_of({"description": "x" * 500})
    assert len(change.value) == 80 and change.value.endswith("…")


def test_day_labels():
    today = date(2026, 3, 12)
    assert day_label(today, today) == "Today"
    assert day_label(date(2026, 3, 11), today) == "Yesterday"
    assert day_label(date(2026, 3, 2), today) == "Monday 2 March"
    assert day_label(date(2025, 12, 29), today) == "Monday 29 December 2025"


def test_initials():
    assert initials("Maria López") == "ML"
    assert initials("maria.lopez@bank.test") == "ML"
