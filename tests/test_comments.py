"""Comment threads on journeys, steps, insights and opportunities: who may read, write, edit and delete;
@mentions and their e-mails; the lazy-loaded include; query counts."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from atlas.collaboration import services
from atlas.models import Activity, Comment
from tests.collaboration_targets import make_targets

KINDS = ["journey", "step", "insight", "opportunity"]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def targets(workspace):
    return make_targets(workspace)


def thread_url(workspace, kind, target):
    return reverse("collaboration:thread", kwargs={"slug": workspace.slug, f"{kind}_id": target.pk})


def comment_url(name, workspace, comment):
    return reverse(f"collaboration:{name}", args=[workspace.slug, comment.pk])


def add_comment(workspace, author, target, body="Looks good"):
    return services.comment_create(workspace=workspace, author=author, target=target, body=body)


# --- writing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_editor_comments_on_each_kind_of_target(client_for, workspace, editor, targets, kind):
    target = targets.of(kind)
    url = thread_url(workspace, kind, target)

    response = client_for(editor).post(url, {"body": "Customers drop out here"})

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{url}#comment-{comment.pk}"
    assert getattr(comment, f"{kind}_id") == target.pk
    assert comment.author == editor
    assert comment.workspace == workspace
    activity = Activity.objects.get(verb="commented")
    assert (activity.target_type, activity.target_id, activity.actor) == (kind, target.pk, editor.user)
    assert activity.changes == {"comment": "Customers drop out here"}


def test_posting_with_htmx_answers_the_thread_with_the_new_comment(client_for, workspace, editor, targets):
    url = thread_url(workspace, "step", targets.step)

    response = client_for(editor).post(url, {"body": "First!"}, **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="thread-step-{targets.step.pk}"' in body
    assert "First!" in body
    assert "<html" not in body
    assert "Your comment is posted." in body


def test_an_empty_comment_is_refused_inline_and_saves_nothing(client_for, workspace, editor, targets):
    response = client_for(editor).post(
        thread_url(workspace, "journey", targets.journey), {"body": "   "}, **HTMX
    )

    assert response.status_code == 200
    assert "Write something first." in response.content.decode()
    assert not Comment.objects.exists()
    assert not Activity.objects.exists()


def test_a_too_long_comment_keeps_what_was_typed(client_for, workspace, editor, targets):
    text = "word " * 2100
    response = client_for(editor).post(thread_url(workspace, "insight", targets.insight), {"body": text})

    body = response.content.decode()
    assert response.status_code == 200
    assert "Keep a comment under 10,000 characters" in body
    assert "word word word" in body
    assert not Comment.objects.exists()


def test_comments_are_listed_oldest_first_with_author_and_body(
    client_for, workspace, editor, admin_member, targets
):
    add_comment(workspace, editor, targets.journey, "first")
    add_comment(workspace, admin_member, targets.journey, "second")

    body = client_for(editor).get(thread_url(workspace, "journey", targets.journey), **HTMX).content.decode()

    assert body.index("first") < body.index("second")
    assert "Edith Editor" in body and "Adam Admin" in body
    assert "now" in body  # "now" / "… ago", with the exact time in the title


def test_a_thread_without_comments_invites_to_start(client_for, workspace, editor, targets):
    body = client_for(editor).get(thread_url(workspace, "step", targets.step), **HTMX).content.decode()

    assert "No comments yet — start the conversation." in body
    assert 'name="body"' in body


def test_a_viewer_is_not_invited_to_start_a_thread(client_for, workspace, viewer, targets):
    body = client_for(viewer).get(thread_url(workspace, "step", targets.step), **HTMX).content.decode()

    assert "No comments yet." in body and "start the conversation" not in body


def test_a_comment_body_is_escaped_and_keeps_its_line_breaks(client_for, workspace, editor, targets):
    add_comment(workspace, editor, targets.step, "<script>alert(1)</script>\nsecond line\n\nnew paragraph")

    body = client_for(editor).get(thread_url(workspace, "step", targets.step), **HTMX).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line</p>" in body
    assert "<p>new paragraph</p>" in body


def test_without_javascript_the_thread_is_a_page_linking_to_its_target(
    client_for, workspace, editor, targets
):
    response = client_for(editor).get(thread_url(workspace, "step", targets.step))

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    journey_url = reverse("journeys:journey", args=[workspace.slug, targets.journey.pk])
    assert f'href="{journey_url}#step-{targets.step.pk}"' in body


def test_the_include_lazy_loads_the_thread_with_a_link_as_fallback(workspace, targets):
    html = render_to_string(
        "collaboration/_thread.html",
        {"target_kind": "opportunity", "target": targets.opportunity, "workspace": workspace},
    )

    url = thread_url(workspace, "opportunity", targets.opportunity)
    assert f'hx-get="{url}"' in html
    assert 'hx-trigger="load"' in html
    assert f'href="{url}"' in html
    assert 'class="card comment-thread"' in html


# --- roles and tenancy ---------------------------------------------------------------------------------


def test_viewer_reads_comments_but_cannot_write(client_for, workspace, editor, viewer, targets):
    add_comment(workspace, editor, targets.opportunity, "Worth a try")
    url = thread_url(workspace, "opportunity", targets.opportunity)
    client = client_for(viewer)

    page = client.get(url, **HTMX).content.decode()
    refused = client.post(url, {"body": "me too"})

    assert "Worth a try" in page
    assert 'name="body"' not in page
    assert "writing them needs the editor role" in page
    assert refused.status_code == 403
    assert Comment.objects.count() == 1


def test_a_viewer_cannot_comment_through_the_service(workspace, viewer, targets):
    with pytest.raises(PermissionDenied):
        add_comment(workspace, viewer, targets.journey)


def test_outsider_gets_404_for_a_thread(client_for, workspace, outsider, targets):
    url = thread_url(workspace, "journey", targets.journey)
    client = client_for(outsider)

    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "hello"}).status_code == 404
    assert not Comment.objects.exists()


def test_a_comment_on_another_workspaces_object_is_impossible(
    client_for, workspace, owner, other_workspace, outsider
):
    theirs = make_targets(other_workspace, prefix="Rival ")
    url = reverse("collaboration:thread", kwargs={"slug": workspace.slug, "step_id": theirs.step.pk})

    response = client_for(owner).post(url, {"body": "sneaky"})

    assert response.status_code == 404
    with pytest.raises(PermissionDenied):
        services.comment_create(workspace=workspace, author=owner, target=theirs.step, body="sneaky")
    assert not Comment.objects.exists()


# --- mentions ------------------------------------------------------------------------------------------


def test_mentions_are_stored_and_each_mentioned_member_gets_one_email(
    client_for, workspace, editor, viewer, admin_member, outsider, targets, django_capture_on_commit_callbacks
):
    body = "@viewer and @admin, see this. @admin again; me: @editor; not a member: @owner@rival.test"

    with django_capture_on_commit_callbacks(execute=True):
        client_for(editor).post(thread_url(workspace, "step", targets.step), {"body": body})

    comment = Comment.objects.get()
    assert set(comment.mentions.all()) == {viewer, admin_member, editor}
    recipients = sorted(to for message in mail.outbox for to in message.to)
    assert recipients == ["admin@acme.test", "viewer@acme.test"]
    message = next(m for m in mail.outbox if m.to == ["viewer@acme.test"])
    assert message.subject == 'Edith Editor mentioned you on step "Compare offers"'
    assert f"/comments/step/{targets.step.pk}/#comment-{comment.pk}" in message.body
    assert "see this" in message.body


def test_no_email_is_sent_when_the_comment_is_rolled_back(workspace, editor, viewer, targets):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        add_comment(workspace, editor, targets.journey, "@viewer look")
        raise RuntimeError

    assert mail.outbox == []


def test_mentions_are_highlighted_in_the_thread(client_for, workspace, editor, viewer, targets):
    add_comment(workspace, editor, targets.insight, "Ping @viewer and @nobody")

    body = client_for(viewer).get(thread_url(workspace, "insight", targets.insight), **HTMX).content.decode()

    assert '<span class="mention mention-me" title="Victor Viewer">@viewer</span>' in body
    assert "@nobody" in body and 'title="">@nobody' not in body


def test_the_thread_offers_the_members_to_mention(
    client_for, workspace, editor, viewer, admin_member, targets
):
    body = client_for(editor).get(thread_url(workspace, "journey", targets.journey), **HTMX).content.decode()

    assert '{"handle": "viewer", "name": "Victor Viewer"}' in body
    assert '"handle": "editor"' not in body  # not oneself
    assert "<code>@admin</code>" in body  # the list for browsers without JavaScript
    assert "mentions.js" in body


def test_mentions_of_me_lists_the_comments_that_mention_me(client_for, workspace, editor, viewer, targets):
    add_comment(workspace, editor, targets.step, "@viewer can you check the rates?")
    add_comment(workspace, editor, targets.journey, "Nothing for the viewer here")

    body = client_for(viewer).get(reverse("collaboration:mentions", args=[workspace.slug])).content.decode()

    assert "can you check the rates?" in body
    assert "Nothing for the viewer here" not in body
    assert "mentioned you on the step" in body
    assert 'Mentions of me <span class="count">1</span>' in body


def test_mentions_of_me_says_how_to_be_mentioned_when_empty(client_for, workspace, viewer):
    body = client_for(viewer).get(reverse("collaboration:mentions", args=[workspace.slug])).content.decode()

    assert "Nobody has mentioned you yet" in body
    assert "<code>@viewer</code>" in body


# --- editing and deleting ------------------------------------------------------------------------------


def test_author_edits_their_comment_in_place(client_for, workspace, editor, targets):
    comment = add_comment(workspace, editor, targets.journey, "Typo here")
    url = comment_url("comment_edit", workspace, comment)
    client = client_for(editor)

    form = client.get(url, **HTMX).content.decode()
    response = client.post(url, {"body": "No typo here", "version": "original"}, **HTMX)

    comment.refresh_from_db()
    assert 'name="version" value="original"' in form
    assert response.status_code == 200
    assert comment.body == "No typo here"
    assert comment.edited_at is not None
    assert ">edited</span>" in response.content.decode()
    activity = Activity.objects.get(verb="comment_edited")
    assert activity.changes == {"comment": ["Typo here", "No typo here"]}


def test_editing_without_javascript_returns_to_the_thread(client_for, workspace, editor, targets):
    comment = add_comment(workspace, editor, targets.step)

    response = client_for(editor).post(
        comment_url("comment_edit", workspace, comment), {"body": "Better", "version": "original"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{thread_url(workspace, 'step', targets.step)}#comment-{comment.pk}"


def test_an_edit_on_top_of_a_newer_edit_is_refused(client_for, workspace, editor, targets):
    comment = add_comment(workspace, editor, targets.journey, "v1")
    services.comment_edit(comment=comment, actor=editor, body="v2 from another window")

    response = client_for(editor).post(
        comment_url("comment_edit", workspace, comment), {"body": "v3", "version": "original"}, **HTMX
    )

    comment.refresh_from_db()
    assert comment.body == "v2 from another window"
    assert "changed in another window since you opened it; it now reads “v2 from another window”" in (
        response.content.decode()
    )
    assert "v3" in response.content.decode()  # what was typed is kept


def test_an_edit_emails_only_the_newly_mentioned(
    workspace, editor, viewer, admin_member, targets, django_capture_on_commit_callbacks
):
    comment = add_comment(workspace, editor, targets.opportunity, "@viewer what do you think?")

    with django_capture_on_commit_callbacks(execute=True):
        services.comment_edit(comment=comment, actor=editor, body="@viewer what do you think, @admin?")

    assert [m.to for m in mail.outbox] == [["admin@acme.test"]]
    assert set(comment.mentions.all()) == {viewer, admin_member}


@pytest.mark.parametrize("who", ["admin_member", "owner", "viewer"])
def test_only_the_author_edits_a_comment(request, client_for, workspace, editor, targets, who):
    comment = add_comment(workspace, editor, targets.journey, "mine")
    other = request.getfixturevalue(who)
    client = client_for(other)
    url = comment_url("comment_edit", workspace, comment)

    assert client.get(url).status_code == 403
    assert client.post(url, {"body": "theirs", "version": "original"}).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "mine"


def test_author_deletes_their_comment(client_for, workspace, editor, targets):
    comment = add_comment(workspace, editor, targets.step)
    url = comment_url("comment_delete", workspace, comment)

    confirm = client_for(editor).get(url)
    response = client_for(editor).post(url, **HTMX)

    assert "Delete this comment?" in confirm.content.decode()
    assert response.status_code == 200
    assert "No comments yet" in response.content.decode()
    assert not Comment.objects.exists()
    activity = Activity.objects.get(verb="comment_deleted")
    assert (activity.target_type, activity.changes) == ("step", {})


def test_an_admin_deletes_anyones_comment(client_for, workspace, editor, admin_member, targets):
    comment = add_comment(workspace, editor, targets.insight)

    response = client_for(admin_member).post(comment_url("comment_delete", workspace, comment))

    assert response.status_code == 302
    assert not Comment.objects.exists()
    assert Activity.objects.get(verb="comment_deleted").changes == {"author": "Edith Editor"}


def test_another_editor_cannot_delete_a_comment(client_for, workspace, editor, targets):
    from tests.conftest import make_member

    comment = add_comment(workspace, editor, targets.insight)
    colleague = make_member(workspace, "colleague@acme.test", "editor")

    response = client_for(colleague).post(comment_url("comment_delete", workspace, comment))

    assert response.status_code == 403
    assert Comment.objects.exists()


def test_a_viewer_cannot_delete_even_a_comment_they_wrote_as_an_editor(
    client_for, workspace, editor, targets
):
    comment = add_comment(workspace, editor, targets.journey)
    editor.role = "viewer"
    editor.save()

    assert client_for(editor).post(comment_url("comment_delete", workspace, comment)).status_code == 403
    assert Comment.objects.exists()


def test_the_thread_shows_edit_and_delete_only_where_allowed(
    client_for, workspace, editor, admin_member, targets
):
    add_comment(workspace, editor, targets.journey, "by editor")
    url = thread_url(workspace, "journey", targets.journey)

    as_editor = client_for(editor).get(url, **HTMX).content.decode()
    as_admin = client_for(admin_member).get(url, **HTMX).content.decode()

    assert ">Edit</a>" in as_editor and ">Delete</button>" in as_editor
    assert ">Edit</a>" not in as_admin and ">Delete</button>" in as_admin


def test_cancel_puts_the_comment_back(client_for, workspace, editor, targets):
    comment = add_comment(workspace, editor, targets.step, "unchanged")
    url = comment_url("comment", workspace, comment)

    item = client_for(editor).get(url, **HTMX)
    plain = client_for(editor).get(url)

    assert f'id="comment-{comment.pk}"' in item.content.decode()
    assert "unchanged" in item.content.decode()
    assert plain.status_code == 302


def test_a_comment_of_a_member_who_left_stays_with_a_neutral_author(
    client_for, workspace, editor, owner, targets
):
    add_comment(workspace, editor, targets.journey, "still useful")
    editor.delete()

    body = client_for(owner).get(thread_url(workspace, "journey", targets.journey), **HTMX).content.decode()

    assert "Former member" in body and "still useful" in body


# --- query counts --------------------------------------------------------------------------------------


def test_the_thread_costs_the_same_number_of_queries_for_2_or_40_comments(
    client_for, workspace, editor, admin_member, viewer, targets, django_assert_num_queries
):
    client = client_for(editor)
    url = thread_url(workspace, "step", targets.step)
    for i in range(2):
        add_comment(workspace, editor, targets.step, f"comment {i} @viewer")
    with CaptureQueriesContext(connection) as few:
        client.get(url, **HTMX)

    for i in range(38):
        add_comment(workspace, admin_member if i % 2 else editor, targets.step, f"more {i} @editor")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url, **HTMX)
    assert response.content.decode().count('class="comment"') == 40
