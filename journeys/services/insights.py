"""Writes of the insight repository: insights, their pins onto steps, bulk status and tag changes, and
the CSV import.

Every write checks that the related rows belong to the insight's workspace (the database refuses
cross-workspace links too, but a clear ValidationError beats an IntegrityError), records activity and,
when it can move priority scores, asks for a recompute.

What moves scores (opportunities/recompute.py `load_inputs`): an opportunity's evidence is read from
the severity, status and reach of its linked insights, and its moment-of-truth factor, journey count
and KPI gap from the opportunity's *own* step links. So an insight write asks for a recompute when it
changes severity, status or reach of an insight some opportunity uses, or deletes such an insight;
pinning an insight onto a step, its personas and its tags never change a score."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from atlas.models import Activity, Membership, Tag, Workspace
from atlas.services import activity_record
from journeys.insight_import import InsightRow
from journeys.models import Insight, Persona, Step
from journeys.services.guards import check_editor
from opportunities.services import priorities_request_recompute

# The insight fields the recompute reads (see the module docstring).
SCORED_FIELDS = frozenset({"severity", "status", "reach"})
EDITABLE_FIELDS = frozenset(
    {"title", "description", "kind", "source", "source_reference", "status", "severity", "reach"}
)
LINKS = ("personas", "steps", "tags")


class InsightChanged(Exception):
    """The insight was changed by someone else since the edit form was loaded."""


def _same_workspace(workspace_id: int, objects: Iterable[Model], what: str) -> list[Model]:
    objects = list(objects)
    if any(obj.workspace_id != workspace_id for obj in objects):
        raise ValidationError(f"Some {what} do not belong to this workspace.", code="other_workspace")
    return objects


def _insight_ids(workspace: Workspace, insights: Iterable[Insight]) -> list[int]:
    """The ids of these insights, all of which must be in the workspace."""
    if isinstance(insights, QuerySet):
        rows = list(insights.values_list("pk", "workspace_id"))
    else:
        rows = [(insight.pk, insight.workspace_id) for insight in insights]
    if any(workspace_id != workspace.pk for _, workspace_id in rows):
        raise ValidationError("Some insights do not belong to this workspace.", code="other_workspace")
    return list(dict.fromkeys(pk for pk, _ in rows))


def _used_by_opportunities(insight_ids: Sequence[int]) -> bool:
    from opportunities.models import Opportunity

    return Opportunity.insights.through.objects.filter(insight_id__in=insight_ids).exists()


def _record_many(
    *, workspace: Workspace, actor: Membership, verb: str, targets: Iterable[tuple[int, str]], changes: dict
) -> None:
    """One activity row per (insight id, title), in one INSERT: what `activity_record` writes for one."""
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            workspace=workspace,
            actor=actor.user,
            verb=verb,
            target_type=Insight._meta.model_name,
            target_id=pk,
            target_label=title[:200],
            changes=changes,
            created_at=now,
        )
        for pk, title in targets
    )


def _check_fields(*, severity: int, reach: int, kind: str, source: str, status: str) -> None:
    errors = {}
    if not 1 <= severity <= 5:
        errors["severity"] = "Severity is from 1 (minor) to 5 (critical)."
    if reach < 0:
        errors["reach"] = "Reach is a number of customers, 0 or more."
    if kind not in Insight.Kind.values:
        errors["kind"] = "Choose a valid kind."
    if source not in Insight.Source.values:
        errors["source"] = "Choose a valid source method."
    if status not in Insight.Status.values:
        errors["status"] = "Choose a valid status."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def insight_create(
    *,
    workspace: Workspace,
    actor: Membership,
    title: str,
    description: str = "",
    kind: str = Insight.Kind.PAIN,
    source: str = Insight.Source.INTERVIEW,
    source_reference: str = "",
    status: str = Insight.Status.HYPOTHESIS,
    severity: int = 3,
    reach: int = 0,
    personas: Iterable[Persona] = (),
    steps: Iterable[Step] = (),
    tags: Iterable[Tag] = (),
) -> Insight:
    """A new insight in the workspace's repository, about these personas, pinned to these steps.

    A new insight is nobody's evidence yet, so no score moves."""
    check_editor(workspace.pk, actor)
    _check_fields(severity=severity, reach=reach, kind=kind, source=source, status=status)
    personas = _same_workspace(workspace.pk, personas, "personas")
    steps = _same_workspace(workspace.pk, steps, "steps")
    tags = _same_workspace(workspace.pk, tags, "tags")
    insight = Insight.objects.create(
        workspace=workspace,
        created_by=actor,
        title=title,
        description=description,
        kind=kind,
        source=source,
        source_reference=source_reference,
        status=status,
        severity=severity,
        reach=reach,
    )
    if personas:
        insight.personas.set(personas)
    if steps:
        insight.steps.set(steps)
    if tags:
        insight.tags.set(tags)
    activity_record(workspace=workspace, actor=actor.user, verb="created", target=insight)
    return insight


@transaction.atomic
def insight_update(
    *, insight: Insight, actor: Membership, version: datetime | None = None, **changes
) -> Insight:
    """Set the given fields and links (`personas`, `steps`, `tags`: the new list replaces the old).

    With `version` (the `updated_at` the editor saw), the save is refused with InsightChanged when the
    insight changed in between: concurrent edits never silently overwrite each other."""
    check_editor(insight.workspace_id, actor)
    links = {name: changes.pop(name) for name in LINKS if name in changes}
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"insight_update() cannot set {', '.join(sorted(unknown))}")
    current = Insight.objects.select_for_update().get(pk=insight.pk)
    if version is not None and current.updated_at != version:
        raise InsightChanged
    merged = {name: changes.get(name, getattr(current, name)) for name in EDITABLE_FIELDS}
    _check_fields(
        severity=merged["severity"],
        reach=merged["reach"],
        kind=merged["kind"],
        source=merged["source"],
        status=merged["status"],
    )
    for name, items in links.items():
        links[name] = _same_workspace(insight.workspace_id, items, name)

    diff = {
        name: [getattr(current, name), value]
        for name, value in changes.items()
        if getattr(current, name) != value
    }
    for name, value in changes.items():
        setattr(insight, name, value)
    insight.save(update_fields=[*changes, "updated_at"])
    for name, items in links.items():
        manager = getattr(insight, name)
        before = set(manager.values_list("pk", flat=True))
        after = {item.pk for item in items}
        if before != after:
            manager.set(items)
            diff[name] = [sorted(before), sorted(after)]
    if diff:
        activity_record(
            workspace=insight.workspace, actor=actor.user, verb="updated", target=insight, changes=diff
        )
    if SCORED_FIELDS & diff.keys() and _used_by_opportunities([insight.pk]):
        priorities_request_recompute(workspace_id=insight.workspace_id)
    return insight


@transaction.atomic
def insight_delete(*, insight: Insight, actor: Membership) -> None:
    """Delete an insight: it leaves every step it was pinned to and every opportunity's evidence."""
    check_editor(insight.workspace_id, actor)
    used = _used_by_opportunities([insight.pk])
    activity_record(
        workspace=insight.workspace,
        actor=actor.user,
        verb="deleted",
        target=insight,
        changes={"kind": insight.kind, "status": insight.status},
    )
    insight.delete()
    if used:
        priorities_request_recompute(workspace_id=insight.workspace_id)


@transaction.atomic
def insights_pin(*, workspace: Workspace, insights: Iterable[Insight], step: Step, actor: Membership) -> int:
    """Pin these insights onto a step; returns how many were newly pinned (pins that exist are kept).

    Set-based: one read of the existing pins, one INSERT of the new ones, one INSERT of their activity."""
    check_editor(workspace.pk, actor)
    _same_workspace(workspace.pk, [step], "steps")
    ids = _insight_ids(workspace, insights)
    if not ids:
        return 0
    through = Insight.steps.through
    pinned = set(
        through.objects.filter(step_id=step.pk, insight_id__in=ids).values_list("insight_id", flat=True)
    )
    new = [pk for pk in ids if pk not in pinned]
    if not new:
        return 0
    through.objects.bulk_create(
        [through(insight_id=pk, step_id=step.pk) for pk in new], ignore_conflicts=True
    )
    Insight.objects.filter(pk__in=new).update(updated_at=timezone.now())
    titles = dict(Insight.objects.filter(pk__in=new).values_list("pk", "title"))
    _record_many(
        workspace=workspace,
        actor=actor,
        verb="pinned",
        targets=((pk, titles.get(pk, "")) for pk in new),
        changes={"step": step.pk, "step_name": step.name, "journey": step.journey_id},
    )
    return len(new)


@transaction.atomic
def insight_unpin(*, insight: Insight, step: Step, actor: Membership) -> None:
    """Take an insight off a step (nothing happens if it was not pinned there)."""
    check_editor(insight.workspace_id, actor)
    _same_workspace(insight.workspace_id, [step], "steps")
    removed, _ = Insight.steps.through.objects.filter(insight_id=insight.pk, step_id=step.pk).delete()
    if removed:
        Insight.objects.filter(pk=insight.pk).update(updated_at=timezone.now())
        activity_record(
            workspace=insight.workspace,
            actor=actor.user,
            verb="unpinned",
            target=insight,
            changes={"step": step.pk, "step_name": step.name, "journey": step.journey_id},
        )


@transaction.atomic
def insights_set_status(
    *, workspace: Workspace, insights: Iterable[Insight], status: str, actor: Membership
) -> int:
    """Mark these insights validated, rejected or back to hypothesis; returns how many changed."""
    check_editor(workspace.pk, actor)
    if status not in Insight.Status.values:
        raise ValidationError({"status": "Choose a valid status."})
    ids = _insight_ids(workspace, insights)
    changing = list(
        Insight.objects.filter(workspace=workspace, pk__in=ids)
        .exclude(status=status)
        .values_list("pk", "title", "status")
    )
    if not changing:
        return 0
    changed_ids = [pk for pk, _, _ in changing]
    Insight.objects.filter(pk__in=changed_ids).update(status=status, updated_at=timezone.now())
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            workspace=workspace,
            actor=actor.user,
            verb="updated",
            target_type=Insight._meta.model_name,
            target_id=pk,
            target_label=title[:200],
            changes={"status": [old, status]},
            created_at=now,
        )
        for pk, title, old in changing
    )
    if _used_by_opportunities(changed_ids):
        priorities_request_recompute(workspace_id=workspace.pk)
    return len(changing)


@transaction.atomic
def insights_tag(*, workspace: Workspace, insights: Iterable[Insight], tag: Tag, actor: Membership) -> int:
    """Add a tag to these insights; returns how many did not have it yet."""
    check_editor(workspace.pk, actor)
    _same_workspace(workspace.pk, [tag], "tags")
    ids = _insight_ids(workspace, insights)
    if not ids:
        return 0
    through = Insight.tags.through
    tagged = set(
        through.objects.filter(tag_id=tag.pk, insight_id__in=ids).values_list("insight_id", flat=True)
    )
    new = [pk for pk in ids if pk not in tagged]
    if not new:
        return 0
    through.objects.bulk_create([through(insight_id=pk, tag_id=tag.pk) for pk in new], ignore_conflicts=True)
    Insight.objects.filter(pk__in=new).update(updated_at=timezone.now())
    titles = dict(Insight.objects.filter(pk__in=new).values_list("pk", "title"))
    _record_many(
        workspace=workspace,
        actor=actor,
        verb="tagged",
        targets=((pk, titles.get(pk, "")) for pk in new),
        changes={"tag": tag.pk, "tag_name": tag.name},
    )
    return len(new)


@transaction.atomic
def insights_import(*, workspace: Workspace, actor: Membership, rows: Sequence[InsightRow]) -> list[Insight]:
    """Create all these insights with their personas, tags and pins, or none.

    A fixed number of statements whatever the number of rows (bulk INSERTs, batched by the database's
    parameter limit): the insights, the three link tables, one check that every linked id is in the
    workspace, and the activity. New insights are nobody's evidence, so no score moves."""
    check_editor(workspace.pk, actor)
    if not rows:
        return []
    for row in rows:
        _check_fields(
            severity=row.severity, reach=row.reach, kind=row.kind, source=row.source, status=row.status
        )
    _check_linked_ids(workspace, rows)
    now = timezone.now()
    insights = Insight.objects.bulk_create(
        Insight(
            workspace=workspace,
            created_by=actor,
            title=row.title,
            description=row.description,
            kind=row.kind,
            source=row.source,
            source_reference=row.source_reference,
            status=row.status,
            severity=row.severity,
            reach=row.reach,
            created_at=now,
            updated_at=now,
        )
        for row in rows
    )
    if any(insight.pk is None for insight in insights):  # a backend that cannot return ids
        raise RuntimeError("insights_import needs a database that returns the ids of bulk-inserted rows.")
    for name, column, attribute in (
        ("personas", "persona_id", "persona_ids"),
        ("tags", "tag_id", "tag_ids"),
        ("steps", "step_id", "step_ids"),
    ):
        through = getattr(Insight, name).through
        links = [
            through(insight_id=insight.pk, **{column: pk})
            for insight, row in zip(insights, rows, strict=True)
            for pk in dict.fromkeys(getattr(row, attribute))
        ]
        if links:
            through.objects.bulk_create(links)
    _record_many(
        workspace=workspace,
        actor=actor,
        verb="imported",
        targets=((insight.pk, insight.title) for insight in insights),
        changes={"source": "csv"},
    )
    return insights


def _check_linked_ids(workspace: Workspace, rows: Sequence[InsightRow]) -> None:
    """Every persona, tag and step id of the rows is in the workspace (one query per kind of link)."""
    for model, attribute in ((Persona, "persona_ids"), (Tag, "tag_ids"), (Step, "step_ids")):
        wanted = {pk for row in rows for pk in getattr(row, attribute)}
        if not wanted:
            continue
        found = model.objects.filter(workspace=workspace, pk__in=wanted).count()
        if found != len(wanted):
            raise ValidationError(
                f"Some {model._meta.verbose_name_plural} do not belong to this workspace.",
                code="other_workspace",
            )
