"""Journey versions (list, save, view, compare with now, restore) and to-be journeys (create, compare with
the current journey). Reads go through `journey_state` and the pure `journeys.compare`; writes through
`journeys.services.versions`; every view through `workspace_view` (an outsider gets 404, a viewer who
writes gets 403)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import IntegerField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from atlas.models import Role
from atlas.tenancy import get_scoped, scoped, workspace_view
from journeys.charts import emotion_chart
from journeys.compare import LANES, TO_BE_LANES, Comparison, MatchedBy, Status, compare_steps
from journeys.models import Channel, Journey, JourneyVersion
from journeys.services.versions import (
    journey_create_to_be,
    journey_restore,
    journey_snapshot,
    journey_state,
    snapshot_complete,
    version_restore_plan,
)
from journeys.version_forms import ToBeForm, VersionForm

VERSIONS_PER_PAGE = 25
CHANNEL_LABELS = dict(Channel.choices)


def _journey(request: HttpRequest, journey_id: int) -> Journey:
    return get_scoped(
        request.workspace,
        Journey.objects.select_related("macro_journey__stage__lifecycle", "current_journey"),
        pk=journey_id,
    )


def _version(request: HttpRequest, journey: Journey, version_id: int) -> JourneyVersion:
    return get_scoped(
        request.workspace,
        JourneyVersion.objects.select_related("created_by__user"),
        pk=version_id,
        journey=journey,
    )


def _versions_url(request: HttpRequest, journey: Journey, **params) -> str:
    url = reverse("journeys:journey_versions", args=[request.workspace.slug, journey.pk])
    return f"{url}?{urlencode(params)}" if params else url


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """Where a form asked to go back to: a path inside this workspace, else `fallback`."""
    target = request.POST.get("next", "")
    inside = target.startswith(f"/w/{request.workspace.slug}/")
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if inside and allowed else fallback


def _chart_width(columns: int) -> int:
    """Column width of a stand-alone emotion chart: about 1,100 px wide in all, 48 to 160 px a step."""
    return max(48, min(160, 1100 // max(columns, 1)))


def _comparison_chart(comparison: Comparison, before: str, after: str):
    labels, before_scores, after_scores = comparison.emotion_series()
    if not labels:
        return None
    return emotion_chart(
        labels=labels,
        series=[(before, before_scores), (after, after_scores)],
        column_width=_chart_width(len(labels)),
    )


def _rows_context(request: HttpRequest, comparison: Comparison) -> dict:
    """The numbered rows, and those to show (`?show=changes` hides the unchanged ones)."""
    only_changes = request.GET.get("show") == "changes"
    all_rows = list(enumerate(comparison.rows, start=1))
    return {
        "comparison": comparison,
        "all_rows": all_rows,
        "rows": [(n, row) for n, row in all_rows if not only_changes or row.status != Status.UNCHANGED],
        "only_changes": only_changes,
    }


def _steps(state: dict) -> list[dict]:
    """A state's steps, each touchpoint with its channel's label for display."""
    for step in state["steps"]:
        for touchpoint in step["touchpoints"]:
            touchpoint["channel_label"] = CHANNEL_LABELS.get(touchpoint["channel"], touchpoint["channel"])
    return state["steps"]


# --- Current vs to-be -----------------------------------------------------------------------------------


@require_GET
@workspace_view()
def journey_compare(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The current journey and one of its to-be journeys side by side, step by step. Works from either
    side; a current journey with several to-be journeys picks one with `?to_be=<id>`."""
    workspace = request.workspace
    journey = _journey(request, journey_id)
    current = journey.current_journey if journey.is_to_be else journey
    options = (
        list(scoped(workspace, Journey).filter(current_journey=current).order_by("name"))
        if current is not None
        else []
    )
    if journey.is_to_be:
        to_be = journey
    else:
        wanted = request.GET.get("to_be", "")
        to_be = next((o for o in options if str(o.pk) == wanted), options[0] if options else None)
    context = {
        "nav": "atlas",
        "journey": journey,
        "current": current,
        "to_be": to_be,
        "options": options,
        "can_edit": request.membership.can_edit,
    }
    if current is not None and to_be is not None:
        comparison = compare_steps(
            _steps(journey_state(journey=current)),
            _steps(journey_state(journey=to_be)),
            match=MatchedBy.ORIGIN,
            lanes=TO_BE_LANES,
            channel_labels=CHANNEL_LABELS,
        )
        context |= _rows_context(request, comparison)
        context["chart"] = _comparison_chart(comparison, "Current", "To-be")
    return render(request, "journeys/compare.html", context)


@require_http_methods(["GET", "POST"])
@workspace_view(read=Role.EDITOR)
def journey_to_be_create(request: HttpRequest, journey_id: int) -> HttpResponse:
    """GET: the form (editors). POST: copy the current journey into a new to-be journey and open it."""
    journey = _journey(request, journey_id)
    form = ToBeForm(request.POST or None)
    error = ""
    if journey.is_to_be:
        error = "This is already a to-be journey. Open its current journey to make another to-be journey."
    elif request.method == "POST" and form.is_valid():
        try:
            to_be = journey_create_to_be(
                journey=journey, actor=request.membership, name=form.cleaned_data["name"] or None
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(
                request,
                f"“{to_be.name}” is a copy of “{journey.name}” to rework. Compare them at any time.",
            )
            return redirect("journeys:journey", request.workspace.slug, to_be.pk)
    return render(
        request,
        "journeys/versions/to_be_create.html",
        {
            "nav": "atlas",
            "journey": journey,
            "form": form,
            "error": error,
            "default_name": f"{journey.name} (to-be)",
            "step_count": journey.steps.count(),
            "can_edit": request.membership.can_edit,
        },
        status=400 if error and request.method == "POST" else 200,
    )


# --- Versions -------------------------------------------------------------------------------------------


def _versions_page(request: HttpRequest, journey: Journey, form: VersionForm) -> HttpResponse:
    versions = (
        scoped(request.workspace, JourneyVersion)
        .filter(journey=journey)
        .select_related("created_by__user")
        .defer("snapshot")
        .annotate(step_count=Cast(KeyTextTransform("step_count", "snapshot"), IntegerField()))
        .order_by("-number")
    )
    page = Paginator(versions, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))
    undo = None
    restored, restored_number = request.GET.get("restored", ""), request.GET.get("version", "")
    if restored.isdigit():
        undo = (
            scoped(request.workspace, JourneyVersion)
            .filter(journey=journey, pk=int(restored), reason=JourneyVersion.Reason.BEFORE_RESTORE)
            .defer("snapshot")
            .first()
        )
    return render(
        request,
        "journeys/versions/list.html",
        {
            "nav": "atlas",
            "journey": journey,
            "page": page,
            "versions": page.object_list,
            "form": form,
            "undo": undo,
            "restored_number": restored_number if restored_number.isdigit() else "",
            "undone": request.GET.get("undone") == "1",
            "can_edit": request.membership.can_edit,
        },
    )


@require_GET
@workspace_view()
def journey_versions(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The journey's saved versions, newest first."""
    return _versions_page(request, _journey(request, journey_id), VersionForm())


@require_POST
@workspace_view()
def journey_version_create(request: HttpRequest, journey_id: int) -> HttpResponse:
    """Save the journey as it is now as a new version (with an optional label)."""
    journey = _journey(request, journey_id)
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _versions_page(request, journey, form)
    version = journey_snapshot(journey=journey, actor=request.membership, label=form.cleaned_data["label"])
    messages.success(
        request, f"Saved version {version.number}{f' “{version.label}”' if version.label else ''}."
    )
    return redirect(_safe_next(request, _versions_url(request, journey)))


def _version_steps(data: dict) -> tuple[list[dict], list[tuple[str, int]]]:
    """The snapshot's steps and the phase header cells of the map: [(phase name, column count), …]."""
    steps = data["steps"]
    spans: list[tuple[str, int]] = []
    for step in steps:
        name = step.get("phase_name", "")
        if spans and spans[-1][0] == name:
            spans[-1] = (name, spans[-1][1] + 1)
        else:
            spans.append((name, 1))
    return steps, spans


MAP_COLUMN_WIDTH = 200  # px; templates/journeys/versions/version.html sets the columns to this width


@require_GET
@workspace_view()
def journey_version(request: HttpRequest, journey_id: int, version_id: int) -> HttpResponse:
    """A saved version, read-only, drawn as a journey map from its snapshot."""
    journey = _journey(request, journey_id)
    version = _version(request, journey, version_id)
    data = snapshot_complete(version.snapshot)
    _steps(data)
    steps, spans = _version_steps(data)
    chart = None
    if any(step.get("emotion") is not None for step in steps):
        chart = emotion_chart(
            labels=[step["name"] for step in steps],
            series=[("Emotion", [step.get("emotion") for step in steps])],
            column_width=MAP_COLUMN_WIDTH,
        )
    return render(
        request,
        "journeys/versions/version.html",
        {
            "nav": "atlas",
            "journey": journey,
            "version": version,
            "version_title": f"Version {version.number}",
            "data": data,
            "fields": data.get("journey", {}),
            "steps": steps,
            "phase_spans": spans if data.get("phases") else [],
            "chart": chart,
            "can_edit": request.membership.can_edit,
        },
    )


def _journey_changes(old: dict, new: dict) -> list[dict]:
    """The journey's own fields that differ between a version and now."""
    changes = []
    for key, label in (("name", "Name"), ("description", "Description")):
        if (old.get(key) or "").strip() != (new.get(key) or "").strip():
            changes.append({"label": label, "before": old.get(key) or "—", "after": new.get(key) or "—"})
    for key, label in (("personas", "Personas"), ("tags", "Tags")):
        before = {row["id"]: row["name"] for row in old.get(key, [])}
        after = {row["id"]: row["name"] for row in new.get(key, [])}
        if set(before) != set(after):
            changes.append(
                {
                    "label": label,
                    "before": ", ".join(before.values()) or "—",
                    "after": ", ".join(after.values()) or "—",
                }
            )
    return changes


@require_GET
@workspace_view()
def journey_version_compare(request: HttpRequest, journey_id: int, version_id: int) -> HttpResponse:
    """A saved version next to the journey as it is now: what changed since."""
    journey = _journey(request, journey_id)
    version = _version(request, journey, version_id)
    now = journey_state(journey=journey)
    then = snapshot_complete(version.snapshot)
    comparison = compare_steps(
        _steps(then),
        _steps(now),
        match=MatchedBy.ID,
        lanes=LANES,
        channel_labels=CHANNEL_LABELS,
    )
    return render(
        request,
        "journeys/versions/compare.html",
        {
            "nav": "atlas",
            "journey": journey,
            "version": version,
            "version_title": f"Version {version.number}",
            **_rows_context(request, comparison),
            "journey_changes": _journey_changes(then["journey"], now["journey"]),
            "chart": _comparison_chart(comparison, f"Version {version.number}", "Now"),
            "can_edit": request.membership.can_edit,
        },
    )


def _skipped_text(insights: int, opportunities: int) -> str:
    """ "2 insights and 1 opportunity" (the parts that are not zero)."""
    parts = []
    if insights:
        parts.append(f"{insights} insight{pluralize(insights)}")
    if opportunities:
        parts.append(f"{opportunities} opportunit{pluralize(opportunities, 'y,ies')}")
    return " and ".join(parts)


@require_http_methods(["GET", "POST"])
@workspace_view(read=Role.EDITOR)
def journey_version_restore(request: HttpRequest, journey_id: int, version_id: int) -> HttpResponse:
    """GET: what restoring would change, and a button to confirm. POST (with `confirm`): restore, then
    show the versions with an Undo button (restoring the version saved just before)."""
    journey = _journey(request, journey_id)
    version = _version(request, journey, version_id)
    confirm_url = reverse(
        "journeys:journey_version_restore", args=[request.workspace.slug, journey.pk, version.pk]
    )
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            return redirect(confirm_url)
        undo = journey_restore(version=version, actor=request.membership)
        skipped = _skipped_text(undo.skipped_insights, undo.skipped_opportunities)
        if skipped:
            messages.warning(
                request,
                f"Not pinned again because they were deleted after version {version.number} was saved: "
                f"{skipped}.",
            )
        params = {"restored": undo.pk, "version": version.number}
        if version.reason == JourneyVersion.Reason.BEFORE_RESTORE:
            params["undone"] = 1  # restoring the snapshot taken before a restore undoes that restore
        return redirect(_versions_url(request, journey, **params))
    return render(
        request,
        "journeys/versions/restore_confirm.html",
        {
            "nav": "atlas",
            "journey": journey,
            "version": version,
            "plan": version_restore_plan(version=version),
            "can_edit": request.membership.can_edit,
        },
    )
