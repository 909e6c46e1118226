"""API representation of the journey framework and the insight repository.

Related ids are resolved within the URL's workspace by `WorkspaceModelSerializer`; the rules below
are the ones the database cannot say in a way a client can act on."""

from rest_framework import serializers

from atlas.api.serializers import WorkspaceModelSerializer
from journeys.models import Insight, Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, Phase, Step

# Optimistic concurrency: a client sends back the revision it read; a write based on an older one is
# refused with 409 and the current representation (see journeys/api.py). Without it, the write applies.
REVISION_KWARGS = {
    "required": False,
    "min_value": 1,
    "help_text": "The revision this change is based on, as read. If the row changed since, the API answers "
    "409 with the current representation and writes nothing. Omit it to write regardless. Ignored on create.",
}


class PersonaSerializer(WorkspaceModelSerializer):
    class Meta:
        model = Persona
        fields = ["id", "name", "summary", "segment", "needs", "goals", "frustrations", "tags", "created_at"]


class LifecycleSerializer(WorkspaceModelSerializer):
    class Meta:
        model = Lifecycle
        fields = ["id", "name", "description", "position"]


class LifecycleStageSerializer(WorkspaceModelSerializer):
    class Meta:
        model = LifecycleStage
        fields = ["id", "lifecycle", "name", "description", "position"]


class MacroJourneySerializer(WorkspaceModelSerializer):
    class Meta:
        model = MacroJourney
        fields = ["id", "stage", "name", "description", "owner", "position"]
        extra_kwargs = {"owner": {"help_text": "Membership id of the owner."}}


class JourneySerializer(WorkspaceModelSerializer):
    class Meta:
        model = Journey
        fields = [
            "id",
            "macro_journey",
            "name",
            "description",
            "kind",
            "current_journey",
            "status",
            "owner",
            "primary_persona",
            "personas",
            "tags",
            "revision",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "revision": REVISION_KWARGS,
            "owner": {"help_text": "Membership id of the journey owner."},
            "current_journey": {"help_text": "For a to-be journey: the current journey it improves."},
        }

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance
        kind = attrs.get("kind", instance.kind if instance else Journey.Kind.CURRENT)
        current = (
            attrs["current_journey"]
            if "current_journey" in attrs
            else getattr(instance, "current_journey", None)
        )
        if current is not None:
            if kind != Journey.Kind.TO_BE:
                raise serializers.ValidationError(
                    {"current_journey": "Only a to-be journey can point at the current journey it improves."}
                )
            if current.kind != Journey.Kind.CURRENT:
                raise serializers.ValidationError({"current_journey": "This must be a current journey."})
            if instance is not None and current.pk == instance.pk:
                raise serializers.ValidationError({"current_journey": "A journey cannot improve itself."})
        if (
            instance is not None
            and instance.kind == Journey.Kind.CURRENT
            and kind == Journey.Kind.TO_BE
            and instance.to_be_journeys.exists()
        ):
            raise serializers.ValidationError(
                {"kind": "To-be journeys point at this journey; it must stay a current journey."}
            )
        return attrs


class PhaseSerializer(WorkspaceModelSerializer):
    class Meta:
        model = Phase
        fields = ["id", "journey", "name", "position"]


class StepSerializer(WorkspaceModelSerializer):
    class Meta:
        model = Step
        fields = [
            "id",
            "journey",
            "phase",
            "position",
            "name",
            "customer_goal",
            "customer_actions",
            "thoughts_feelings",
            "emotion",
            "frontstage",
            "backstage",
            "is_moment_of_truth",
            "moment_of_truth_why",
            "tags",
            "revision",
        ]
        extra_kwargs = {"emotion": {"min_value": -2, "max_value": 2}, "revision": REVISION_KWARGS}

    def validate(self, attrs):
        attrs = super().validate(attrs)
        journey = attrs.get("journey", getattr(self.instance, "journey", None))
        phase = attrs["phase"] if "phase" in attrs else getattr(self.instance, "phase", None)
        if phase is not None and journey is not None and phase.journey_id != journey.pk:
            raise serializers.ValidationError({"phase": "This phase belongs to another journey."})
        return attrs


class InsightSerializer(WorkspaceModelSerializer):
    class Meta:
        model = Insight
        fields = [
            "id",
            "title",
            "description",
            "kind",
            "source",
            "source_reference",
            "status",
            "severity",
            "reach",
            "personas",
            "steps",
            "tags",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_by"]
        extra_kwargs = {
            "severity": {"min_value": 1, "max_value": 5},
            "reach": {"min_value": 0},
            "created_by": {"help_text": "Membership id of the member who captured it."},
        }
