"""API representation of opportunities: links as id lists, criterion values as {key: number}, and
the score fields (written only by the recompute) read-only."""

import math

from rest_framework import serializers

from atlas.api.serializers import WorkspaceModelSerializer
from opportunities.models import Criterion, Opportunity


def criterion_value_problem(criterion: Criterion, value: float) -> str | None:
    """Why `value` is not a valid score on this criterion, or None when it is."""
    if not math.isfinite(value):
        return "Must be a finite number."
    if value < criterion.min_value or value > criterion.max_value:
        return f"Must be between {criterion.min_value:g} and {criterion.max_value:g}."
    steps = (value - criterion.min_value) / criterion.step
    if abs(steps - round(steps)) > 1e-9 * max(1.0, abs(steps)):
        return f"Must be {criterion.min_value:g} plus a multiple of {criterion.step:g}."
    return None


class CriterionValuesField(serializers.DictField):
    """{criterion key: number} against the workspace's scoring model. On write, a number sets the
    value, null clears it, and criteria left out keep their value."""

    child = serializers.FloatField(allow_null=True)

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            'Scores by criterion key of the workspace\'s scoring model, e.g. {"customer_impact": 4}. '
            "On write: a number sets the value, null clears it, criteria left out keep their value.",
        )
        super().__init__(**kwargs)

    def to_representation(self, value):
        values = value.all()
        if "criterion_values" not in getattr(value.instance, "_prefetched_objects_cache", {}):
            values = values.select_related("criterion")
        ordered = sorted(values, key=lambda cv: (cv.criterion.position, cv.criterion_id))
        return {cv.criterion.key: cv.value for cv in ordered}

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        criteria = {
            criterion.key: criterion
            for criterion in Criterion.objects.filter(
                workspace=self.context["workspace"], key__in=list(values)
            )
        }
        errors, resolved = {}, {}
        for key, value in values.items():
            criterion = criteria.get(key)
            if criterion is None:
                errors[key] = ["Unknown criterion of this workspace's scoring model."]
                continue
            problem = None if value is None else criterion_value_problem(criterion, value)
            if problem:
                errors[key] = [problem]
            else:
                resolved[criterion] = value
        if errors:
            raise serializers.ValidationError(errors)
        return resolved


class OpportunitySerializer(WorkspaceModelSerializer):
    criterion_values = CriterionValuesField(required=False)
    scores = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        read_only=True,
        help_text="Every computed score of the scoring model, by key.",
    )
    score_breakdown = serializers.DictField(
        read_only=True, help_text="How the priority was computed: inputs, nodes and weights."
    )
    rank_movement = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Places moved up since the previous ranking."
    )

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "title",
            "description",
            "status",
            "owner",
            "steps",
            "insights",
            "key_results",
            "tags",
            "criterion_values",
            "priority",
            "rank",
            "previous_rank",
            "previous_priority",
            "rank_movement",
            "scores",
            "score_breakdown",
            "scored_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "priority",
            "rank",
            "previous_rank",
            "previous_priority",
            "scored_at",
            "created_by",
        ]
        extra_kwargs = {
            "owner": {"help_text": "Membership id of the owner."},
            "created_by": {"help_text": "Membership id of the member who created it."},
        }
