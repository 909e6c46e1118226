"""Forms of the persona pages. They parse and check input; writes go through journeys.services.framework."""

from django import forms

from atlas.models import Tag, Workspace
from atlas.tenancy import scoped
from journeys.models import Persona

LIST_HELP = "One per line."


class PersonaForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text="A name the team will remember, e.g. “Leo, the digital-native student”.",
    )
    segment = forms.CharField(
        max_length=120, required=False, help_text="The customer segment they stand for, e.g. Young adults."
    )
    summary = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who they are and what their situation is, in two or three sentences.",
    )
    needs = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text=LIST_HELP)
    goals = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text=LIST_HELP)
    frustrations = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text=LIST_HELP
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, workspace: Workspace, **kwargs):
        super().__init__(*args, **kwargs)
        tags = self.fields["tags"]
        tags.queryset = scoped(workspace, Tag).order_by("kind", "name")
        tags.label_from_instance = lambda tag: tag.name  # the form groups them by kind

    @staticmethod
    def initial_for(persona: Persona) -> dict:
        return {
            "name": persona.name,
            "segment": persona.segment,
            "summary": persona.summary,
            "needs": persona.needs,
            "goals": persona.goals,
            "frustrations": persona.frustrations,
            "tags": [tag.pk for tag in persona.tags.all()],
        }
