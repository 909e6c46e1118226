"""Writes of opportunities that touch several models: the opportunity, its links and its criterion
values are saved together or not at all."""

from collections.abc import Iterable, Mapping

from django.db import transaction

from atlas.models import Membership, Tag, Workspace
from journeys.models import Insight, Step
from okrs.models import KeyResult
from opportunities.models import Criterion, CriterionValue, Opportunity

# Fields an editor sets directly; the score fields are written only by the recompute.
EDITABLE_FIELDS = frozenset({"title", "description", "status", "owner"})
LINKS = ("steps", "insights", "key_results", "tags")


@transaction.atomic
def opportunity_create(
    *,
    workspace: Workspace,
    created_by: Membership | None,
    title: str,
    description: str = "",
    status: str = Opportunity.Status.NEW,
    owner: Membership | None = None,
    steps: Iterable[Step] = (),
    insights: Iterable[Insight] = (),
    key_results: Iterable[KeyResult] = (),
    tags: Iterable[Tag] = (),
    criterion_values: Mapping[Criterion, float | None] | None = None,
) -> Opportunity:
    opportunity = Opportunity.objects.create(
        workspace=workspace,
        created_by=created_by,
        title=title,
        description=description,
        status=status,
        owner=owner,
    )
    opportunity.steps.set(steps)
    opportunity.insights.set(insights)
    opportunity.key_results.set(key_results)
    opportunity.tags.set(tags)
    if criterion_values:
        opportunity_set_criterion_values(opportunity=opportunity, values=criterion_values)
    return opportunity


@transaction.atomic
def opportunity_update(
    *,
    opportunity: Opportunity,
    criterion_values: Mapping[Criterion, float | None] | None = None,
    **changes,
) -> Opportunity:
    """Set the given fields and links (a link list replaces the previous one); criterion values
    are merged as in `opportunity_set_criterion_values`."""
    links = {name: changes.pop(name) for name in LINKS if name in changes}
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"opportunity_update() cannot set {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(opportunity, name, value)
    opportunity.save(update_fields=[*changes, "updated_at"])
    for name, items in links.items():
        getattr(opportunity, name).set(items)
    if criterion_values:
        opportunity_set_criterion_values(opportunity=opportunity, values=criterion_values)
    return opportunity


def opportunity_set_criterion_values(
    *, opportunity: Opportunity, values: Mapping[Criterion, float | None]
) -> None:
    """Merge the given scores into the opportunity's: a number sets the criterion's value, None
    clears it (the criterion's default applies again); criteria not given keep their value.

    Two statements whatever the number of criteria: one delete, one upsert."""
    cleared = [criterion.pk for criterion, value in values.items() if value is None]
    if cleared:
        CriterionValue.objects.filter(opportunity=opportunity, criterion_id__in=cleared).delete()
    scored = [
        CriterionValue(
            workspace_id=opportunity.workspace_id, opportunity=opportunity, criterion=criterion, value=value
        )
        for criterion, value in values.items()
        if value is not None
    ]
    if scored:
        CriterionValue.objects.bulk_create(
            scored,
            update_conflicts=True,
            unique_fields=["opportunity", "criterion"],
            update_fields=["value", "updated_at"],
        )
