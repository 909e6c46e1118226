"""Forms of the atlas overview. They parse and check input; writes go through journeys.services.framework
(which also checks the rules that need the database, such as unique names)."""

from django import forms

from atlas.models import Membership, Workspace
from atlas.tenancy import scoped
from journeys.models import Lifecycle, LifecycleStage, MacroJourney, Persona
from journeys.services.framework import STANDARD_STAGES


def _members(workspace: Workspace):
    return scoped(workspace, Membership).select_related("user").order_by("user__full_name", "user__email")


def _member_field(workspace: Workspace, field: forms.ModelChoiceField) -> None:
    field.queryset = _members(workspace)
    field.label_from_instance = lambda membership: membership.display_name


class LifecycleForm(forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Whose lifecycle it is and what it covers.",
    )

    @staticmethod
    def initial_for(lifecycle: Lifecycle) -> dict:
        return {"name": lifecycle.name, "description": lifecycle.description}


class LifecycleCreateForm(LifecycleForm):
    standard_stages = forms.BooleanField(
        required=False,
        initial=True,
        label="Start with the usual stages",
        help_text=f"{', '.join(STANDARD_STAGES)}. Rename, reorder or delete them afterwards.",
    )

    def stage_names(self) -> tuple[str, ...]:
        return STANDARD_STAGES if self.cleaned_data.get("standard_stages") else ()


class StageForm(forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    @staticmethod
    def initial_for(stage: LifecycleStage) -> dict:
        return {"name": stage.name, "description": stage.description}


class MacroJourneyCreateForm(forms.Form):
    """The quick form at the bottom of a stage: a name is enough."""

    name = forms.CharField(max_length=160, widget=forms.TextInput(attrs={"autocomplete": "off"}))


class MacroJourneyForm(forms.Form):
    name = forms.CharField(max_length=160, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    owner = forms.ModelChoiceField(queryset=Membership.objects.none(), required=False, empty_label="No owner")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        _member_field(workspace, self.fields["owner"])

    @staticmethod
    def initial_for(macro: MacroJourney) -> dict:
        return {"name": macro.name, "owner": macro.owner_id, "description": macro.description}


class JourneyCreateForm(forms.Form):
    name = forms.CharField(
        max_length=160,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text="What the customer does, in their words: “Open a current account online”.",
    )
    owner = forms.ModelChoiceField(queryset=Membership.objects.none(), required=False, empty_label="No owner")
    primary_persona = forms.ModelChoiceField(
        queryset=Persona.objects.none(), required=False, empty_label="No persona yet"
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        _member_field(workspace, self.fields["owner"])
        self.fields["primary_persona"].queryset = scoped(workspace, Persona).order_by("name")


class StageDeleteForm(forms.Form):
    move_to = forms.ModelChoiceField(
        queryset=LifecycleStage.objects.none(),
        required=False,
        label="Move its macro journeys to",
        empty_label="Choose a stage",
    )

    def __init__(self, *args, stage: LifecycleStage, holds_macro_journeys: bool, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["move_to"]
        field.queryset = (
            scoped(stage.workspace, LifecycleStage)
            .exclude(pk=stage.pk)
            .select_related("lifecycle")
            .order_by("lifecycle__position", "lifecycle_id", "position")
        )
        field.label_from_instance = lambda s: (
            s.name if s.lifecycle_id == stage.lifecycle_id else f"{s.lifecycle.name} › {s.name}"
        )
        field.required = holds_macro_journeys


class MoveForm(forms.Form):
    """Where to move a stage (left / right / to a column) or a macro journey (up / down / to a place,
    optionally in another stage)."""

    STEPS = {"left": -1, "up": -1, "right": 1, "down": 1}

    direction = forms.ChoiceField(choices=[(d, d) for d in STEPS], required=False)
    position = forms.IntegerField(min_value=0, required=False)
    stage = forms.ModelChoiceField(queryset=LifecycleStage.objects.none(), required=False)

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = scoped(workspace, LifecycleStage).select_related("lifecycle")

    def clean(self):
        data = super().clean()
        if not (data.get("direction") or data.get("position") is not None or data.get("stage")):
            raise forms.ValidationError("Say where to move it.")
        return data

    def move(self) -> dict:
        """Keyword arguments for stage_move / macro_journey_move."""
        data = self.cleaned_data
        return {
            "to_index": data.get("position"),
            "by": self.STEPS.get(data.get("direction") or "", 0),
        }
