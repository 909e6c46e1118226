"""The prioritisation pages: the ranked backlog, an opportunity, the opportunity matrix and the backlog
exports. Reads go through opportunities.selectors, writes through opportunities.services; every view
through `workspace_view` (an outsider gets 404, a viewer who writes gets 403)."""

import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from atlas.services import activity_record
from atlas.tenancy import get_scoped, scoped, workspace_view
from journeys.models import Insight, Step
from okrs.models import KeyResult
from opportunities import exports, selectors, services
from opportunities.forms import CriterionValuesForm, OpportunityForm, SolutionForm
from opportunities.models import CriterionValue, Opportunity, Perspective, Solution

POLL_LIMIT = 30  # a recomputing row asks every 2 s for a minute, then says the score is pending

# htmx events (HX-Trigger): a write asked for a recompute (the page's indicator starts following it);
# the recompute the indicator followed is done (the page's scores refresh themselves once).
RECOMPUTE_REQUESTED = "priorities-recompute-requested"
RECOMPUTED = "priorities-recomputed"


def _partial_or_page(
    request: HttpRequest, template: str, partials: dict[str, str], context: dict
) -> HttpResponse:
    """The page, or only the partial the htmx request targets (a history restore gets the page)."""
    htmx = request.htmx
    name = partials.get(htmx.target) if htmx and not htmx.history_restore_request else None
    response = render(request, f"{template}#{name}" if name else template, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# Parameter values that are the default anyway: left out of the URLs the pages build.
DEFAULT_PARAMS = {
    "sort": "priority",
    "dir": "desc",
    "page": "1",
    "x": "customer_value",
    "y": "business_value",
}


def _params(request: HttpRequest, keep: tuple[str, ...] | None = None) -> dict[str, str]:
    """The GET parameters that say something (a GET form sends every field, filled or not)."""
    return {
        k: v
        for k, v in request.GET.items()
        if v != "" and DEFAULT_PARAMS.get(k) != v and (keep is None or k in keep)
    }


def _url_with(request: HttpRequest, *, keep: tuple[str, ...] | None = None, **changes) -> str:
    """This page's URL with its non-empty parameters (only those in `keep`, if given), updated by
    `changes` (None removes a parameter)."""
    params = _params(request, keep)
    for name, value in changes.items():
        if value is None or DEFAULT_PARAMS.get(name) == str(value):
            params.pop(name, None)
        else:
            params[name] = str(value)
    return f"{request.path}?{urlencode(params)}" if params else request.path


def _has_empty_parameters(request: HttpRequest) -> bool:
    return any(value == "" for value in request.GET.values())


# Elements that refresh a page's results in place when a recompute is over: nothing to push to history.
REFRESHERS = ("backlog-refresh", "matrix-refresh")


def _push_clean_url(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """htmx puts the form's URL, empty fields and all, in the address bar; give it the clean one."""
    if request.htmx and not request.htmx.history_restore_request and request.htmx.trigger not in REFRESHERS:
        response["HX-Push-Url"] = _url_with(request)
    return response


# --- Backlog -------------------------------------------------------------------------------------------

# The backlog table's columns: (label, sort key or None, CSS class).
COLUMNS = (
    ("Rank", None, "rank"),
    ("Opportunity", None, ""),
    ("Priority", "priority", "num"),
    ("Customer value", "customer_value", "num"),
    ("Business value", "business_value", "num"),
    ("Effort", "effort", "num"),
    ("Evidence", "evidence", "num"),
    ("Journeys", None, "num"),
    ("Status", None, ""),
    ("Owner", None, ""),
)
COLUMN_TITLES = {
    "Evidence": "Linked insights",
    "Journeys": "Journeys touched (hover for names)",
    "Rank": "Rank by priority, and places moved since the start of the week",
}


def _columns(request: HttpRequest, query: selectors.BacklogQuery) -> list[dict]:
    columns = []
    for label, key, css in COLUMNS:
        current = key is not None and key == query.sort
        # A click sorts highest first; on the current column it flips the order.
        direction = "asc" if current and query.descending else "desc"
        columns.append(
            {
                "label": label,
                "class": css,
                "title": COLUMN_TITLES.get(label, ""),
                "url": _url_with(request, sort=key, dir=direction, page=None) if key else None,
                "aria_sort": ("descending" if query.descending else "ascending") if current else None,
            }
        )
    return columns


def _page_links(request: HttpRequest, page) -> dict:
    paginator = page.paginator
    return {
        "previous": _url_with(request, page=page.previous_page_number()) if page.has_previous() else None,
        "next": _url_with(request, page=page.next_page_number()) if page.has_next() else None,
        "pages": [
            {
                "number": number,
                "url": None if number == paginator.ELLIPSIS else _url_with(request, page=number),
                "current": number == page.number,
            }
            for number in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        ],
    }


@require_GET
@workspace_view()
def backlog(request: HttpRequest) -> HttpResponse:
    """One ranked table of the open opportunities across all journeys, filtered and sorted."""
    workspace = request.workspace
    if not request.htmx and _has_empty_parameters(request):
        return redirect(_url_with(request))
    query = selectors.backlog_query(workspace=workspace, data=request.GET)
    paginator = Paginator(query.ids(), selectors.PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = selectors.backlog_rows(workspace=workspace, ids=page.object_list)
    export_params = _params(request)
    export_params.pop("page", None)
    context = {
        "nav": "backlog",
        "query": query,
        "selected": query.selected,
        "sort_label": selectors.SORTS[query.sort],
        "sorts": selectors.SORTS,
        "page": page,
        "page_links": _page_links(request, page),
        "rows": rows,
        "columns": _columns(request, query),
        "can_edit": request.membership.can_edit,
        "poll": 0,
        "poll_limit": POLL_LIMIT,
        "export_query": f"?{urlencode(export_params)}" if export_params else "",
        "clear_url": _url_with(request, keep=("sort", "dir")),
    }
    if not request.htmx or request.htmx.history_restore_request:
        context["options"] = selectors.backlog_filter_options(workspace)
    response = _partial_or_page(
        request, "opportunities/backlog.html", {"backlog-results": "results"}, context
    )
    return _push_clean_url(request, response)


def _criterion_values(opportunity: Opportunity) -> dict[int, float]:
    return dict(CriterionValue.objects.filter(opportunity=opportunity).values_list("criterion_id", "value"))


def _row_context(request: HttpRequest, row: Opportunity, **extra) -> dict:
    return {"opp": row, "can_edit": request.membership.can_edit, "poll": 0, "poll_limit": POLL_LIMIT, **extra}


@require_http_methods(["GET", "POST"])
@workspace_view()
def backlog_row(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """One backlog row. GET: the row (polled while its score is being recomputed; `?edit=1`: the row
    with its criterion-values form open). POST: an editor's new criterion values, checked by the
    service; the row comes back with "recomputing…", or with the form and its errors, nothing saved."""
    workspace = request.workspace
    opportunity = get_scoped(workspace, Opportunity, pk=opportunity_id)
    wants_form = request.method == "POST" or request.GET.get("edit")
    if wants_form and not request.membership.can_edit:
        raise PermissionDenied("Viewers cannot score opportunities.")
    if request.method == "GET" and not wants_form:
        poll = _poll_count(request)
        row = selectors.backlog_row(workspace=workspace, opportunity_id=opportunity.pk)
        return render(request, "opportunities/backlog.html#row", _row_context(request, row, poll=poll))

    criteria = selectors.workspace_criteria(workspace)
    form = CriterionValuesForm(
        request.POST if request.method == "POST" else None,
        criteria=criteria,
        values=_criterion_values(opportunity),
        auto_id=f"opp{opportunity.pk}-%s",
    )
    saved = request.method == "POST" and _save_criterion_values(request, opportunity, form)
    if saved and not request.htmx:
        return redirect("opportunities:backlog", workspace.slug)
    row = selectors.backlog_row(workspace=workspace, opportunity_id=opportunity.pk)
    response = render(
        request, "opportunities/backlog.html#group", _row_context(request, row, form=None if saved else form)
    )
    return _recompute_requested(response) if saved and form.changed_values() else response


def _poll_count(request: HttpRequest) -> int:
    try:
        return max(0, int(request.GET.get("poll", 0)))
    except ValueError:
        return 0


def _save_criterion_values(request: HttpRequest, opportunity: Opportunity, form: CriterionValuesForm) -> bool:
    """Validate and save through the service; False (errors on the form, nothing saved) when invalid."""
    if not form.is_valid():
        return False
    changed = form.changed_values()
    try:
        with transaction.atomic():
            services.opportunity_score(opportunity=opportunity, values=changed)
            if changed:
                activity_record(
                    workspace=request.workspace,
                    actor=request.user,
                    verb="scored",
                    target=opportunity,
                    changes={criterion.key: value for criterion, value in changed.items()},
                )
    except ValidationError as error:
        _add_model_errors(form, error)
        return False
    return True


@require_GET
@workspace_view()
def breakdown(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """The backlog's "Why this rank?" panel: the score's explanation. Without htmx, a redirect to the
    opportunity page's breakdown section."""
    workspace = request.workspace
    opportunity = get_scoped(workspace, Opportunity, pk=opportunity_id)
    if not request.htmx:
        return redirect(reverse("opportunities:detail", args=[workspace.slug, opportunity.pk]) + "#breakdown")
    context = {
        "opp": selectors.decorate(opportunity),
        "breakdown": selectors.breakdown_for_display(selectors.explanation_of(opportunity)),
    }
    return render(request, "opportunities/backlog.html#breakdown-panel", context)


# --- Opportunity page ----------------------------------------------------------------------------------


def _opportunity_context(request: HttpRequest, opportunity: Opportunity) -> dict:
    workspace = request.workspace
    insights = (
        scoped(workspace, Insight)
        .filter(opportunities=opportunity)
        .prefetch_related("personas")
        .order_by("-severity", "title", "id")
    )
    steps = (
        scoped(workspace, Step)
        .filter(opportunities=opportunity)
        .select_related("journey__macro_journey")
        .order_by("journey__name", "journey_id", "position")
    )
    key_results = (
        scoped(workspace, KeyResult)
        .filter(opportunities=opportunity)
        .select_related("objective__cycle")
        .order_by("objective__title", "objective_id", "position", "id")
    )
    return {
        "nav": "backlog",
        "opp": selectors.decorate(opportunity),
        "insights": insights,
        "steps": steps,
        "key_results": key_results,
        "solutions": scoped(workspace, Solution).filter(opportunity=opportunity).order_by("created_at", "id"),
        "breakdown": selectors.breakdown_for_display(selectors.explanation_of(opportunity)),
        "history": selectors.score_history(
            opportunity=opportunity, page=_page_number(request.GET.get("history"))
        ),
        "can_edit": request.membership.can_edit,
    }


def _get_opportunity(request: HttpRequest, opportunity_id: int, *, for_update: bool = False) -> Opportunity:
    queryset = Opportunity.objects.select_related("owner__user")
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    return get_scoped(request.workspace, queryset, pk=opportunity_id)


def _criteria_context(opportunity: Opportunity, workspace, form: CriterionValuesForm | None = None) -> dict:
    criteria = selectors.workspace_criteria(workspace)
    if form is None:
        form = CriterionValuesForm(criteria=criteria, values=_criterion_values(opportunity))
    return {"criteria_form": form, "criteria": criteria}


@require_GET
@workspace_view()
def detail(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """An opportunity: its evidence, steps, key results, solutions, scores, why it ranks where it does and
    how its score moved (`?history=<page>` pages the score history)."""
    opportunity = _get_opportunity(request, opportunity_id)
    context = _opportunity_context(request, opportunity) | _criteria_context(opportunity, request.workspace)
    return _partial_or_page(
        request,
        "opportunities/detail.html",
        {
            "solutions": "solutions-card",
            "criteria": "criteria-card",
            "score-history": "history-card",
            "score": "score-strip",
            "breakdown": "breakdown-card",
        },
        context,
    )


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


@require_POST
@workspace_view()
def criteria(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """An editor's criterion values from the opportunity page."""
    workspace = request.workspace
    opportunity = get_scoped(workspace, Opportunity, pk=opportunity_id)
    criteria_rows = selectors.workspace_criteria(workspace)
    form = CriterionValuesForm(request.POST, criteria=criteria_rows, values=_criterion_values(opportunity))
    saved = _save_criterion_values(request, opportunity, form)
    detail_url = reverse("opportunities:detail", args=[workspace.slug, opportunity.pk])
    if saved and not request.htmx:
        messages.success(request, "Scores saved. The priority is being recomputed.")
        return redirect(detail_url + "#criteria")
    opportunity = _get_opportunity(request, opportunity_id)
    context = _opportunity_context(request, opportunity) | _criteria_context(
        opportunity, workspace, None if saved else form
    )
    context["criteria_saved"] = saved
    template = "opportunities/detail.html#criteria-card" if request.htmx else "opportunities/detail.html"
    response = render(request, template, context)
    return _recompute_requested(response) if saved and form.changed_values() else response


def _recompute_requested(response: HttpResponse) -> HttpResponse:
    """Tell the page (htmx) that this write asked for a recompute: its indicator starts following it."""
    return trigger_client_event(response, RECOMPUTE_REQUESTED)


@require_GET
@workspace_view()
def recompute_status(request: HttpRequest) -> HttpResponse:
    """The pages' "Recomputing priorities…" indicator (opportunities/_recompute_status.html), polled by
    htmx while a recompute is queued or running. `?watch=1`: the indicator is following a recompute;
    when it is over, the answer says so and fires `priorities-recomputed`, once, so the page refreshes
    its scores. A fixed number of queries."""
    in_progress = selectors.recompute_in_progress(workspace_id=request.workspace.pk)
    watching = request.GET.get("watch") == "1"
    context = {
        "pending": in_progress,
        "done": watching and not in_progress,
        "poll": _poll_count(request),
        "poll_limit": POLL_LIMIT,
    }
    response = render(request, "opportunities/_recompute_status.html#indicator", context)
    patch_vary_headers(response, ["HX-Request"])
    return trigger_client_event(response, RECOMPUTED) if context["done"] else response


@require_http_methods(["GET", "POST"])
@workspace_view()
def edit(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    """Edit the title, description, status and owner. A save on top of someone else's newer change is
    refused, with the current values shown."""
    workspace = request.workspace
    opportunity = _get_opportunity(request, opportunity_id)
    if not request.membership.can_edit:
        raise PermissionDenied("Viewers cannot edit opportunities.")
    if request.method != "POST":
        form = OpportunityForm(initial=OpportunityForm.initial_for(opportunity), workspace=workspace)
    else:
        form = OpportunityForm(request.POST, workspace=workspace)
        if form.is_valid():
            with transaction.atomic():
                # Locked, so that two saves cannot both pass the version check.
                opportunity = _get_opportunity(request, opportunity_id, for_update=True)
                saved = _save_opportunity(request, opportunity, form)
            if saved:
                messages.success(request, "Opportunity saved.")
                return redirect("opportunities:detail", workspace.slug, opportunity.pk)
            data = request.POST.copy()
            data["version"] = opportunity.updated_at.isoformat()  # a second save is deliberate
            form = OpportunityForm(data, workspace=workspace)
            form.is_valid()
            form.add_error(
                None,
                "Someone else changed this opportunity while you were editing it. Its current values are "
                "listed below the form; save again to replace them with yours.",
            )
    return render(request, "opportunities/edit.html", {"nav": "backlog", "opp": opportunity, "form": form})


def _save_opportunity(request: HttpRequest, opportunity: Opportunity, form: OpportunityForm) -> bool:
    """Save the form through the service, unless the opportunity changed since the form was loaded."""
    if form.cleaned_data["version"] != opportunity.updated_at.isoformat():
        return False
    changes = form.changes()
    before = {name: getattr(opportunity, name) for name in changes}
    services.opportunity_update(opportunity=opportunity, **changes)
    activity_record(
        workspace=request.workspace,
        actor=request.user,
        verb="updated",
        target=opportunity,
        changes={name: None if v is None else str(v) for name, v in changes.items() if before[name] != v},
    )
    return True


def _solutions_response(
    request: HttpRequest, opportunity: Opportunity, *, form: SolutionForm | None = None, editing=None
) -> HttpResponse:
    """The solutions card (htmx) or the solution form page (without JavaScript)."""
    context = {
        "opp": opportunity,
        "solutions": scoped(request.workspace, Solution)
        .filter(opportunity=opportunity)
        .order_by("created_at", "id"),
        "solution_form": form,
        "editing": editing,
        "can_edit": request.membership.can_edit,
        "nav": "backlog",
    }
    if request.htmx:
        return render(request, "opportunities/detail.html#solutions-card", context)
    return render(request, "opportunities/solution_form.html", context)


@require_http_methods(["GET", "POST"])
@workspace_view()
def solution_add(request: HttpRequest, opportunity_id: int) -> HttpResponse:
    workspace = request.workspace
    opportunity = _get_opportunity(request, opportunity_id)
    if not request.membership.can_edit:
        raise PermissionDenied("Viewers cannot add solutions.")
    form = SolutionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                solution = services.solution_create(opportunity=opportunity, **form.cleaned_data)
                activity_record(workspace=workspace, actor=request.user, verb="created", target=solution)
        except ValidationError as error:
            _add_model_errors(form, error)
        else:
            return _after_solution_saved(request, opportunity, f"Solution “{solution.title}” added.")
    return _solutions_response(request, opportunity, form=form, editing="new")


@require_http_methods(["GET", "POST"])
@workspace_view()
def solution_edit(request: HttpRequest, opportunity_id: int, solution_id: int) -> HttpResponse:
    workspace = request.workspace
    opportunity = _get_opportunity(request, opportunity_id)
    solution = get_scoped(workspace, Solution.objects.filter(opportunity=opportunity), pk=solution_id)
    if not request.membership.can_edit:
        raise PermissionDenied("Viewers cannot edit solutions.")
    if request.method == "POST":
        form = SolutionForm(request.POST)
        if form.is_valid():
            before = SolutionForm.initial_for(solution)
            changes = {k: v for k, v in form.cleaned_data.items() if before[k] != v}
            try:
                with transaction.atomic():
                    services.solution_update(solution=solution, **form.cleaned_data)
                    activity_record(
                        workspace=workspace,
                        actor=request.user,
                        verb="updated",
                        target=solution,
                        changes=changes,
                    )
            except ValidationError as error:
                _add_model_errors(form, error)
            else:
                return _after_solution_saved(request, opportunity, f"Solution “{solution.title}” saved.")
    else:
        form = SolutionForm(initial=SolutionForm.initial_for(solution))
    return _solutions_response(request, opportunity, form=form, editing=solution.pk)


def _add_model_errors(form, error: ValidationError) -> None:
    for key, problems in error.message_dict.items():
        form.add_error(key if key in form.fields else None, problems)


def _after_solution_saved(request: HttpRequest, opportunity: Opportunity, message: str) -> HttpResponse:
    if request.htmx:
        return _solutions_response(request, opportunity)
    messages.success(request, message)
    return redirect(
        reverse("opportunities:detail", args=[request.workspace.slug, opportunity.pk]) + "#solutions"
    )


# --- Matrix ----------------------------------------------------------------------------------------------

# Plot geometry of the SVG (its viewBox), in user units.
WIDTH, HEIGHT = 760, 520
LEFT, RIGHT, TOP, BOTTOM = 70, 24, 20, 60
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
R_MIN, R_MAX, INSIGHT_CAP = 6.0, 24.0, 25  # bubble radius: sqrt scale over 0..25 insights, capped

STATUS_COLOURS = {
    Opportunity.Status.NEW: "#7b8aa6",
    Opportunity.Status.UNDER_REVIEW: "#d08a1b",
    Opportunity.Status.PLANNED: "#2f5bd3",
    Opportunity.Status.IN_PROGRESS: "#1f8a4c",
}

QUICK_WINS, BIG_BETS, MAYBES, TIME_SINKS = "Quick wins", "Big bets", "Maybes", "Time sinks"
QUADRANT_HINTS = {
    QUICK_WINS: "do first",
    BIG_BETS: "plan and invest",
    MAYBES: "do when cheap",
    TIME_SINKS: "avoid or rethink",
}


@dataclass
class Axis:
    """A score the matrix can plot. `cost`: lower is better (effort); otherwise higher is better."""

    key: str
    label: str
    cost: bool = False
    low: float | None = None  # a fixed scale (a criterion's range); else 0..1 or from the data
    high: float | None = None
    step: float | None = None  # an input score's step: its values are discrete

    def value_of(self, opportunity: Opportunity) -> float | None:
        if self.key == "effort":
            return opportunity.effort
        scores = opportunity.scores if isinstance(opportunity.scores, dict) else {}
        return selectors._number(scores.get(self.key))


def matrix_axes(workspace) -> dict[str, Axis]:
    """Every computed score of the workspace's scoring model, and the effort criterion. A node whose key
    mentions effort (the atlas preset's effort factor) counts as a cost, like the effort criterion."""
    nodes = selectors.workspace_score_nodes(workspace)
    axes = {node.key: Axis(node.key, node.name, cost="effort" in node.key) for node in nodes}
    if not axes:  # no scoring model yet: the atlas preset's names
        axes = {key: Axis(key, label) for key, label in selectors.SORTS.items() if key in DEFAULT_NODE_AXES}
    effort = next(
        (c for c in selectors.workspace_criteria(workspace) if c.perspective == Perspective.EFFORT), None
    )
    axes["effort"] = Axis(
        "effort",
        f"{effort.name} (input)" if effort else "Effort",
        cost=True,
        low=effort.min_value if effort else None,
        high=effort.max_value if effort else None,
        step=effort.step if effort else None,
    )
    return axes


DEFAULT_NODE_AXES = ("priority", "customer_value", "business_value", "value")
AXIS_PRESETS = (
    ("customer_value", "business_value", "Customer × business value"),
    ("effort", "value", "Value × effort"),
)


def quadrant_names(x: Axis, y: Axis) -> dict[tuple[bool, bool], str]:
    """Names of the quadrants by (x in its upper half, y in its upper half).

    Goodness decides: an axis is "good" in its upper half, or in its lower half for a cost (effort).
    Good on both: quick wins; bad on both: time sinks. Between them, with one benefit and one cost
    (value × effort): high value at high effort is a big bet, low value at low effort a maybe. With two
    benefits (customer × business value) the customer side leads (a customer-centric tool): good for
    customers only is a big bet, good for the business only a maybe. With two costs, x leads."""
    if x.cost != y.cost:
        lead = y if x.cost else x
    elif "customer" in y.key and "customer" not in x.key:
        lead = y
    else:
        lead = x
    names = {}
    for x_high in (False, True):
        for y_high in (False, True):
            x_good, y_good = x_high != x.cost, y_high != y.cost
            if x_good and y_good:
                names[(x_high, y_high)] = QUICK_WINS
            elif not (x_good or y_good):
                names[(x_high, y_high)] = TIME_SINKS
            else:
                lead_good = x_good if lead is x else y_good
                names[(x_high, y_high)] = BIG_BETS if lead_good else MAYBES
    return names


def split_value(axis: Axis, low: float, high: float) -> float:
    """Where the axis is split into low and high: the middle of its scale. On an input score whose
    middle is one of its values (effort 3 of 1–5) the split moves half a step down, so that value
    counts as high (a quarter's effort is not a quick win) and no bubble sits on the line."""
    middle = (low + high) / 2
    if axis.step:
        steps = (middle - (axis.low or 0)) / axis.step
        if abs(steps - round(steps)) < 1e-9:
            return middle - axis.step / 2
    return middle


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value - 1e-12)


def axis_scale(axis: Axis, values: list[float]) -> tuple[float, float]:
    """The axis's range: the criterion's range, 0..1 for scores that fit in it, else 0..a round number
    above the largest value (negative values widen it downwards)."""
    if axis.low is not None and axis.high is not None and axis.low < axis.high:
        # Half a step of room at each end, so the lowest and highest scores are not cut by the frame.
        pad = (axis.step or 0) / 2
        return min([axis.low, *values]) - pad, max([axis.high, *values]) + pad
    if not values or (min(values) >= 0 and max(values) <= 1):
        return 0.0, 1.0
    low = min(0.0, min(values))
    high = _nice_ceiling(max(values))
    return (-_nice_ceiling(-low) if low < 0 else 0.0), high


def ticks(low: float, high: float, target: int = 5) -> list[float]:
    span = high - low
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw - 1e-12)
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [round(first + i * step, 10) for i in range(count)]


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:.0f}"


@dataclass
class Bubble:
    opp: Opportunity
    x: float
    y: float
    cx: float
    cy: float
    r: float
    colour: str
    quadrant: str
    label: str

    @property
    def x_text(self) -> str:
        return selectors.number_text(self.x)

    @property
    def y_text(self) -> str:
        return selectors.number_text(self.y)


@dataclass
class Chart:
    x_axis: Axis
    y_axis: Axis
    bubbles: list[Bubble] = field(default_factory=list)
    unscored: list[Opportunity] = field(default_factory=list)
    x_ticks: list[dict] = field(default_factory=list)
    y_ticks: list[dict] = field(default_factory=list)
    quadrants: list[dict] = field(default_factory=list)
    mid_x: float = 0
    mid_y: float = 0

    @property
    def table(self) -> list[Bubble]:
        """The bubbles in rank order, for the table alternative."""
        return sorted(self.bubbles, key=lambda b: (b.opp.rank or math.inf, b.opp.pk))

    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_w: int = PLOT_W
    plot_h: int = PLOT_H
    right_edge: int = LEFT + PLOT_W
    bottom_edge: int = TOP + PLOT_H


QUADRANT_ORDER = (QUICK_WINS, BIG_BETS, MAYBES, TIME_SINKS)


def _jitter(seed: int, step: float | None) -> float:
    """A stable offset of up to ± a quarter step for an input-score axis, whose values are discrete:
    opportunities with the same effort spread into a band instead of hiding each other. Only the drawing
    moves; the quadrant, the tooltip and the table use the real value."""
    if not step:
        return 0.0
    return ((seed * 2654435761) % 1009 / 1008 - 0.5) * step / 2


def bubble_radius(insights: int) -> float:
    share = math.sqrt(min(max(insights, 0), INSIGHT_CAP) / INSIGHT_CAP)
    return round(R_MIN + (R_MAX - R_MIN) * share, 1)


def build_chart(opportunities: list[Opportunity], x_axis: Axis, y_axis: Axis) -> Chart:
    """Lay out the scatter: scales, ticks, quadrants and one bubble per opportunity with both scores."""
    chart = Chart(x_axis=x_axis, y_axis=y_axis)
    points = []
    for opp in opportunities:
        x, y = x_axis.value_of(opp), y_axis.value_of(opp)
        if x is None or y is None:
            chart.unscored.append(opp)
        else:
            points.append((opp, x, y))
    x_low, x_high = axis_scale(x_axis, [p[1] for p in points])
    y_low, y_high = axis_scale(y_axis, [p[2] for p in points])

    def px(value: float) -> float:
        return round(LEFT + (value - x_low) / (x_high - x_low) * PLOT_W, 1)

    def py(value: float) -> float:
        return round(TOP + PLOT_H - (value - y_low) / (y_high - y_low) * PLOT_H, 1)

    x_mid, y_mid = split_value(x_axis, x_low, x_high), split_value(y_axis, y_low, y_high)
    chart.mid_x, chart.mid_y = px(x_mid), py(y_mid)
    chart.x_ticks = [{"value": _fmt(t), "pos": px(t)} for t in ticks(x_low, x_high)]
    chart.y_ticks = [{"value": _fmt(t), "pos": py(t)} for t in ticks(y_low, y_high)]
    names = quadrant_names(x_axis, y_axis)
    left_w, top_h = chart.mid_x - LEFT, chart.mid_y - TOP
    for (x_hi, y_hi), name in names.items():
        chart.quadrants.append(
            {
                "name": name,
                "hint": QUADRANT_HINTS[name],
                "description": (
                    f"{'High' if x_hi else 'Low'} {x_axis.label.lower()}, "
                    f"{'high' if y_hi else 'low'} {y_axis.label.lower()}: {QUADRANT_HINTS[name]}."
                ),
                "slug": name.lower().replace(" ", "-"),
                "x": chart.mid_x if x_hi else LEFT,
                "y": TOP if y_hi else chart.mid_y,
                "w": round(PLOT_W - left_w if x_hi else left_w, 1),
                "h": round(top_h if y_hi else PLOT_H - top_h, 1),
                "label_x": LEFT + (PLOT_W - 10 if x_hi else 10),
                "label_y": TOP + (20 if y_hi else PLOT_H - 24),
                "anchor": "end" if x_hi else "start",
            }
        )
    for opp, x, y in points:
        quadrant = names[(x >= x_mid, y >= y_mid)]
        cx = px(x + _jitter(opp.pk, x_axis.step))
        cy = py(y + _jitter(opp.pk * 7 + 3, y_axis.step))
        label = (
            f"{'#' + str(opp.rank) + ' ' if opp.rank else ''}{opp.title} — {x_axis.label} {_fmt(x)}, "
            f"{y_axis.label} {_fmt(y)}, {opp.insight_count} insight{'s' if opp.insight_count != 1 else ''}, "
            f"{opp.get_status_display()} ({quadrant})"
        )
        chart.bubbles.append(
            Bubble(
                opp=opp,
                x=x,
                y=y,
                cx=cx,
                cy=cy,
                r=bubble_radius(opp.insight_count),
                colour=STATUS_COLOURS.get(opp.status, "#7b8aa6"),
                quadrant=quadrant,
                label=label,
            )
        )
    chart.quadrants.sort(key=lambda q: QUADRANT_ORDER.index(q["name"]))
    # Big bubbles first, so that small ones stay visible (and clickable) on top of them.
    chart.bubbles.sort(key=lambda b: (-b.r, b.opp.rank or math.inf, b.opp.pk))
    return chart


def _axis_key(asked: str | None, axes: dict[str, Axis], default: str, fallback_index: int) -> str:
    if asked in axes:
        return asked
    if default in axes:
        return default
    keys = list(axes)
    return keys[min(fallback_index, len(keys) - 1)]


@require_GET
@workspace_view()
def matrix(request: HttpRequest) -> HttpResponse:
    """The opportunity matrix: open opportunities on two scores, with the backlog's filters."""
    workspace = request.workspace
    if not request.htmx and _has_empty_parameters(request):
        return redirect(_url_with(request))
    query = selectors.backlog_query(workspace=workspace, data=request.GET)
    axes = matrix_axes(workspace)
    x_key = _axis_key(request.GET.get("x"), axes, "customer_value", 0)
    y_key = _axis_key(request.GET.get("y"), axes, "business_value", 1)
    x_axis, y_axis = axes[x_key], axes[y_key]
    opportunities = list(
        query.filterset.qs.select_related(None)
        .annotate(insight_count=selectors.insight_count(), effort=selectors.effort_value())
        .only("id", "title", "status", "rank", "priority", "scores")
        .order_by()
    )
    chart = build_chart(opportunities, x_axis, y_axis)
    context = {
        "nav": "matrix",
        "query": query,
        "selected": query.selected,
        "axes": axes,
        "chart": chart,
        "presets": [
            {"url": _url_with(request, x=x, y=y), "label": label, "current": (x, y) == (x_key, y_key)}
            for x, y, label in AXIS_PRESETS
            if x in axes and y in axes
        ],
        "clear_url": _url_with(request, keep=("x", "y")),
        "statuses": [
            (value, label, STATUS_COLOURS[value])
            for value, label in Opportunity.Status.choices
            if value in STATUS_COLOURS
        ],
        "sizes": [
            {"n": n, "r": bubble_radius(n), "box": 2 * math.ceil(R_MAX) + 2, "centre": math.ceil(R_MAX) + 1}
            for n in (1, 5, INSIGHT_CAP)
        ],
        "total": len(opportunities),
    }
    if not request.htmx or request.htmx.history_restore_request:
        context["options"] = selectors.backlog_filter_options(workspace)
    response = _partial_or_page(request, "opportunities/matrix.html", {"matrix-results": "results"}, context)
    return _push_clean_url(request, response)


# --- Exports -------------------------------------------------------------------------------------------


def _export(request: HttpRequest, kind: str) -> HttpResponse:
    workspace = request.workspace
    query = selectors.backlog_query(workspace=workspace, data=request.GET)
    criteria_rows = selectors.workspace_criteria(workspace)
    url_for_id = exports.opportunity_url_template(
        request.build_absolute_uri(reverse("opportunities:detail", args=[workspace.slug, 0]))
    )
    data = exports.rows(query.opportunities(), criteria=criteria_rows, url_for_id=url_for_id)
    filename = f"backlog-{workspace.slug}-{timezone.localdate():%Y-%m-%d}.{kind}"
    head = exports.header(criteria_rows)
    if kind == "csv":
        return exports.csv_response(head, data, filename=filename)
    return exports.xlsx_response(head, data, filename=filename)


@require_GET
@workspace_view()
def backlog_csv(request: HttpRequest) -> HttpResponse:
    """The filtered backlog as CSV, in the page's order (streamed)."""
    return _export(request, "csv")


@require_GET
@workspace_view()
def backlog_xlsx(request: HttpRequest) -> HttpResponse:
    """The filtered backlog as an Excel workbook, in the page's order."""
    return _export(request, "xlsx")
