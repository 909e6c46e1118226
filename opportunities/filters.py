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
