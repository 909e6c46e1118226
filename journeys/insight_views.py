"""The insight repository's pages: the filtered list with its bulk actions, an insight's page with its
pins and the opportunities it backs, the create / edit / delete forms and the CSV import. Reads go through
journeys.insight_selectors, writes through journeys.services.insights; every view through
`workspace_view` (an outsider gets 404, a viewer who writes gets 403)."""

import csv
import io
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from atlas.models import Role, Tag
from atlas.tenancy import get_scoped, scoped, workspace_view
from journeys import insight_import
from journeys import insight_selectors as selectors
from journeys.insight_forms import (
    BULK_STATUS_ACTIONS,
    PASTE_LIMIT,
    InsightBulkForm,
    InsightFilterForm,
    InsightForm,
    InsightImportForm,
    PinForm,
)
from journeys.models import Insight, Persona, Step
from journeys.services import insights as services

NAV = "insights"


# --- URLs of the list -----------------------------------------------------------------------------------

DEFAULT_PARAMS = {"sort": selectors.DEFAULT_SORT, "page": "1"}


def _params(params: QueryDict) -> dict[str, str]:
    """The parameters that say something (a GET form sends every field, filled or not)."""
    return {k: v for k, v in params.items() if v != "" and DEFAULT_PARAMS.get(k) != v}


def _list_url(workspace, params: QueryDict | dict, **changes) -> str:
    query = _params(params) if isinstance(params, QueryDict) else dict(params)
    for name, value in changes.items():
        if value is None or DEFAULT_PARAMS.get(name) == str(value):
            query.pop(name, None)
        else:
            query[name] = str(value)
    path = reverse("journeys:insight_list", args=[workspace.slug])
    return f"{path}?{urlencode(query)}" if query else path


def _page_links(workspace, params: QueryDict, page) -> dict:
    paginator = page.paginator
    return {
        "previous": _list_url(workspace, params, page=page.previous_page_number())
        if page.has_previous()
        else None,
        "next": _list_url(workspace, params, page=page.next_page_number()) if page.has_next() else None,
        "pages": [
            {
                "number": number,
                "url": None if number == paginator.ELLIPSIS else _list_url(workspace, params, page=number),
                "current": number == page.number,
            }
            for number in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
        ],
    }


def _safe_next(request: HttpRequest, value: str | None) -> str | None:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


# --- List and bulk actions ------------------------------------------------------------------------------


def _list_response(
    request: HttpRequest,
    params: QueryDict,
    *,
    bulk_form: InsightBulkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    can_edit = request.membership.can_edit
    filter_form = InsightFilterForm(params)
    query = selectors.insight_query(filter_form.valid_values())
    options = selectors.filter_options(workspace)
    queryset = selectors.with_row_details(selectors.filtered_insights(workspace, query, options.tag_tree))
    page = Paginator(queryset, selectors.PAGE_SIZE).get_page(params.get("page"))
    filters = urlencode(_params(params))
    context = {
        "nav": NAV,
        "query": query,
        "selected": query.selected,
        "options": options,
        "sorts": {key: label for key, (label, _) in selectors.SORTS.items()},
        "not_pinned": selectors.NOT_PINNED,
        "page": page,
        "rows": selectors.decorate_rows(page.object_list),
        "page_links": _page_links(workspace, params, page),
        "clear_url": _list_url(workspace, {}),
        "filters": filters,
        "can_edit": can_edit,
        "bulk_form": bulk_form,
        "checked": set(bulk_form.insight_ids) if bulk_form else set(),
        "kinds": Insight.Kind.choices,
        "statuses": Insight.Status.choices,
        "sources": Insight.Source.choices,
    }
    if can_edit:
        pin_journey = bulk_form.data.get("pin_journey", "") if bulk_form else ""
        context["pin_journey"] = int(pin_journey) if pin_journey.isdigit() else None
        context["pin_steps"] = selectors.steps_of_journey(workspace, pin_journey)
    htmx = request.htmx
    if htmx and htmx.target == "insight-results" and not htmx.history_restore_request:
        response = render(request, "journeys/insights/list.html#results", context, status=status)
        response["HX-Push-Url"] = _list_url(workspace, params)
    else:
        response = render(request, "journeys/insights/list.html", context, status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@require_GET
@workspace_view()
def insight_list(request: HttpRequest) -> HttpResponse:
    """The workspace's insight repository, filtered, searched, sorted and paginated from GET."""
    if not request.htmx and any(value == "" for value in request.GET.values()):
        return redirect(_list_url(request.workspace, request.GET))
    return _list_response(request, request.GET)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@require_POST
@workspace_view()
def insight_bulk(request: HttpRequest) -> HttpResponse:
    """One action on the selected insights: a status, a tag, or a pin onto a step. Any insight, tag or
    step not in the workspace answers 404 and changes nothing."""
    workspace = request.workspace
    back = QueryDict(request.POST.get("filters", ""))
    next_url = _safe_next(request, request.POST.get("next"))
    form = InsightBulkForm(request.POST)
    if not form.is_valid():
        if next_url:
            for error in form.errors.values():
                messages.error(request, " ".join(error))
            return redirect(next_url)
        return _list_response(request, back, bulk_form=form, status=400)

    ids = form.insight_ids
    insights = list(scoped(workspace, Insight).filter(pk__in=ids).only("id", "workspace_id", "title"))
    if len(insights) != len(ids):
        raise Http404("No such insight.")
    action = form.cleaned_data["action"]
    selected = len(insights)
    actor = request.membership
    if action in BULK_STATUS_ACTIONS:
        status = BULK_STATUS_ACTIONS[action]
        changed = services.insights_set_status(
            workspace=workspace, insights=insights, status=status, actor=actor
        )
        label = Insight.Status(status).label.lower()
        text = f"{_plural(changed, 'insight')} marked {label}."
        if changed < selected:
            text += f" {selected - changed} already {'was' if selected - changed == 1 else 'were'}."
    elif action == "tag":
        tag = get_scoped(workspace, Tag, pk=form.cleaned_data["tag"])
        changed = services.insights_tag(workspace=workspace, insights=insights, tag=tag, actor=actor)
        text = f"Tag “{tag.name}” added to {_plural(changed, 'insight')}."
        if changed < selected:
            text += f" {selected - changed} already had it."
    else:
        step = get_scoped(workspace, Step.objects.select_related("journey"), pk=form.cleaned_data["step"])
        changed = services.insights_pin(workspace=workspace, insights=insights, step=step, actor=actor)
        text = f"{_plural(changed, 'insight')} pinned to {step.journey.name} › {step.name}."
        if changed < selected:
            text += f" {selected - changed} already {'was' if selected - changed == 1 else 'were'} there."
    messages.success(request, text)
    return redirect(next_url or _list_url(workspace, back))


# --- An insight -----------------------------------------------------------------------------------------


def _get_insight(request: HttpRequest, insight_id: int) -> Insight:
    return get_scoped(request.workspace, Insight, pk=insight_id)


@require_GET
@workspace_view()
def insight_detail(request: HttpRequest, insight_id: int) -> HttpResponse:
    """Everything about one insight: its fields, the steps it is pinned to, the opportunities it backs,
    its comments and history."""
    workspace = request.workspace
    insight = selectors.insight_detail(workspace, insight_id)
    can_edit = request.membership.can_edit
    context = {
        "nav": NAV,
        "insight": insight,
        "steps": selectors.pinned_steps_of(insight),
        "opportunities": selectors.opportunities_of(insight),
        "history": selectors.history_of(insight),
        "can_edit": can_edit,
        "pin_form": PinForm(),
        "statuses": Insight.Status.choices,
        "status_actions": {status: action for action, status in BULK_STATUS_ACTIONS.items()},
    }
    if can_edit:
        pin_journey = request.GET.get("pin_journey", "")
        context["pin_journeys"] = selectors.journey_choices(workspace)
        context["pin_journey"] = int(pin_journey) if pin_journey.isdigit() else None
        context["pin_steps"] = selectors.steps_of_journey(workspace, pin_journey)
    return render(request, "journeys/insights/detail.html", context)


def _form_page(request: HttpRequest, form: InsightForm, insight: Insight | None, **extra) -> HttpResponse:
    """The form, its "pinned to steps" picker built from what was sent (else from the initial steps)."""
    if form.is_bound:
        chosen, browsing = form.data.getlist("steps"), form.data.get("steps_journey")
    else:
        chosen, browsing = form.initial.get("steps", []), form.initial.get("steps_journey")
    picker = selectors.step_picker(request.workspace, chosen, browsing)
    return render(
        request,
        "journeys/insights/form.html",
        {"nav": NAV, "form": form, "insight": insight, "picker": picker, **extra},
        status=400 if form.is_bound and form.errors else 200,
    )


def _browse_steps(request: HttpRequest, insight: Insight | None, **extra) -> HttpResponse:
    """The form again with what was typed, the picker on the journey chosen: how the picker works without
    JavaScript ("Show its steps"). Nothing is checked or saved."""
    initial = InsightForm.initial_from(request.POST)
    initial["steps_journey"] = request.POST.get("steps_journey")
    form = InsightForm(initial=initial, workspace=request.workspace)
    return _form_page(request, form, insight, **extra)


@require_GET
@workspace_view(read=Role.EDITOR)
def insight_step_picker(request: HttpRequest) -> HttpResponse:
    """The insight form's "pinned to steps" picker for the steps ticked (`steps`) and the journey chosen
    (`steps_journey`): what htmx swaps in when another journey is chosen."""
    picker = selectors.step_picker(
        request.workspace, request.GET.getlist("steps"), request.GET.get("steps_journey")
    )
    return render(request, "journeys/insights/_step_picker.html", {"picker": picker})


@require_GET
@workspace_view()
def insight_step_options(request: HttpRequest) -> HttpResponse:
    """The <option>s of one journey's steps (`pin_journey`), for the pin menus of the list and an
    insight's page."""
    steps = selectors.steps_of_journey(request.workspace, request.GET.get("pin_journey", ""))
    return render(
        request,
        "journeys/insights/_step_options.html",
        {"pin_steps": steps, "pin_journey": request.GET.get("pin_journey", "")},
    )


@require_http_methods(["GET", "POST"])
@workspace_view(read=Role.EDITOR)
def insight_create(request: HttpRequest) -> HttpResponse:
    """A new insight. `?step=<id>` pins it to that step (the map links here); `?next=` is where to
    go after saving."""
    workspace = request.workspace
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST" and "show_steps" in request.POST:
        return _browse_steps(request, None, next_url=next_url)
    if request.method != "POST":
        initial = {}
        step_id = request.GET.get("step", "")
        if step_id.isdigit() and scoped(workspace, Step).filter(pk=step_id).exists():
            initial["steps"] = [int(step_id)]
        persona_id = request.GET.get("persona", "")
        if persona_id.isdigit():
            initial["personas"] = [int(persona_id)]
        form = InsightForm(initial=initial, workspace=workspace)
        return _form_page(request, form, None, next_url=next_url)
    form = InsightForm(request.POST, workspace=workspace)
    if form.is_valid():
        try:
            insight = services.insight_create(workspace=workspace, actor=request.membership, **form.values())
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Insight “{Truncator(insight.title).chars(80)}” added.")
            return redirect(next_url or reverse("journeys:insight", args=[workspace.slug, insight.pk]))
    return _form_page(request, form, None, next_url=next_url)


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "POST"])
@workspace_view(read=Role.EDITOR)
def insight_edit(request: HttpRequest, insight_id: int) -> HttpResponse:
    """Edit every field of an insight. A save on top of someone else's newer change is refused, with the
    current values shown."""
    workspace = request.workspace
    insight = selectors.insight_detail(workspace, insight_id)
    if request.method == "POST" and "show_steps" in request.POST:
        return _browse_steps(request, insight)
    if request.method != "POST":
        form = InsightForm(initial=InsightForm.initial_for(insight), workspace=workspace)
        return _form_page(request, form, insight)
    form = InsightForm(request.POST, workspace=workspace)
    if form.is_valid():
        version = _parse_version(form.cleaned_data["version"])
        try:
            with transaction.atomic():
                services.insight_update(
                    insight=insight, actor=request.membership, version=version, **form.values()
                )
        except services.InsightChanged:
            insight = selectors.insight_detail(workspace, insight_id)
            data = request.POST.copy()
            data["version"] = insight.updated_at.isoformat()  # a second save is deliberate
            form = InsightForm(data, workspace=workspace)
            form.is_valid()
            form.add_error(
                None,
                "Someone else changed this insight while you were editing it. Its current values are listed "
                "below the form; save again to replace them with yours.",
            )
            return _form_page(request, form, insight, conflict=True)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Insight saved.")
            return redirect("journeys:insight", workspace.slug, insight.pk)
    return _form_page(request, form, insight)


def _parse_version(value: str) -> datetime | None:
    return parse_datetime(value) if value else None


@require_http_methods(["GET", "POST"])
@workspace_view(read=Role.EDITOR)
def insight_delete(request: HttpRequest, insight_id: int) -> HttpResponse:
    """GET: what deleting takes with it (its pins and its place in opportunities' evidence). POST: delete."""
    workspace = request.workspace
    insight = _get_insight(request, insight_id)
    if request.method == "POST":
        title = insight.title
        services.insight_delete(insight=insight, actor=request.membership)
        messages.success(request, f"Insight “{Truncator(title).chars(80)}” deleted.")
        return redirect("journeys:insight_list", workspace.slug)
    context = {
        "nav": NAV,
        "insight": insight,
        "steps": selectors.pinned_steps_of(insight),
        "opportunities": selectors.opportunities_of(insight),
    }
    return render(request, "journeys/insights/delete.html", context)


@require_POST
@workspace_view()
def insight_pin(request: HttpRequest, insight_id: int) -> HttpResponse:
    workspace = request.workspace
    insight = _get_insight(request, insight_id)
    detail_url = reverse("journeys:insight", args=[workspace.slug, insight.pk])
    form = PinForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the step to pin this insight to.")
        journey = request.POST.get("pin_journey", "")
        return redirect(detail_url + (f"?pin_journey={journey}" if journey.isdigit() else "") + "#steps")
    step = get_scoped(workspace, Step.objects.select_related("journey"), pk=form.cleaned_data["step"])
    if services.insights_pin(workspace=workspace, insights=[insight], step=step, actor=request.membership):
        messages.success(request, f"Pinned to {step.journey.name} › {step.name}.")
    else:
        messages.info(request, f"Already pinned to {step.journey.name} › {step.name}.")
    return redirect(detail_url + "#steps")


@require_POST
@workspace_view()
def insight_unpin(request: HttpRequest, insight_id: int, step_id: int) -> HttpResponse:
    workspace = request.workspace
    insight = _get_insight(request, insight_id)
    step = get_scoped(workspace, Step.objects.select_related("journey"), pk=step_id)
    services.insight_unpin(insight=insight, step=step, actor=request.membership)
    messages.success(request, f"Removed from {step.journey.name} › {step.name}.")
    next_url = _safe_next(request, request.POST.get("next"))
    return redirect(next_url or reverse("journeys:insight", args=[workspace.slug, insight.pk]) + "#steps")


# --- CSV import -----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@workspace_view(read=Role.EDITOR)
def insight_import_view(request: HttpRequest) -> HttpResponse:
    """Upload (or paste) a CSV of insights. Every row is checked first: one bad row and nothing is
    imported; the page then lists every problem of every row and keeps the content to fix and retry."""
    workspace = request.workspace
    check = None
    form = InsightImportForm(request.POST, request.FILES) if request.method == "POST" else InsightImportForm()
    if request.method == "POST" and form.is_valid():
        content = form.content()
        text, _ = insight_import.decode(content)
        lookups = selectors.import_lookups(workspace, with_steps=_mentions_steps(text))
        check = insight_import.check_csv(content, lookups)
        if check.ok:
            try:
                created = services.insights_import(
                    workspace=workspace, actor=request.membership, rows=check.rows
                )
            except ValidationError as error:  # a persona or step deleted since the check
                check.file_errors.extend(error.messages)
            else:
                messages.success(request, f"Imported {_plural(len(created), 'insight')}.")
                return redirect(_list_url(workspace, {}))
        if text is not None and len(content) <= PASTE_LIMIT:
            data = request.POST.copy()
            data["text"] = text
            form = InsightImportForm(data)
            form.is_valid()
    context = {
        "nav": NAV,
        "form": form,
        "check": check,
        "columns": insight_import.COLUMNS,
        "max_rows": f"{insight_import.MAX_ROWS:,}",
        "max_mb": insight_import.MAX_BYTES // 1024 // 1024,
    }
    status = 400 if request.method == "POST" and (form.errors or (check and not check.ok)) else 200
    return render(request, "journeys/insights/import.html", context, status=status)


def _mentions_steps(text: str | None) -> bool:
    """Whether the header names a journey or step column (only then are the steps loaded)."""
    if not text:
        return False
    header = text.lstrip("\ufeff\r\n").split("\n", 1)[0].casefold()
    return "journey" in header or "step" in header


@require_GET
@workspace_view()
def insight_import_template(request: HttpRequest) -> HttpResponse:
    """A CSV with the import's header and one example row, using this workspace's names where it has
    them (so the example imports as it is)."""
    workspace = request.workspace
    persona = _example_name(scoped(workspace, Persona).order_by("name").values_list("name", flat=True))
    tag = _example_name(scoped(workspace, Tag).order_by("kind", "name").values_list("name", flat=True))
    step = (
        scoped(workspace, Step)
        .select_related("journey")
        .order_by("journey__name", "journey_id", "position")
        .only("name", "journey__name")
        .first()
    )
    example = {
        "title": "The ID check takes too long",
        "description": "“I waited three days for the video call and nearly gave up.”",
        "kind": Insight.Kind.PAIN.label,
        "source": Insight.Source.INTERVIEW.label,
        "source_reference": "https://research.example.com/interviews/12",
        "status": Insight.Status.HYPOTHESIS.label,
        "severity": "4",
        "reach": "1200",
        "personas": persona,
        "tags": tag,
        "journey": step.journey.name if step and _spreadsheet_safe(step.journey.name) else "",
        "step": step.name
        if step and _spreadsheet_safe(step.journey.name) and _spreadsheet_safe(step.name)
        else "",
    }
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads UTF-8 only with the byte order mark
    writer = csv.writer(buffer)
    writer.writerow(insight_import.COLUMNS)
    writer.writerow([example[name] for name in insight_import.COLUMNS])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="insights-template.csv"'
    return response


def _spreadsheet_safe(name: str) -> bool:
    """A spreadsheet would run a cell starting with one of these as a formula (CSV injection)."""
    return not name.startswith(("=", "+", "-", "@", "\t", "\r"))


def _example_name(names) -> str:
    return next(
        (name for name in names[:20] if _spreadsheet_safe(name) and not any(c in name for c in ";|")), ""
    )
