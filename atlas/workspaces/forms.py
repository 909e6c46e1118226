from django import forms
from django.core.exceptions import ValidationError

from atlas.models import ApiToken, Role, Workspace

INVITABLE_ROLES = [
    (Role.ADMIN, Role.ADMIN.label),
    (Role.EDITOR, Role.EDITOR.label),
    (Role.VIEWER, Role.VIEWER.label),
]


class WorkspaceForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    slug = forms.SlugField(
        label="Web address",
        max_length=60,
        required=False,
        help_text="Lower-case letters, numbers and hyphens, used in the workspace's links (/w/<address>/). "
        "Leave empty to derive it from the name.",
    )

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug and Workspace.objects.filter(slug=slug).exists():
            raise ValidationError("This address is taken. Choose another one.", code="duplicate_slug")
        return slug


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class InvitationForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=INVITABLE_ROLES, initial=Role.EDITOR)
    email = forms.EmailField(
        label="Email",
        required=False,
        max_length=254,
        help_text="Who the link is meant for, to recognise it in the list. "
        "Anyone who opens the link can use it once.",
    )


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Token name",
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What it is for, e.g. “KPI import from BigQuery”.",
    )
