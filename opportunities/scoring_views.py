"""Settings → Scoring model (/w/<slug>/settings/scoring/): the workspace's scoring model as a readable
tree, and the admin pages that change it.

Everyone in the workspace may read the model (a transparent score is part of the product); only admins
change it. Every change goes through the same steps: an edit page (a criterion, a computed score, the
priority, a preset) builds the whole proposed model; the preview page lists the engine's objections or
shows how the top 10 would move, and carries the proposed model as JSON to `save`, which checks it
again in full before `services.scoring_model_replace` writes it. Nothing is written before Save."""

import json
from dataclasses import dataclass, field, replace

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from atlas.models import Role
from atlas.tenancy import get_scoped, workspace_view
from opportunities import scoring, services
from opportunities.models import ComputedScore, Criterion, Perspective, ScoringModel
from opportunities.scoring_api import EVIDENCE_MEANINGS, spec_data
from opportunities.scoring_forms import (
    OPERATION_HELP,
    ComputedScoreEditor,
    CriterionForm,
    PresetForm,
    PriorityForm,
    ProposedModelForm,
    number,
)

PRESET_SUMMARIES = {
    "atlas": "Customer-centric (the default): customer value = mean of the evidence and the customer "
    "criteria; business value = business criteria plus an OKR uplift; priority = 100 × value × "
    "confidence ÷ (1 + (effort − 1)/4).",
    "value_effort": "Value (half customer, half business, each 0–100 %) ÷ effort.",
    "rice": "Reach × impact × confidence % ÷ effort in person-months.",
    "ice": "Impact × confidence × ease, each 1–10.",
    "wsjf": "(User-business value + time criticality + risk reduction) ÷ job size, on 1, 2, 3, 5, 8, 13, 20.",
}

OPERATION_LABELS = dict(ComputedScore.Operation.choices)
PERSPECTIVE_LABELS = dict(Perspective.choices)


# --- Reading the model -----------------------------------------------------------------------------------


@dataclass
class InputView:
    source: str
    label: str
    weight: str
    detail: str = ""
    ref: str | None = None
    normalise: bool = False
    node: "NodeView | None" = None  # a computed score shown in full below this input
    seen_above: bool = False  # a computed score already shown in full elsewhere in the tree


@dataclass
class NodeView:
    key: str
    name: str
    description: str
    operation: str
    formula: str
    pk: int | None = None
    is_priority: bool = False
    inputs: list[InputView] = field(default_factory=list)


def _term(weight: float, name: str, first: bool) -> str:
    if weight == 1:
        text, sign = name, "+"
    elif weight == -1:
        text, sign = name, "−"
    elif weight < 0:
        text, sign = f"{number(-weight)} × {name}", "−"
    else:
        text, sign = f"{number(weight)} × {name}", "+"
    if first:
        return f"−{text}" if sign == "−" else text
    return f" {sign} {text}"


def formula(node: scoring.NodeSpec, names: dict[tuple[str, str | None], str]) -> str:
    """The node's computation in words: "Confident value ÷ Effort factor", "0.75 + 0.25 × Effort"."""
    labels = [
        number(operand.constant)
        if operand.source == scoring.CONSTANT
        else names.get((operand.source, operand.ref), f"{operand.ref}?")
        for operand in node.inputs
    ]
    if node.operation == scoring.QUOTIENT:
        return " ÷ ".join(labels)
    if node.operation == scoring.PRODUCT:
        return " × ".join(labels)
    if node.operation == scoring.SUM:
        return "".join(
            _term(operand.weight, label, first=i == 0)
            for i, (operand, label) in enumerate(zip(node.inputs, labels, strict=True))
        )
    weights = [operand.weight for operand in node.inputs]
    if len(set(weights)) == 1:
        return f"Mean of {', '.join(labels)}"
    parts = ", ".join(f"{label} ({number(w)})" for label, w in zip(labels, weights, strict=True))
    return f"Weighted mean of {parts}"


def _criterion_detail(criterion: scoring.CriterionSpec) -> str:
    unit = f" {criterion.unit}" if criterion.unit else ""
    if criterion.allowed_values:
        scale = ", ".join(number(v) for v in criterion.allowed_values)
        return f"{PERSPECTIVE_LABELS.get(criterion.perspective, criterion.perspective)} · {scale}{unit}"
    return (
        f"{PERSPECTIVE_LABELS.get(criterion.perspective, criterion.perspective)} · "
        f"{number(criterion.min_value)}–{number(criterion.max_value)}{unit}"
    )


def model_tree(spec: scoring.ModelSpec, node_pks: dict[str, int]) -> tuple[NodeView | None, list[NodeView]]:
    """The priority node with its inputs nested (a computed score used twice is shown in full once), and
    the computed scores the priority does not use, each as its own tree."""
    criteria = {c.key: c for c in spec.criteria}
    nodes = {n.key: n for n in spec.nodes}
    names = _names(spec)
    shown: set[str] = set()

    def build(key: str) -> NodeView:
        node = nodes[key]
        shown.add(key)
        view = NodeView(
            key=key,
            name=node.name,
            description=node.description,
            operation=OPERATION_LABELS.get(node.operation, node.operation),
            formula=formula(node, names),
            pk=node_pks.get(key),
            is_priority=key == spec.priority,
        )
        weighted = node.operation in (scoring.WEIGHTED_MEAN, scoring.SUM)
        for operand in node.inputs:
            weight = f"{number(operand.weight).replace('-', '−')} ×" if weighted else ""
            if operand.source == scoring.CONSTANT:
                view.inputs.append(InputView(scoring.CONSTANT, number(operand.constant), weight, "constant"))
                continue
            label = names.get((operand.source, operand.ref), f"{operand.ref} (unknown)")
            item = InputView(operand.source, label, weight, ref=operand.ref, normalise=operand.normalise)
            if operand.source == scoring.CRITERION and operand.ref in criteria:
                item.detail = _criterion_detail(criteria[operand.ref])
            elif operand.source == scoring.EVIDENCE:
                item.detail = "evidence input"
            elif operand.source == scoring.NODE and operand.ref in nodes:
                if operand.ref in shown:
                    item.seen_above = True
                else:
                    item.node = build(operand.ref)
            view.inputs.append(item)
        return view

    # A cycle cannot be drawn as a tree: `shown` stops the descent (the page lists the cycle as an error).
    priority = build(spec.priority) if spec.priority in nodes else None
    others = [build(n.key) for n in spec.nodes if n.key not in shown]
    return priority, others


def _usage(spec: scoring.ModelSpec) -> dict[tuple[str, str | None], list[str]]:
    """(source, ref) → names of the computed scores that use it."""
    used: dict[tuple[str, str | None], list[str]] = {}
    for node in spec.nodes:
        for operand in node.inputs:
            names = used.setdefault((operand.source, operand.ref), [])
            if node.name not in names:
                names.append(node.name)
    return used


@workspace_view(read=Role.VIEWER, write=Role.ADMIN)
@require_safe
def model(request: HttpRequest) -> HttpResponse:
    """The workspace's scoring model, readable by every member; admins also get the ways to change it."""
    workspace = request.workspace
    scoring_model, spec = services.scoring_model_load(workspace=workspace)
    node_pks, criterion_pks = {}, {}
    if scoring_model is not None:
        node_pks = dict(ComputedScore.objects.filter(scoring_model=scoring_model).values_list("key", "pk"))
        criterion_pks = dict(Criterion.objects.filter(scoring_model=scoring_model).values_list("key", "pk"))
    priority, others = model_tree(spec, node_pks)
    used = _usage(spec)
    preset = scoring_model.preset if scoring_model else ScoringModel.Preset.ATLAS
    criteria = [
        {
            "spec": c,
            "pk": criterion_pks.get(c.key),
            "perspective": PERSPECTIVE_LABELS.get(c.perspective, c.perspective),
            "range": f"{number(c.min_value)}–{number(c.max_value)}",
            "scale": ", ".join(number(v) for v in c.allowed_values) if c.allowed_values else "",
            "step": number(c.step),
            "weight": number(c.weight),
            "assumed": number(c.assumed_value),
            "assumed_is_default": c.default_value is not None,
            "used_by": used.get((scoring.CRITERION, c.key), []),
        }
        for c in spec.criteria
    ]
    evidence = [
        {
            "key": key,
            "name": name,
            "meaning": EVIDENCE_MEANINGS[key],
            "used_by": used.get((scoring.EVIDENCE, key), []),
        }
        for key, name in scoring.EVIDENCE_INPUTS.items()
    ]
    return render(
        request,
        "opportunities/scoring/model.html",
        {
            "nav": "settings",
            "scoring_model": scoring_model,
            "spec": spec,
            "preset": preset,
            "preset_label": ScoringModel.Preset(preset).label,
            "preset_summary": PRESET_SUMMARIES.get(preset, ""),
            "edited": scoring_model is not None and spec != scoring.PRESETS.get(preset),
            "problems": services.scoring_model_problems(spec),
            "priority": priority,
            "others": others,
            "criteria": criteria,
            "evidence": evidence,
            "operations": [(OPERATION_LABELS[key], text) for key, text in OPERATION_HELP.items()],
            "presets": [
                (value, label, PRESET_SUMMARIES.get(value, ""))
                for value, label in ScoringModel.Preset.choices
            ],
            "preset_form": PresetForm(initial={"preset": preset}),
            "priority_form": PriorityForm(spec=spec) if spec.nodes else None,
        },
    )


# --- The preview and the save ----------------------------------------------------------------------------


def _scale(c: scoring.CriterionSpec) -> str:
    scale = (
        ", ".join(number(v) for v in c.allowed_values)
        if c.allowed_values
        else (f"{number(c.min_value)}–{number(c.max_value)} in steps of {number(c.step)}")
    )
    return f"{scale} {c.unit}".strip()


def _criterion_differences(old: scoring.CriterionSpec, new: scoring.CriterionSpec) -> str:
    parts = []
    if old.name != new.name:
        parts.append(f"renamed from {old.name}")
    if old.perspective != new.perspective:
        parts.append(
            f"perspective {PERSPECTIVE_LABELS[old.perspective]} → {PERSPECTIVE_LABELS[new.perspective]}"
        )
    if _scale(old) != _scale(new):
        parts.append(f"scale {_scale(old)} → {_scale(new)}")
    if old.assumed_value != new.assumed_value:
        parts.append(f"assumed {number(old.assumed_value)} → {number(new.assumed_value)}")
    if old.weight != new.weight:
        parts.append(f"weight {number(old.weight)} → {number(new.weight)}")
    if old.description != new.description:
        parts.append("description edited")
    return f"{new.name}: {'; '.join(parts) or 'edited'}."


def _names(spec: scoring.ModelSpec) -> dict[tuple[str, str | None], str]:
    names: dict[tuple[str, str | None], str] = {}
    names.update({(scoring.CRITERION, c.key): c.name for c in spec.criteria})
    names.update({(scoring.EVIDENCE, key): name for key, name in scoring.EVIDENCE_INPUTS.items()})
    names.update({(scoring.NODE, n.key): n.name for n in spec.nodes})
    return names


def _node_differences(old: scoring.NodeSpec, new: scoring.NodeSpec, old_names: dict, new_names: dict) -> str:
    parts = []
    if old.name != new.name:
        parts.append(f"renamed from {old.name}")
    before, after = formula(old, old_names), formula(new, new_names)
    if old.operation != new.operation or old.inputs != new.inputs or before != after:
        parts.append(f"{before} → {after}")
    if old.description != new.description:
        parts.append("description edited")
    return f"{new.name}: {'; '.join(parts) or 'edited'}."


@dataclass
class Change:
    headline: str
    details: list[str] = field(default_factory=list)


def readable_changes(changes: dict, current: scoring.ModelSpec, proposed: scoring.ModelSpec) -> list[Change]:
    """`services.scoring_model_changes()` in words, with what changed inside each criterion and score."""
    old_criteria = {c.key: c for c in current.criteria}
    new_criteria = {c.key: c for c in proposed.criteria}
    old_nodes = {n.key: n for n in current.nodes}
    new_nodes = {n.key: n for n in proposed.nodes}
    old_names, new_names = _names(current), _names(proposed)
    lines = []
    if "preset" in changes:
        lines.append(Change(f"From the {ScoringModel.Preset(changes['preset']['to']).label} preset."))
    if "priority" in changes:
        key = changes["priority"]["to"]
        lines.append(
            Change(f"Opportunities are ranked by {new_nodes[key].name if key in new_nodes else key}.")
        )
    criteria = changes.get("criteria", {})
    if criteria.get("added"):
        added = ", ".join(new_criteria[key].name for key in criteria["added"])
        lines.append(Change(f"New criteria: {added}. Nobody has scored them yet: the assumed value applies."))
    if criteria.get("removed"):
        removed = ", ".join(old_criteria[key].name for key in criteria["removed"])
        lines.append(Change(f"Removed criteria: {removed}. The opportunities' scores on them are deleted."))
    if criteria.get("changed"):
        lines.append(
            Change(
                "Changed criteria (scores already given are kept; one outside a new range counts as its "
                "nearest end):",
                [_criterion_differences(old_criteria[key], new_criteria[key]) for key in criteria["changed"]],
            )
        )
    nodes = changes.get("computed_scores", {})
    if nodes.get("added"):
        lines.append(
            Change(
                "New computed scores:",
                [f"{new_nodes[key].name} = {formula(new_nodes[key], new_names)}." for key in nodes["added"]],
            )
        )
    if nodes.get("removed"):
        lines.append(
            Change(f"Removed computed scores: {', '.join(old_nodes[key].name for key in nodes['removed'])}.")
        )
    if nodes.get("changed"):
        lines.append(
            Change(
                "Changed computed scores:",
                [
                    _node_differences(old_nodes[key], new_nodes[key], old_names, new_names)
                    for key in nodes["changed"]
                ],
            )
        )
    return lines


def _model_base(scoring_model: ScoringModel | None) -> str:
    """What the proposal was previewed against: a save on top of someone else's change is refused."""
    return scoring_model.updated_at.isoformat() if scoring_model else ""


def _back_target(request: HttpRequest, back: dict) -> dict:
    """Where "Back" leads: one of this workspace's scoring pages, with the fields to post back (so an
    edit form comes back as it was typed). Anything else leads to the model page."""
    home = reverse("scoring:model", args=[request.workspace.slug])
    url = back.get("url") if isinstance(back.get("url"), str) else ""
    fields = back.get("fields")
    if not url.startswith(home) or "//" in url or not isinstance(fields, list):
        return {"url": home, "fields": []}
    return {
        "url": url,
        "fields": [
            (str(pair[0]), str(pair[1]))
            for pair in fields
            if isinstance(pair, list | tuple) and len(pair) == 2
        ],
    }


def _preview(
    request: HttpRequest,
    *,
    proposed: scoring.ModelSpec,
    preset: str | None,
    title: str,
    back: dict,
    stale: bool = False,
    status: int = 200,
) -> HttpResponse:
    workspace = request.workspace
    scoring_model, current = services.scoring_model_load(workspace=workspace)
    current_preset = scoring_model.preset if scoring_model else ScoringModel.Preset.ATLAS
    preset = preset or current_preset
    problems = services.scoring_model_problems(proposed)
    preview = None
    if not problems:
        preview = services.scoring_model_preview(workspace=workspace, spec=proposed)
    changes = services.scoring_model_changes(current, proposed, current_preset, preset)
    document = spec_data(proposed, preset)
    for extra in ("evidence_inputs", "updated_at"):
        document.pop(extra)
    form = ProposedModelForm(
        initial={
            "model": json.dumps(document),
            "base": _model_base(scoring_model),
            "back": json.dumps(back),
        }
    )
    return render(
        request,
        "opportunities/scoring/preview.html",
        {
            "nav": "settings",
            "title": title,
            "problems": problems,
            "preview": preview,
            "changes": readable_changes(changes, current, proposed),
            "unchanged": not changes,
            "stale": stale,
            "form": form,
            "back": _back_target(request, back),
            "rows": _preview_rows(preview) if preview else [],
            "all_tied": bool(preview and preview.top and len({m.new_priority for m in preview.top}) == 1),
            "leaving": _preview_rows(preview, leaving=True) if preview else [],
        },
        status=status,
    )


def _preview_rows(preview: services.ScoringPreview, leaving: bool = False) -> list[dict]:
    rows = []
    for move in preview.leaving if leaving else preview.top:
        movement = move.movement
        rows.append(
            {
                "move": move,
                "movement": movement,
                "up": movement is not None and movement > 0,
                "down": movement is not None and movement < 0,
                "places": abs(movement) if movement else 0,
                "current_priority": "—"
                if move.current_priority is None
                else number(round(move.current_priority, 2)),
                "new_priority": "—" if move.new_priority is None else number(round(move.new_priority, 2)),
            }
        )
    return rows


def _back_from_post(request: HttpRequest) -> dict:
    """This edit page and what was typed in it, so "Back" on the preview returns to it as it was."""
    skip = ("csrfmiddlewaretoken", "back", "add_input")
    fields = [[name, value] for name, values in request.POST.lists() if name not in skip for value in values]
    return {"url": request.path, "fields": fields}


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def save(request: HttpRequest) -> HttpResponse:
    """Save a previewed model. The posted model is checked again in full: the form only carries it."""
    form = ProposedModelForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("model", ["The proposed model is missing."])))
        return redirect("scoring:model", request.workspace.slug)
    proposed, preset = form.cleaned_data["model"]
    back = form.cleaned_data["back"]
    scoring_model, _ = services.scoring_model_load(workspace=request.workspace)
    if form.cleaned_data["base"] != _model_base(scoring_model):
        return _preview(
            request, proposed=proposed, preset=preset, title="Review again", back=back, stale=True, status=409
        )
    try:
        services.scoring_model_replace(
            workspace=request.workspace, spec=proposed, preset=preset, actor=request.user
        )
    except ValidationError:
        return _preview(request, proposed=proposed, preset=preset, title="Preview", back=back, status=400)
    messages.success(request, "Scoring model saved. Every open opportunity is being scored again.")
    return redirect("scoring:model", request.workspace.slug)


# --- The edit pages --------------------------------------------------------------------------------------


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def preset(request: HttpRequest) -> HttpResponse:
    """Preview replacing the whole model with a preset."""
    form = PresetForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the presets.")
        return redirect("scoring:model", request.workspace.slug)
    chosen = form.cleaned_data["preset"]
    return _preview(
        request,
        proposed=scoring.PRESETS[chosen],
        preset=chosen,
        title=f"Switch to the {ScoringModel.Preset(chosen).label} preset",
        back={},
    )


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def priority(request: HttpRequest) -> HttpResponse:
    """Preview ranking by another computed score."""
    _, spec = services.scoring_model_load(workspace=request.workspace)
    form = PriorityForm(request.POST, spec=spec)
    if not form.is_valid():
        messages.error(request, "Choose one of the computed scores as the priority.")
        return redirect("scoring:model", request.workspace.slug)
    return _preview(
        request,
        proposed=replace(spec, priority=form.cleaned_data["priority"]),
        preset=None,
        title="Change the priority",
        back={},
    )


def _criterion_page(request: HttpRequest, form: CriterionForm, editing: Criterion | None) -> HttpResponse:
    return render(
        request,
        "opportunities/scoring/criterion_form.html",
        {"nav": "settings", "form": form, "criterion": editing},
    )


def _criterion_edit(request: HttpRequest, row: Criterion | None) -> HttpResponse:
    _, spec = services.scoring_model_load(workspace=request.workspace)
    editing = next((c for c in spec.criteria if row and c.key == row.key), None)
    taken = {c.key for c in spec.criteria}
    if request.method != "POST":
        return _criterion_page(request, CriterionForm(taken_keys=taken, editing=editing), row)
    form = CriterionForm(request.POST, taken_keys=taken, editing=editing)
    if "back" in request.POST or not form.is_valid():
        return _criterion_page(request, form, row)
    criterion = form.to_spec()
    if editing is None:
        proposed = replace(spec, criteria=(*spec.criteria, criterion))
        title = f"Add the criterion {criterion.name}"
    else:
        proposed = replace(
            spec, criteria=tuple(criterion if c.key == editing.key else c for c in spec.criteria)
        )
        title = f"Change the criterion {criterion.name}"
    return _preview(request, proposed=proposed, preset=None, title=title, back=_back_from_post(request))


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def criterion_add(request: HttpRequest) -> HttpResponse:
    return _criterion_edit(request, None)


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def criterion_edit(request: HttpRequest, criterion_id: int) -> HttpResponse:
    return _criterion_edit(request, get_scoped(request.workspace, Criterion, pk=criterion_id))


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def criterion_remove(request: HttpRequest, criterion_id: int) -> HttpResponse:
    """Preview the model without this criterion (and without the inputs that use it)."""
    row = get_scoped(request.workspace, Criterion, pk=criterion_id)
    _, spec = services.scoring_model_load(workspace=request.workspace)
    proposed = replace(
        spec,
        criteria=tuple(c for c in spec.criteria if c.key != row.key),
        nodes=tuple(
            replace(
                node,
                inputs=tuple(
                    i for i in node.inputs if not (i.source == scoring.CRITERION and i.ref == row.key)
                ),
            )
            for node in spec.nodes
        ),
    )
    return _preview(
        request, proposed=proposed, preset=None, title=f"Remove the criterion {row.name}", back={}
    )


def _node_page(request: HttpRequest, editor: ComputedScoreEditor, row: ComputedScore | None) -> HttpResponse:
    template = "opportunities/scoring/node_form.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#node-form"
    return render(request, template, {"nav": "settings", "editor": editor, "node": row})


def _node_edit(request: HttpRequest, row: ComputedScore | None) -> HttpResponse:
    _, spec = services.scoring_model_load(workspace=request.workspace)
    editing = next((n for n in spec.nodes if row and n.key == row.key), None)
    if request.method != "POST":
        return _node_page(request, ComputedScoreEditor(spec, editing=editing), row)
    if "add_input" in request.POST:
        return _node_page(
            request, ComputedScoreEditor.with_another_input(spec, request.POST, editing=editing), row
        )
    editor = ComputedScoreEditor(spec, request.POST, editing=editing)
    if "back" in request.POST or not editor.is_valid():
        return _node_page(request, editor, row)
    node = editor.to_spec()
    if editing is None:
        proposed = replace(spec, nodes=(*spec.nodes, node))
        title = f"Add the computed score {node.name}"
    else:
        proposed = replace(spec, nodes=tuple(node if n.key == editing.key else n for n in spec.nodes))
        title = f"Change the computed score {node.name}"
    return _preview(request, proposed=proposed, preset=None, title=title, back=_back_from_post(request))


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def node_add(request: HttpRequest) -> HttpResponse:
    return _node_edit(request, None)


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_http_methods(["GET", "HEAD", "POST"])
def node_edit(request: HttpRequest, computed_score_id: int) -> HttpResponse:
    return _node_edit(request, get_scoped(request.workspace, ComputedScore, pk=computed_score_id))


@workspace_view(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def node_remove(request: HttpRequest, computed_score_id: int) -> HttpResponse:
    """Preview the model without this computed score (and without the inputs that use it)."""
    row = get_scoped(request.workspace, ComputedScore, pk=computed_score_id)
    _, spec = services.scoring_model_load(workspace=request.workspace)
    proposed = replace(
        spec,
        nodes=tuple(
            replace(
                node,
                inputs=tuple(i for i in node.inputs if not (i.source == scoring.NODE and i.ref == row.key)),
            )
            for node in spec.nodes
            if node.key != row.key
        ),
    )
    return _preview(
        request, proposed=proposed, preset=None, title=f"Remove the computed score {row.name}", back={}
    )
