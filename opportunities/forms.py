"""Forms of the opportunity pages. They parse and check input; writes go through opportunities.services."""

from collections.abc import Iterable, Mapping

from django import forms

from atlas.models import Membership, Workspace
from atlas.tenancy import scoped
from opportunities.models import Criterion, Opportunity, Solution


def _number(value: float) -> str:
    return f"{value:.12g}"


class OpportunityForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    status = forms.ChoiceField(choices=Opportunity.Status.choices)
    owner = forms.ModelChoiceField(queryset=Membership.objects.none(), required=False, empty_label="No owner")
    # The `updated_at` the editor started from: a save on top of someone else's change is refused.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = (
            scoped(workspace, Membership).select_related("user").order_by("user__full_name", "user__email")
        )
        owner.label_from_instance = lambda membership: membership.display_name

    @staticmethod
    def initial_for(opportunity: Opportunity) -> dict:
        return {
            "title": opportunity.title,
            "description": opportunity.description,
            "status": opportunity.status,
            "owner": opportunity.owner_id,
            "version": opportunity.updated_at.isoformat(),
        }

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("title", "description", "status", "owner")}


class SolutionForm(forms.Form):
    title = forms.CharField(max_length=200)
    status = forms.ChoiceField(choices=Solution.Status.choices, initial=Solution.Status.IDEA)
    external_url = forms.URLField(
        label="External link",
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text="For example the delivery ticket (https://…).",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)

    @staticmethod
    def initial_for(solution: Solution) -> dict:
        return {
            "title": solution.title,
            "status": solution.status,
            "external_url": solution.external_url,
            "description": solution.description,
        }


class CriterionValuesForm(forms.Form):
    """One number per criterion of the scoring model, named by the criterion key. Empty clears the
    value (the criterion's default, or the middle of its range, is assumed again). Only the number is
    parsed here; range and step are checked by `opportunity_score`."""

    def __init__(
        self,
        *args,
        criteria: Iterable[Criterion],
        values: Mapping[int, float],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        self.current = dict(values)
        for criterion in self.criteria:
            low, high = _number(criterion.min_value), _number(criterion.max_value)
            unit = f" {criterion.unit}" if criterion.unit else ""
            current = self.current.get(criterion.pk)
            initial = None if current is None else _number(current)  # "4", not "4.0"
            if criterion.allowed_values:
                # A fixed scale (RICE impact, WSJF's 1, 2, 3, 5, 8…) is a choice, not a free number.
                choices = [("", "—"), *((_number(v), _number(v)) for v in criterion.allowed_values)]
                self.fields[criterion.key] = forms.TypedChoiceField(
                    label=criterion.name,
                    required=False,
                    choices=choices,
                    coerce=float,
                    empty_value=None,
                    initial=initial,
                    help_text=", ".join(_number(v) for v in criterion.allowed_values) + unit,
                )
                continue
            self.fields[criterion.key] = forms.FloatField(
                label=criterion.name,
                required=False,
                initial=initial,
                help_text=f"{low}–{high}{unit}",
                widget=forms.NumberInput(
                    attrs={"min": low, "max": high, "step": _number(criterion.step), "inputmode": "decimal"}
                ),
            )

    def bound_rows(self) -> list[tuple[Criterion, forms.BoundField]]:
        return [(criterion, self[criterion.key]) for criterion in self.criteria]

    def changed_values(self) -> dict[Criterion, float | None]:
        """The criteria whose value differs from the stored one (None: clear it)."""
        changed = {}
        for criterion in self.criteria:
            value = self.cleaned_data.get(criterion.key)
            if value != self.current.get(criterion.pk):
                changed[criterion] = value
        return changed
