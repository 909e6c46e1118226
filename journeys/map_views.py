"""The journey map and its editor: steps as columns grouped under phases, lanes as rows.

Reads come from journeys.map_selectors (one query per kind of thing on the map, never one per step);
writes go through journeys.services.maps (and the insight services). Every view goes through
`workspace_view` (an outsider gets 404, a viewer who writes gets 403) and the edit forms are 403 for
viewers too.

htmx: a cell edit answers with the cell, a structural change (steps, phases, pins, emotions) with the
whole board (`journey_map.html#board`). A refused edit answers 409 (stale revision: the fresh content
and, for a cell, what the editor typed) or 422 (invalid input, errors inline); journey_map.js lets
htmx swap those two statuses. Without JavaScript every link and form works too: a GET of an edit URL
renders the whole map with that cell open, a successful POST redirects back to the map."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from atlas.models import Role
from atlas.tenancy import get_scoped, require_role, scoped, workspace_view
from journeys.map_forms import (
    LANES,
    EmotionForm,
    InsightQuickForm,
    JourneyForm,
    Lane,
    PhaseDeleteForm,
    PhaseMoveForm,
    PhaseNameForm,
    PinForm,
    RevisionForm,
    StepAddForm,
    StepDeleteForm,
    StepMoveForm,
    TouchpointForm,
)
from journeys.map_selectors import (
    EMOTION_SCALE,
    LANE_COLUMN_WIDTH,
    PRINT_WIDTH,
    STEP_COLUMN_WIDTH,
    MapLinks,
    map_data,
    map_emotion_chart,
)
from journeys.models import Insight, Journey, Persona, Phase, Step, Touchpoint
from journeys.services import insights as insight_services
from journeys.services import maps
from metrics.models import Kpi
from opportunities.models import Opportunity

PIN_SEARCH_LIMIT = 8

CONFLICT_STEP = (
    "Someone else changed this step while you were editing. Its current content is shown; your text "
    "is kept below so you can save it again or drop it."
)
STEP_GONE = "This step is no longer on the map: someone deleted it while you were editing, so your text was not saved."
TOUCHPOINT_GONE = (
    "Someone else deleted this touchpoint while you were editing it, so your change was not saved."
)
CONFLICT_STRUCTURE = (
    "Someone else changed this journey (its steps, phases or details) since you loaded the map, so your "
    "change was not applied. The map below is up to date: please make your change again."
)


# --- reading the map -----------------------------------------------------------------------------------


def _journey(request: HttpRequest, journey_id: int) -> Journey:
    journey = get_scoped(
        request.workspace,
        Journey.objects.select_related(
            "macro_journey__stage__lifecycle", "owner__user", "primary_persona", "current_journey"
        ),
        pk=journey_id,
    )
    journey.workspace = request.workspace
    return journey


def _step(request: HttpRequest, journey: Journey, step_id: int) -> Step:
    step = get_scoped(request.workspace, Step.objects.select_related("phase"), pk=step_id, journey=journey)
    step.journey = journey
    return step


def _links(request: HttpRequest, journey: Journey, *steps: Step) -> None:
    links = MapLinks(request.workspace.slug, journey.pk)
    for step in steps:
        links.attach(step)


def _persona_query(request: HttpRequest, joiner: str = "?") -> str:
    """`?persona=<id>` (or `&persona=<id>`) when the map is seen through a persona, else ""."""
    persona = request.GET.get("persona", "")
    return f"{joiner}{urlencode({'persona': persona})}" if persona.isdigit() else ""


def _count(number: int, singular: str, plural: str) -> str:
    """ "1 insight", "3 insights"; "" for none (left out of the sentence)."""
    if not number:
        return ""
    return f"{number} {singular if number == 1 else plural}"


def _map_url(request: HttpRequest, journey: Journey, anchor: str = "") -> str:
    url = reverse("journeys:journey", args=[request.workspace.slug, journey.pk]) + _persona_query(request)
    return f"{url}#{anchor}" if anchor else url


def _base_context(request: HttpRequest, journey: Journey, **extra) -> dict:
    """What every part of the map needs: the journey, the role, the persona in the URLs."""
    return {
        "nav": "atlas",
        "journey": journey,
        "can_edit": request.membership.can_edit,
        "pq": _persona_query(request),
        "pa": _persona_query(request, "&"),
        "map_url": _map_url(request, journey),
        "emotion_scale": EMOTION_SCALE,
        **extra,
    }


def _context(request: HttpRequest, journey: Journey, ui: dict | None = None) -> dict:
    data = map_data(journey, request.GET.get("persona"))
    _links(request, journey, *data.steps)
    can_edit = request.membership.can_edit
    table_width = LANE_COLUMN_WIDTH + STEP_COLUMN_WIDTH * len(data.slots)
    context = _base_context(request, journey) | {
        "map": data,
        "steps": data.steps,
        "chart": map_emotion_chart(data) if data.steps else None,
        "persona": data.persona,
        "ui": ui or {},
        "table_width": table_width,
        # Printed, the map is scaled to the width of landscape A3 (map.css), columns and curve alike.
        "print_zoom": f"{min(1.0, PRINT_WIDTH / table_width):.3f}",
    }
    if can_edit:
        context["add_step_form"] = (ui or {}).get("add_step_form") or StepAddForm(
            journey=journey, phases=data.phases, initial={"revision": journey.revision}, auto_id="add-step-%s"
        )
        context["add_phase_form"] = (ui or {}).get("add_phase_form") or PhaseNameForm(
            initial={"revision": journey.revision}, auto_id="add-phase-%s"
        )
    return context


def _board(
    request: HttpRequest, journey: Journey, *, ui: dict | None = None, status: int = 200
) -> HttpResponse:
    """The board (htmx) or the whole page."""
    template = "journeys/journey_map.html#board" if request.htmx else "journeys/journey_map.html"
    response = render(request, template, _context(request, journey, ui), status=status)
    if request.htmx:
        retarget(response, "#map-board")
        reswap(response, "outerHTML")
    return response


def _done(
    request: HttpRequest, journey: Journey, *, notice: dict | None = None, anchor: str = ""
) -> HttpResponse:
    """After a successful structural change: the fresh board (htmx), or back to the map."""
    if request.htmx:
        return _board(request, journey, ui={"notice": notice} if notice else None)
    if notice:
        messages.success(request, notice["text"])
    return redirect(_map_url(request, journey, anchor))


def _conflict(
    request: HttpRequest, journey: Journey, text: str = CONFLICT_STRUCTURE, *, kept: str = "", **ui
) -> HttpResponse:
    """The fresh board with why the change was refused (and `kept`: what the editor had typed)."""
    notice = {"level": "conflict", "text": text, "kept": kept}
    return _board(request, _journey(request, journey.pk), ui={"notice": notice, **ui}, status=409)


def _invalid(request: HttpRequest, journey: Journey, text: str, **ui) -> HttpResponse:
    return _board(request, journey, ui={"notice": {"level": "error", "text": text}, **ui}, status=422)


@require_GET
@workspace_view()
def journey_map(request: HttpRequest, journey_id: int) -> HttpResponse:
    """The journey map: read-only for viewers, editable in place for editors."""
    journey = _journey(request, journey_id)
    if request.htmx and request.htmx.target == "map-board":
        return render(request, "journeys/journey_map.html#board", _context(request, journey))
    return render(request, "journeys/journey_map.html", _context(request, journey))


# --- cells: the step's text lanes, its name and its moment of truth ---------------------------------------


def _lane(request: HttpRequest) -> Lane:
    lane = LANES.get(request.GET.get("lane") or request.POST.get("lane") or "")
    if lane is None:
        raise Http404("No such lane.")
    return lane


def _cell(
    request: HttpRequest, journey: Journey, step: Step, lane: Lane, ui: dict, status: int = 200
) -> HttpResponse:
    """One cell (htmx) or the whole map with that cell as `ui` says."""
    if not request.htmx:
        return _board(request, journey, ui=ui, status=status)
    _links(request, journey, step)
    context = _base_context(request, journey, step=step, lane=lane.key, label=lane.label, ui=ui, oob=True)
    context["value"] = getattr(step, lane.fields[0])
    return render(request, lane.template, context, status=status)


def _typed(request: HttpRequest) -> str:
    return (
        request.POST.get("text") or request.POST.get("name") or request.POST.get("moment_of_truth_why") or ""
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def step_cell(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    """GET: a cell (`?edit=1`: its edit form). POST: save the cell; refused with 409 when the lane
    changed since the form was loaded (the fresh content shown, the typed text kept)."""
    journey = _journey(request, journey_id)
    lane = _lane(request)
    if request.method == "GET":
        step = _step(request, journey, step_id)
        if not request.GET.get("edit"):
            return _cell(request, journey, step, lane, {})
        require_role(request.membership, Role.EDITOR, request)
        return _cell(request, journey, step, lane, {"cell": (step.pk, lane.key), "form": lane.form(step)})

    step = scoped(request.workspace, Step).filter(pk=step_id, journey=journey).first()
    if step is None:  # deleted while the cell was being edited: say so rather than swallow the edit
        return _conflict(request, journey, STEP_GONE, kept=_typed(request))
    step.journey = journey
    form = lane.form(step, request.POST)
    ui = {"cell": (step.pk, lane.key), "form": form}
    if not form.is_valid():
        return _cell(request, journey, step, lane, ui, status=422)
    try:
        maps.step_update(
            step=step,
            actor=request.membership,
            revision=form.cleaned_data["revision"],
            digest=form.cleaned_data["digest"] or None,
            changes=form.changes(),
        )
    except maps.StaleEdit as stale:
        current = stale.current
        current.journey = journey
        data = request.POST.copy()
        data["revision"] = current.revision
        data["digest"] = maps.step_digest(current, lane.fields)
        kept = lane.form(current, data)
        kept.is_valid()
        return _cell(
            request, journey, current, lane, ui | {"form": kept, "conflict": CONFLICT_STEP}, status=409
        )
    except maps.StepGone:
        return _conflict(request, journey, STEP_GONE, kept=_typed(request))
    except ValidationError as error:
        by_field = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for name, errors in by_field.items():
            target = name if name in form.fields else ("text" if "text" in form.fields else None)
            for message in errors:
                form.add_error(target, message)
        return _cell(request, journey, step, lane, ui, status=422)
    if not request.htmx:
        return redirect(_map_url(request, journey, f"step-{step.pk}"))
    return _cell(request, journey, step, lane, {})


# --- emotions ------------------------------------------------------------------------------------------------


@require_POST
@workspace_view()
def step_emotion(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    """Set the step's emotion score, or a persona's (with `persona`)."""
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    form = EmotionForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        return _invalid(request, journey, "Choose an emotion from −2 to +2.")
    persona = form.cleaned_data["persona"]
    score = form.cleaned_data["score"]
    try:
        if persona:
            maps.step_persona_emotion_set(
                step=step,
                persona=persona,
                actor=request.membership,
                revision=form.cleaned_data["revision"],
                score=score,
                based_on=form.cleaned_data["based_on"],
            )
        else:
            maps.step_update(
                step=step,
                actor=request.membership,
                revision=form.cleaned_data["revision"],
                changes={"emotion": score},
                digest=maps.lanes_digest({"emotion": form.cleaned_data["based_on"]}),
            )
    except maps.StaleEdit:
        return _conflict(
            request,
            journey,
            f"Someone else changed the emotion of “{step.name}” while you were looking at it, so yours was "
            "not saved. The map shows the current score: choose again to replace it.",
        )
    return _done(request, journey, anchor=f"step-{step.pk}")


# --- touchpoints ---------------------------------------------------------------------------------------------


def _touchpoints(
    request: HttpRequest, journey: Journey, step: Step, ui: dict, status: int = 200
) -> HttpResponse:
    if not request.htmx:
        return _board(request, journey, ui=ui, status=status)
    step.touchpoint_list = list(
        scoped(request.workspace, Touchpoint).filter(step=step).order_by("position", "pk")
    )
    _links(request, journey, step)
    context = _base_context(request, journey, step=step, ui=ui)
    return render(request, "journeys/map/_touchpoints.html", context, status=status)


@require_http_methods(["GET", "POST"])
@workspace_view()
def touchpoint_add(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    require_role(request.membership, Role.EDITOR, request)
    if request.method == "GET":
        if request.GET.get("cancel"):
            return _touchpoints(request, journey, step, {})
        return _touchpoints(
            request, journey, step, {"tp_step": step.pk, "tp_form": TouchpointForm.for_new(step)}
        )
    form = TouchpointForm.for_new(step, request.POST)
    ui = {"tp_step": step.pk, "tp_form": form}
    if not form.is_valid():
        return _touchpoints(request, journey, step, ui, status=422)
    try:
        maps.touchpoint_create(step=step, actor=request.membership, **form.changes())
    except ValidationError as error:
        form.add_error(None, error)
        return _touchpoints(request, journey, step, ui, status=422)
    if not request.htmx:
        return redirect(_map_url(request, journey, f"step-{step.pk}"))
    return _touchpoints(request, journey, step, {})


@require_http_methods(["GET", "POST"])
@workspace_view()
def touchpoint_edit(request: HttpRequest, journey_id: int, step_id: int, touchpoint_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    require_role(request.membership, Role.EDITOR, request)
    touchpoint = scoped(request.workspace, Touchpoint).filter(pk=touchpoint_id, step=step).first()
    if touchpoint is None:
        if request.method == "GET":
            raise Http404("No such touchpoint on this step.")
        return _conflict(request, journey, TOUCHPOINT_GONE, kept=request.POST.get("name", ""))
    touchpoint.step = step
    if request.method == "GET":
        form = TouchpointForm.for_touchpoint(touchpoint, step)
        return _touchpoints(
            request, journey, step, {"tp_step": step.pk, "tp_edit": touchpoint.pk, "tp_form": form}
        )
    form = TouchpointForm.for_touchpoint(touchpoint, step, request.POST)
    ui = {"tp_step": step.pk, "tp_edit": touchpoint.pk, "tp_form": form}
    if not form.is_valid():
        return _touchpoints(request, journey, step, ui, status=422)
    try:
        maps.touchpoint_update(
            touchpoint=touchpoint,
            actor=request.membership,
            revision=form.cleaned_data["revision"],
            digest=form.cleaned_data["digest"] or None,
            **form.changes(),
        )
    except maps.StaleEdit:
        fresh_step = _step(request, journey, step_id)
        fresh = scoped(request.workspace, Touchpoint).filter(pk=touchpoint.pk).first()
        data = request.POST.copy()
        data["revision"] = fresh_step.revision
        if fresh is None:
            return _conflict(request, journey, TOUCHPOINT_GONE, kept=request.POST.get("name", ""))
        data["digest"] = maps.touchpoint_digest(fresh)
        kept = TouchpointForm.for_touchpoint(fresh, fresh_step, data)
        kept.is_valid()
        ui |= {"tp_form": kept, "tp_conflict": fresh}
        return _touchpoints(request, journey, fresh_step, ui, status=409)
    except ValidationError as error:
        form.add_error(None, error)
        return _touchpoints(request, journey, step, ui, status=422)
    if not request.htmx:
        return redirect(_map_url(request, journey, f"step-{step.pk}"))
    return _touchpoints(request, journey, step, {})


@require_POST
@workspace_view()
def touchpoint_delete(
    request: HttpRequest, journey_id: int, step_id: int, touchpoint_id: int
) -> HttpResponse:
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    touchpoint = get_scoped(request.workspace, Touchpoint, pk=touchpoint_id, step=step)
    touchpoint.step = step
    maps.touchpoint_delete(touchpoint=touchpoint, actor=request.membership)
    if not request.htmx:
        return redirect(_map_url(request, journey, f"step-{step.pk}"))
    return _touchpoints(request, journey, step, {})


# --- structure: steps and phases -------------------------------------------------------------------------


def _phases(request: HttpRequest, journey: Journey) -> list[Phase]:
    return list(scoped(request.workspace, Phase).filter(journey=journey).order_by("position", "pk"))


@require_POST
@workspace_view()
def step_add(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    form = StepAddForm(request.POST, journey=journey, phases=_phases(request, journey), auto_id="add-step-%s")
    if not form.is_valid():
        return _invalid(request, journey, "The step was not added: see the form.", add_step_form=form)
    try:
        step = maps.step_create(
            journey=journey,
            actor=request.membership,
            revision=form.cleaned_data["revision"],
            name=form.cleaned_data["name"],
            phase=form.cleaned_data["phase"],
            index=form.cleaned_data["index"],
        )
    except maps.StaleEdit:
        return _conflict(
            request,
            journey,
            CONFLICT_STRUCTURE
            + f" The step you were adding, “{form.cleaned_data['name']}”, is still in the form.",
            add_step_form=_rebound(form, journey, request),
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _invalid(request, journey, "The step was not added: see the form.", add_step_form=form)
    return _done(
        request,
        journey,
        anchor=f"step-{step.pk}",
        notice={
            "level": "success",
            "text": f"Step “{step.name}” added.",
            "focus": "add-step-name",  # ready for the next step
            "reveal": f"step-{step.pk}",
        },
    )


def _rebound(form, journey: Journey, request: HttpRequest):
    """The form as the editor filled it, on the journey's current revision (a second submit is
    deliberate)."""
    journey.refresh_from_db(fields=["revision"])
    data = request.POST.copy()
    data["revision"] = journey.revision
    kwargs = {"auto_id": form.auto_id}
    if isinstance(form, StepAddForm):
        kwargs |= {"journey": journey, "phases": _phases(request, journey)}
    rebound = type(form)(data, **kwargs)
    rebound.is_valid()
    return rebound


@require_POST
@workspace_view()
def step_move(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    """Move a step: one place left or right (keyboard), or to a phase and place (drag and drop)."""
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    form = StepMoveForm(request.POST, phases=_phases(request, journey))
    if not form.is_valid():
        return _invalid(
            request,
            journey,
            "The step was not moved: " + " ".join(e for errs in form.errors.values() for e in errs),
        )
    data = form.cleaned_data
    try:
        if data["direction"]:
            maps.step_shift(
                step=step,
                actor=request.membership,
                revision=data["revision"],
                offset=-1 if data["direction"] == "left" else 1,
            )
        else:
            maps.step_move(
                step=step,
                actor=request.membership,
                revision=data["revision"],
                phase=data["phase"],
                index=data["index"],
            )
    except maps.StaleEdit:
        return _conflict(request, journey)
    return _done(
        request,
        journey,
        anchor=f"step-{step.pk}",
        notice={"level": "moved", "text": f"Moved “{step.name}”.", "focus": f"step-{step.pk}"},
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def step_delete(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    """GET: the confirmation (what the deletion unpins). POST: delete the step; its insights and
    opportunities stay in their repositories."""
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    require_role(request.membership, Role.EDITOR, request)
    pins = maps.step_pins(step)
    kpi_count = scoped(request.workspace, Kpi).filter(Q(step=step) | Q(touchpoint__step=step)).count()
    form = StepDeleteForm(
        request.POST if request.method == "POST" else None,
        initial={"revision": journey.revision, "step_revision": step.revision},
    )
    if request.method == "POST" and form.is_valid():
        try:
            unpinned = maps.step_delete(
                step=step,
                actor=request.membership,
                revision=form.cleaned_data["revision"],
                step_revision=form.cleaned_data["step_revision"],
            )
        except maps.StaleEdit:
            return _conflict(
                request,
                journey,
                f"Someone else changed “{step.name}” or this journey's steps since you asked to delete it, so "
                "nothing was deleted. Check the map below and delete again if you still want to.",
            )
        text = f"Step “{step.name}” deleted."
        if unpinned.insights or unpinned.opportunities:
            pinned = [
                _count(unpinned.insights, "insight", "insights"),
                _count(unpinned.opportunities, "opportunity", "opportunities"),
            ]
            one = unpinned.insights + unpinned.opportunities == 1
            where = " and ".join(
                place
                for place, count in (
                    ("the insight repository", unpinned.insights),
                    ("the backlog", unpinned.opportunities),
                )
                if count
            )
            text += (
                f" {' and '.join(p for p in pinned if p)} {'was' if one else 'were'} unpinned; "
                f"{'it is' if one else 'they are'} still in {where}."
            )
        return _done(request, journey, notice={"level": "success", "text": text})
    context = _base_context(request, journey, step=step, pins=pins, kpi_count=kpi_count, form=form)
    template = "journeys/map/step_delete.html#dialog" if request.htmx else "journeys/map/step_delete.html"
    return render(request, template, context, status=422 if request.method == "POST" else 200)


@require_POST
@workspace_view()
def phase_add(request: HttpRequest, journey_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    form = PhaseNameForm(request.POST, auto_id="add-phase-%s")
    if not form.is_valid():
        return _invalid(request, journey, "The phase was not added: see the form.", add_phase_form=form)
    try:
        phase = maps.phase_create(
            journey=journey,
            actor=request.membership,
            revision=form.cleaned_data["revision"],
            name=form.cleaned_data["name"],
        )
    except maps.StaleEdit:
        return _conflict(request, journey, add_phase_form=_rebound(form, journey, request))
    except ValidationError as error:
        form.add_error(None, error)
        return _invalid(request, journey, "The phase was not added: see the form.", add_phase_form=form)
    return _done(
        request,
        journey,
        notice={"level": "success", "text": f"Phase “{phase.name}” added.", "focus": "add-phase-name"},
    )


def _phase(request: HttpRequest, journey: Journey, phase_id: int) -> Phase:
    phase = get_scoped(request.workspace, Phase, pk=phase_id, journey=journey)
    phase.journey = journey
    return phase


@require_http_methods(["GET", "POST"])
@workspace_view()
def phase_rename(request: HttpRequest, journey_id: int, phase_id: int) -> HttpResponse:
    """GET: the phase's name as a form in the board's header. POST: rename it."""
    journey = _journey(request, journey_id)
    phase = _phase(request, journey, phase_id)
    require_role(request.membership, Role.EDITOR, request)
    if request.method == "GET":
        form = PhaseNameForm(
            initial={"name": phase.name, "revision": journey.revision}, auto_id=f"phase{phase.pk}-%s"
        )
        return _board(request, journey, ui={"phase_edit": phase.pk, "phase_form": form})
    form = PhaseNameForm(request.POST, auto_id=f"phase{phase.pk}-%s")
    if not form.is_valid():
        return _invalid(
            request, journey, "The phase was not renamed: see the form.", phase_edit=phase.pk, phase_form=form
        )
    try:
        maps.phase_rename(
            phase=phase,
            actor=request.membership,
            revision=form.cleaned_data["revision"],
            name=form.cleaned_data["name"],
        )
    except maps.StaleEdit:
        return _conflict(request, journey, phase_edit=phase.pk, phase_form=_rebound(form, journey, request))
    except ValidationError as error:
        form.add_error(None, error)
        return _invalid(
            request, journey, "The phase was not renamed: see the form.", phase_edit=phase.pk, phase_form=form
        )
    return _done(request, journey)


@require_POST
@workspace_view()
def phase_move(request: HttpRequest, journey_id: int, phase_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    phase = _phase(request, journey, phase_id)
    form = PhaseMoveForm(request.POST)
    if not form.is_valid():
        return _invalid(request, journey, "The phase was not moved.")
    data = form.cleaned_data
    try:
        if data["direction"]:
            maps.phase_shift(
                phase=phase,
                actor=request.membership,
                revision=data["revision"],
                offset=-1 if data["direction"] == "left" else 1,
            )
        else:
            maps.phase_move(
                phase=phase, actor=request.membership, revision=data["revision"], index=data["index"]
            )
    except maps.StaleEdit:
        return _conflict(request, journey)
    return _done(
        request,
        journey,
        notice={"level": "moved", "text": f"Moved the phase “{phase.name}”.", "focus": f"phase-{phase.pk}"},
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def phase_delete(request: HttpRequest, journey_id: int, phase_id: int) -> HttpResponse:
    """GET: the confirmation (keep the steps, or delete them too). POST: delete the phase."""
    journey = _journey(request, journey_id)
    phase = _phase(request, journey, phase_id)
    require_role(request.membership, Role.EDITOR, request)
    step_ids = list(scoped(request.workspace, Step).filter(phase=phase).values_list("pk", flat=True))
    phases = _phases(request, journey)
    index = [p.pk for p in phases].index(phase.pk)
    neighbour = phases[index - 1] if index > 0 else (phases[1] if len(phases) > 1 else None)
    form = PhaseDeleteForm(
        request.POST if request.method == "POST" else None, initial={"revision": journey.revision}
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = maps.phase_delete(
                phase=phase,
                actor=request.membership,
                revision=form.cleaned_data["revision"],
                with_steps=form.cleaned_data["steps"] == "delete",
            )
        except maps.StaleEdit:
            return _conflict(request, journey)
        text = f"Phase “{phase.name}” deleted."
        if result.steps:
            its = "Its step was" if result.steps == 1 else f"Its {result.steps} steps were"
            pins = [
                _count(result.insights, "insight pin", "insight pins"),
                _count(result.opportunities, "opportunity pin", "opportunity pins"),
            ]
            text += f" {its} deleted too (a version was saved first)."
            if any(pins):
                text += (
                    f" {' and '.join(p for p in pins if p)} removed; the insights and opportunities "
                    "themselves are kept."
                )
        return _done(request, journey, notice={"level": "success", "text": text})
    insights = Insight.steps.through.objects.filter(step_id__in=step_ids).count()
    opportunities = Opportunity.steps.through.objects.filter(step_id__in=step_ids).count()
    context = _base_context(
        request,
        journey,
        phase=phase,
        step_count=len(step_ids),
        insight_pins=insights,
        opportunity_pins=opportunities,
        neighbour=neighbour,
        form=form,
    )
    template = "journeys/map/phase_delete.html#dialog" if request.htmx else "journeys/map/phase_delete.html"
    return render(request, template, context, status=422 if request.method == "POST" else 200)


# --- insights and opportunities on a step ---------------------------------------------------------------------


def _pin_panel(
    request: HttpRequest,
    journey: Journey,
    step: Step,
    *,
    form: InsightQuickForm | None = None,
    status: int = 200,
) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    candidates = scoped(request.workspace, Insight).exclude(steps=step).order_by("-updated_at", "-pk")
    if query:
        candidates = candidates.filter(Q(title__icontains=query) | Q(description__icontains=query))
    ui = {
        "pin_step": step.pk,
        "pin_query": query,
        "pin_results": list(candidates[:PIN_SEARCH_LIMIT]),
        "insight_form": form or InsightQuickForm(auto_id=f"s{step.pk}-new-insight-%s"),
    }
    if not request.htmx:
        return _board(request, journey, ui=ui, status=status)
    _links(request, journey, step)
    context = _base_context(request, journey, step=step, ui=ui, persona=_selected(request))
    response = render(request, "journeys/map/_pin_dialog.html", context, status=status)
    if request.method == "POST":
        retarget(response, "#map-dialog")
        reswap(response, "innerHTML")
    return response


def _selected(request: HttpRequest) -> Persona | None:
    persona = request.GET.get("persona", "")
    return scoped(request.workspace, Persona).filter(pk=persona).first() if persona.isdigit() else None


@require_http_methods(["GET", "POST"])
@workspace_view()
def step_insights(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    """GET: the panel to pin an existing insight (`?q=` searches the repository) or create one here.
    POST: pin the chosen insight to the step."""
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    require_role(request.membership, Role.EDITOR, request)
    if request.method == "GET":
        return _pin_panel(request, journey, step)
    form = PinForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        return _invalid(request, journey, "Choose an insight of this workspace to pin.")
    insight = form.cleaned_data["insight"]
    insight_services.insights_pin(
        workspace=request.workspace, insights=[insight], step=step, actor=request.membership
    )
    return _done(
        request,
        journey,
        anchor=f"step-{step.pk}",
        notice={"level": "success", "text": f"Pinned “{insight.title}” to “{step.name}”."},
    )


@require_POST
@workspace_view()
def step_insight_create(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    """Create an insight on this step (about the persona the map is seen through, if any)."""
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    form = InsightQuickForm(request.POST, auto_id=f"s{step.pk}-new-insight-%s")
    if not form.is_valid():
        return _pin_panel(request, journey, step, form=form, status=422)
    persona = _selected(request)
    try:
        insight = insight_services.insight_create(
            workspace=request.workspace,
            actor=request.membership,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            kind=form.cleaned_data["kind"],
            source=form.cleaned_data["source"],
            severity=form.cleaned_data["severity"],
            personas=[persona] if persona else (),
            steps=[step],
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _pin_panel(request, journey, step, form=form, status=422)
    return _done(
        request,
        journey,
        anchor=f"step-{step.pk}",
        notice={"level": "success", "text": f"Insight “{insight.title}” created on “{step.name}”."},
    )


@require_POST
@workspace_view()
def step_insight_unpin(request: HttpRequest, journey_id: int, step_id: int, insight_id: int) -> HttpResponse:
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    insight = get_scoped(request.workspace, Insight, pk=insight_id)
    insight_services.insight_unpin(insight=insight, step=step, actor=request.membership)
    return _done(
        request,
        journey,
        anchor=f"step-{step.pk}",
        notice={
            "level": "success",
            "text": f"Unpinned “{insight.title}” from “{step.name}”; it stays in the insight repository.",
        },
    )


@require_POST
@workspace_view()
def step_opportunity_create(
    request: HttpRequest, journey_id: int, step_id: int, insight_id: int
) -> HttpResponse:
    """Create an opportunity from a pain point pinned to this step, in one action."""
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    insight = get_scoped(request.workspace, Insight.objects.filter(steps=step), pk=insight_id)
    opportunity = maps.opportunity_create_from_insight(step=step, insight=insight, actor=request.membership)
    url = reverse("opportunities:detail", args=[request.workspace.slug, opportunity.pk])
    return _done(
        request,
        journey,
        anchor=f"step-{step.pk}",
        notice={
            "level": "success",
            "text": f"Opportunity “{opportunity.title}” created from the pain point.",
            "link": url,
            "link_text": "Open it to score it",
        },
    )


@require_GET
@workspace_view()
def step_comments(request: HttpRequest, journey_id: int, step_id: int) -> HttpResponse:
    """The comments on a step, in a dialog over the map (without htmx: the thread's own page)."""
    journey = _journey(request, journey_id)
    step = _step(request, journey, step_id)
    if not request.htmx:
        return redirect("collaboration:thread", slug=request.workspace.slug, step_id=step.pk)
    return render(request, "journeys/map/_comments_dialog.html", _base_context(request, journey, step=step))


# --- the journey's details --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@workspace_view()
def journey_edit(request: HttpRequest, journey_id: int) -> HttpResponse:
    """Edit the journey's name, description, status, owner and personas. A save on top of someone
    else's newer change is refused, with the current values shown and the form kept."""
    journey = _journey(request, journey_id)
    require_role(request.membership, Role.EDITOR, request)
    conflict = None
    if request.method != "POST":
        form = JourneyForm(initial=JourneyForm.initial_for(journey), workspace=request.workspace)
    else:
        form = JourneyForm(request.POST, workspace=request.workspace)
        if form.is_valid():
            try:
                maps.journey_update(
                    journey=journey,
                    actor=request.membership,
                    revision=form.cleaned_data["revision"],
                    personas=form.cleaned_data["personas"],
                    **form.changes(),
                )
            except maps.StaleEdit as stale:
                conflict = _journey(request, journey_id)
                data = request.POST.copy()
                data["revision"] = stale.current.revision
                form = JourneyForm(data, workspace=request.workspace)
                form.is_valid()
                form.add_error(
                    None,
                    "Someone else changed this journey while you were editing it. Its current details are "
                    "listed beside the form; your changes are kept in the form — save again to apply them.",
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Journey details saved.")
                return redirect("journeys:journey", request.workspace.slug, journey.pk)
    context = {"journey": journey, "form": form, "conflict": conflict, "nav": "atlas"}
    return render(request, "journeys/map/journey_edit.html", context, status=409 if conflict else 200)


@require_http_methods(["GET", "POST"])
@workspace_view()
def journey_delete(request: HttpRequest, journey_id: int) -> HttpResponse:
    """Delete the journey after a confirmation that says what goes with it and what stays."""
    journey = _journey(request, journey_id)
    require_role(request.membership, Role.EDITOR, request)
    form = RevisionForm(
        request.POST if request.method == "POST" else None, initial={"revision": journey.revision}
    )
    if request.method == "POST" and form.is_valid():
        macro = journey.macro_journey
        try:
            maps.journey_delete(
                journey=journey, actor=request.membership, revision=form.cleaned_data["revision"]
            )
        except maps.StaleEdit:
            messages.error(
                request,
                "Someone else changed this journey since you opened this page: check it, then delete again.",
            )
            return redirect("journeys:journey_delete", request.workspace.slug, journey.pk)
        messages.success(
            request, f"Journey “{journey.name}” deleted. Its insights and opportunities are kept."
        )
        return redirect(
            reverse("journeys:atlas", args=[request.workspace.slug])
            + f"?lifecycle={macro.stage.lifecycle_id}"
        )
    steps = scoped(request.workspace, Step).filter(journey=journey)
    context = {
        "journey": journey,
        "form": form,
        "step_count": steps.count(),
        "insight_pins": Insight.steps.through.objects.filter(step__journey=journey).count(),
        "opportunity_pins": Opportunity.steps.through.objects.filter(step__journey=journey).count(),
        "kpi_count": scoped(request.workspace, Kpi)
        .filter(Q(journey=journey) | Q(step__journey=journey) | Q(touchpoint__step__journey=journey))
        .count(),
        "nav": "atlas",
    }
    return render(request, "journeys/map/journey_delete.html", context)
