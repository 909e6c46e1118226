"""Forms of the journey map editor. They parse and check input; writes go through
journeys.services.maps (and journeys.services.insights for insights).

Every edit form carries the revision it was loaded at (`revision`): the journey's for structural
changes, the step's for lanes. Lane forms also carry `digest`, the fingerprint of the values the
editor started from, so an edit of one cell is not refused because someone edited another cell of
the same step."""

from dataclasses import dataclass

from django import forms

from atlas.models import Membership, Workspace
from atlas.tenancy import scoped
from journeys.models import Channel, Insight, Journey, Persona, Step, Touchpoint
from journeys.services.maps import EMOTION_RANGE, step_digest, touchpoint_digest

TEXT_MAX = 4000


class RevisionForm(forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class LaneForm(RevisionForm):
    digest = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)

    def changes(self) -> dict:
        raise NotImplementedError


class StepNameForm(LaneForm):
    name = forms.CharField(label="Step name", max_length=160)

    def changes(self) -> dict:
        return {"name": self.cleaned_data["name"]}


class StepTextForm(LaneForm):
    """One text lane of a step; `field` names the Step field it edits."""

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=TEXT_MAX)

    def __init__(self, *args, field: str, label: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.field = field
        self.fields["text"].label = label

    def changes(self) -> dict:
        return {self.field: self.cleaned_data["text"]}


class MomentOfTruthForm(LaneForm):
    is_moment_of_truth = forms.BooleanField(label="This step is a moment of truth", required=False)
    moment_of_truth_why = forms.CharField(
        label="Why it matters",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=TEXT_MAX,
    )

    def clean(self):
        data = super().clean()
        if data.get("moment_of_truth_why", "").strip() and not data.get("is_moment_of_truth"):
            self.add_error("is_moment_of_truth", "Tick the box, or clear the reason.")
        return data

    def changes(self) -> dict:
        return {
            "is_moment_of_truth": self.cleaned_data["is_moment_of_truth"],
            "moment_of_truth_why": self.cleaned_data["moment_of_truth_why"],
        }


@dataclass(frozen=True)
class Lane:
    """A step lane edited as one cell of the map."""

    key: str
    label: str
    fields: tuple[str, ...]
    form_class: type[LaneForm]
    template: str = "journeys/map/_cell.html"

    def form(self, step: Step, data=None, **kwargs) -> LaneForm:
        extra = {"field": self.fields[0], "label": self.label} if self.form_class is StepTextForm else {}
        initial = {"revision": step.revision, "digest": step_digest(step, self.fields)}
        if self.form_class is StepTextForm:
            initial["text"] = getattr(step, self.fields[0])
        else:
            initial |= {name: getattr(step, name) for name in self.fields}
        return self.form_class(data, initial=initial, auto_id=f"s{step.pk}-{self.key}-%s", **extra, **kwargs)


LANES = {
    lane.key: lane
    for lane in (
        Lane("name", "Step name", ("name",), StepNameForm, "journeys/map/_step_name.html"),
        Lane("customer_goal", "Customer goal / need", ("customer_goal",), StepTextForm),
        Lane("customer_actions", "Actions", ("customer_actions",), StepTextForm),
        Lane("thoughts_feelings", "Thoughts & feelings", ("thoughts_feelings",), StepTextForm),
        Lane("frontstage", "Frontstage", ("frontstage",), StepTextForm),
        Lane("backstage", "Backstage", ("backstage",), StepTextForm),
        Lane(
            "moment_of_truth",
            "Moment of truth",
            ("is_moment_of_truth", "moment_of_truth_why"),
            MomentOfTruthForm,
            "journeys/map/_moment_of_truth.html",
        ),
    )
}


class EmotionForm(RevisionForm):
    """One click on the emotion scale: `score` −2..+2, or empty to clear. `based_on` is the score the
    editor saw (a change on an older revision is applied when that score did not change)."""

    score = forms.TypedChoiceField(
        choices=[("", "None"), *((str(n), str(n)) for n in EMOTION_RANGE)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    based_on = forms.TypedChoiceField(
        choices=[("", "None"), *((str(n), str(n)) for n in EMOTION_RANGE)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    persona = forms.ModelChoiceField(queryset=Persona.objects.none(), required=False)

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["persona"].queryset = scoped(workspace, Persona)


class TouchpointForm(LaneForm):
    name = forms.CharField(max_length=160, widget=forms.TextInput(attrs={"autofocus": True}))
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.WEB)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=TEXT_MAX
    )

    @classmethod
    def for_touchpoint(cls, touchpoint: Touchpoint, step: Step, data=None) -> "TouchpointForm":
        initial = {
            "name": touchpoint.name,
            "channel": touchpoint.channel,
            "description": touchpoint.description,
            "revision": step.revision,
            "digest": touchpoint_digest(touchpoint),
        }
        return cls(data, initial=initial, auto_id=f"tp{touchpoint.pk}-%s")

    @classmethod
    def for_new(cls, step: Step, data=None) -> "TouchpointForm":
        return cls(data, initial={"revision": step.revision}, auto_id=f"s{step.pk}-newtp-%s")

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("name", "channel", "description")}


class StepAddForm(RevisionForm):
    name = forms.CharField(label="Step name", max_length=160)
    phase = forms.TypedChoiceField(label="Phase", coerce=int, empty_value=None, required=False, choices=())
    index = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args, journey: Journey, phases, **kwargs):
        super().__init__(*args, **kwargs)
        self.phases = {phase.pk: phase for phase in phases}
        self.fields["phase"].choices = [("", "No phase"), *((pk, p.name) for pk, p in self.phases.items())]
        if self.phases and "phase" not in self.initial:
            self.initial["phase"] = list(self.phases)[-1]

    def clean_phase(self):
        pk = self.cleaned_data["phase"]
        return None if pk is None else self.phases.get(pk)


class StepMoveForm(RevisionForm):
    """Either `direction` (the keyboard: one place left or right) or `phase` + `index` (drag and drop:
    `index` among the other steps of the phase, empty `phase` for no phase)."""

    direction = forms.ChoiceField(choices=[("left", "Left"), ("right", "Right")], required=False)
    phase = forms.CharField(required=False)
    index = forms.IntegerField(required=False, min_value=0)

    def __init__(self, *args, phases, **kwargs):
        super().__init__(*args, **kwargs)
        self.phases = {str(phase.pk): phase for phase in phases}

    def clean(self):
        data = super().clean()
        if not data.get("direction") and data.get("index") is None:
            raise forms.ValidationError("Say where to move the step.")
        phase = data.get("phase") or ""
        if phase and phase not in self.phases:
            self.add_error("phase", "That phase is not on this journey.")
        data["phase"] = self.phases.get(phase)
        return data


class PhaseMoveForm(RevisionForm):
    direction = forms.ChoiceField(choices=[("left", "Left"), ("right", "Right")], required=False)
    index = forms.IntegerField(required=False, min_value=0)

    def clean(self):
        data = super().clean()
        if not data.get("direction") and data.get("index") is None:
            raise forms.ValidationError("Say where to move the phase.")
        return data


class PhaseNameForm(RevisionForm):
    name = forms.CharField(label="Phase name", max_length=120)


class PhaseDeleteForm(RevisionForm):
    steps = forms.ChoiceField(
        choices=[("keep", "Keep the steps"), ("delete", "Delete the steps too")], initial="keep"
    )


class StepDeleteForm(RevisionForm):
    step_revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class InsightQuickForm(forms.Form):
    """A new insight created on a step of the map (the full form is on the insight's page)."""

    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Insight.Kind.choices, initial=Insight.Kind.PAIN)
    severity = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, 6)], coerce=int, initial=3, help_text="1 minor … 5 critical"
    )
    # Shown rather than left to the model's default, so the repository never records a method
    # nobody chose.
    source = forms.ChoiceField(
        label="Source method", choices=Insight.Source.choices, initial=Insight.Source.INTERVIEW
    )
    description = forms.CharField(
        label="Description / quote", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class PinForm(forms.Form):
    insight = forms.ModelChoiceField(queryset=Insight.objects.none())

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["insight"].queryset = scoped(workspace, Insight)


class JourneyForm(RevisionForm):
    name = forms.CharField(max_length=160)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    status = forms.ChoiceField(choices=Journey.Status.choices)
    owner = forms.ModelChoiceField(queryset=Membership.objects.none(), required=False, empty_label="No owner")
    primary_persona = forms.ModelChoiceField(
        queryset=Persona.objects.none(), required=False, empty_label="No primary persona"
    )
    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Whose eyes the map can be seen through (the persona switcher).",
    )

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        owner.queryset = (
            scoped(workspace, Membership).select_related("user").order_by("user__full_name", "user__email")
        )
        owner.label_from_instance = lambda membership: membership.display_name
        self.fields["primary_persona"].queryset = scoped(workspace, Persona)
        self.fields["personas"].queryset = scoped(workspace, Persona)

    @staticmethod
    def initial_for(journey: Journey) -> dict:
        return {
            "name": journey.name,
            "description": journey.description,
            "status": journey.status,
            "owner": journey.owner_id,
            "primary_persona": journey.primary_persona_id,
            "personas": list(journey.personas.values_list("pk", flat=True)),
            "revision": journey.revision,
        }

    def changes(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in ("name", "description", "status", "owner", "primary_persona")
        }
