"""Comment threads (shown inside the pages of journeys, steps, insights and opportunities, and as a page
of their own without JavaScript), and the workspace activity feed with its "Mentions of me" tab.

Every view goes through `workspace_view`: an outsider gets 404, a viewer who writes 403. Objects are
fetched with `get_scoped`, so a comment on another workspace's object cannot even be addressed."""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods

from atlas.collaboration import selectors, services
from atlas.collaboration.display import body_html, feed_entry, group_by_day, initials
from atlas.collaboration.forms import CommentEditForm, CommentForm
from atlas.collaboration.targets import comment_target, existing_pages, target_model, target_url
from atlas.models import Comment, Membership
from atlas.tenancy import get_scoped, workspace_view

# --- threads ---------------------------------------------------------------------------------------


def thread_url(slug: str, kind: str, target_id: int) -> str:
    return reverse("collaboration:thread", kwargs={"slug": slug, f"{kind}_id": target_id})


def _decorate(comments: list[Comment], members: selectors.Members, me: Membership) -> list[Comment]:
    """Give each comment what its template needs: body HTML, author name and initials, permissions."""
    for comment in comments:
        author = comment.author
        comment.author_name = author.display_name if author else "Former member"
        comment.author_initials = initials(comment.author_name) if author else "?"
        comment.body_html = body_html(comment.body, members, me)
        comment.editable = services.may_edit(me, comment)
        comment.deletable = services.may_delete(me, comment)
    return comments


def _thread_context(
    request: HttpRequest, kind: str, target, *, form: CommentForm | None = None, posted: bool = False
) -> dict:
    workspace, me = request.workspace, request.membership
    members = selectors.workspace_members(workspace)
    comments = _decorate(selectors.thread_comments(workspace, kind, target), members, me)
    dom_id = f"thread-{kind}-{target.pk}"
    can_comment = services.may_comment(me)
    if form is None and can_comment:
        form = CommentForm(auto_id=f"{dom_id}-%s")
    mention_members = _mention_members(members, me)
    if form is not None:
        form.set_mention_example(_example_handle(mention_members))
    return {
        "kind": kind,
        "target": target,
        "target_url": target_url(workspace.slug, kind, target),
        "thread_url": thread_url(workspace.slug, kind, target.pk),
        "dom_id": dom_id,
        "comments": comments,
        "form": form,
        "can_comment": can_comment,
        "posted": posted,
        "mention_members": mention_members,
    }


def _mention_members(members: selectors.Members, me: Membership) -> list[dict]:
    """Who the autocomplete offers: every other member, by name."""
    return [{"handle": members.handle(m), "name": m.display_name} for m in members.ordered() if m.pk != me.pk]


def _example_handle(mention_members: list[dict]) -> str | None:
    """A real handle for the form's hint, so that the format is obvious."""
    return mention_members[0]["handle"] if mention_members else None


def _get_target(request: HttpRequest, kind: str, target_id: int):
    queryset = target_model(kind).objects.all()
    if kind == "step":
        queryset = queryset.select_related("journey")
    return get_scoped(request.workspace, queryset, pk=target_id)


@require_http_methods(["GET", "POST"])
@workspace_view()
def thread(request: HttpRequest, target_kind: str, **ids) -> HttpResponse:
    """GET: the comments on a journey, step, insight or opportunity (htmx: the thread alone, to be placed
    in the target's page; otherwise a page of its own). POST: an editor's new comment; the thread comes
    back with it, or with the form and its error, nothing lost."""
    target = _get_target(request, target_kind, ids[f"{target_kind}_id"])
    form = None
    if request.method == "POST":
        form = CommentForm(request.POST, auto_id=f"thread-{target_kind}-{target.pk}-%s")
        if form.is_valid():
            comment = services.comment_create(
                workspace=request.workspace,
                author=request.membership,
                target=target,
                body=form.cleaned_data["body"],
            )
            if not request.htmx:
                return redirect(f"{request.path}#comment-{comment.pk}")
            return render(
                request,
                "collaboration/thread.html#thread",
                _thread_context(request, target_kind, target, posted=True),
            )
    context = _thread_context(request, target_kind, target, form=form)
    partial = request.htmx and not request.htmx.history_restore_request
    template = "collaboration/thread.html#thread" if partial else "collaboration/thread.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _get_comment(request: HttpRequest, comment_id: int) -> Comment:
    queryset = Comment.objects.select_related(
        "author__user", "journey", "step__journey", "insight", "opportunity"
    )
    return get_scoped(request.workspace, queryset, pk=comment_id)


def _comment_item(
    request: HttpRequest, comment: Comment, members: selectors.Members | None = None, **extra
) -> HttpResponse:
    kind, target = comment_target(comment)
    members = members or selectors.workspace_members(request.workspace)
    context = {
        "comment": _decorate([comment], members, request.membership)[0],
        "kind": kind,
        "target": target,
        "thread_url": thread_url(request.workspace.slug, kind, target.pk),
        "dom_id": f"thread-{kind}-{target.pk}",
        **extra,
    }
    return render(request, "collaboration/thread.html#comment", context)


@require_GET
@workspace_view()
def comment(request: HttpRequest, comment_id: int) -> HttpResponse:
    """One comment as shown in its thread (htmx: what "Cancel" puts back); otherwise its place in the thread."""
    found = _get_comment(request, comment_id)
    if request.htmx:
        return _comment_item(request, found)
    kind, target = comment_target(found)
    return redirect(f"{thread_url(request.workspace.slug, kind, target.pk)}#comment-{found.pk}")


@require_http_methods(["GET", "POST"])
@workspace_view()
def comment_edit(request: HttpRequest, comment_id: int) -> HttpResponse:
    """The author edits their comment in place (htmx) or on a page of its own."""
    found = _get_comment(request, comment_id)
    if not services.may_edit(request.membership, found):
        raise PermissionDenied("Only its author can edit a comment.")
    kind, target = comment_target(found)
    auto_id = f"comment-{found.pk}-%s"
    if request.method == "POST":
        form = CommentEditForm(request.POST, auto_id=auto_id)
        if form.is_valid():
            try:
                services.comment_edit(
                    comment=found,
                    actor=request.membership,
                    body=form.cleaned_data["body"],
                    version=form.cleaned_data["version"],
                )
            except ValidationError as error:
                found = _get_comment(request, comment_id)
                data = request.POST.copy()
                data["version"] = services.comment_version(found)  # saving again is deliberate
                form = CommentEditForm(data, auto_id=auto_id)
                form.is_valid()
                form.add_error(None, error)
            else:
                if not request.htmx:
                    return redirect(
                        f"{thread_url(request.workspace.slug, kind, target.pk)}#comment-{found.pk}"
                    )
                return _comment_item(request, _get_comment(request, comment_id))
    else:
        form = CommentEditForm(
            initial={"body": found.body, "version": services.comment_version(found)}, auto_id=auto_id
        )
    members = selectors.workspace_members(request.workspace)
    mention_members = _mention_members(members, request.membership)
    form.set_mention_example(_example_handle(mention_members))
    if request.htmx:
        return _comment_item(request, found, members, edit_form=form)
    context = {
        "comment": found,
        "form": form,
        "kind": kind,
        "target": target,
        "thread_url": thread_url(request.workspace.slug, kind, target.pk),
        "target_url": target_url(request.workspace.slug, kind, target),
        "mention_members": mention_members,
    }
    return render(request, "collaboration/comment_edit.html", context)


@require_http_methods(["GET", "POST"])
@workspace_view()
def comment_delete(request: HttpRequest, comment_id: int) -> HttpResponse:
    """GET: confirm (the page a click leads to without JavaScript). POST: delete, by the author or an admin."""
    found = _get_comment(request, comment_id)
    if not services.may_delete(request.membership, found):
        raise PermissionDenied("Only its author or an admin can delete a comment.")
    kind, target = comment_target(found)
    url = thread_url(request.workspace.slug, kind, target.pk)
    if request.method == "GET":
        members = selectors.workspace_members(request.workspace)
        context = {
            "comment": _decorate([found], members, request.membership)[0],
            "kind": kind,
            "target": target,
            "thread_url": url,
            "target_url": target_url(request.workspace.slug, kind, target),
        }
        return render(request, "collaboration/comment_delete.html", context)
    services.comment_delete(comment=found, actor=request.membership)
    if not request.htmx:
        return redirect(url)
    return render(request, "collaboration/thread.html#thread", _thread_context(request, kind, target))


# --- activity feed -------------------------------------------------------------------------------------


def _feed_url(request: HttpRequest, **changes) -> str:
    params = {k: v for k, v in request.GET.items() if v and k in ("who", "what", "period", "before")}
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = str(value)
    return f"{request.path}?{urlencode(params)}" if params else request.path


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@require_GET
@workspace_view()
def activity(request: HttpRequest) -> HttpResponse:
    """Who changed what, newest first, grouped by day; filtered by member, type of thing and period;
    50 per page, older pages by keyset."""
    workspace = request.workspace
    members = selectors.workspace_members(workspace)
    filters = selectors.feed_filters(request.GET, members)
    before = _before(request)
    rows, has_more = selectors.feed_page(workspace, filters, before)
    urls = existing_pages(workspace, ((row.target_type, row.target_id) for row in rows))
    entries = [feed_entry(row, urls.get((row.target_type, row.target_id))) for row in rows]
    context = {
        "nav": "activity",
        "tab": "all",
        "days": group_by_day(entries),
        "filters": filters,
        "who": request.GET.get("who", "") if filters.actor else "",
        "members": members.ordered(),
        "target_types": selectors.TARGET_TYPES,
        "periods": {key: label for key, (label, _) in selectors.PERIODS.items()},
        "older_url": _feed_url(request, before=rows[-1].pk) if has_more else None,
        "newest_url": _feed_url(request, before=None) if before else None,
        "clear_url": request.path,
        "mention_count": selectors.mentions_of(workspace, request.membership).count(),
    }
    template = "collaboration/activity.html"
    if request.htmx and request.htmx.target == "feed-results" and not request.htmx.history_restore_request:
        template += "#feed-results"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    if request.htmx and not request.htmx.history_restore_request:
        response["HX-Push-Url"] = _feed_url(request)  # without the empty fields the form sends
    return response


@require_GET
@workspace_view()
def mentions(request: HttpRequest) -> HttpResponse:
    """The comments that mention me, newest first, with where they were written."""
    workspace, me = request.workspace, request.membership
    paginator = Paginator(selectors.mentions_of(workspace, me), selectors.FEED_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    members = selectors.workspace_members(workspace)
    comments = _decorate(list(page.object_list), members, me)
    for found in comments:
        found.kind, found.target = comment_target(found)
        found.thread_url = thread_url(workspace.slug, found.kind, found.target.pk)
        found.target_url = target_url(workspace.slug, found.kind, found.target)
    context = {
        "nav": "activity",
        "tab": "mentions",
        "comments": comments,
        "page": page,
        "mention_count": paginator.count,
        "my_handle": members.handle(me),
    }
    return render(request, "collaboration/mentions.html", context)
