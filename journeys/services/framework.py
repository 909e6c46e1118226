"""Writes of the journey framework: lifecycles, their stages, macro journeys, new journeys, and personas.

Every function records what it changed in the activity history. Stages are ordered inside their lifecycle
and macro journeys inside their stage by a `position` that is unique per parent. PostgreSQL checks a
non-deferrable unique constraint row by row while an UPDATE runs, so a reorder never shifts positions in
place: `_renumber` moves the parent's rows to a free range above every current position, then down to
0..n-1, two set-based UPDATEs in the caller's transaction, with the parent row locked so that two
reorders of one lifecycle (or stage) run one after the other."""

from collections.abc import Iterable
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Max, Model, QuerySet, Value, When

from atlas.models import Membership, Tag, User, Workspace
from atlas.services import activity_record
from journeys.models import Journey, Lifecycle, LifecycleStage, MacroJourney, Persona, StepEmotion
from journeys.services.guards import check_same_workspace
from journeys.services.ordering import positions_renumber

# Offered when a lifecycle is created (DESIGN.md: the usual customer lifecycle).
STANDARD_STAGES = ("Awareness", "Consideration", "Purchase", "Onboarding", "Usage", "Support", "Renewal")


# --- positions -------------------------------------------------------------------------------------------


def _lock(model: type[Model], pk: int) -> Model:
    """The row, locked until the transaction ends (SQLite locks the whole database on write anyway)."""
    return model.objects.select_for_update().get(pk=pk)


def _next_position(siblings: QuerySet) -> int:
    top = siblings.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def _ordered_ids(siblings: QuerySet) -> list[int]:
    return list(siblings.order_by("position", "pk").values_list("pk", flat=True))


def _moved(ids: list[int], pk: int, to_index: int) -> tuple[list[int], int, int]:
    """`ids` with `pk` moved to `to_index` (clamped): (new order, old index, new index)."""
    old = ids.index(pk)
    new = max(0, min(to_index, len(ids) - 1))
    reordered = [i for i in ids if i != pk]
    reordered.insert(new, pk)
    return reordered, old, new


def _changes(instance: Model, values: dict) -> dict:
    """{field: [old, new]} for the values that differ from the instance's (as text for the history)."""
    changed = {}
    for name, new in values.items():
        old = getattr(instance, name)
        if old != new:
            changed[name] = [_text(old), _text(new)]
    return changed


def _text(value) -> str | None:
    return None if value is None else str(value)


@contextmanager
def _name_taken_as_error(kind: str, name: str):
    """Two people creating the same name at once: the database's unique constraint catches the second,
    who gets the same field error as when the name was already there."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise ValidationError(
            {"name": f"There is already a {kind} called “{name}”."}, code="duplicate"
        ) from None


# --- lifecycles --------------------------------------------------------------------------------------------


def _check_lifecycle_name(workspace: Workspace, name: str, exclude: int | None = None) -> None:
    clash = Lifecycle.objects.filter(workspace=workspace, name__iexact=name).exclude(pk=exclude)
    if clash.exists():
        raise ValidationError({"name": f"There is already a lifecycle called “{name}”."}, code="duplicate")


@transaction.atomic
def lifecycle_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    description: str = "",
    stage_names: Iterable[str] = (),
) -> Lifecycle:
    """A new lifecycle after the existing ones, with the given stages in order (none: an empty one)."""
    name = name.strip()
    _check_lifecycle_name(workspace, name)
    with _name_taken_as_error("lifecycle", name):
        lifecycle = Lifecycle.objects.create(
            workspace=workspace,
            name=name,
            description=description,
            position=_next_position(Lifecycle.objects.filter(workspace=workspace)),
        )
    stages = LifecycleStage.objects.bulk_create(
        LifecycleStage(workspace=workspace, lifecycle=lifecycle, name=stage, position=i)
        for i, stage in enumerate(stage_names)
    )
    activity_record(
        workspace=workspace,
        actor=actor,
        verb="created",
        target=lifecycle,
        changes={"stages": [s.name for s in stages]} if stages else None,
    )
    return lifecycle


@transaction.atomic
def lifecycle_update(*, lifecycle: Lifecycle, actor: User | None, name: str, description: str) -> Lifecycle:
    name = name.strip()
    _check_lifecycle_name(lifecycle.workspace, name, exclude=lifecycle.pk)
    changes = _changes(lifecycle, {"name": name, "description": description})
    if changes:
        lifecycle.name, lifecycle.description = name, description
        with _name_taken_as_error("lifecycle", name):
            lifecycle.save(update_fields=["name", "description"])
        activity_record(
            workspace=lifecycle.workspace, actor=actor, verb="updated", target=lifecycle, changes=changes
        )
    return lifecycle


@transaction.atomic
def lifecycle_delete(*, lifecycle: Lifecycle, actor: User | None) -> None:
    """Delete a lifecycle and its stages. Refused while a stage still holds macro journeys."""
    lifecycle = _lock(Lifecycle, lifecycle.pk)
    placed = MacroJourney.objects.filter(stage__lifecycle=lifecycle).count()
    if placed:
        raise ValidationError(
            f"“{lifecycle.name}” still has {placed} macro journey{'s' if placed != 1 else ''} on its "
            "stages. Move them to another lifecycle's stages or delete them first.",
            code="not_empty",
        )
    stages = list(LifecycleStage.objects.filter(lifecycle=lifecycle).values_list("name", flat=True))
    activity_record(
        workspace=lifecycle.workspace,
        actor=actor,
        verb="deleted",
        target=lifecycle,
        changes={"stages": stages} if stages else None,
    )
    lifecycle.delete()


# --- stages ------------------------------------------------------------------------------------------------


def _check_stage_name(lifecycle: Lifecycle, name: str, exclude: int | None = None) -> None:
    clash = LifecycleStage.objects.filter(lifecycle=lifecycle, name__iexact=name).exclude(pk=exclude)
    if clash.exists():
        raise ValidationError(
            {"name": f"“{lifecycle.name}” already has a stage called “{name}”."}, code="duplicate"
        )


@transaction.atomic
def stage_create(
    *, lifecycle: Lifecycle, actor: User | None, name: str, description: str = ""
) -> LifecycleStage:
    """A new stage at the end of the lifecycle."""
    lifecycle = _lock(Lifecycle, lifecycle.pk)
    name = name.strip()
    _check_stage_name(lifecycle, name)
    stage = LifecycleStage.objects.create(
        workspace_id=lifecycle.workspace_id,
        lifecycle=lifecycle,
        name=name,
        description=description,
        position=_next_position(LifecycleStage.objects.filter(lifecycle=lifecycle)),
    )
    activity_record(
        workspace=lifecycle.workspace,
        actor=actor,
        verb="created",
        target=stage,
        changes={"lifecycle": lifecycle.name},
    )
    return stage


@transaction.atomic
def stage_update(*, stage: LifecycleStage, actor: User | None, name: str, description: str) -> LifecycleStage:
    name = name.strip()
    _check_stage_name(stage.lifecycle, name, exclude=stage.pk)
    changes = _changes(stage, {"name": name, "description": description})
    if changes:
        stage.name, stage.description = name, description
        stage.save(update_fields=["name", "description"])
        activity_record(workspace=stage.workspace, actor=actor, verb="updated", target=stage, changes=changes)
    return stage


@transaction.atomic
def stage_move(
    *, stage: LifecycleStage, actor: User | None, to_index: int | None = None, by: int = 0
) -> LifecycleStage:
    """Put the stage at column `to_index` (0 = first; clamped) of its lifecycle, or `by` columns further
    (−1: one to the left)."""
    _lock(Lifecycle, stage.lifecycle_id)
    siblings = LifecycleStage.objects.filter(lifecycle_id=stage.lifecycle_id)
    ids = _ordered_ids(siblings)
    wanted = ids.index(stage.pk) + by if to_index is None else to_index
    ids, old, new = _moved(ids, stage.pk, wanted)
    if old != new:
        positions_renumber(siblings, ids)
        activity_record(
            workspace=stage.workspace,
            actor=actor,
            verb="moved",
            target=stage,
            changes={"position": [old, new]},
        )
    stage.position = ids.index(stage.pk)
    return stage


@transaction.atomic
def stage_delete(
    *, stage: LifecycleStage, actor: User | None, move_macro_journeys_to: LifecycleStage | None = None
) -> None:
    """Delete a stage. Its macro journeys go to the end of `move_macro_journeys_to`, in their order; without
    one, a stage that still holds macro journeys is refused."""
    lifecycle = _lock(Lifecycle, stage.lifecycle_id)
    target = move_macro_journeys_to
    check_same_workspace(stage.workspace_id, target)
    if target is not None and target.pk == stage.pk:
        raise ValidationError("Choose another stage to move the macro journeys to.", code="same_stage")
    macro_ids = _ordered_ids(MacroJourney.objects.filter(stage=stage))
    changes: dict = {"lifecycle": lifecycle.name}
    if macro_ids:
        if target is None:
            raise ValidationError(
                f"“{stage.name}” still has {len(macro_ids)} macro journey{'s' if len(macro_ids) != 1 else ''}. "
                "Move them to another stage, or delete them, first.",
                code="not_empty",
            )
        _lock(LifecycleStage, target.pk)
        start = _next_position(MacroJourney.objects.filter(stage=target))
        MacroJourney.objects.filter(pk__in=macro_ids).update(
            stage=target,
            position=Case(*(When(pk=pk, then=Value(start + i)) for i, pk in enumerate(macro_ids))),
        )
        changes["macro_journeys_moved_to"] = target.name
    activity_record(workspace=stage.workspace, actor=actor, verb="deleted", target=stage, changes=changes)
    stage.delete()
    siblings = LifecycleStage.objects.filter(lifecycle=lifecycle)
    positions_renumber(siblings, _ordered_ids(siblings))


# --- macro journeys ------------------------------------------------------------------------------------------


@transaction.atomic
def macro_journey_create(
    *,
    stage: LifecycleStage,
    actor: User | None,
    name: str,
    description: str = "",
    owner: Membership | None = None,
) -> MacroJourney:
    """A new macro journey at the bottom of the stage."""
    check_same_workspace(stage.workspace_id, owner)
    _lock(LifecycleStage, stage.pk)
    macro = MacroJourney.objects.create(
        workspace_id=stage.workspace_id,
        stage=stage,
        name=name.strip(),
        description=description,
        owner=owner,
        position=_next_position(MacroJourney.objects.filter(stage=stage)),
    )
    activity_record(
        workspace=stage.workspace, actor=actor, verb="created", target=macro, changes={"stage": stage.name}
    )
    return macro


@transaction.atomic
def macro_journey_update(
    *,
    macro_journey: MacroJourney,
    actor: User | None,
    name: str,
    description: str,
    owner: Membership | None,
) -> MacroJourney:
    check_same_workspace(macro_journey.workspace_id, owner)
    name = name.strip()
    changes = _changes(macro_journey, {"name": name, "description": description, "owner": owner})
    if changes:
        macro_journey.name, macro_journey.description, macro_journey.owner = name, description, owner
        macro_journey.save(update_fields=["name", "description", "owner"])
        activity_record(
            workspace=macro_journey.workspace,
            actor=actor,
            verb="updated",
            target=macro_journey,
            changes=changes,
        )
    return macro_journey


@transaction.atomic
def macro_journey_move(
    *,
    macro_journey: MacroJourney,
    actor: User | None,
    stage: LifecycleStage | None = None,
    to_index: int | None = None,
    by: int = 0,
) -> MacroJourney:
    """Move a macro journey to `to_index` (0 = top; clamped) of `stage`, the bottom of `stage` when no
    index is given; without a stage, inside its own stage to `to_index` or `by` places further down."""
    source_id = macro_journey.stage_id
    target = stage or macro_journey.stage
    check_same_workspace(macro_journey.workspace_id, target)
    for pk in sorted({source_id, target.pk}):  # one lock order: two crossing moves cannot deadlock
        _lock(LifecycleStage, pk)
    macro_journey.refresh_from_db(fields=["stage", "position"])
    source_id = macro_journey.stage_id
    target_siblings = MacroJourney.objects.filter(stage=target)
    if source_id == target.pk:
        ids = _ordered_ids(target_siblings)
        if to_index is None:
            to_index = ids.index(macro_journey.pk) + by
        ids, old, new = _moved(ids, macro_journey.pk, to_index)
        if old == new:
            return macro_journey
        positions_renumber(target_siblings, ids)
        changes = {"position": [old, new]}
    else:
        source_name = LifecycleStage.objects.filter(pk=source_id).values_list("name", flat=True).first()
        ids = _ordered_ids(target_siblings)
        # Arrive above every position of the target, then take the wanted place in its order.
        MacroJourney.objects.filter(pk=macro_journey.pk).update(
            stage=target, position=_next_position(target_siblings) + len(ids) + 1
        )
        ids.insert(len(ids) if to_index is None else max(0, min(to_index, len(ids))), macro_journey.pk)
        positions_renumber(target_siblings, ids)
        source_siblings = MacroJourney.objects.filter(stage_id=source_id)
        positions_renumber(source_siblings, _ordered_ids(source_siblings))
        changes = {"stage": [source_name, target.name], "position": [None, ids.index(macro_journey.pk)]}
    macro_journey.refresh_from_db(fields=["stage", "position"])
    activity_record(
        workspace=macro_journey.workspace, actor=actor, verb="moved", target=macro_journey, changes=changes
    )
    return macro_journey


@transaction.atomic
def macro_journey_delete(*, macro_journey: MacroJourney, actor: User | None) -> None:
    """Delete a macro journey. Refused while it still has journeys (they are the work; move them first)."""
    _lock(LifecycleStage, macro_journey.stage_id)
    journeys = Journey.objects.filter(macro_journey=macro_journey).count()
    if journeys:
        raise ValidationError(
            f"“{macro_journey.name}” still has {journeys} journey{'s' if journeys != 1 else ''}. "
            "Delete them, or place them under another macro journey, first.",
            code="not_empty",
        )
    stage_id = macro_journey.stage_id
    activity_record(
        workspace=macro_journey.workspace,
        actor=actor,
        verb="deleted",
        target=macro_journey,
        changes={"stage": macro_journey.stage.name},
    )
    macro_journey.delete()
    siblings = MacroJourney.objects.filter(stage_id=stage_id)
    positions_renumber(siblings, _ordered_ids(siblings))


# --- journeys ------------------------------------------------------------------------------------------------


@transaction.atomic
def journey_create(
    *,
    macro_journey: MacroJourney,
    actor: User | None,
    name: str,
    description: str = "",
    owner: Membership | None = None,
    primary_persona: Persona | None = None,
) -> Journey:
    """A new, empty current journey under the macro journey. (A to-be journey is made from its current
    journey's map, so that it starts as a copy of the steps it improves.)"""
    check_same_workspace(macro_journey.workspace_id, owner, primary_persona)
    journey = Journey.objects.create(
        workspace_id=macro_journey.workspace_id,
        macro_journey=macro_journey,
        name=name.strip(),
        description=description,
        kind=Journey.Kind.CURRENT,
        owner=owner,
        primary_persona=primary_persona,
    )
    activity_record(
        workspace=macro_journey.workspace,
        actor=actor,
        verb="created",
        target=journey,
        changes={"macro_journey": macro_journey.name},
    )
    return journey


# --- personas ------------------------------------------------------------------------------------------------

PERSONA_TEXT_FIELDS = ("summary", "segment", "needs", "goals", "frustrations")


def _check_persona_name(workspace_id: int, name: str, exclude: int | None = None) -> None:
    clash = Persona.objects.filter(workspace_id=workspace_id, name__iexact=name).exclude(pk=exclude)
    if clash.exists():
        raise ValidationError({"name": f"There is already a persona called “{name}”."}, code="duplicate")


@transaction.atomic
def persona_create(
    *,
    workspace: Workspace,
    actor: User | None,
    name: str,
    summary: str = "",
    segment: str = "",
    needs: str = "",
    goals: str = "",
    frustrations: str = "",
    tags: Iterable[Tag] = (),
) -> Persona:
    name = name.strip()
    tags = list(tags)
    check_same_workspace(workspace.pk, *tags)
    _check_persona_name(workspace.pk, name)
    with _name_taken_as_error("persona", name):
        persona = Persona.objects.create(
            workspace=workspace,
            name=name,
            summary=summary,
            segment=segment,
            needs=needs,
            goals=goals,
            frustrations=frustrations,
        )
    persona.tags.set(tags)
    activity_record(workspace=workspace, actor=actor, verb="created", target=persona)
    return persona


@transaction.atomic
def persona_update(
    *,
    persona: Persona,
    actor: User | None,
    name: str,
    summary: str,
    segment: str,
    needs: str,
    goals: str,
    frustrations: str,
    tags: Iterable[Tag],
) -> Persona:
    name = name.strip()
    tags = list(tags)
    check_same_workspace(persona.workspace_id, *tags)
    _check_persona_name(persona.workspace_id, name, exclude=persona.pk)
    values = {
        "name": name,
        "summary": summary,
        "segment": segment,
        "needs": needs,
        "goals": goals,
        "frustrations": frustrations,
    }
    changes = _changes(persona, values)
    before = sorted(persona.tags.values_list("pk", flat=True))
    after = sorted(tag.pk for tag in tags)
    if before != after:
        changes["tags"] = [before, after]
    if changes:
        for field, value in values.items():
            setattr(persona, field, value)
        with _name_taken_as_error("persona", name):
            persona.save(update_fields=list(values))
        persona.tags.set(tags)
        activity_record(
            workspace=persona.workspace, actor=actor, verb="updated", target=persona, changes=changes
        )
    return persona


def persona_delete_impact(persona: Persona) -> dict[str, int]:
    """What deleting the persona takes with it (emotions) and unlinks (journeys, insights)."""
    return {
        "emotions": StepEmotion.objects.filter(persona=persona).count(),
        "primary_journeys": Journey.objects.filter(primary_persona=persona).count(),
        "journeys": Journey.objects.filter(personas=persona).exclude(primary_persona=persona).count(),
        "insights": persona.insights.count(),
    }


@transaction.atomic
def persona_delete(*, persona: Persona, actor: User | None) -> None:
    """Delete a persona: its emotion scores go with it; journeys and insights stay, without it."""
    activity_record(
        workspace=persona.workspace,
        actor=actor,
        verb="deleted",
        target=persona,
        changes=persona_delete_impact(persona),
    )
    persona.delete()
