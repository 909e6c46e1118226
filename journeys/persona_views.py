"""The persona pages: the list, a persona (its journeys, its insights, its emotion across journeys) and
the forms to create, edit and delete one. Reads go through journeys.persona_selectors, writes through
journeys.services.framework."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from atlas.models import Role
from atlas.tenancy import get_scoped, require_role, scoped, workspace_view
from journeys import persona_selectors
from journeys.models import Insight, Persona
from journeys.persona_forms import PersonaForm
from journeys.services import framework

PERSONAS_PER_PAGE = 24
INSIGHTS_PER_PAGE = 20


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for key, problems in error.message_dict.items():
            form.add_error(key if key in form.fields else None, problems)
    else:
        form.add_error(None, error.messages)


@require_GET
@workspace_view()
def persona_list(request: HttpRequest) -> HttpResponse:
    """The workspace's personas as cards, with how many journeys and insights each has."""
    paginator = Paginator(persona_selectors.personas_with_counts(request.workspace), PERSONAS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    personas = list(page.object_list)
    for persona in personas:
        persona.hue = persona_selectors.avatar_hue(persona)
    return render(
        request,
        "journeys/personas/list.html",
        {"nav": "personas", "page": page, "personas": personas, "can_edit": request.membership.can_edit},
    )


@require_GET
@workspace_view()
def persona_detail(request: HttpRequest, persona_id: int) -> HttpResponse:
    """A persona: who they are, their journeys, their insights and their emotion across journeys."""
    workspace = request.workspace
    persona = get_scoped(workspace, Persona.objects.prefetch_related("tags"), pk=persona_id)
    insights = (
        scoped(workspace, Insight).filter(personas=persona).order_by("-severity", "-reach", "title", "pk")
    )
    insight_page = Paginator(insights, INSIGHTS_PER_PAGE).get_page(request.GET.get("page"))
    persona.hue = persona_selectors.avatar_hue(persona)
    curves = persona_selectors.persona_emotion_curves(workspace, persona)
    average = _overall_average(curves)
    return render(
        request,
        "journeys/personas/detail.html",
        {
            "nav": "personas",
            "persona": persona,
            "needs": persona_selectors.split_lines(persona.needs),
            "goals": persona_selectors.split_lines(persona.goals),
            "frustrations": persona_selectors.split_lines(persona.frustrations),
            "journeys": persona_selectors.persona_journeys(workspace, persona),
            "insight_page": insight_page,
            "curves": curves,
            "average_emotion": average,
            "average_emotion_text": None if average is None else persona_selectors.signed(average),
            "average_mood": None if average is None else persona_selectors.mood_of(average),
            "can_edit": request.membership.can_edit,
        },
    )


def _overall_average(curves: list[persona_selectors.PersonaCurve]) -> float | None:
    scored = sum(curve.scored for curve in curves)
    return sum(curve.average * curve.scored for curve in curves) / scored if scored else None


def _form_fields(form: PersonaForm) -> dict:
    data = dict(form.cleaned_data)
    data["tags"] = list(data["tags"])
    return data


@require_http_methods(["GET", "POST"])
@workspace_view()
def persona_create(request: HttpRequest) -> HttpResponse:
    require_role(request.membership, Role.EDITOR, request)
    form = PersonaForm(request.POST or None, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            persona = framework.persona_create(
                workspace=request.workspace, actor=request.user, **_form_fields(form)
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Persona “{persona.name}” created.")
            return redirect("journeys:persona", request.workspace.slug, persona.pk)
    return render(request, "journeys/personas/form.html", {"nav": "personas", "form": form, "persona": None})


@require_http_methods(["GET", "POST"])
@workspace_view()
def persona_edit(request: HttpRequest, persona_id: int) -> HttpResponse:
    persona = get_scoped(request.workspace, Persona.objects.prefetch_related("tags"), pk=persona_id)
    require_role(request.membership, Role.EDITOR, request)
    if request.method == "POST":
        form = PersonaForm(request.POST, workspace=request.workspace)
        if form.is_valid():
            try:
                framework.persona_update(persona=persona, actor=request.user, **_form_fields(form))
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"Persona “{persona.name}” saved.")
                return redirect("journeys:persona", request.workspace.slug, persona.pk)
    else:
        form = PersonaForm(initial=PersonaForm.initial_for(persona), workspace=request.workspace)
    return render(
        request, "journeys/personas/form.html", {"nav": "personas", "form": form, "persona": persona}
    )


@require_http_methods(["GET", "POST"])
@workspace_view()
def persona_delete(request: HttpRequest, persona_id: int) -> HttpResponse:
    """Delete a persona after a confirmation that says what goes with it and what stays."""
    persona = get_scoped(request.workspace, Persona, pk=persona_id)
    require_role(request.membership, Role.EDITOR, request)
    if request.method == "POST":
        framework.persona_delete(persona=persona, actor=request.user)
        messages.success(request, f"Persona “{persona.name}” deleted.")
        return redirect("journeys:persona_list", request.workspace.slug)
    return render(
        request,
        "journeys/personas/confirm_delete.html",
        {"nav": "personas", "persona": persona, "impact": framework.persona_delete_impact(persona)},
    )
