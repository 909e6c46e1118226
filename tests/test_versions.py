"""Journey versions: snapshots, the version pages and restore."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.models import Activity, Comment
from journeys.models import Insight, Journey, JourneyVersion, Phase, Step, StepEmotion, Touchpoint
from journeys.services.versions import journey_restore, journey_snapshot, journey_state
from metrics.models import Kpi
from opportunities.models import Opportunity
from tests.versions_world import build_map


def test_snapshot_holds_every_lane_with_ids_and_names(workspace, owner):
    world = build_map(workspace, owner, steps=2)
    version = journey_snapshot(journey=world.journey, actor=owner, label="Before workshop")
    assert version.number == 1
    assert version.label == "Before workshop"
    assert version.reason == JourneyVersion.Reason.MANUAL
    assert version.created_by == owner
    data = version.snapshot
    assert data["journey"]["name"] == "Open an account"
    assert data["journey"]["owner_name"] == "Olivia Owner"
    assert data["journey"]["personas"] == [{"id": world.persona.pk, "name": "Saver Sam"}]
    assert [p["name"] for p in data["phases"]] == ["Apply", "Get started"]
    step = data["steps"][0]
    assert step["name"] == "Step 0"
    assert step["phase_name"] == "Apply"
    assert step["customer_goal"] == "Goal 0"
    assert step["emotion"] == -2
    assert step["is_moment_of_truth"] is True
    assert step["tags"] == [{"id": world.tag.pk, "name": "Mobile app"}]
    assert step["persona_emotions"] == [
        {"persona_id": world.persona.pk, "persona_name": "Saver Sam", "score": 1, "note": "ok"}
    ]
    assert step["touchpoints"][0]["name"] == "Touchpoint 0"
    assert step["touchpoints"][0]["tags"] == [{"id": world.tag.pk, "name": "Mobile app"}]
    assert step["insights"] == [{"id": world.insight.pk, "title": "Too many forms", "kind": "pain"}]
    assert step["opportunities"] == [{"id": world.opportunity.pk, "title": "One short form"}]
    assert data["step_count"] == 2


def test_snapshot_numbers_count_up_per_journey(workspace, owner):
    first = build_map(workspace, owner, steps=1, name="First")
    second = build_map(workspace, owner, steps=1, name="Second")
    numbers = [journey_snapshot(journey=first.journey, actor=owner).number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert journey_snapshot(journey=second.journey, actor=None).number == 1


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_snapshot_query_count_does_not_grow_with_steps(workspace, owner):
    small = build_map(workspace, owner, steps=1, name="Small")
    large = build_map(workspace, owner, steps=15, name="Large")
    small_count = _queries(lambda: journey_snapshot(journey=small.journey, actor=owner))
    large_count = _queries(lambda: journey_snapshot(journey=large.journey, actor=owner))
    assert small_count == large_count


# --- restore -------------------------------------------------------------------------------------------


def _edit_everything(world) -> None:
    """Change lanes, order, phases, pins and touchpoints, delete a step and add one."""
    first, second, third = world.steps
    Step.objects.filter(pk=first.pk).update(name="Renamed", customer_goal="New goal", emotion=2)
    Step.objects.filter(pk=third.pk).delete()
    Phase.objects.filter(pk=world.phases[1].pk).delete()
    Step.objects.create(
        workspace=world.journey.workspace, journey=world.journey, position=9, name="Brand new"
    )
    Touchpoint.objects.filter(step=second).update(name="Changed touchpoint", channel="phone")
    world.insight.steps.remove(second)
    world.opportunity.steps.remove(first)
    StepEmotion.objects.filter(step=first).update(score=-2)
    Journey.objects.filter(pk=world.journey.pk).update(name="Renamed journey", description="Changed")


def test_restore_brings_back_the_version_and_raises_revisions(workspace, owner):
    world = build_map(workspace, owner, steps=3)
    before = journey_state(journey=world.journey)
    version = journey_snapshot(journey=world.journey, actor=owner)
    _edit_everything(world)
    journey_revision = Journey.objects.get(pk=world.journey.pk).revision
    second_revision = Step.objects.get(pk=world.steps[1].pk).revision

    undo = journey_restore(version=version, actor=owner)

    after = journey_state(journey=world.journey)
    assert _content(after) == _content(before)
    assert Journey.objects.get(pk=world.journey.pk).revision == journey_revision + 1
    assert Step.objects.get(pk=world.steps[1].pk).revision == second_revision + 1
    assert not Step.objects.filter(name="Brand new").exists()
    assert undo.reason == JourneyVersion.Reason.BEFORE_RESTORE
    assert undo.number == 2
    assert undo.skipped_insights == 0
    assert Activity.objects.filter(verb="version_restored", target_id=world.journey.pk).exists()


def test_restoring_the_before_restore_version_undoes_the_restore(workspace, owner):
    world = build_map(workspace, owner, steps=3)
    version = journey_snapshot(journey=world.journey, actor=owner)
    _edit_everything(world)
    edited = journey_state(journey=world.journey)

    undo = journey_restore(version=version, actor=owner)
    journey_restore(version=undo, actor=owner)

    assert _content(journey_state(journey=world.journey)) == _content(edited)


def test_restore_skips_deleted_insights_and_never_deletes_pinned_ones(workspace, owner):
    world = build_map(workspace, owner, steps=2)
    gone = Insight.objects.create(workspace=workspace, title="Deleted later")
    gone.steps.add(world.steps[0])
    version = journey_snapshot(journey=world.journey, actor=owner)
    gone.delete()
    extra = Step.objects.create(workspace=workspace, journey=world.journey, position=5, name="Extra")
    world.insight.steps.add(extra)
    world.opportunity.steps.add(extra)

    undo = journey_restore(version=version, actor=owner)

    assert undo.skipped_insights == 1
    assert not Step.objects.filter(pk=extra.pk).exists()
    assert Insight.objects.filter(pk=world.insight.pk).exists()
    assert Opportunity.objects.filter(pk=world.opportunity.pk).exists()
    assert set(world.insight.steps.values_list("pk", flat=True)) == {s.pk for s in world.steps}


def test_restore_keeps_kpis_and_comments_of_removed_steps_on_the_journey(workspace, owner):
    world = build_map(workspace, owner, steps=1)
    version = journey_snapshot(journey=world.journey, actor=owner)
    extra = Step.objects.create(workspace=workspace, journey=world.journey, position=5, name="Extra")
    kpi = Kpi.objects.create(workspace=workspace, name="Step CSAT", kpi_type="csat", scope="step", step=extra)
    comment = Comment.objects.create(workspace=workspace, author=owner, body="Why?", step=extra)

    journey_restore(version=version, actor=owner)

    kpi.refresh_from_db()
    comment.refresh_from_db()
    assert (kpi.scope, kpi.journey_id, kpi.step_id) == ("journey", world.journey.pk, None)
    assert (comment.journey_id, comment.step_id) == (world.journey.pk, None)


def test_restore_swaps_positions_without_breaking_the_unique_order(workspace, owner):
    world = build_map(workspace, owner, steps=3)
    version = journey_snapshot(journey=world.journey, actor=owner)
    a, b, c = world.steps
    Step.objects.filter(pk=a.pk).update(position=100)
    Step.objects.filter(pk=c.pk).update(position=0)
    Step.objects.filter(pk=a.pk).update(position=2)

    journey_restore(version=version, actor=owner)

    order = list(Step.objects.filter(journey=world.journey).order_by("position").values_list("pk", flat=True))
    assert order == [a.pk, b.pk, c.pk]


def test_restore_query_count_does_not_grow_with_steps(workspace, owner):
    counts = []
    for steps, name in ((2, "Small"), (14, "Large")):
        world = build_map(workspace, owner, steps=steps, name=name)
        version = journey_snapshot(journey=world.journey, actor=owner)
        Step.objects.filter(journey=world.journey, position__gte=1).delete()
        counts.append(_queries(lambda v=version: journey_restore(version=v, actor=owner)))
    assert counts[0] == counts[1]


def _content(state: dict) -> dict:
    """A journey state without ids and revisions (recreated rows get new ids)."""

    def strip(value):
        if isinstance(value, dict):
            return {
                k: strip(v) for k, v in value.items() if k not in {"id", "phase_id", "revision", "step_count"}
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(state)


# --- pages ---------------------------------------------------------------------------------------------


def _url(name: str, workspace, *args) -> str:
    return reverse(f"journeys:{name}", args=[workspace.slug, *args])


def test_viewer_sees_versions_but_no_save_or_restore(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner, label="Kick-off")
    response = client_for(viewer).get(_url("journey_versions", workspace, world.journey.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Kick-off" in body
    assert "Olivia Owner" in body
    assert _url("journey_version_compare", workspace, world.journey.pk, version.pk) in body
    assert "Save version" not in body
    assert _url("journey_version_restore", workspace, world.journey.pk, version.pk) not in body


def test_empty_version_list_says_what_to_do(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    body = client_for(editor).get(_url("journey_versions", workspace, world.journey.pk)).content.decode()
    assert "No versions yet" in body
    assert "Save version" in body


def test_editor_saves_a_version_with_a_label(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    response = client_for(editor).post(
        _url("journey_version_create", workspace, world.journey.pk), {"label": "Before workshop"}
    )
    assert response.status_code == 302
    version = JourneyVersion.objects.get(journey=world.journey)
    assert (version.number, version.label, version.created_by) == (1, "Before workshop", editor)
    assert Activity.objects.filter(verb="version_saved", actor=editor.user).exists()


def test_save_version_goes_back_to_the_page_it_came_from_inside_the_workspace(
    client_for, editor, owner, workspace
):
    world = build_map(workspace, owner)
    map_url = _url("journey", workspace, world.journey.pk)
    client = client_for(editor)
    url = _url("journey_version_create", workspace, world.journey.pk)
    assert client.post(url, {"next": map_url})["Location"] == map_url
    assert client.post(url, {"next": "https://evil.example/w/acme/"})["Location"].startswith("/w/acme/")
    assert client.post(url, {"next": "/admin/"})["Location"] == _url(
        "journey_versions", workspace, world.journey.pk
    )


def test_too_long_label_shows_the_error_and_saves_nothing(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    response = client_for(editor).post(
        _url("journey_version_create", workspace, world.journey.pk), {"label": "x" * 161}
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert "x" * 161 in response.content.decode()
    assert not JourneyVersion.objects.exists()


def test_viewer_cannot_save_or_restore(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    client = client_for(viewer)
    assert client.post(_url("journey_version_create", workspace, world.journey.pk)).status_code == 403
    restore = _url("journey_version_restore", workspace, world.journey.pk, version.pk)
    assert client.get(restore).status_code == 403
    assert client.post(restore, {"confirm": "yes"}).status_code == 403
    assert JourneyVersion.objects.count() == 1


def test_outsider_gets_404_on_every_version_page(client_for, outsider, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    client = client_for(outsider)
    pk, vpk = world.journey.pk, version.pk
    for name, args in (
        ("journey_versions", (pk,)),
        ("journey_version", (pk, vpk)),
        ("journey_version_compare", (pk, vpk)),
        ("journey_version_restore", (pk, vpk)),
    ):
        assert client.get(_url(name, workspace, *args)).status_code == 404
    assert client.post(_url("journey_version_create", workspace, pk)).status_code == 404
    assert (
        client.post(_url("journey_version_restore", workspace, pk, vpk), {"confirm": "yes"}).status_code
        == 404
    )


def test_a_version_of_another_journey_is_404(client_for, viewer, owner, workspace):
    first = build_map(workspace, owner, name="First")
    second = build_map(workspace, owner, name="Second")
    version = journey_snapshot(journey=first.journey, actor=owner)
    url = _url("journey_version", workspace, second.journey.pk, version.pk)
    assert client_for(viewer).get(url).status_code == 404


def test_version_page_shows_the_snapshot_even_after_rows_are_gone(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner, label="Kick-off")
    world.steps[0].delete()
    world.insight.delete()
    response = client_for(viewer).get(_url("journey_version", workspace, world.journey.pk, version.pk))
    body = response.content.decode()
    assert response.status_code == 200
    assert "read-only" in body
    assert "Step 0" in body
    assert "Goal 0" in body
    assert "Too many forms" in body
    assert "Touchpoint 0" in body
    assert "Website" in body  # the channel's label
    assert 'class="emotion-chart"' in body


def test_version_compare_marks_added_removed_and_changed(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    Step.objects.filter(pk=world.steps[0].pk).update(customer_goal="A much better goal")
    world.steps[2].delete()
    Step.objects.create(workspace=workspace, journey=world.journey, position=7, name="Extra help")
    response = client_for(viewer).get(
        _url("journey_version_compare", workspace, world.journey.pk, version.pk)
    )
    body = response.content.decode()
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison.counts == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    assert "A much better goal" in body
    assert "Goal 0" in body
    assert "Customer goal / need" in body
    assert "Removed since" in body


def test_version_compare_of_an_unchanged_map_says_nothing_changed(client_for, viewer, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    body = client_for(viewer).get(_url("journey_version_compare", workspace, world.journey.pk, version.pk))
    assert "Nothing changed" in body.content.decode()


def test_restore_confirmation_lists_what_changes(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    world.steps[2].delete()
    Step.objects.create(workspace=workspace, journey=world.journey, position=7, name="Extra help")
    response = client_for(editor).get(
        _url("journey_version_restore", workspace, world.journey.pk, version.pk)
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Restore version 1" in body
    assert "Step 2" in body  # created again
    assert "Extra help" in body  # removed
    assert not JourneyVersion.objects.filter(number=2).exists()


def test_restore_needs_the_confirmation(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    Step.objects.filter(pk=world.steps[0].pk).update(name="Changed")
    url = _url("journey_version_restore", workspace, world.journey.pk, version.pk)
    response = client_for(editor).post(url)
    assert response.status_code == 302
    assert response["Location"] == url
    assert Step.objects.get(pk=world.steps[0].pk).name == "Changed"


def test_restore_then_undo_from_the_banner(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    Step.objects.filter(pk=world.steps[0].pk).update(name="Changed")
    client = client_for(editor)
    url = _url("journey_version_restore", workspace, world.journey.pk, version.pk)
    response = client.post(url, {"confirm": "yes"}, follow=True)
    assert Step.objects.get(pk=world.steps[0].pk).name == "Step 0"
    undo = JourneyVersion.objects.get(number=2)
    assert undo.reason == JourneyVersion.Reason.BEFORE_RESTORE
    body = response.content.decode()
    assert "Version 1 restored." in body
    undo_url = _url("journey_version_restore", workspace, world.journey.pk, undo.pk)
    assert f'action="{undo_url}"' in body

    undone = client.post(undo_url, {"confirm": "yes"}, follow=True).content.decode()
    assert Step.objects.get(pk=world.steps[0].pk).name == "Changed"
    assert "Restore undone: the map is back as it was." in undone


def test_restore_reports_insights_deleted_since(client_for, editor, owner, workspace):
    world = build_map(workspace, owner)
    version = journey_snapshot(journey=world.journey, actor=owner)
    world.insight.delete()
    response = client_for(editor).post(
        _url("journey_version_restore", workspace, world.journey.pk, version.pk),
        {"confirm": "yes"},
        follow=True,
    )
    assert "deleted after version 1 was saved: 1 insight." in response.content.decode()


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_version_pages_query_counts_do_not_grow_with_steps_or_versions(client_for, viewer, owner, workspace):
    client = client_for(viewer)
    counts = []
    for steps, versions, name in ((1, 1, "Small"), (12, 30, "Large")):
        world = build_map(workspace, owner, steps=steps, name=name)
        for _ in range(versions):
            version = journey_snapshot(journey=world.journey, actor=owner)
        Step.objects.filter(pk=world.steps[0].pk).update(name="Changed")
        pk = world.journey.pk
        counts.append(
            (
                _page_queries(client, _url("journey_versions", workspace, pk)),
                _page_queries(client, _url("journey_version", workspace, pk, version.pk)),
                _page_queries(client, _url("journey_version_compare", workspace, pk, version.pk)),
            )
        )
    assert counts[0] == counts[1]


def test_a_sparse_snapshot_still_shows_compares_and_restores(client_for, editor, owner, workspace):
    """Snapshots written by hand (admin) or by an older schema lack keys; the pages and restore cope."""
    world = build_map(workspace, owner, steps=1)
    version = JourneyVersion.objects.create(
        workspace=workspace,
        journey=world.journey,
        number=1,
        journey_revision=1,
        snapshot={
            "journey": {"name": "Sparse"},
            "steps": [{"id": 10_000, "name": "Only step", "position": 0}],
        },
    )
    client = client_for(editor)
    pk = world.journey.pk
    for name in ("journey_version", "journey_version_compare", "journey_version_restore"):
        assert client.get(_url(name, workspace, pk, version.pk)).status_code == 200
    journey_restore(version=version, actor=editor)
    assert list(Step.objects.filter(journey=world.journey).values_list("name", flat=True)) == ["Only step"]
    assert Journey.objects.get(pk=pk).name == "Sparse"
