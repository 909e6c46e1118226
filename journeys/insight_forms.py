"""Forms of the insight repository. They parse and check input; writes go through
journeys.services.insights."""

from django import forms
from django.conf import settings

from atlas.models import Tag, Workspace
from atlas.tenancy import scoped
from journeys import insight_import
from journeys.insight_selectors import NOT_PINNED, SORTS
from journeys.models import Insight, Persona, Step


class GroupedModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A multiple choice whose options are grouped (<optgroup>) by `group_of(obj)`; the queryset must
    be ordered by group."""

    def __init__(self, *args, group_of, **kwargs):
        self.group_of = group_of
        super().__init__(*args, **kwargs)

    def _grouped_choices(self):
        groups: dict[str, list] = {}
        for obj in self.queryset:
            groups.setdefault(self.group_of(obj), []).append((obj.pk, self.label_from_instance(obj)))
        return list(groups.items())

    def _get_choices(self):
        return self._grouped_choices()

    choices = property(_get_choices, forms.ChoiceField.choices.fset)


class InsightForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        label="Description / quote",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text="What was observed or said, in the customer's words where you have them.",
    )
    kind = forms.ChoiceField(choices=Insight.Kind.choices, initial=Insight.Kind.PAIN)
    status = forms.ChoiceField(
        choices=Insight.Status.choices,
        initial=Insight.Status.HYPOTHESIS,
        help_text="Validated evidence counts fully in the priority score, a hypothesis half, rejected not at all.",
    )
    source = forms.ChoiceField(
        label="Source method", choices=Insight.Source.choices, initial=Insight.Source.INTERVIEW
    )
    source_reference = forms.CharField(
        max_length=500, required=False, help_text="A link or a note: the recording, the ticket, the survey."
    )
    severity = forms.TypedChoiceField(
        coerce=int,
        choices=[(1, "1 – minor"), (2, "2"), (3, "3 – noticeable"), (4, "4"), (5, "5 – critical")],
        initial=3,
    )
    reach = forms.IntegerField(
        min_value=0,
        max_value=2_147_483_647,
        initial=0,
        help_text="How many customers it concerns (an estimate is fine).",
    )
    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = GroupedModelMultipleChoiceField(
        queryset=Tag.objects.none(),
        required=False,
        group_of=lambda tag: tag.get_kind_display(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Hold Ctrl (⌘ on a Mac) to choose several.",
    )
    # Rendered by journeys/insights/_step_picker.html (a journey, then its steps), never as a list of every
    # step of the workspace: the queryset only checks the ids sent.
    steps = forms.ModelMultipleChoiceField(
        label="Pinned to steps", queryset=Step.objects.none(), required=False
    )
    # The `updated_at` the editor started from: a save on top of someone else's change is refused.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        # Labels first: a grouped field lists its choices as soon as it gets its queryset.
        self.fields["tags"].label_from_instance = lambda tag: tag.name
        self.fields["personas"].queryset = scoped(workspace, Persona).order_by("name")
        self.fields["tags"].queryset = scoped(workspace, Tag).order_by("kind", "name")
        self.fields["steps"].queryset = scoped(workspace, Step)

    @classmethod
    def initial_from(cls, data) -> dict:
        """Typed values as initial values: the form shown again (to browse another journey's steps)
        without checking anything yet."""
        multiple = {"personas", "tags", "steps"}
        return {
            name: data.getlist(name) if name in multiple else data.get(name)
            for name in cls.base_fields
            if name in data
        }

    @staticmethod
    def initial_for(insight: Insight) -> dict:
        return {
            "title": insight.title,
            "description": insight.description,
            "kind": insight.kind,
            "status": insight.status,
            "source": insight.source,
            "source_reference": insight.source_reference,
            "severity": insight.severity,
            "reach": insight.reach,
            "personas": [persona.pk for persona in insight.personas.all()],
            "tags": [tag.pk for tag in insight.tags.all()],
            "steps": list(insight.steps.values_list("pk", flat=True)),
            "version": insight.updated_at.isoformat(),
        }

    def values(self) -> dict:
        """The cleaned values as keyword arguments of insight_create / insight_update."""
        names = (
            "title",
            "description",
            "kind",
            "status",
            "source",
            "source_reference",
            "severity",
            "reach",
            "personas",
            "tags",
            "steps",
        )
        return {name: self.cleaned_data[name] for name in names}


def _optional_choices(choices, empty_label: str) -> list:
    return [("", empty_label), *choices]


class InsightFilterForm(forms.Form):
    """The list's filters, read from GET. An invalid value is dropped, never an error page."""

    q = forms.CharField(required=False, label="Search")
    kind = forms.ChoiceField(required=False, choices=_optional_choices(Insight.Kind.choices, "All kinds"))
    status = forms.ChoiceField(
        required=False, choices=_optional_choices(Insight.Status.choices, "All statuses")
    )
    source = forms.ChoiceField(
        required=False, label="Source", choices=_optional_choices(Insight.Source.choices, "All sources")
    )
    severity = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[
            ("", "Any severity"),
            (5, "5 – critical"),
            (4, "4 or more"),
            (3, "3 or more"),
            (2, "2 or more"),
        ],
    )
    persona = forms.IntegerField(required=False)
    journey = forms.CharField(required=False)
    tag = forms.IntegerField(required=False)
    sort = forms.ChoiceField(required=False, choices=[(key, label) for key, (label, _) in SORTS.items()])

    def clean_journey(self):
        value = self.cleaned_data["journey"]
        if value in ("", NOT_PINNED):
            return value
        try:
            return int(value)
        except ValueError:
            raise forms.ValidationError("Choose a journey.") from None

    def valid_values(self) -> dict:
        """The values that parsed; those that did not are left out."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}


BULK_STATUS_ACTIONS = {
    "validate": Insight.Status.VALIDATED,
    "reject": Insight.Status.REJECTED,
    "hypothesis": Insight.Status.HYPOTHESIS,
}
BULK_ACTIONS = [
    ("validate", "Mark validated"),
    ("reject", "Mark rejected"),
    ("hypothesis", "Back to hypothesis"),
    ("tag", "Add tag"),
    ("pin", "Pin to step"),
]


class InsightBulkForm(forms.Form):
    """A bulk action on the selected insights (`insight`, repeated). Ids are parsed here; whether they
    are in the workspace is the view's business (404 otherwise). `pin_journey` is the journey whose steps
    the step menu lists."""

    action = forms.ChoiceField(choices=BULK_ACTIONS)
    tag = forms.IntegerField(required=False)
    pin_journey = forms.IntegerField(required=False)
    step = forms.IntegerField(required=False)

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.insight_ids: list[int] = []
        self.bad_ids = False
        for value in data.getlist("insight"):
            try:
                self.insight_ids.append(int(value))
            except ValueError:
                self.bad_ids = True
        self.insight_ids = list(dict.fromkeys(self.insight_ids))

    def clean(self):
        cleaned = super().clean()
        if self.bad_ids:
            raise forms.ValidationError("The selection could not be read; select the insights again.")
        if not self.insight_ids:
            raise forms.ValidationError("Select at least one insight first.")
        action = cleaned.get("action")
        if action == "tag" and cleaned.get("tag") is None:
            self.add_error("tag", "Choose the tag to add.")
        if action == "pin" and cleaned.get("step") is None:
            if cleaned.get("pin_journey") is None:
                self.add_error("step", "Choose a journey, then the step to pin to.")
            else:
                self.add_error("step", "Now choose the step of this journey to pin to.")
        return cleaned


class PinForm(forms.Form):
    step = forms.IntegerField(error_messages={"required": "Choose the step to pin to."})


# Pasting back more than the server accepts in a form field would fail with "400 Bad Request".
PASTE_LIMIT = min(
    insight_import.MAX_BYTES, (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or insight_import.MAX_BYTES) - 65_536
)


class InsightImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        required=False,
        help_text=f"UTF-8, comma or semicolon separated, at most {insight_import.MAX_BYTES // 1024 // 1024} MB "
        f"and {insight_import.MAX_ROWS:,} rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )
    text = forms.CharField(
        label="Or paste the rows",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "maxlength": PASTE_LIMIT}),
        help_text="CSV text with its header row, or cells copied from a spreadsheet.",
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > insight_import.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                f"{insight_import.MAX_BYTES // 1024 // 1024} MB. Split it into smaller files."
            )
        return upload

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("file") and not cleaned.get("text", "").strip():
            raise forms.ValidationError("Choose a CSV file, or paste the rows.")
        return cleaned

    def content(self) -> bytes:
        """The uploaded file's bytes, else the pasted text's."""
        upload = self.cleaned_data.get("file")
        if upload:
            return b"".join(upload.chunks())
        return self.cleaned_data["text"].encode("utf-8")
