"""Writes of the journey map: phases, steps and their lanes, emotions, touchpoints, the journey's own
details, and an opportunity made from a pain point.

Two people editing one journey never silently overwrite each other:

- The journey's own fields and its structure (phases, step order, steps added or removed) are guarded
  by `Journey.revision`; a step's lanes (its fields, persona emotions and touchpoints) by
  `Step.revision`. Every write names the revision it was based on and claims the row with one
  compare-and-set UPDATE (`… WHERE revision = <based on>`, raising the counter); when no row matches,
  nothing is written and `StaleEdit` carries the fresh row.
- A lane edit also carries a digest of the values its editor started from. When the step moved on
  only in other lanes (someone edited another cell of the same step), the edit overwrites nothing and
  is applied on top; when the edited values themselves changed, it is refused.

Positions are rewritten set-based, in canonical order (steps without a phase first, then each
phase's steps, phases in order), with two UPDATEs that never hold two rows at one position, so the
(journey, position) unique constraints hold on SQLite and PostgreSQL alike."""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BigIntegerField, Case, F, Max, Model, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from atlas.models import Membership
from atlas.services import activity_record
from journeys.models import (
    Channel,
    Insight,
    Journey,
    JourneyVersion,
    Persona,
    Phase,
    Step,
    StepEmotion,
    Touchpoint,
)
from journeys.services.guards import check_editor, check_same_workspace
from journeys.services.ordering import positions_renumber
from opportunities.models import Opportunity
from opportunities.services import opportunity_create, priorities_request_recompute

# The fields of a step an editor changes in place on the map (its lanes).
STEP_LANE_FIELDS = frozenset(Step.LANE_FIELDS)
# Lanes the priority recompute reads (evidence ×1.5 when a linked step is a moment of truth).
SCORED_STEP_FIELDS = frozenset({"is_moment_of_truth"})
JOURNEY_FIELDS = frozenset({"name", "description", "status", "owner", "primary_persona"})
TOUCHPOINT_FIELDS = ("name", "channel", "description")
EMOTION_RANGE = range(-2, 3)
# A claim retried on top of edits to other lanes gives up after this many rounds of contention.
CLAIM_ATTEMPTS = 5


class StaleEdit(Exception):
    """The journey or step changed since the editor loaded it; nothing was written.

    `current` is the row as it is now (a Journey or a Step)."""

    def __init__(self, current: Model, message: str = "") -> None:
        super().__init__(message or f"{current._meta.verbose_name} changed since it was loaded")
        self.current = current


class StepGone(Exception):
    """The step was deleted since the editor loaded it."""


def lanes_digest(values: Mapping[str, Any]) -> str:
    """A short fingerprint of the values an editor starts from (sent back with the edit)."""
    text = json.dumps({k: values[k] for k in sorted(values)}, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def step_digest(step: Step, fields: Iterable[str]) -> str:
    return lanes_digest({name: getattr(step, name) for name in fields})


def touchpoint_digest(touchpoint: Touchpoint) -> str:
    return lanes_digest({name: getattr(touchpoint, name) for name in TOUCHPOINT_FIELDS})


# --- checks ---------------------------------------------------------------------------------------------


def _clean_name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": f"Give the {what} a name."}, code="required")
    return name


def _check_step_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(changes) - STEP_LANE_FIELDS
    if unknown:
        raise TypeError(f"cannot set {', '.join(sorted(unknown))} on a step lane")
    cleaned = dict(changes)
    if "name" in cleaned:
        cleaned["name"] = _clean_name(cleaned["name"], "step")
        if len(cleaned["name"]) > Step._meta.get_field("name").max_length:
            raise ValidationError({"name": "A step name has at most 160 characters."}, code="max_length")
    if "emotion" in cleaned and cleaned["emotion"] is not None and cleaned["emotion"] not in EMOTION_RANGE:
        raise ValidationError({"emotion": "The emotion score is from −2 to +2."}, code="range")
    if cleaned.get("is_moment_of_truth") is False:
        cleaned.setdefault("moment_of_truth_why", "")
    return cleaned


def _history(value: Any) -> Any:
    """A value as the activity history keeps it (long texts shortened)."""
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "…"
    if isinstance(value, Model):
        return str(value)
    return value


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    return {
        name: [_history(before.get(name)), _history(value)]
        for name, value in after.items()
        if before.get(name) != value
    }


# --- compare-and-set claims -----------------------------------------------------------------------------


def _claim_journey(journey: Journey, revision: int) -> None:
    """Raise the journey's revision if it still is `revision` (locking the row until commit on
    PostgreSQL, so structural changes of one journey run one at a time), else StaleEdit."""
    claimed = Journey.objects.filter(pk=journey.pk, revision=revision).update(
        revision=F("revision") + 1, updated_at=timezone.now()
    )
    if not claimed:
        current = Journey.objects.filter(pk=journey.pk).first()
        if current is None:
            raise StaleEdit(journey, "the journey was deleted")
        raise StaleEdit(current)
    journey.revision = revision + 1


def _claim_step(
    step: Step,
    revision: int,
    *,
    unchanged: Callable[[Step], bool] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Step:
    """Write `changes` and raise the step's revision if it still is `revision`. When it is not,
    `unchanged(current)` decides whether the edit's own values are untouched (then it is applied on
    the newer revision) or not (StaleEdit). Returns the step's values before the write."""
    changes = dict(changes or {})
    before = step
    for _ in range(CLAIM_ATTEMPTS):
        claimed = Step.objects.filter(pk=step.pk, revision=revision).update(
            revision=F("revision") + 1, **changes
        )
        if claimed:
            for name, value in changes.items():
                setattr(step, name, value)
            step.revision = revision + 1
            return before
        current = Step.objects.filter(pk=step.pk).first()
        if current is None:
            raise StepGone
        if unchanged is None or not unchanged(current):
            raise StaleEdit(current)
        before, revision = current, current.revision
    raise StaleEdit(Step.objects.get(pk=step.pk))


# --- positions ------------------------------------------------------------------------------------------


@dataclass
class Layout:
    """A journey's phases in order and each group's step ids in order (`None`: steps without a phase)."""

    phases: list[Phase]
    groups: dict[int | None, list[int]]

    @property
    def step_order(self) -> list[int]:
        return self.groups[None] + [pk for phase in self.phases for pk in self.groups[phase.pk]]

    def phase_of(self, step_id: int) -> int | None:
        return next(key for key, ids in self.groups.items() if step_id in ids)

    def remove(self, step_id: int) -> None:
        self.groups[self.phase_of(step_id)].remove(step_id)


def _layout(journey: Journey) -> Layout:
    """Two queries, whatever the journey's size."""
    phases = list(Phase.objects.filter(journey=journey).order_by("position", "pk"))
    groups: dict[int | None, list[int]] = {None: []} | {phase.pk: [] for phase in phases}
    for pk, phase_id in (
        Step.objects.filter(journey=journey).order_by("position", "pk").values_list("pk", "phase_id")
    ):
        groups[phase_id if phase_id in groups else None].append(pk)
    return Layout(phases=phases, groups=groups)


def _write_layout(journey: Journey, layout: Layout) -> None:
    """Store the layout: step positions and phases, phase positions (four UPDATEs at most)."""
    order = layout.step_order
    phase_of = {pk: key for key, ids in layout.groups.items() for pk in ids}
    positions_renumber(
        Step.objects.filter(journey=journey),
        order,
        # The cast types a CASE whose every branch is NULL (no step has a phase) on PostgreSQL.
        phase_id=Cast(
            Case(*(When(pk=pk, then=Value(phase_of[pk])) for pk in order), output_field=BigIntegerField()),
            BigIntegerField(),
        ),
    )
    positions_renumber(Phase.objects.filter(journey=journey), [phase.pk for phase in layout.phases])


def _clamp(index: int | None, size: int) -> int:
    return size if index is None else max(0, min(index, size))


# --- the journey's details ------------------------------------------------------------------------------


@transaction.atomic
def journey_update(
    *,
    journey: Journey,
    actor: Membership,
    revision: int,
    personas: Iterable[Persona] | None = None,
    **changes: Any,
) -> Journey:
    """Set the journey's own fields (name, description, status, owner, primary persona) and, when
    given, its personas. Refused with StaleEdit when the journey changed since `revision`."""
    check_editor(journey.workspace_id, actor)
    unknown = set(changes) - JOURNEY_FIELDS
    if unknown:
        raise TypeError(f"journey_update() cannot set {', '.join(sorted(unknown))}")
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"], "journey")
    if "status" in changes and changes["status"] not in Journey.Status.values:
        raise ValidationError({"status": "Choose a valid status."})
    check_same_workspace(journey.workspace_id, changes.get("owner"), changes.get("primary_persona"))
    personas = None if personas is None else list(personas)
    if personas is not None:
        check_same_workspace(journey.workspace_id, *personas)
    _claim_journey(journey, revision)
    before = {name: getattr(journey, name) for name in changes}
    for name, value in changes.items():
        setattr(journey, name, value)
    journey.save(update_fields=[*changes, "updated_at"])
    diff = _diff(before, changes)
    if personas is not None:
        old = sorted(journey.personas.values_list("pk", flat=True))
        new = sorted(persona.pk for persona in personas)
        if old != new:
            journey.personas.set(personas)
            diff["personas"] = [old, new]
    activity_record(
        workspace=journey.workspace, actor=actor.user, verb="updated", target=journey, changes=diff
    )
    return journey


@transaction.atomic
def journey_delete(*, journey: Journey, actor: Membership, revision: int) -> None:
    """Delete the journey with its phases, steps, touchpoints and KPIs. Insights and opportunities stay
    in their repositories; they only lose their pins on this journey's steps."""
    check_editor(journey.workspace_id, actor)
    _claim_journey(journey, revision)
    had_opportunities = Opportunity.steps.through.objects.filter(step__journey=journey).exists()
    activity_record(
        workspace=journey.workspace,
        actor=actor.user,
        verb="deleted",
        target=journey,
        changes={"macro_journey": journey.macro_journey_id, "steps": journey.steps.count()},
    )
    journey.delete()
    if had_opportunities:
        priorities_request_recompute(workspace_id=journey.workspace_id)


# --- phases -----------------------------------------------------------------------------------------------


@transaction.atomic
def phase_create(
    *, journey: Journey, actor: Membership, revision: int, name: str, index: int | None = None
) -> Phase:
    """A new phase at `index` (default: last). A journey's first phase takes every step it has."""
    check_editor(journey.workspace_id, actor)
    name = _clean_name(name, "phase")
    _claim_journey(journey, revision)
    layout = _layout(journey)
    top = Phase.objects.filter(journey=journey).aggregate(top=Max("position"))["top"]
    phase = Phase.objects.create(
        workspace_id=journey.workspace_id, journey=journey, name=name, position=(top or 0) + 1
    )
    first = not layout.phases
    layout.phases.insert(_clamp(index, len(layout.phases)), phase)
    layout.groups[phase.pk] = []
    if first:
        layout.groups[phase.pk], layout.groups[None] = layout.groups[None], []
    _write_layout(journey, layout)
    activity_record(
        workspace=journey.workspace,
        actor=actor.user,
        verb="created",
        target=phase,
        changes={"journey": journey.pk, "steps": len(layout.groups[phase.pk])},
    )
    return phase


@transaction.atomic
def phase_rename(*, phase: Phase, actor: Membership, revision: int, name: str) -> Phase:
    check_editor(phase.workspace_id, actor)
    name = _clean_name(name, "phase")
    _claim_journey(phase.journey, revision)
    old = phase.name
    phase.name = name
    phase.save(update_fields=["name"])
    activity_record(
        workspace=phase.journey.workspace,
        actor=actor.user,
        verb="renamed",
        target=phase,
        changes={"name": [old, name], "journey": phase.journey_id},
    )
    return phase


@transaction.atomic
def phase_move(*, phase: Phase, actor: Membership, revision: int, index: int) -> Phase:
    """Put the phase at `index` among the journey's phases; its steps move with it."""
    check_editor(phase.workspace_id, actor)
    journey = phase.journey
    _claim_journey(journey, revision)
    layout = _layout(journey)
    old = next(i for i, p in enumerate(layout.phases) if p.pk == phase.pk)
    moved = layout.phases.pop(old)
    new = _clamp(index, len(layout.phases))
    layout.phases.insert(new, moved)
    if new != old:
        _write_layout(journey, layout)
        activity_record(
            workspace=journey.workspace,
            actor=actor.user,
            verb="moved",
            target=phase,
            changes={"position": [old, new], "journey": journey.pk},
        )
    return phase


@transaction.atomic
def phase_shift(*, phase: Phase, actor: Membership, revision: int, offset: int) -> Phase:
    """Move the phase `offset` places left (negative) or right: the keyboard's way to reorder."""
    order = list(
        Phase.objects.filter(journey_id=phase.journey_id)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    return phase_move(phase=phase, actor=actor, revision=revision, index=order.index(phase.pk) + offset)


@dataclass(frozen=True)
class Unpinned:
    """What a deletion took off the map: steps deleted, insight and opportunity pins removed (the
    insights and opportunities themselves stay)."""

    steps: int = 0
    insights: int = 0
    opportunities: int = 0


def _pins_of(step_ids: list[int]) -> tuple[int, int]:
    insights = Insight.steps.through.objects.filter(step_id__in=step_ids).count()
    opportunities = Opportunity.steps.through.objects.filter(step_id__in=step_ids).count()
    return insights, opportunities


def _snapshot(journey: Journey, actor: Membership, label: str) -> None:
    from journeys.services.versions import journey_snapshot

    journey_snapshot(
        journey=journey, actor=actor, reason=JourneyVersion.Reason.BEFORE_BULK_CHANGE, label=label
    )


@transaction.atomic
def phase_delete(*, phase: Phase, actor: Membership, revision: int, with_steps: bool = False) -> Unpinned:
    """Delete a phase. Its steps move to the phase before it (or after it, or to no phase), unless
    `with_steps`: then they are deleted too, after a snapshot of the journey is saved as a version.
    Insights and opportunities are never deleted; they only lose their pins on deleted steps."""
    check_editor(phase.workspace_id, actor)
    journey = phase.journey
    _claim_journey(journey, revision)
    layout = _layout(journey)
    index = next(i for i, p in enumerate(layout.phases) if p.pk == phase.pk)
    step_ids = layout.groups.pop(phase.pk)
    layout.phases.pop(index)
    result = Unpinned()
    if with_steps and step_ids:
        _snapshot(journey, actor, f"Before deleting the phase “{phase.name}” and its steps")
        insights, opportunities = _pins_of(step_ids)
        Step.objects.filter(journey=journey, pk__in=step_ids).delete()
        result = Unpinned(steps=len(step_ids), insights=insights, opportunities=opportunities)
    else:
        neighbour = layout.phases[index - 1] if index > 0 else (layout.phases[0] if layout.phases else None)
        key = neighbour.pk if neighbour else None
        if index > 0 or neighbour is None:
            layout.groups[key].extend(step_ids)
        else:
            layout.groups[key][:0] = step_ids
    activity_record(
        workspace=journey.workspace,
        actor=actor.user,
        verb="deleted",
        target=phase,
        changes={
            "journey": journey.pk,
            "steps_deleted": result.steps,
            "insight_pins_removed": result.insights,
            "opportunity_pins_removed": result.opportunities,
        },
    )
    phase.delete()
    _write_layout(journey, layout)
    if result.opportunities:
        priorities_request_recompute(workspace_id=journey.workspace_id)
    return result


# --- steps: structure --------------------------------------------------------------------------------------


@transaction.atomic
def step_create(
    *,
    journey: Journey,
    actor: Membership,
    revision: int,
    name: str,
    phase: Phase | None = None,
    index: int | None = None,
) -> Step:
    """A new step in `phase` (None: among the steps without a phase) at `index` (default: last)."""
    check_editor(journey.workspace_id, actor)
    name = _check_step_changes({"name": name})["name"]
    if phase is not None and phase.journey_id != journey.pk:
        raise ValidationError({"phase": "That phase belongs to another journey."}, code="other_journey")
    _claim_journey(journey, revision)
    layout = _layout(journey)
    top = Step.objects.filter(journey=journey).aggregate(top=Max("position"))["top"]
    step = Step.objects.create(
        workspace_id=journey.workspace_id,
        journey=journey,
        phase=phase,
        name=name,
        position=(-1 if top is None else top) + 1,
    )
    group = layout.groups[phase.pk if phase else None]
    group.insert(_clamp(index, len(group)), step.pk)
    _write_layout(journey, layout)
    step.refresh_from_db(fields=["position"])
    activity_record(
        workspace=journey.workspace,
        actor=actor.user,
        verb="created",
        target=step,
        changes={"journey": journey.pk, "phase": phase.name if phase else None},
    )
    return step


@transaction.atomic
def step_move(*, step: Step, actor: Membership, revision: int, phase: Phase | None, index: int) -> Step:
    """Put the step in `phase` (None: no phase) at `index` among that phase's other steps."""
    check_editor(step.workspace_id, actor)
    journey = step.journey
    if phase is not None and phase.journey_id != journey.pk:
        raise ValidationError({"phase": "That phase belongs to another journey."}, code="other_journey")
    _claim_journey(journey, revision)
    layout = _layout(journey)
    old_phase = layout.phase_of(step.pk)
    old_order = layout.step_order
    layout.remove(step.pk)
    group = layout.groups[phase.pk if phase else None]
    group.insert(_clamp(index, len(group)), step.pk)
    if layout.step_order != old_order or old_phase != (phase.pk if phase else None):
        _write_layout(journey, layout)
        activity_record(
            workspace=journey.workspace,
            actor=actor.user,
            verb="moved",
            target=step,
            changes={
                "position": [old_order.index(step.pk), layout.step_order.index(step.pk)],
                "phase": [old_phase, phase.pk if phase else None],
                "journey": journey.pk,
            },
        )
    step.phase = phase
    step.refresh_from_db(fields=["position"])
    return step


@transaction.atomic
def step_shift(*, step: Step, actor: Membership, revision: int, offset: int) -> Step:
    """Move the step one place left (offset −1) or right (+1), the keyboard's way to reorder. At the
    edge of its phase it crosses into the neighbouring phase (its last or first place)."""
    if offset not in (-1, 1):
        raise ValueError("a step shifts by one place")
    layout = _layout(step.journey)
    keys = ([None] if layout.groups[None] else []) + [phase.pk for phase in layout.phases]
    key = layout.phase_of(step.pk)
    group = layout.groups[key]
    index = group.index(step.pk)
    target_key, target_index = key, index + offset
    if not 0 <= target_index < len(group):
        at = keys.index(key) + offset
        if not 0 <= at < len(keys):
            target_index = index  # already first or last: nothing to do, but the revision still counts
        else:
            target_key = keys[at]
            target_index = len(layout.groups[target_key]) if offset < 0 else 0
    phase = next((p for p in layout.phases if p.pk == target_key), None)
    return step_move(step=step, actor=actor, revision=revision, phase=phase, index=target_index)


def step_pins(step: Step) -> Unpinned:
    """What deleting this step would take off the map."""
    insights, opportunities = _pins_of([step.pk])
    return Unpinned(steps=1, insights=insights, opportunities=opportunities)


@transaction.atomic
def step_delete(
    *, step: Step, actor: Membership, revision: int, step_revision: int | None = None
) -> Unpinned:
    """Delete a step with its touchpoints, persona emotions and KPIs. Its insights and opportunities
    stay; they are only unpinned. Refused with StaleEdit when the journey's structure changed since
    `revision`, or the step's lanes since `step_revision` (deleting must not discard an edit unseen)."""
    check_editor(step.workspace_id, actor)
    journey = step.journey
    _claim_journey(journey, revision)
    if step_revision is not None:
        _claim_step(step, step_revision)
    pins = step_pins(step)
    layout = _layout(journey)
    layout.remove(step.pk)
    activity_record(
        workspace=journey.workspace,
        actor=actor.user,
        verb="deleted",
        target=step,
        changes={
            "journey": journey.pk,
            "insight_pins_removed": pins.insights,
            "opportunity_pins_removed": pins.opportunities,
        },
    )
    step.delete()
    _write_layout(journey, layout)
    if pins.opportunities:
        priorities_request_recompute(workspace_id=journey.workspace_id)
    return pins


# --- steps: lanes ----------------------------------------------------------------------------------------


@transaction.atomic
def step_update(
    *,
    step: Step,
    actor: Membership,
    revision: int,
    changes: Mapping[str, Any],
    digest: str | None = None,
) -> Step:
    """Set lanes of a step (name, goal, actions, thoughts, emotion, frontstage, backstage, moment of
    truth). `digest` is `step_digest(step, changes)` of the values the editor started from: with it, an
    edit on an older revision is still applied when those values did not change in between."""
    check_editor(step.workspace_id, actor)
    changes = _check_step_changes(changes)
    fields = tuple(changes)

    def unchanged(current: Step) -> bool:
        return digest is not None and step_digest(current, fields) == digest

    before = {name: getattr(step, name) for name in fields}
    previous = _claim_step(step, revision, unchanged=unchanged, changes=changes)
    if previous is not step:
        before = {name: getattr(previous, name) for name in fields}
    diff = _diff(before, changes)
    if diff:
        activity_record(
            workspace=step.journey.workspace,
            actor=actor.user,
            verb="updated",
            target=step,
            changes={**diff, "journey": step.journey_id},
        )
        if SCORED_STEP_FIELDS & diff.keys() and Opportunity.steps.through.objects.filter(step=step).exists():
            priorities_request_recompute(workspace_id=step.workspace_id)
    return step


@transaction.atomic
def step_persona_emotion_set(
    *,
    step: Step,
    persona: Persona,
    actor: Membership,
    revision: int,
    score: int | None,
    based_on: int | None = None,
) -> StepEmotion | None:
    """Set (or with None clear) how `persona` feels at this step. `based_on` is the score the editor
    saw: an edit on an older revision of the step is applied when that score did not change."""
    check_editor(step.workspace_id, actor)
    check_same_workspace(step.workspace_id, persona)
    if score is not None and score not in EMOTION_RANGE:
        raise ValidationError({"score": "The emotion score is from −2 to +2."}, code="range")

    def current_score() -> int | None:
        return StepEmotion.objects.filter(step=step, persona=persona).values_list("score", flat=True).first()

    _claim_step(step, revision, unchanged=lambda current: current_score() == based_on)
    old = current_score()
    if score is None:
        StepEmotion.objects.filter(step=step, persona=persona).delete()
        emotion = None
    else:
        emotion, _ = StepEmotion.objects.update_or_create(
            step=step, persona=persona, defaults={"score": score, "workspace_id": step.workspace_id}
        )
    if old != score:
        activity_record(
            workspace=step.journey.workspace,
            actor=actor.user,
            verb="updated",
            target=step,
            changes={"persona_emotion": [old, score], "persona": persona.name, "journey": step.journey_id},
        )
    return emotion


# --- touchpoints ----------------------------------------------------------------------------------------


def _check_touchpoint(name: str, channel: str) -> str:
    name = _clean_name(name, "touchpoint")
    if channel not in Channel.values:
        raise ValidationError({"channel": "Choose a channel."}, code="invalid")
    return name


@transaction.atomic
def touchpoint_create(
    *, step: Step, actor: Membership, name: str, channel: str, description: str = ""
) -> Touchpoint:
    """A new touchpoint, last on the step. Adding overwrites nothing, so no revision is checked; the
    step's revision is raised (its touchpoint lane changed)."""
    check_editor(step.workspace_id, actor)
    name = _check_touchpoint(name, channel)
    Step.objects.filter(pk=step.pk).update(revision=F("revision") + 1)
    top = Touchpoint.objects.filter(step=step).aggregate(top=Max("position"))["top"]
    touchpoint = Touchpoint.objects.create(
        workspace_id=step.workspace_id,
        step=step,
        name=name,
        channel=channel,
        description=description,
        position=0 if top is None else top + 1,
    )
    activity_record(
        workspace=step.journey.workspace,
        actor=actor.user,
        verb="created",
        target=touchpoint,
        changes={"step": step.pk, "channel": channel},
    )
    return touchpoint


@transaction.atomic
def touchpoint_update(
    *,
    touchpoint: Touchpoint,
    actor: Membership,
    revision: int,
    digest: str | None = None,
    **changes: Any,
) -> Touchpoint:
    """Change a touchpoint's name, channel or description. `revision` is its step's; `digest` is
    `touchpoint_digest` of the touchpoint as the editor saw it."""
    check_editor(touchpoint.workspace_id, actor)
    unknown = set(changes) - set(TOUCHPOINT_FIELDS)
    if unknown:
        raise TypeError(f"touchpoint_update() cannot set {', '.join(sorted(unknown))}")
    merged = {name: changes.get(name, getattr(touchpoint, name)) for name in TOUCHPOINT_FIELDS}
    changes["name"] = _check_touchpoint(merged["name"], merged["channel"])
    step = touchpoint.step

    def unchanged(_current: Step) -> bool:
        fresh = Touchpoint.objects.filter(pk=touchpoint.pk).first()
        return fresh is not None and digest is not None and touchpoint_digest(fresh) == digest

    _claim_step(step, revision, unchanged=unchanged)
    fresh = Touchpoint.objects.filter(pk=touchpoint.pk).first()
    if fresh is None:
        raise StaleEdit(step, "the touchpoint was deleted")
    before = {name: getattr(fresh, name) for name in changes}
    for name, value in changes.items():
        setattr(touchpoint, name, value)
    touchpoint.save(update_fields=list(changes))
    diff = _diff(before, changes)
    if diff:
        activity_record(
            workspace=step.journey.workspace,
            actor=actor.user,
            verb="updated",
            target=touchpoint,
            changes={**diff, "step": step.pk},
        )
    return touchpoint


@transaction.atomic
def touchpoint_delete(*, touchpoint: Touchpoint, actor: Membership) -> None:
    """Delete a touchpoint (its KPIs go with it)."""
    check_editor(touchpoint.workspace_id, actor)
    step = touchpoint.step
    Step.objects.filter(pk=step.pk).update(revision=F("revision") + 1)
    activity_record(
        workspace=step.journey.workspace,
        actor=actor.user,
        verb="deleted",
        target=touchpoint,
        changes={"step": step.pk, "channel": touchpoint.channel},
    )
    touchpoint.delete()


# --- opportunities ----------------------------------------------------------------------------------------


@transaction.atomic
def opportunity_create_from_insight(*, step: Step, insight: Insight, actor: Membership) -> Opportunity:
    """A new opportunity made from a pain point in one action: titled after the insight, with the
    insight as its evidence, addressing the step it is pinned to, and owned by whoever made it (until
    they hand it over)."""
    check_editor(step.workspace_id, actor)
    check_same_workspace(step.workspace_id, insight)
    opportunity = opportunity_create(
        workspace=step.journey.workspace,
        created_by=actor,
        title=insight.title[: Opportunity._meta.get_field("title").max_length],
        description=insight.description,
        owner=actor,
        steps=[step],
        insights=[insight],
    )
    activity_record(
        workspace=step.journey.workspace,
        actor=actor.user,
        verb="created",
        target=opportunity,
        changes={"from_insight": insight.pk, "step": step.pk, "journey": step.journey_id},
    )
    return opportunity
