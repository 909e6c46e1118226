"""The atlas overview: the journey framework at a glance, edited in place.

Every write works twice: with htmx it answers the re-rendered atlas body (the page head, the lifecycle
tabs, the summary and the stage columns), with a form that failed left open and its errors inline; without
JavaScript it redirects back to the atlas (or shows the form on a page of its own when it failed). Reads
go through journeys.atlas_selectors, writes through journeys.services.framework."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from atlas.models import Role
from atlas.tenancy import get_scoped, require_role, workspace_view
from journeys import atlas_selectors
from journeys.atlas_forms import (
    JourneyCreateForm,
    LifecycleCreateForm,
    LifecycleForm,
    MacroJourneyCreateForm,
    MacroJourneyForm,
    MoveForm,
    StageDeleteForm,
    StageForm,
)
from journeys.models import Journey, Lifecycle, LifecycleStage, MacroJourney
from journeys.services import framework

BODY = "journeys/atlas/_body.html"
FORM_PAGE = "journeys/atlas/form_page.html"


# --- helpers -------------------------------------------------------------------------------------------------


def atlas_url(workspace, lifecycle_id: int | None = None, anchor: str = "") -> str:
    url = reverse("journeys:atlas", args=[workspace.slug])
    if lifecycle_id:
        url += f"?lifecycle={lifecycle_id}"
    return f"{url}#{anchor}" if anchor else url


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for key, problems in error.message_dict.items():
            form.add_error(key if key in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


def _context(request: HttpRequest, lifecycle_id, **extra) -> dict:
    board = atlas_selectors.atlas_board(request.workspace, lifecycle_id)
    can_edit = request.membership.can_edit
    context = {
        "nav": "atlas",
        "lifecycles": board.lifecycles,
        "lifecycle": board.lifecycle,
        "stages": board.stages,
        "summary": board.summary,
        "can_edit": can_edit,
    }
    if can_edit and board.lifecycle is not None:
        context["new_stage_form"] = StageForm(auto_id="new-stage-%s")
        for stage in board.stages:
            stage.add_form = MacroJourneyCreateForm(auto_id=f"stage-{stage.pk}-new-macro-%s")
    if can_edit and board.lifecycle is None:
        context["new_lifecycle_form"] = LifecycleCreateForm(
            initial={"name": "Customer lifecycle"}, auto_id="new-lifecycle-%s"
        )
    context.update(extra)
    return context


def _attach(context: dict, *, stage_id=None, macro_id=None, **attrs) -> None:
    """Hang forms (or flags) on the stage or macro journey they belong to, for the template."""
    for stage in context["stages"]:
        if stage.pk == stage_id:
            for name, value in attrs.items():
                setattr(stage, name, value)
        for macro in stage.macros:
            if macro.pk == macro_id:
                for name, value in attrs.items():
                    setattr(macro, name, value)


def _body(request: HttpRequest, lifecycle_id, *, stage_id=None, macro_id=None, extra=None, **attrs):
    """The atlas body (htmx), with forms or flags attached to one stage or macro journey."""
    context = _context(request, lifecycle_id, **(extra or {}))
    if attrs:
        _attach(context, stage_id=stage_id, macro_id=macro_id, **attrs)
    if macro_id and attrs.get("menu_open"):
        context["stage_groups"] = atlas_selectors.stage_choices(request.workspace)
    context["oob_breadcrumbs"] = True
    response = render(request, BODY, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _form_page(request: HttpRequest, *, title: str, form, action: str, lifecycle=None, **extra):
    """A form on a page of its own: the way in without JavaScript, and where such a form's errors show."""
    context = {
        "nav": "atlas",
        "title": title,
        "form": form,
        "action": action,
        "lifecycle": lifecycle,
        "cancel_url": atlas_url(
            request.workspace, lifecycle.pk if lifecycle else None, extra.get("anchor", "")
        ),
        **extra,
    }
    return render(request, FORM_PAGE, context)


def _done(request: HttpRequest, lifecycle_id, message: str, anchor: str = "", **focus) -> HttpResponse:
    """After a write: the atlas body (htmx; `focus` as for `_body`), else back to the atlas at `anchor`."""
    if request.htmx:
        return _body(request, lifecycle_id, **focus)
    messages.success(request, message)
    return redirect(atlas_url(request.workspace, lifecycle_id, anchor))


def _focus(form, field: str = "name"):
    """The inline form opens with the cursor in its first field."""
    form.fields[field].widget.attrs["autofocus"] = True
    return form


def _menu(request: HttpRequest, kind: str, *, siblings, **context) -> HttpResponse:
    """A stage's or macro journey's menu. The atlas renders only its trigger: the actions (with their
    forms, CSRF tokens and the "move to stage" choices) are fetched when the menu opens. Measured on a
    workspace of 400 journeys in 80 macro journeys: 313 KB of the page's 769 KB were these menus; with
    them loaded on demand and the icons in one sprite the page is 429 KB."""
    order = list(siblings.values_list("pk", flat=True))
    obj = context[kind]
    context |= {"kind": kind, "is_first": order[:1] == [obj.pk], "is_last": order[-1:] == [obj.pk]}
    if request.htmx:
        response = render(request, f"journeys/atlas/_{kind}_menu.html", context)
    else:
        lifecycle = context["lifecycle"]
        context |= {
            "nav": "atlas",
            "crumb": obj.name if kind == "stage" else "Actions",
            "cancel_url": atlas_url(request.workspace, lifecycle.pk, f"{kind}-{obj.pk}"),
        }
        response = render(request, "journeys/atlas/menu_page.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _stage(request: HttpRequest, stage_id: int) -> LifecycleStage:
    return get_scoped(request.workspace, LifecycleStage.objects.select_related("lifecycle"), pk=stage_id)


def _macro(request: HttpRequest, macro_id: int) -> MacroJourney:
    return get_scoped(
        request.workspace, MacroJourney.objects.select_related("stage__lifecycle", "owner__user"), pk=macro_id
    )


# --- the atlas ----------------------------------------------------------------------------------------------


@require_GET
@workspace_view()
def atlas(request: HttpRequest) -> HttpResponse:
    """The journey framework at a glance: the chosen lifecycle's stages as columns, their macro
    journeys and journeys with kind, owner, primary persona and health."""
    context = _context(request, request.GET.get("lifecycle"))
    htmx = request.htmx
    if htmx and htmx.target == "atlas-body" and not htmx.history_restore_request:
        context["oob_breadcrumbs"] = True
        response = render(request, BODY, context)
    else:
        response = render(request, "journeys/atlas.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


# --- lifecycles ----------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@workspace_view()
def lifecycle_create(request: HttpRequest) -> HttpResponse:
    require_role(request.membership, Role.EDITOR, request)
    form = LifecycleCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle = framework.lifecycle_create(
                workspace=request.workspace,
                actor=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                stage_names=form.stage_names(),
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            url = atlas_url(request.workspace, lifecycle.pk)
            if request.htmx:
                return HttpResponseClientRedirect(url)
            messages.success(request, f"Lifecycle “{lifecycle.name}” created.")
            return redirect(url)
    return _form_page(
        request,
        title="New lifecycle",
        form=form,
        action=reverse("journeys:lifecycle_create", args=[request.workspace.slug]),
        intro="A lifecycle is the sequence of stages a customer (or an employee) goes through. Its stages "
        "become the columns of the atlas.",
        submit="Create lifecycle",
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def lifecycle_edit(request: HttpRequest, lifecycle_id: int) -> HttpResponse:
    lifecycle = get_scoped(request.workspace, Lifecycle, pk=lifecycle_id)
    require_role(request.membership, Role.EDITOR, request)
    if request.method == "POST":
        form = LifecycleForm(request.POST, auto_id="lifecycle-%s")
        if form.is_valid():
            try:
                framework.lifecycle_update(lifecycle=lifecycle, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                return _done(request, lifecycle.pk, f"Lifecycle renamed to “{lifecycle.name}”.")
    else:
        form = _focus(LifecycleForm(initial=LifecycleForm.initial_for(lifecycle), auto_id="lifecycle-%s"))
    if request.htmx:
        return _body(request, lifecycle.pk, extra={"lifecycle_form": form})
    return _form_page(
        request,
        title=f"Rename “{lifecycle.name}”",
        form=form,
        action=reverse("journeys:lifecycle_edit", args=[request.workspace.slug, lifecycle.pk]),
        lifecycle=lifecycle,
        submit="Save",
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def lifecycle_delete(request: HttpRequest, lifecycle_id: int) -> HttpResponse:
    lifecycle = get_scoped(request.workspace, Lifecycle, pk=lifecycle_id)
    require_role(request.membership, Role.EDITOR, request)
    stages = list(LifecycleStage.objects.filter(lifecycle=lifecycle).order_by("position"))
    macro_count = MacroJourney.objects.filter(stage__lifecycle=lifecycle).count()
    error = None
    if request.method == "POST":
        try:
            framework.lifecycle_delete(lifecycle=lifecycle, actor=request.user)
        except ValidationError as refused:
            error = refused.messages[0]
        else:
            messages.success(request, f"Lifecycle “{lifecycle.name}” deleted.")
            return redirect(atlas_url(request.workspace))
    return render(
        request,
        "journeys/atlas/confirm_delete.html",
        {
            "nav": "atlas",
            "kind": "lifecycle",
            "crumb": "Delete",
            "object": lifecycle,
            "lifecycle": lifecycle,
            "stages": stages,
            "blocked": macro_count,
            "error": error,
            "action": reverse("journeys:lifecycle_delete", args=[request.workspace.slug, lifecycle.pk]),
            "cancel_url": atlas_url(request.workspace, lifecycle.pk),
        },
        status=400 if error else 200,
    )


# --- stages --------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@workspace_view()
def stage_create(request: HttpRequest, lifecycle_id: int) -> HttpResponse:
    lifecycle = get_scoped(request.workspace, Lifecycle, pk=lifecycle_id)
    require_role(request.membership, Role.EDITOR, request)
    form = StageForm(request.POST or None, auto_id="new-stage-%s")
    if request.method == "POST" and form.is_valid():
        try:
            stage = framework.stage_create(lifecycle=lifecycle, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(
                request,
                lifecycle.pk,
                f"Stage “{stage.name}” added.",
                f"stage-{stage.pk}",
                extra={"new_stage_open": True},
            )
    if request.htmx:
        return _body(request, lifecycle.pk, extra={"new_stage_form": form, "new_stage_open": True})
    return _form_page(
        request,
        title=f"New stage in “{lifecycle.name}”",
        form=form,
        action=reverse("journeys:stage_create", args=[request.workspace.slug, lifecycle.pk]),
        lifecycle=lifecycle,
        submit="Add stage",
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def stage_edit(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Rename a stage. With htmx, GET answers the header's inline form."""
    stage = _stage(request, stage_id)
    require_role(request.membership, Role.EDITOR, request)
    auto_id = f"stage-{stage.pk}-%s"
    if request.method == "POST":
        form = StageForm(request.POST, auto_id=auto_id)
        if form.is_valid():
            try:
                framework.stage_update(stage=stage, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                _add_errors(form, error)
            else:
                return _done(request, stage.lifecycle_id, "Stage saved.", f"stage-{stage.pk}")
        if request.htmx:
            return _body(request, stage.lifecycle_id, stage_id=stage.pk, edit_form=form)
    else:
        form = _focus(StageForm(initial=StageForm.initial_for(stage), auto_id=auto_id))
        if request.htmx:
            return render(request, "journeys/atlas/_stage_form.html", {"stage": stage, "form": form})
    return _form_page(
        request,
        title=f"Rename the stage “{stage.name}”",
        form=form,
        action=reverse("journeys:stage_edit", args=[request.workspace.slug, stage.pk]),
        lifecycle=stage.lifecycle,
        anchor=f"stage-{stage.pk}",
        submit="Save",
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def stage_move(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Move a stage one column left or right, or to a column (drag and drop). GET answers the stage's
    menu (rename, move, delete): its actions with htmx, when the menu opens, else a page of its own."""
    stage = _stage(request, stage_id)
    if request.method == "GET":
        require_role(request.membership, Role.EDITOR, request)
        siblings = LifecycleStage.objects.filter(lifecycle_id=stage.lifecycle_id).order_by("position")
        return _menu(request, "stage", stage=stage, siblings=siblings, lifecycle=stage.lifecycle)
    form = MoveForm(request.POST, workspace=request.workspace)
    if form.is_valid():
        framework.stage_move(stage=stage, actor=request.user, **form.move())
        # The menu stays open on the moved stage, so the keyboard can keep moving it.
        return _done(
            request,
            stage.lifecycle_id,
            f"Stage “{stage.name}” moved.",
            f"stage-{stage.pk}",
            stage_id=stage.pk,
            menu_open=form.cleaned_data["position"] is None,
        )
    if request.htmx:
        return _body(request, stage.lifecycle_id)
    messages.error(request, "Say where to move the stage.")
    return redirect(atlas_url(request.workspace, stage.lifecycle_id, f"stage-{stage.pk}"))


@require_http_methods(["GET", "POST"])
@workspace_view()
def stage_delete(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Delete a stage, after a confirmation; one that still holds macro journeys moves them first."""
    stage = _stage(request, stage_id)
    require_role(request.membership, Role.EDITOR, request)
    macros = list(MacroJourney.objects.filter(stage=stage).order_by("position"))
    form = StageDeleteForm(request.POST or None, stage=stage, holds_macro_journeys=bool(macros))
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            framework.stage_delete(
                stage=stage, actor=request.user, move_macro_journeys_to=form.cleaned_data["move_to"]
            )
        except ValidationError as refused:
            error = refused.messages[0]
        else:
            target = form.cleaned_data["move_to"]
            moved = f" Its macro journeys are now in “{target.name}”." if macros and target else ""
            messages.success(request, f"Stage “{stage.name}” deleted.{moved}")
            return redirect(atlas_url(request.workspace, (target or stage).lifecycle_id))
    return render(
        request,
        "journeys/atlas/confirm_delete.html",
        {
            "nav": "atlas",
            "kind": "stage",
            "crumb": f"Delete the stage “{stage.name}”",
            "object": stage,
            "lifecycle": stage.lifecycle,
            "macros": macros,
            "form": form,
            "error": error,
            "action": reverse("journeys:stage_delete", args=[request.workspace.slug, stage.pk]),
            "cancel_url": atlas_url(request.workspace, stage.lifecycle_id, f"stage-{stage.pk}"),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- macro journeys ------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@workspace_view()
def macro_create(request: HttpRequest, stage_id: int) -> HttpResponse:
    stage = _stage(request, stage_id)
    require_role(request.membership, Role.EDITOR, request)
    form = MacroJourneyCreateForm(request.POST or None, auto_id=f"stage-{stage.pk}-new-macro-%s")
    if request.method == "POST" and form.is_valid():
        macro = framework.macro_journey_create(
            stage=stage, actor=request.user, name=form.cleaned_data["name"]
        )
        return _done(
            request,
            stage.lifecycle_id,
            f"Macro journey “{macro.name}” added to {stage.name}.",
            f"macro-{macro.pk}",
            stage_id=stage.pk,
            add_open=True,
        )
    if request.htmx:
        return _body(request, stage.lifecycle_id, stage_id=stage.pk, add_form=form, add_open=True)
    return _form_page(
        request,
        title=f"New macro journey in “{stage.name}”",
        form=form,
        action=reverse("journeys:macro_create", args=[request.workspace.slug, stage.pk]),
        lifecycle=stage.lifecycle,
        anchor=f"stage-{stage.pk}",
        intro="A macro journey groups the journeys of one customer goal, such as “Get a mortgage”.",
        submit="Add macro journey",
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def macro_edit(request: HttpRequest, macro_id: int) -> HttpResponse:
    """Rename a macro journey, give it an owner and a description. With htmx, GET answers the card's
    inline form."""
    macro = _macro(request, macro_id)
    require_role(request.membership, Role.EDITOR, request)
    auto_id = f"macro-{macro.pk}-%s"
    if request.method == "POST":
        form = MacroJourneyForm(request.POST, workspace=request.workspace, auto_id=auto_id)
        if form.is_valid():
            framework.macro_journey_update(macro_journey=macro, actor=request.user, **form.cleaned_data)
            return _done(request, macro.stage.lifecycle_id, "Macro journey saved.", f"macro-{macro.pk}")
        if request.htmx:
            return _body(request, macro.stage.lifecycle_id, macro_id=macro.pk, edit_form=form)
    else:
        form = _focus(
            MacroJourneyForm(
                initial=MacroJourneyForm.initial_for(macro), workspace=request.workspace, auto_id=auto_id
            )
        )
        if request.htmx:
            return render(request, "journeys/atlas/_macro_form.html", {"macro": macro, "form": form})
    return _form_page(
        request,
        title=f"Edit the macro journey “{macro.name}”",
        form=form,
        action=reverse("journeys:macro_edit", args=[request.workspace.slug, macro.pk]),
        lifecycle=macro.stage.lifecycle,
        macro_journey=macro,
        anchor=f"macro-{macro.pk}",
        submit="Save",
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def macro_move(request: HttpRequest, macro_id: int) -> HttpResponse:
    """Move a macro journey up or down in its stage, to another stage, or to a place (drag and drop).
    GET answers its menu: the actions with htmx, when the menu opens, else a page of its own."""
    macro = _macro(request, macro_id)
    if request.method == "GET":
        require_role(request.membership, Role.EDITOR, request)
        siblings = MacroJourney.objects.filter(stage_id=macro.stage_id).order_by("position")
        return _menu(
            request,
            "macro",
            macro=macro,
            stage=macro.stage,
            siblings=siblings,
            lifecycle=macro.stage.lifecycle,
            stage_groups=atlas_selectors.stage_choices(request.workspace),
        )
    form = MoveForm(request.POST, workspace=request.workspace)
    if not form.is_valid():
        if request.htmx:
            return _body(request, macro.stage.lifecycle_id)
        messages.error(request, "Say where to move the macro journey.")
        return redirect(atlas_url(request.workspace, macro.stage.lifecycle_id, f"macro-{macro.pk}"))
    source_lifecycle_id = macro.stage.lifecycle_id
    target = form.cleaned_data["stage"]
    framework.macro_journey_move(macro_journey=macro, actor=request.user, stage=target, **form.move())
    if target is not None and target.lifecycle_id != source_lifecycle_id:
        # It leaves this lifecycle's board: say where it went, and stay where the user was.
        messages.success(request, f"“{macro.name}” moved to {target.lifecycle.name} › {target.name}.")
        if request.htmx:
            return _body(request, source_lifecycle_id)
        return redirect(atlas_url(request.workspace, source_lifecycle_id))
    return _done(
        request,
        source_lifecycle_id,
        f"Macro journey “{macro.name}” moved.",
        f"macro-{macro.pk}",
        macro_id=macro.pk,
        menu_open=target is None,  # up / down from the keyboard: keep the menu open for the next move
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def macro_delete(request: HttpRequest, macro_id: int) -> HttpResponse:
    macro = _macro(request, macro_id)
    require_role(request.membership, Role.EDITOR, request)
    journeys = list(Journey.objects.filter(macro_journey=macro).order_by("kind", "name"))
    error = None
    if request.method == "POST":
        try:
            framework.macro_journey_delete(macro_journey=macro, actor=request.user)
        except ValidationError as refused:
            error = refused.messages[0]
        else:
            messages.success(request, f"Macro journey “{macro.name}” deleted.")
            return redirect(atlas_url(request.workspace, macro.stage.lifecycle_id, f"stage-{macro.stage_id}"))
    return render(
        request,
        "journeys/atlas/confirm_delete.html",
        {
            "nav": "atlas",
            "kind": "macro",
            "crumb": "Delete",
            "object": macro,
            "lifecycle": macro.stage.lifecycle,
            "macro_journey": macro,
            "journeys": journeys,
            "blocked": len(journeys),
            "error": error,
            "action": reverse("journeys:macro_delete", args=[request.workspace.slug, macro.pk]),
            "cancel_url": atlas_url(request.workspace, macro.stage.lifecycle_id, f"macro-{macro.pk}"),
        },
        status=400 if error else 200,
    )


# --- journeys ------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@workspace_view()
def journey_create(request: HttpRequest, macro_id: int) -> HttpResponse:
    """A new current journey under a macro journey; then straight to its map."""
    macro = _macro(request, macro_id)
    require_role(request.membership, Role.EDITOR, request)
    form = JourneyCreateForm(
        request.POST or None,
        workspace=request.workspace,
        initial={"owner": request.membership.pk},
    )
    if request.method == "POST" and form.is_valid():
        journey = framework.journey_create(macro_journey=macro, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Journey “{journey.name}” created. Add its first steps.")
        return redirect("journeys:journey", request.workspace.slug, journey.pk)
    return render(
        request,
        "journeys/atlas/journey_create.html",
        {"nav": "atlas", "form": form, "macro_journey": macro, "lifecycle": macro.stage.lifecycle},
    )
