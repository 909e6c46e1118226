"""Forms of the scoring-model settings. Each edits one part of the model and gives back the engine's
spec of that part; the views put it into the whole proposed model, which is previewed and only then
saved by opportunities.services (which checks the whole model again with the engine's rules)."""

import json
import math
import re
from dataclasses import replace

from django import forms
from django.core.exceptions import ValidationError

from opportunities import scoring
from opportunities.models import ComputedScore, Perspective, ScoringModel
from opportunities.scoring_api import ScoringModelSerializer

_SEPARATORS = re.compile(r"[,;\s]+")


def number(value: float | None) -> str:
    """A number as people write it: 1 rather than 1.0, 0.25, 1000000."""
    if value is None:
        return ""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


class CriterionForm(forms.Form):
    key = forms.SlugField(
        max_length=40,
        help_text="Letters, digits, hyphens and underscores. Computed scores and the API refer to it; "
        "it cannot be changed later.",
    )
    name = forms.CharField(max_length=80)
    perspective = forms.ChoiceField(choices=Perspective.choices)
    min_value = forms.FloatField(label="Minimum")
    max_value = forms.FloatField(label="Maximum")
    step = forms.FloatField(help_text="Valid scores are the minimum plus multiples of the step.")
    unit = forms.CharField(max_length=20, required=False, help_text="For example %, customers/quarter.")
    weight = forms.FloatField(
        initial=1, help_text="0 or more: the weight suggested when it is added to a computed score."
    )
    default_value = forms.FloatField(
        label="Assumed value",
        required=False,
        help_text="Used while an opportunity has no score on it; empty: the middle of the range.",
    )
    allowed_values = forms.CharField(
        label="Allowed values",
        required=False,
        help_text="Optional: the only valid scores, separated by commas (RICE impact: 0.25, 0.5, 1, 2, 3).",
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="What the ends of the scale mean: editors read it while scoring.",
    )

    def __init__(self, *args, taken_keys=frozenset(), editing: scoring.CriterionSpec | None = None, **kwargs):
        if editing is not None and not kwargs.get("initial") and not args:
            kwargs["initial"] = self.initial_for(editing)
        super().__init__(*args, **kwargs)
        self.taken_keys = taken_keys
        self.editing = editing
        if editing is not None:
            self.fields["key"].disabled = True
            self.fields["key"].initial = editing.key
            self.fields["key"].help_text = "Computed scores and the API refer to it; it cannot be changed."

    @staticmethod
    def initial_for(criterion: scoring.CriterionSpec) -> dict:
        return {
            "key": criterion.key,
            "name": criterion.name,
            "perspective": criterion.perspective,
            "min_value": number(criterion.min_value),
            "max_value": number(criterion.max_value),
            "step": number(criterion.step),
            "unit": criterion.unit,
            "weight": number(criterion.weight),
            "default_value": number(criterion.default_value),
            "allowed_values": ", ".join(number(v) for v in criterion.allowed_values or ()),
            "description": criterion.description,
        }

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if self.editing is None and key in self.taken_keys:
            raise ValidationError("A criterion with this key already exists.")
        return key

    def clean_allowed_values(self) -> tuple[float, ...] | None:
        text = self.cleaned_data["allowed_values"].strip()
        if not text:
            return None
        values = []
        for part in _SEPARATORS.split(text):
            try:
                value = float(part)
            except ValueError:
                raise ValidationError(f"“{part}” is not a number; separate numbers with commas.") from None
            if not math.isfinite(value):
                raise ValidationError(f"“{part}” is not a finite number.")
            values.append(value)
        return tuple(sorted(set(values)))

    def clean(self):
        data = super().clean()
        low, high, step, weight = (data.get(name) for name in ("min_value", "max_value", "step", "weight"))
        if low is not None and high is not None and low >= high:
            self.add_error("max_value", f"The maximum must be above the minimum ({number(low)}).")
        if step is not None and step <= 0:
            self.add_error("step", "The step must be above 0.")
        if weight is not None and weight < 0:
            self.add_error("weight", "The weight must not be negative.")
        scale = ("perspective", "min_value", "max_value", "step", "weight", "default_value", "allowed_values")
        if any(name in self.errors for name in scale):
            return data
        spec = self.to_spec()
        grid = replace(spec, allowed_values=None)
        for allowed in spec.allowed_values or ():
            problem = scoring.check_value(grid, allowed)
            if problem:
                self.add_error("allowed_values", problem)
                break
        if spec.default_value is not None:
            problem = scoring.check_value(spec, spec.default_value)
            if problem:
                self.add_error("default_value", problem)
        return data

    def to_spec(self) -> scoring.CriterionSpec:
        data = self.cleaned_data
        return scoring.CriterionSpec(
            key=self.editing.key if self.editing else data.get("key", ""),
            name=data.get("name", ""),
            perspective=data["perspective"],
            min_value=data["min_value"],
            max_value=data["max_value"],
            step=data["step"],
            unit=data["unit"],
            weight=data["weight"],
            default_value=data["default_value"],
            description=data["description"],
            allowed_values=data["allowed_values"],
        )


CONSTANT_OPERAND = "constant"

OPERATION_HELP = {
    scoring.WEIGHTED_MEAN: "Σ weight × input ÷ Σ weight; weights 0 or more.",
    scoring.SUM: "Σ weight × input; a weight of −1 subtracts.",
    scoring.PRODUCT: "input × input × …; weights are 1 (scale with a constant input).",
    scoring.QUOTIENT: "first input ÷ second input (exactly two, weights 1); ÷ 0 gives 0.",
}


def operand_choices(spec: scoring.ModelSpec, exclude_node: str | None = None) -> list:
    """The inputs a computed score can take, grouped: criteria, evidence inputs, other computed scores
    and a constant. Values are "source:ref" (or "constant")."""
    return [
        ("", "—"),
        ("Criteria", [(f"criterion:{c.key}", c.name) for c in spec.criteria]),
        ("Evidence inputs", [(f"evidence:{key}", name) for key, name in scoring.EVIDENCE_INPUTS.items()]),
        ("Computed scores", [(f"node:{n.key}", n.name) for n in spec.nodes if n.key != exclude_node]),
        ("Other", [(CONSTANT_OPERAND, "A constant (type its value)")]),
    ]


def operand_value(operand: scoring.InputSpec) -> str:
    return CONSTANT_OPERAND if operand.source == scoring.CONSTANT else f"{operand.source}:{operand.ref}"


class InputForm(forms.Form):
    operand = forms.ChoiceField(label="Input", required=False)
    constant = forms.FloatField(label="Constant", required=False)
    weight = forms.FloatField(initial=1)
    normalise = forms.BooleanField(
        label="Rescale to 0..1", required=False, help_text="Criteria only: (value − min) ÷ (max − min)."
    )

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operand"].choices = choices

    def clean(self):
        data = super().clean()
        operand = data.get("operand")
        if not operand:
            if data.get("constant") is not None or data.get("normalise"):
                self.add_error("operand", "Choose an input, or tick Remove.")
            return data
        if operand == CONSTANT_OPERAND:
            if data.get("constant") is None:
                self.add_error("constant", "Type the constant's value.")
        elif data.get("constant") is not None:
            self.add_error("constant", "Only a constant input takes a value; leave it empty.")
        if data.get("normalise") and not operand.startswith(f"{scoring.CRITERION}:"):
            self.add_error("normalise", "Only a criterion can be rescaled.")
        return data

    def to_spec(self) -> scoring.InputSpec | None:
        data = self.cleaned_data
        operand = data.get("operand")
        if not operand or data.get("DELETE"):
            return None
        if operand == CONSTANT_OPERAND:
            return scoring.InputSpec(scoring.CONSTANT, constant=data["constant"], weight=data["weight"])
        source, _, ref = operand.partition(":")
        return scoring.InputSpec(source, ref, weight=data["weight"], normalise=bool(data.get("normalise")))


class BaseInputFormSet(forms.BaseFormSet):
    def __init__(self, *args, choices=(), **kwargs):
        self.choices = choices
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "choices": self.choices}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            choices=self.choices,
            renderer=self.renderer,
        )
        self.add_fields(form, None)
        return form


InputFormSet = forms.formset_factory(InputForm, formset=BaseInputFormSet, extra=1, can_delete=True)


class ComputedScoreForm(forms.Form):
    key = forms.SlugField(
        max_length=40,
        help_text="Letters, digits, hyphens and underscores; the backlog, the matrix and the API use it. "
        "It cannot be changed later.",
    )
    name = forms.CharField(max_length=80)
    operation = forms.ChoiceField(choices=ComputedScore.Operation.choices)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="The formula in words, shown on the settings page.",
    )

    def __init__(self, *args, taken_keys=frozenset(), editing: scoring.NodeSpec | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.taken_keys = taken_keys
        self.editing = editing
        self.fields["operation"].help_text = " ".join(
            f"{ComputedScore.Operation(key).label}: {text}" for key, text in OPERATION_HELP.items()
        )
        if editing is not None:
            self.fields["key"].disabled = True
            self.fields["key"].initial = editing.key
            self.fields["key"].help_text = "The backlog, the matrix and the API use it; it cannot be changed."

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if self.editing is None and key in self.taken_keys:
            raise ValidationError("A computed score with this key already exists.")
        return key


class ComputedScoreEditor:
    """A computed score's form and its inputs' formset, checked together (the operation decides which
    weights are allowed and how many inputs a quotient takes)."""

    def __init__(self, spec: scoring.ModelSpec, data=None, *, editing: scoring.NodeSpec | None = None):
        choices = operand_choices(spec, exclude_node=editing.key if editing else None)
        taken = {n.key for n in spec.nodes}
        if data is None and editing is not None:
            initial = {
                "key": editing.key,
                "name": editing.name,
                "operation": editing.operation,
                "description": editing.description,
            }
            rows = [
                {
                    "operand": operand_value(operand),
                    "constant": number(operand.constant) if operand.source == scoring.CONSTANT else "",
                    "weight": number(operand.weight),
                    "normalise": operand.normalise,
                }
                for operand in editing.inputs
            ]
            self.form = ComputedScoreForm(initial=initial, taken_keys=taken, editing=editing)
            self.inputs = InputFormSet(initial=rows, prefix="inputs", choices=choices)
        else:
            self.form = ComputedScoreForm(data, taken_keys=taken, editing=editing)
            self.inputs = InputFormSet(data, prefix="inputs", choices=choices)
        self.editing = editing
        self.choices = choices

    @classmethod
    def with_another_input(cls, spec: scoring.ModelSpec, data, *, editing: scoring.NodeSpec | None = None):
        """The editor as typed so far (unchecked), with the removed rows gone and an empty row added."""
        editor = cls(spec, editing=editing)
        initial = {name: data.get(name, "") for name in ("key", "name", "operation", "description")}
        if editing is not None:
            initial["key"] = editing.key
        rows = []
        try:
            total = min(int(data.get("inputs-TOTAL_FORMS", 0)), 100)
        except ValueError:
            total = 0
        for index in range(total):
            prefix = f"inputs-{index}-"
            if data.get(f"{prefix}DELETE"):
                continue
            row = {name: data.get(prefix + name, "") for name in ("operand", "constant", "weight")}
            row["normalise"] = bool(data.get(f"{prefix}normalise"))
            if any(row.values()):
                rows.append(row)
        editor.form = ComputedScoreForm(initial=initial, taken_keys=editor.form.taken_keys, editing=editing)
        editor.inputs = InputFormSet(initial=rows, prefix="inputs", choices=editor.choices)
        return editor

    def is_valid(self) -> bool:
        valid = self.form.is_valid() & self.inputs.is_valid()
        operation = self.form.cleaned_data.get("operation") if hasattr(self.form, "cleaned_data") else None
        if operation is None:
            return False
        # The operation's rules, on every row that is otherwise fine, so all problems show at once.
        rows = [
            form
            for form in self.inputs.forms
            if getattr(form, "cleaned_data", None)
            and form.cleaned_data.get("operand")
            and not form.cleaned_data.get("DELETE")
        ]
        for form in rows:
            weight = form.cleaned_data.get("weight")
            if weight is None:
                continue
            if operation == scoring.WEIGHTED_MEAN and weight < 0:
                form.add_error("weight", "A weighted mean needs weights of 0 or more.")
            elif operation in (scoring.PRODUCT, scoring.QUOTIENT) and weight != 1:
                form.add_error("weight", "Product and quotient inputs take weight 1; scale with a constant.")
        if not rows:
            self.form.add_error(None, "Add at least one input.")
        elif operation == scoring.QUOTIENT and len(rows) != 2:
            self.form.add_error(
                None, f"A quotient takes exactly two inputs (numerator, denominator), not {len(rows)}."
            )
        return valid and not self.form.errors and not any(form.errors for form in rows)

    def to_spec(self) -> scoring.NodeSpec:
        data = self.form.cleaned_data
        operands = [form.to_spec() for form in self.inputs.forms]
        return scoring.NodeSpec(
            key=self.editing.key if self.editing else data["key"],
            name=data["name"],
            operation=data["operation"],
            inputs=tuple(operand for operand in operands if operand is not None),
            description=data["description"],
        )


class PresetForm(forms.Form):
    preset = forms.ChoiceField(choices=ScoringModel.Preset.choices, label="Preset")


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label="Priority", help_text="The computed score that ranks opportunities.")

    def __init__(self, *args, spec: scoring.ModelSpec, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["priority"].choices = [(n.key, n.name) for n in spec.nodes]
        self.fields["priority"].initial = spec.priority


class ProposedModelForm(forms.Form):
    """What the preview page posts to save: the proposed model as JSON (checked again in full, never
    trusted), the `updated_at` of the model it was previewed against, and where "Back" leads."""

    model = forms.CharField(widget=forms.HiddenInput)
    base = forms.CharField(widget=forms.HiddenInput, required=False)
    back = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_model(self) -> tuple[scoring.ModelSpec, str | None]:
        try:
            data = json.loads(self.cleaned_data["model"])
        except ValueError:
            raise ValidationError("The proposed model is not valid JSON.") from None
        serializer = ScoringModelSerializer(data=data)
        if not serializer.is_valid():
            raise ValidationError(f"The proposed model is malformed: {json.dumps(serializer.errors)}")
        return serializer.to_spec(), serializer.validated_data.get("preset")

    def clean_back(self) -> dict:
        try:
            back = json.loads(self.cleaned_data["back"] or "{}")
        except ValueError:
            return {}
        return back if isinstance(back, dict) else {}
