"""Forms of the versions and to-be pages."""

from django import forms

from journeys.models import Journey, JourneyVersion


class VersionForm(forms.Form):
    label = forms.CharField(
        required=False,
        max_length=JourneyVersion._meta.get_field("label").max_length,
        help_text="What this version is, e.g. “Before the Q3 workshop”.",
    )


class ToBeForm(forms.Form):
    name = forms.CharField(
        required=False,
        max_length=Journey._meta.get_field("name").max_length,
        help_text="Leave empty to call it “<current name> (to-be)”.",
    )
