"""REST API of the workspace's scoring model: /api/v1/workspaces/<slug>/scoring-model/… and criteria/.

The model travels as one document shaped like the engine's `ModelSpec` (opportunities/scoring.py):
its criteria, its computed scores ("nodes") with their inputs, and the key of the priority node. A PUT
replaces the whole model; the engine's rules are checked by `services.scoring_model_replace`, whose
messages come back as a 400. `criteria/` is a read-only list for integrators who write criterion
values (ranges, steps, allowed values)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from atlas.api.scoping import WorkspaceScopedViewSetMixin
from atlas.api.serializers import WorkspaceModelSerializer
from atlas.models import Role
from opportunities import scoring, services
from opportunities.models import Criterion, ScoringModel

# What each evidence input means (the engine's docstring, in the words the settings page and the API
# show). Never typed in: the recompute computes them from the atlas.
EVIDENCE_MEANINGS: dict[str, str] = {
    "evidence": "Evidence strength, 0..1: over the linked insights, Σ severity/5 × status factor "
    "(validated 1.0, hypothesis 0.5, rejected 0) × (1 + log10(1 + reach)), × 1.5 once if a linked step "
    "is a moment of truth, divided by the largest such sum among the workspace's open opportunities.",
    "reach": "Σ reach of the linked insights (how many customers they speak for).",
    "insight_count": "How many insights are linked as evidence.",
    "journey_count": "How many journeys the linked steps belong to.",
    "okr_alignment": "1 if the opportunity moves a key result of an active OKR cycle, else 0.",
    "kpi_gap": "How far the KPIs on the linked steps (and their journeys) are from their targets, "
    "0..1: the mean over those KPIs of shortfall ÷ the distance from baseline to target, each capped at 1.",
}


class ScoringCriterionSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=40, help_text="Stable identifier, used by inputs and the API.")
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    perspective = serializers.ChoiceField(choices=scoring.PERSPECTIVES)
    min_value = serializers.FloatField()
    max_value = serializers.FloatField(help_text="Must be above min_value.")
    step = serializers.FloatField(help_text="Valid values are min_value plus a multiple of the step.")
    unit = serializers.CharField(max_length=20, allow_blank=True, required=False, default="")
    weight = serializers.FloatField(
        required=False, default=1.0, help_text="≥ 0; the weight suggested when it is added to a score."
    )
    default_value = serializers.FloatField(
        allow_null=True,
        required=False,
        default=None,
        help_text="Assumed when an opportunity has no value; null: the middle of the range.",
    )
    allowed_values = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        required=False,
        default=None,
        help_text="When set, the only valid values (e.g. RICE impact 0.25, 0.5, 1, 2, 3).",
    )


class ScoringInputSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=scoring.SOURCES)
    ref = serializers.CharField(
        max_length=40,
        allow_null=True,
        required=False,
        default=None,
        help_text="The criterion key, evidence input or computed-score key; null for a constant.",
    )
    constant = serializers.FloatField(
        allow_null=True, required=False, default=None, help_text="The value of a constant input."
    )
    weight = serializers.FloatField(required=False, default=1.0)
    normalise = serializers.BooleanField(
        required=False, default=False, help_text="Rescale a criterion to 0..1 over its range first."
    )

    def validate(self, attrs):
        if attrs["source"] == scoring.CONSTANT:
            if attrs["constant"] is None:
                raise serializers.ValidationError({"constant": ["A constant input needs its value."]})
            if attrs["ref"] is not None:
                raise serializers.ValidationError({"ref": ["A constant input has no ref."]})
        else:
            if not attrs["ref"]:
                raise serializers.ValidationError({"ref": [f"A {attrs['source']} input needs a ref."]})
            if attrs["constant"] is not None:
                raise serializers.ValidationError({"constant": ["Only a constant input has a constant."]})
        return attrs


class ComputedScoreSerializer(serializers.Serializer):
    key = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    operation = serializers.ChoiceField(choices=scoring.OPERATIONS)
    inputs = ScoringInputSerializer(many=True)


class EvidenceInputSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class ScoringModelSerializer(serializers.Serializer):
    preset = serializers.ChoiceField(
        choices=ScoringModel.Preset.choices,
        required=False,
        help_text="The preset the model came from (kept when left out of a PUT).",
    )
    priority = serializers.CharField(
        max_length=40, allow_blank=True, help_text="Key of the computed score that ranks opportunities."
    )
    criteria = ScoringCriterionSerializer(many=True)
    nodes = ComputedScoreSerializer(many=True, help_text="The computed scores, each with its inputs.")
    evidence_inputs = EvidenceInputSerializer(
        many=True, read_only=True, help_text="The evidence inputs computed from the atlas."
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_spec(self) -> scoring.ModelSpec:
        """The validated body as the engine's spec (its rules are checked by the services)."""
        data = self.validated_data
        return scoring.ModelSpec(
            criteria=tuple(
                scoring.CriterionSpec(
                    key=c["key"],
                    name=c["name"],
                    perspective=c["perspective"],
                    min_value=c["min_value"],
                    max_value=c["max_value"],
                    step=c["step"],
                    unit=c["unit"],
                    weight=c["weight"],
                    default_value=c["default_value"],
                    description=c["description"],
                    allowed_values=tuple(c["allowed_values"]) if c["allowed_values"] else None,
                )
                for c in data["criteria"]
            ),
            nodes=tuple(
                scoring.NodeSpec(
                    key=n["key"],
                    name=n["name"],
                    operation=n["operation"],
                    description=n["description"],
                    inputs=tuple(
                        scoring.InputSpec(
                            source=i["source"],
                            ref=i["ref"],
                            constant=i["constant"],
                            weight=i["weight"],
                            normalise=i["normalise"],
                        )
                        for i in n["inputs"]
                    ),
                )
                for n in data["nodes"]
            ),
            priority=data["priority"],
        )


def spec_data(spec: scoring.ModelSpec, preset: str, model: ScoringModel | None = None) -> dict:
    """The representation of a model: what GET answers and what a PUT takes back unchanged."""
    return {
        "preset": preset,
        "priority": spec.priority,
        "criteria": [
            {
                "key": c.key,
                "name": c.name,
                "description": c.description,
                "perspective": c.perspective,
                "min_value": c.min_value,
                "max_value": c.max_value,
                "step": c.step,
                "unit": c.unit,
                "weight": c.weight,
                "default_value": c.default_value,
                "allowed_values": list(c.allowed_values) if c.allowed_values is not None else None,
            }
            for c in spec.criteria
        ],
        "nodes": [
            {
                "key": n.key,
                "name": n.name,
                "description": n.description,
                "operation": n.operation,
                "inputs": [
                    {
                        "source": i.source,
                        "ref": i.ref,
                        "constant": i.constant,
                        "weight": i.weight,
                        "normalise": i.normalise,
                    }
                    for i in n.inputs
                ],
            }
            for n in spec.nodes
        ],
        "evidence_inputs": [
            {"key": key, "name": name, "description": EVIDENCE_MEANINGS[key]}
            for key, name in scoring.EVIDENCE_INPUTS.items()
        ],
        "updated_at": model.updated_at if model else None,
    }


class PresetSerializer(serializers.Serializer):
    preset = serializers.ChoiceField(choices=ScoringModel.Preset.choices)


class RankMoveSerializer(serializers.Serializer):
    opportunity = serializers.IntegerField(source="opportunity_id", help_text="The opportunity's id.")
    title = serializers.CharField()
    current_rank = serializers.IntegerField(allow_null=True)
    new_rank = serializers.IntegerField(allow_null=True)
    movement = serializers.IntegerField(
        allow_null=True, help_text="Places moved up (negative: down); null when it had no current rank."
    )
    current_priority = serializers.FloatField(allow_null=True)
    new_priority = serializers.FloatField(allow_null=True)


class ScoringPreviewSerializer(serializers.Serializer):
    top = RankMoveSerializer(many=True, help_text="The top 10 under the proposed model.")
    leaving = RankMoveSerializer(many=True, help_text="Opportunities of the current top 10 that leave it.")
    opportunity_count = serializers.IntegerField(help_text="Open opportunities ranked.")
    current_ranked = serializers.BooleanField(
        help_text="False when the current model cannot be evaluated (no current ranks)."
    )


class ScoringModelErrorsSerializer(serializers.Serializer):
    non_field_errors = serializers.ListField(
        child=serializers.CharField(), help_text="Every problem with the model, as sentences."
    )


INVALID_MODEL = OpenApiResponse(
    ScoringModelErrorsSerializer,
    description="The body is malformed (errors by field) or the model breaks a rule: a cycle, an "
    "unknown input, a negative weight in a weighted mean, min ≥ max… (`non_field_errors`).",
)


def _model_refused(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError({"non_field_errors": error.messages})


@extend_schema(tags=["scoring model"])
class ScoringModelViewSet(WorkspaceScopedViewSetMixin, viewsets.GenericViewSet):
    """The workspace's scoring model, one per workspace. Everyone in the workspace may read it; admins
    replace it."""

    queryset = ScoringModel.objects.all()
    serializer_class = ScoringModelSerializer
    read_role = Role.VIEWER
    write_role = Role.ADMIN
    pagination_class = None
    filter_backends = []

    def _model_response(self) -> Response:
        model, spec = services.scoring_model_load(workspace=self.workspace)
        preset = model.preset if model else ScoringModel.Preset.ATLAS
        return Response(ScoringModelSerializer(spec_data(spec, preset, model)).data)

    def _proposed(self, request: Request) -> ScoringModelSerializer:
        serializer = ScoringModelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer

    @extend_schema(summary="The workspace's scoring model", responses=ScoringModelSerializer)
    def retrieve(self, request: Request, workspace_slug: str) -> Response:
        return self._model_response()

    @extend_schema(
        summary="Replace the scoring model",
        description="Replaces the whole model (admins). Criteria are matched by key: a criterion whose "
        "key survives keeps the opportunities' values for it; one left out is deleted with its values. "
        "Scores are recomputed afterwards.",
        request=ScoringModelSerializer,
        responses={200: ScoringModelSerializer, 400: INVALID_MODEL},
    )
    def update(self, request: Request, workspace_slug: str) -> Response:
        proposed = self._proposed(request)
        try:
            services.scoring_model_replace(
                workspace=self.workspace,
                spec=proposed.to_spec(),
                preset=proposed.validated_data.get("preset"),
                actor=request.user,
            )
        except DjangoValidationError as error:
            raise _model_refused(error) from error
        return self._model_response()

    @extend_schema(
        summary="Preview a replacement",
        description="How the top 10 would move under the given model (admins). Writes nothing.",
        request=ScoringModelSerializer,
        responses={200: ScoringPreviewSerializer, 400: INVALID_MODEL},
    )
    def preview(self, request: Request, workspace_slug: str) -> Response:
        proposed = self._proposed(request)
        try:
            preview = services.scoring_model_preview(workspace=self.workspace, spec=proposed.to_spec())
        except DjangoValidationError as error:
            raise _model_refused(error) from error
        return Response(ScoringPreviewSerializer(preview).data)

    @extend_schema(
        summary="Replace the model with a preset",
        description="atlas, value_effort, rice, ice or wsjf (admins). Criteria whose key the preset also "
        "has keep their values.",
        request=PresetSerializer,
        responses={200: ScoringModelSerializer, 400: INVALID_MODEL},
    )
    def preset(self, request: Request, workspace_slug: str) -> Response:
        serializer = PresetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.scoring_model_apply_preset(
                workspace=self.workspace, preset=serializer.validated_data["preset"], actor=request.user
            )
        except DjangoValidationError as error:
            raise _model_refused(error) from error
        return self._model_response()


class CriterionSerializer(WorkspaceModelSerializer):
    allowed_values = serializers.ListField(
        child=serializers.FloatField(),
        read_only=True,
        help_text="When not empty, the only valid values; otherwise min_value plus multiples of step.",
    )

    class Meta:
        model = Criterion
        fields = [
            "id",
            "key",
            "name",
            "description",
            "perspective",
            "min_value",
            "max_value",
            "step",
            "unit",
            "weight",
            "default_value",
            "allowed_values",
            "position",
        ]
        read_only_fields = fields


@extend_schema(tags=["scoring model"])
class CriterionViewSet(WorkspaceScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The scoring model's criteria in model order, with the range, step and allowed values a criterion
    value must respect (`criterion_values` of an opportunity). Not paginated: a model has a handful.
    Change them through scoring-model/."""

    queryset = Criterion.objects.order_by("position", "id")
    serializer_class = CriterionSerializer
    read_role = Role.VIEWER
    write_role = Role.ADMIN
    pagination_class = None
    filterset_fields = ["perspective"]
    ordering_fields = ["position", "id", "key"]
