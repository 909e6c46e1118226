from django import forms
from django.core.exceptions import ValidationError

from atlas.collaboration.services import MAX_BODY_LENGTH, clean_body


def mention_help(example_handle: str | None) -> str:
    example = f"@{example_handle}" if example_handle else "@maria.lopez for maria.lopez@…"
    return (
        "Type @ and a name to mention a member; they get an e-mail. A mention is the start of their "
        f"e-mail address, like {example}."
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        strip=False,  # clean_body strips, so a comment that is only spaces gets its own message
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_BODY_LENGTH, "data-mentions": ""}),
        error_messages={"required": "Write something first."},
        help_text=mention_help(None),
    )

    def set_mention_example(self, handle: str | None) -> None:
        self.fields["body"].help_text = mention_help(handle)

    def clean_body(self) -> str:
        try:
            return clean_body(self.cleaned_data["body"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["body"]) from None


class CommentEditForm(CommentForm):
    version = forms.CharField(widget=forms.HiddenInput)
