"""Query filters of the journey API lists.

Related objects are filtered by id with `IdFilter`, not ModelChoiceFilter: the list is already
scoped to the URL's workspace, so an id of another workspace simply matches nothing, and there is
no extra query to check that the id exists."""

import django_filters
from django import forms
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from journeys.models import Insight, Journey, LifecycleStage, MacroJourney, Persona, Phase, Step


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class LifecycleStageFilter(django_filters.FilterSet):
    lifecycle = IdFilter(field_name="lifecycle_id")

    class Meta:
        model = LifecycleStage
        fields = ["lifecycle"]


class MacroJourneyFilter(django_filters.FilterSet):
    stage = IdFilter(field_name="stage_id")
    owner = IdFilter(field_name="owner_id", help_text="Membership id.")

    class Meta:
        model = MacroJourney
        fields = ["stage", "owner"]


class JourneyFilter(django_filters.FilterSet):
    macro_journey = IdFilter(field_name="macro_journey_id")
    owner = IdFilter(field_name="owner_id", help_text="Membership id.")
    persona = IdFilter(method="filter_persona", help_text="Primary persona or one of the personas.")
    tag = IdFilter(method="filter_tag")
    current_journey = IdFilter(field_name="current_journey_id")

    class Meta:
        model = Journey
        fields = ["macro_journey", "kind", "status", "owner", "persona", "tag", "current_journey"]

    def filter_persona(self, queryset, name, value):
        matching = Journey.personas.through.objects.filter(persona_id=value).values("journey_id")
        return queryset.filter(Q(primary_persona_id=value) | Q(pk__in=matching))

    def filter_tag(self, queryset, name, value):
        return queryset.filter(pk__in=Journey.tags.through.objects.filter(tag_id=value).values("journey_id"))


class PhaseFilter(django_filters.FilterSet):
    journey = IdFilter(field_name="journey_id")

    class Meta:
        model = Phase
        fields = ["journey"]


class StepFilter(django_filters.FilterSet):
    journey = IdFilter(field_name="journey_id")
    phase = IdFilter(field_name="phase_id")
    tag = IdFilter(method="filter_tag")

    class Meta:
        model = Step
        fields = ["journey", "phase", "is_moment_of_truth", "tag"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(pk__in=Step.tags.through.objects.filter(tag_id=value).values("step_id"))


class InsightFilter(django_filters.FilterSet):
    persona = IdFilter(method="filter_persona")
    step = IdFilter(method="filter_step")
    journey = IdFilter(method="filter_journey", help_text="Insights pinned to a step of this journey.")
    tag = IdFilter(method="filter_tag")
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the title or description.")

    class Meta:
        model = Insight
        fields = ["kind", "source", "status", "severity", "persona", "step", "journey", "tag", "search"]

    # Many-to-many filters use `pk IN (subquery)` rather than a join: an insight pinned to several
    # steps of one journey is listed once, without DISTINCT.
    def filter_persona(self, queryset, name, value):
        return queryset.filter(
            pk__in=Insight.personas.through.objects.filter(persona_id=value).values("insight_id")
        )

    def filter_step(self, queryset, name, value):
        return queryset.filter(
            pk__in=Insight.steps.through.objects.filter(step_id=value).values("insight_id")
        )

    def filter_journey(self, queryset, name, value):
        return queryset.filter(
            pk__in=Insight.steps.through.objects.filter(step__journey_id=value).values("insight_id")
        )

    def filter_tag(self, queryset, name, value):
        return queryset.filter(pk__in=Insight.tags.through.objects.filter(tag_id=value).values("insight_id"))

    def filter_search(self, queryset, name, value):
        query = Q()
        for word in value.split():
            query &= Q(title__icontains=word) | Q(description__icontains=word)
        return queryset.filter(query)


class PersonaFilter(django_filters.FilterSet):
    tag = IdFilter(method="filter_tag")

    class Meta:
        model = Persona
        fields = ["segment", "tag"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(pk__in=Persona.tags.through.objects.filter(tag_id=value).values("persona_id"))
