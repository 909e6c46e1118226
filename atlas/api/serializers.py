"""Serializer building blocks shared by every app's API: related ids resolved only inside the URL's
workspace, and uniqueness checked within it.

`WorkspaceModelSerializer` is the base of every model serializer of the API. Its related fields are
`WorkspaceScopedPrimaryKeyRelatedField`s, so an id of another workspace answers 400 ("Invalid pk …
object does not exist") exactly like an id that does not exist: nothing is linked and nothing leaks.
The database guards (atlas/db_guards.py) stay as the last line of defence, never the first."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers
from rest_framework.validators import UniqueTogetherValidator

from atlas.models import Workspace, WorkspaceScoped


class WorkspaceScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id looked up only among the rows of the serializer context's `workspace`.

    Without a workspace in the context nothing matches (fail closed)."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if not issubclass(queryset.model, WorkspaceScoped):
            raise ImproperlyConfigured(
                f"{queryset.model.__name__} is not workspace-scoped; declare this field explicitly."
            )
        workspace = self.context.get("workspace")
        if workspace is None:
            return queryset.none()
        return queryset.filter(workspace=workspace)


class CurrentWorkspaceDefault:
    """The URL's workspace, as a default for a HiddenField (like DRF's CurrentUserDefault)."""

    requires_context = True

    def __call__(self, serializer_field) -> Workspace:
        return serializer_field.context["workspace"]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class FieldUniqueTogetherValidator(UniqueTogetherValidator):
    """A unique-together violation reported on the field that clashes (the last of the set, e.g.
    `position` or `name`), with a sentence a person can act on, instead of `non_field_errors`."""

    def __init__(self, *args, error_field: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_field = error_field

    def __call__(self, attrs, serializer):
        try:
            super().__call__(attrs, serializer)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                raise  # missing required fields: already keyed by field
            raise serializers.ValidationError({self.error_field: [self.message]}, code="unique") from None


class WorkspaceModelSerializer(serializers.ModelSerializer):
    # Base of every API model serializer (comments, not a docstring: drf-spectacular would show a
    # docstring as the description of every schema component that has none of its own).
    # - every related field resolves ids only within the URL's workspace;
    # - `workspace` is a hidden field defaulting to the URL's workspace, so uniqueness constraints that
    #   include the workspace (a persona's name, a lifecycle's name…) are checked by DRF's validators
    #   and answer 400 instead of an IntegrityError.

    serializer_related_field = WorkspaceScopedPrimaryKeyRelatedField

    workspace = serializers.HiddenField(default=CurrentWorkspaceDefault())

    def get_field_names(self, declared_fields, info):
        # Fields declared on a parent are left out unless Meta.fields names them; this one never is.
        return [*super().get_field_names(declared_fields, info), "workspace"]

    def get_unique_together_validators(self):
        validators = super().get_unique_together_validators()
        model_name = self.Meta.model._meta.verbose_name
        readable = []
        for validator in validators:
            fields = list(validator.fields)
            others = [name for name in fields if name != "workspace"]
            if "workspace" in fields:
                message = f"A {model_name} with this {' and '.join(others)} already exists in this workspace."
            else:
                scope = ", ".join(name.replace("_", " ") for name in others[:-1])
                message = (
                    f"This {others[-1].replace('_', ' ')} is already taken by another {model_name} "
                    f"of the same {scope}."
                )
            readable.append(
                FieldUniqueTogetherValidator(
                    queryset=validator.queryset,
                    fields=validator.fields,
                    message=message,
                    error_field=others[-1],
                    condition_fields=validator.condition_fields,
                    condition=validator.condition,
                    code=validator.code,
                    nulls_distinct=validator.nulls_distinct,
                )
            )
        return readable
