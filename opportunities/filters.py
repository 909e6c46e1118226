"""Query filters of the opportunity backlog API."""

import django_filters
from django.db.models import Q

from journeys.filters import IdFilter
from opportunities.models import Opportunity


class OpportunityFilter(django_filters.FilterSet):
    open = django_filters.BooleanFilter(method="filter_open", help_text="Only open (true) or closed (false).")
    owner = IdFilter(field_name="owner_id", help_text="Membership id.")
    step = IdFilter(method="filter_step")
    journey = IdFilter(method="filter_journey", help_text="Opportunities addressing a step of this journey.")
    insight = IdFilter(method="filter_insight")
    tag = IdFilter(method="filter_tag")
    key_result = IdFilter(method="filter_key_result")
    objective = IdFilter(
        method="filter_objective", help_text="Contributing to a key result of this objective."
    )
    search = django_filters.CharFilter(method="filter_search", help_text="Words in the title or description.")

    class Meta:
        model = Opportunity
        fields = ["status", "open", "owner", "step", "journey", "insight", "tag", "key_result", "objective"]

    # Many-to-many filters use `pk IN (subquery)` rather than a join, so an opportunity addressing
    # several steps of one journey is listed once without DISTINCT.
    def filter_open(self, queryset, name, value):
        return (
            queryset.exclude(status__in=Opportunity.CLOSED_STATUSES)
            if value
            else queryset.filter(status__in=Opportunity.CLOSED_STATUSES)
        )

    def filter_step(self, queryset, name, value):
        through = Opportunity.steps.through
        return queryset.filter(pk__in=through.objects.filter(step_id=value).values("opportunity_id"))

    def filter_journey(self, queryset, name, value):
        through = Opportunity.steps.through
        return queryset.filter(pk__in=through.objects.filter(step__journey_id=value).values("opportunity_id"))

    def filter_insight(self, queryset, name, value):
        through = Opportunity.insights.through
        return queryset.filter(pk__in=through.objects.filter(insight_id=value).values("opportunity_id"))

    def filter_tag(self, queryset, name, value):
        through = Opportunity.tags.through
        return queryset.filter(pk__in=through.objects.filter(tag_id=value).values("opportunity_id"))

    def filter_key_result(self, queryset, name, value):
        through = Opportunity.key_results.through
        return queryset.filter(pk__in=through.objects.filter(keyresult_id=value).values("opportunity_id"))

    def filter_objective(self, queryset, name, value):
        through = Opportunity.key_results.through
        return queryset.filter(
            pk__in=through.objects.filter(keyresult__objective_id=value).values("opportunity_id")
        )

    def filter_search(self, queryset, name, value):
        query = Q()
        for word in value.split():
            query &= Q(title__icontains=word) | Q(description__icontains=word)
        return queryset.filter(query)


class BacklogFilter(OpportunityFilter):
    """The backlog page's filters (and its exports' and matrix's): the API's, plus where in the
    framework an opportunity sits and whom it is for.

    An opportunity sits on a lifecycle stage, a macro journey or a journey when it addresses a step
    of it. It concerns a persona when one of its insights is about that persona, or when it addresses
    a step of a journey seen through that persona's eyes (the journey's primary persona or one of its
    personas): evidence and journey maps are the two places the atlas records whom something is for."""

    stage = IdFilter(
        method="filter_stage", help_text="Addressing a step of a journey on this lifecycle stage."
    )
    macro_journey = IdFilter(
        method="filter_macro_journey", help_text="Addressing a step of a journey of this macro journey."
    )
    persona = IdFilter(
        method="filter_persona",
        help_text="Backed by an insight about this persona, or addressing a step of a journey for this persona.",
    )

    class Meta(OpportunityFilter.Meta):
        fields = [*OpportunityFilter.Meta.fields, "stage", "macro_journey", "persona"]

    def filter_stage(self, queryset, name, value):
        through = Opportunity.steps.through
        return queryset.filter(
            pk__in=through.objects.filter(step__journey__macro_journey__stage_id=value).values(
                "opportunity_id"
            )
        )

    def filter_macro_journey(self, queryset, name, value):
        through = Opportunity.steps.through
        return queryset.filter(
            pk__in=through.objects.filter(step__journey__macro_journey_id=value).values("opportunity_id")
        )

    def filter_persona(self, queryset, name, value):
        by_insight = Opportunity.insights.through.objects.filter(insight__personas=value)
        by_journey = Opportunity.steps.through.objects.filter(
            Q(step__journey__primary_persona_id=value) | Q(step__journey__personas=value)
        )
        return queryset.filter(
            Q(pk__in=by_insight.values("opportunity_id")) | Q(pk__in=by_journey.values("opportunity_id"))
        )
