"""Journey versions and to-be journeys: snapshot a map, restore a snapshot, copy a current journey into
a to-be journey.

A snapshot is plain JSON (`journey_state`): the journey's own fields, its phases and its steps with every
lane, persona emotions, touchpoints and the insight and opportunity pins. Every row is kept by id *and*
by name, so a version stays readable after the rows it mentions are gone, and a restore can tell which
of them still exist. Reading and writing use a fixed number of queries whatever the journey's size."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q

from atlas.models import Comment, Membership, Tag
from atlas.services import activity_record
from journeys.models import (
    Insight,
    Journey,
    JourneyVersion,
    Persona,
    Phase,
    Step,
    StepEmotion,
    Touchpoint,
)
from metrics.models import Kpi
from opportunities.models import Opportunity
from opportunities.services import priorities_request_recompute

SNAPSHOT_SCHEMA = 1

# The lanes of a step that are plain values, copied and compared as they are.
STEP_LANES = Step.LANE_FIELDS
TOUCHPOINT_FIELDS = ("name", "channel", "description", "position")


# --- Reading a journey as plain data ------------------------------------------------------------------


def _named(rows: Iterable[tuple[int, str]]) -> list[dict]:
    return [{"id": pk, "name": name} for pk, name in rows]


def _membership_name(membership: Membership | None) -> str:
    return membership.display_name if membership is not None else ""


def journey_state(*, journey: Journey) -> dict:
    """The journey map as JSON-ready data (the snapshot format; the compare view reads it too).

    Eleven queries whatever the number of steps: the journey's links, phases, steps, then one query per
    kind of thing attached to steps."""
    journey = (
        Journey.objects.select_related("owner__user", "primary_persona", "current_journey")
        .filter(pk=journey.pk)
        .get()
    )
    workspace_id = journey.workspace_id
    phases = list(Phase.objects.filter(journey=journey).order_by("position").values("id", "name", "position"))
    phase_names = {phase["id"]: phase["name"] for phase in phases}
    steps = list(
        Step.objects.filter(journey=journey)
        .order_by("position")
        .values("id", "position", "phase_id", "origin_id", *STEP_LANES)
    )
    step_ids = [step["id"] for step in steps]

    step_tags: dict[int, list[dict]] = defaultdict(list)
    for step_id, tag_id, tag_name in (
        Step.tags.through.objects.filter(step_id__in=step_ids)
        .order_by("tag__kind", "tag__name")
        .values_list("step_id", "tag_id", "tag__name")
    ):
        step_tags[step_id].append({"id": tag_id, "name": tag_name})

    emotions: dict[int, list[dict]] = defaultdict(list)
    for row in (
        StepEmotion.objects.filter(step_id__in=step_ids, workspace_id=workspace_id)
        .order_by("persona__name")
        .values("step_id", "persona_id", "persona__name", "score", "note")
    ):
        emotions[row["step_id"]].append(
            {
                "persona_id": row["persona_id"],
                "persona_name": row["persona__name"],
                "score": row["score"],
                "note": row["note"],
            }
        )

    touchpoints = list(
        Touchpoint.objects.filter(step_id__in=step_ids, workspace_id=workspace_id)
        .order_by("position", "id")
        .values("id", "step_id", *TOUCHPOINT_FIELDS)
    )
    touchpoint_tags: dict[int, list[dict]] = defaultdict(list)
    for touchpoint_id, tag_id, tag_name in (
        Touchpoint.tags.through.objects.filter(touchpoint__step_id__in=step_ids)
        .order_by("tag__kind", "tag__name")
        .values_list("touchpoint_id", "tag_id", "tag__name")
    ):
        touchpoint_tags[touchpoint_id].append({"id": tag_id, "name": tag_name})
    step_touchpoints: dict[int, list[dict]] = defaultdict(list)
    for touchpoint in touchpoints:
        step_id = touchpoint.pop("step_id")
        touchpoint["tags"] = touchpoint_tags.get(touchpoint["id"], [])
        step_touchpoints[step_id].append(touchpoint)

    insights: dict[int, list[dict]] = defaultdict(list)
    for step_id, insight_id, title, kind in (
        Insight.steps.through.objects.filter(step_id__in=step_ids)
        .order_by("-insight__severity", "insight_id")
        .values_list("step_id", "insight_id", "insight__title", "insight__kind")
    ):
        insights[step_id].append({"id": insight_id, "title": title, "kind": kind})

    opportunities: dict[int, list[dict]] = defaultdict(list)
    for step_id, opportunity_id, title in (
        Opportunity.steps.through.objects.filter(step_id__in=step_ids)
        .order_by("opportunity__rank", "opportunity_id")
        .values_list("step_id", "opportunity_id", "opportunity__title")
    ):
        opportunities[step_id].append({"id": opportunity_id, "title": title})

    for step in steps:
        step["phase_name"] = phase_names.get(step["phase_id"], "")
        step["tags"] = step_tags.get(step["id"], [])
        step["persona_emotions"] = emotions.get(step["id"], [])
        step["touchpoints"] = step_touchpoints.get(step["id"], [])
        step["insights"] = insights.get(step["id"], [])
        step["opportunities"] = opportunities.get(step["id"], [])

    return {
        "schema": SNAPSHOT_SCHEMA,
        "journey": {
            "id": journey.pk,
            "name": journey.name,
            "description": journey.description,
            "kind": journey.kind,
            "status": journey.status,
            "revision": journey.revision,
            "owner_id": journey.owner_id,
            "owner_name": _membership_name(journey.owner),
            "primary_persona_id": journey.primary_persona_id,
            "primary_persona_name": journey.primary_persona.name if journey.primary_persona else "",
            "current_journey_id": journey.current_journey_id,
            "current_journey_name": journey.current_journey.name if journey.current_journey else "",
            "personas": _named(journey.personas.order_by("name").values_list("id", "name")),
            "tags": _named(journey.tags.order_by("kind", "name").values_list("id", "name")),
        },
        "phases": phases,
        "steps": steps,
        "step_count": len(steps),
    }


# --- Snapshots -----------------------------------------------------------------------------------------


def _lock_journey(journey: Journey) -> Journey:
    """Lock the journey's row for the rest of the transaction (version numbers, restores) and return it
    fresh."""
    return Journey.objects.select_for_update(of=("self",)).select_related("workspace").get(pk=journey.pk)


@transaction.atomic
def journey_snapshot(
    *,
    journey: Journey,
    actor: Membership | None,
    reason: str = JourneyVersion.Reason.MANUAL,
    label: str = "",
) -> JourneyVersion:
    """Save the journey as it is now as its next version (1, 2, 3…).

    The journey's row is locked while the number is allocated, so two snapshots taken at once get two
    numbers (and a snapshot taken inside a bulk change sees the state just before it)."""
    if reason not in JourneyVersion.Reason.values:
        raise ValueError(f"unknown version reason {reason!r}")
    locked = _lock_journey(journey)
    state = journey_state(journey=locked)
    number = (JourneyVersion.objects.filter(journey=locked).aggregate(last=Max("number"))["last"] or 0) + 1
    version = JourneyVersion.objects.create(
        workspace_id=locked.workspace_id,
        journey=locked,
        number=number,
        label=label.strip()[:160],
        reason=reason,
        journey_revision=locked.revision,
        snapshot=state,
        created_by=actor,
    )
    activity_record(
        workspace=locked.workspace,
        actor=actor.user if actor else None,
        verb="version_saved",
        target=locked,
        changes={"version": number, "reason": reason, **({"label": version.label} if version.label else {})},
    )
    return version


# --- Restore -------------------------------------------------------------------------------------------


JOURNEY_DEFAULTS = {
    "name": "",
    "description": "",
    "primary_persona_id": None,
    "personas": [],
    "tags": [],
}
STEP_DEFAULTS = {
    **dict.fromkeys(STEP_LANES, ""),
    "emotion": None,
    "is_moment_of_truth": False,
    "position": 0,
    "phase_id": None,
    "origin_id": None,
}
STEP_LISTS = ("tags", "persona_emotions", "touchpoints", "insights", "opportunities")


def snapshot_complete(snapshot: dict) -> dict:
    """The snapshot with every key a restore reads (a snapshot written by an older schema, or edited by
    hand in the admin, may lack some): missing lanes are empty, missing lists are empty."""
    journey = {**JOURNEY_DEFAULTS, **snapshot.get("journey", {})}
    steps = [
        {**STEP_DEFAULTS, **{key: [] for key in STEP_LISTS}, **step} for step in snapshot.get("steps", [])
    ]
    for step in steps:
        step["touchpoints"] = [
            {"description": "", "position": 0, "channel": "other", "tags": [], **tp}
            for tp in step["touchpoints"]
        ]
        step["persona_emotions"] = [{"note": "", **e} for e in step["persona_emotions"]]
    return {**snapshot, "journey": journey, "phases": snapshot.get("phases", []), "steps": steps}


def _ids(rows: Iterable[dict], key: str = "id") -> set[int]:
    return {row[key] for row in rows if row.get(key) is not None}


@dataclass(frozen=True)
class _Survivors:
    """Which rows named by a snapshot still exist in the workspace (one query per kind)."""

    tags: set[int]
    personas: set[int]
    insights: set[int]
    opportunities: set[int]
    origins: set[int]

    @classmethod
    def of(cls, *, workspace_id: int, data: dict) -> "_Survivors":
        journey, steps = data["journey"], data["steps"]
        touchpoints = [tp for step in steps for tp in step["touchpoints"]]
        tag_ids = (
            _ids(journey["tags"])
            | {tag["id"] for step in steps for tag in step["tags"]}
            | {tag["id"] for tp in touchpoints for tag in tp["tags"]}
        )
        persona_ids = (
            _ids(journey["personas"])
            | {journey["primary_persona_id"]}
            | {e["persona_id"] for step in steps for e in step["persona_emotions"]}
        ) - {None}

        def existing(model, ids: set[int]) -> set[int]:
            if not ids:
                return set()
            return set(
                model.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("pk", flat=True)
            )

        return cls(
            tags=existing(Tag, tag_ids),
            personas=existing(Persona, persona_ids),
            insights=existing(Insight, {i["id"] for step in steps for i in step["insights"]}),
            opportunities=existing(Opportunity, {o["id"] for step in steps for o in step["opportunities"]}),
            origins=existing(Step, _ids(steps, "origin_id")),
        )


@dataclass(frozen=True)
class RestorePlan:
    """What restoring a version changes, worked out before anything is written: the confirmation page
    shows it and `journey_restore` carries it out."""

    steps_kept: list[int]  # steps that exist now and in the version: updated in place
    steps_recreated: list[str]  # names of the version's steps that are gone since: created again
    steps_removed: list[str]  # names of today's steps that the version does not have: deleted
    touchpoints_removed: list[int]
    insights_missing: int  # insights pinned in the version and deleted since: cannot be pinned again
    opportunities_missing: int
    kpis_moved: int  # KPIs of steps or touchpoints that go away: they become KPIs of the journey
    comments_moved: int  # comments on steps that go away: they become comments on the journey
    removed_step_ids: list[int]


@dataclass
class _Current:
    """The journey's rows as they are now."""

    phases: dict[int, Phase]
    steps: dict[int, Step]
    touchpoints: dict[int, Touchpoint]

    @classmethod
    def load(cls, journey: Journey, *, lock: bool) -> "_Current":
        steps = Step.objects.filter(journey=journey).order_by("position")
        if lock:
            # Step edits compare-and-set on `revision`; holding the rows makes them wait for the restore
            # and then fail on the raised revision instead of writing over it.
            steps = steps.select_for_update()
        return cls(
            phases={p.pk: p for p in Phase.objects.filter(journey=journey)},
            steps={s.pk: s for s in steps},
            touchpoints={t.pk: t for t in Touchpoint.objects.filter(step__journey=journey)},
        )


def _restore_plan(*, journey: Journey, data: dict, current: _Current, survivors: _Survivors) -> RestorePlan:
    version_steps = {step["id"]: step for step in data["steps"]}
    removed_steps = [pk for pk in current.steps if pk not in version_steps]
    kept_touchpoints = {
        tp["id"] for step in data["steps"] if step["id"] in current.steps for tp in step["touchpoints"]
    }
    removed_touchpoints = [pk for pk in current.touchpoints if pk not in kept_touchpoints]
    pinned_insights = {i["id"] for step in data["steps"] for i in step["insights"]}
    pinned_opportunities = {o["id"] for step in data["steps"] for o in step["opportunities"]}
    kpis = comments = 0
    if removed_steps or removed_touchpoints:
        kpis = Kpi.objects.filter(
            Q(step_id__in=removed_steps) | Q(touchpoint_id__in=removed_touchpoints),
            workspace_id=journey.workspace_id,
        ).count()
    if removed_steps:
        comments = Comment.objects.filter(
            workspace_id=journey.workspace_id, step_id__in=removed_steps
        ).count()
    return RestorePlan(
        steps_kept=[pk for pk in version_steps if pk in current.steps],
        steps_recreated=[step["name"] for pk, step in version_steps.items() if pk not in current.steps],
        steps_removed=[current.steps[pk].name for pk in removed_steps],
        touchpoints_removed=removed_touchpoints,
        insights_missing=len(pinned_insights - survivors.insights),
        opportunities_missing=len(pinned_opportunities - survivors.opportunities),
        kpis_moved=kpis,
        comments_moved=comments,
        removed_step_ids=removed_steps,
    )


def version_restore_plan(*, version: JourneyVersion) -> RestorePlan:
    """What `journey_restore` would do with this version now (for the confirmation page)."""
    journey = version.journey
    data = snapshot_complete(version.snapshot)
    current = _Current.load(journey, lock=False)
    survivors = _Survivors.of(workspace_id=journey.workspace_id, data=data)
    return _restore_plan(journey=journey, data=data, current=current, survivors=survivors)


def _park_positions(journey: Journey, current: _Current, data: dict) -> None:
    """Move every phase and step of the journey past any position in use or about to be used, so the
    final positions can be written in any order without breaking the unique (journey, position)
    constraints (PostgreSQL checks them row by row)."""
    highest = max(
        [0]
        + [p.position for p in current.phases.values()]
        + [s.position for s in current.steps.values()]
        + [p["position"] for p in data["phases"]]
        + [s["position"] for s in data["steps"]]
    )
    if current.phases:
        Phase.objects.filter(journey=journey).update(position=F("position") + highest + 1)
    if current.steps:
        Step.objects.filter(journey=journey).update(position=F("position") + highest + 1)


def _restore_phases(journey: Journey, current: _Current, data: dict) -> dict[int, Phase]:
    """Make the journey's phases those of the version; returns version phase id → phase row."""
    version_ids = _ids(data["phases"])
    gone = [pk for pk in current.phases if pk not in version_ids]
    if gone:
        Phase.objects.filter(pk__in=gone).delete()
    kept, created, by_version_id = [], [], {}
    for row in data["phases"]:
        phase = current.phases.get(row["id"])
        if phase is None:
            phase = Phase(workspace_id=journey.workspace_id, journey=journey)
            created.append(phase)
        else:
            kept.append(phase)
        phase.name, phase.position = row["name"], row["position"]
        by_version_id[row["id"]] = phase
    if kept:
        Phase.objects.bulk_update(kept, ["name", "position"])
    if created:
        Phase.objects.bulk_create(created)
    return by_version_id


def _restore_steps(
    journey: Journey, current: _Current, data: dict, phases: dict[int, Phase], survivors: _Survivors
) -> dict[int, Step]:
    """Update the steps that still exist, create the missing ones; returns version step id → step row."""
    kept, created, by_version_id = [], [], {}
    for row in data["steps"]:
        step = current.steps.get(row["id"])
        if step is None:
            step = Step(workspace_id=journey.workspace_id, journey=journey)
            created.append(step)
        else:
            kept.append(step)
        for lane in STEP_LANES:
            setattr(step, lane, row[lane])
        step.position = row["position"]
        phase = phases.get(row["phase_id"])
        step.phase_id = phase.pk if phase is not None else None
        step.origin_id = row["origin_id"] if row["origin_id"] in survivors.origins else None
        by_version_id[row["id"]] = step
    if kept:
        Step.objects.bulk_update(kept, [*STEP_LANES, "position", "phase", "origin"])
        Step.objects.filter(pk__in=[s.pk for s in kept]).update(revision=F("revision") + 1)
    if created:
        Step.objects.bulk_create(created)
    return by_version_id


def _restore_touchpoints(
    journey: Journey, current: _Current, data: dict, steps: dict[int, Step]
) -> list[tuple[Touchpoint, dict]]:
    """Update the touchpoints that still exist, create the missing ones (before the steps that go away
    are deleted); returns (touchpoint row, version row) pairs."""
    kept, created, pairs = [], [], []
    for step_row in data["steps"]:
        for row in step_row["touchpoints"]:
            touchpoint = current.touchpoints.get(row["id"])
            if touchpoint is None:
                touchpoint = Touchpoint(workspace_id=journey.workspace_id)
                created.append(touchpoint)
            else:
                kept.append(touchpoint)
            touchpoint.step_id = steps[step_row["id"]].pk
            for name in TOUCHPOINT_FIELDS:
                setattr(touchpoint, name, row[name])
            pairs.append((touchpoint, row))
    if kept:
        Touchpoint.objects.bulk_update(kept, ["step", *TOUCHPOINT_FIELDS])
    if created:
        Touchpoint.objects.bulk_create(created)
    return pairs


def _remove_rows(journey: Journey, plan: RestorePlan) -> None:
    """Delete the steps and touchpoints the version does not have. Their KPIs and comments are kept on
    the journey; pinned insights and opportunities lose only the pin."""
    if plan.removed_step_ids or plan.touchpoints_removed:
        Kpi.objects.filter(
            Q(step_id__in=plan.removed_step_ids) | Q(touchpoint_id__in=plan.touchpoints_removed),
            workspace_id=journey.workspace_id,
        ).update(scope=Kpi.Scope.JOURNEY, journey=journey, step=None, touchpoint=None)
    if plan.touchpoints_removed:
        Touchpoint.objects.filter(pk__in=plan.touchpoints_removed).delete()
    if plan.removed_step_ids:
        Comment.objects.filter(workspace_id=journey.workspace_id, step_id__in=plan.removed_step_ids).update(
            step=None, journey=journey
        )
        Step.objects.filter(pk__in=plan.removed_step_ids).delete()


def _restore_links(
    journey: Journey,
    data: dict,
    steps: dict[int, Step],
    touchpoints: list[tuple[Touchpoint, dict]],
    survivors: _Survivors,
) -> None:
    """Replace the steps' tags, persona emotions and pins, and the touchpoints' tags, with the version's
    (those whose tag, persona, insight or opportunity still exists)."""
    step_ids = [step.pk for step in steps.values()]
    ws = journey.workspace_id
    StepTag, TouchpointTag = Step.tags.through, Touchpoint.tags.through
    InsightPin, OpportunityPin = Insight.steps.through, Opportunity.steps.through
    StepTag.objects.filter(step_id__in=step_ids).delete()
    TouchpointTag.objects.filter(touchpoint_id__in=[tp.pk for tp, _row in touchpoints]).delete()
    StepEmotion.objects.filter(step_id__in=step_ids).delete()
    InsightPin.objects.filter(step_id__in=step_ids).delete()
    OpportunityPin.objects.filter(step_id__in=step_ids).delete()

    rows = [(steps[row["id"]].pk, row) for row in data["steps"]]
    StepTag.objects.bulk_create(
        StepTag(step_id=pk, tag_id=tag["id"])
        for pk, row in rows
        for tag in row["tags"]
        if tag["id"] in survivors.tags
    )
    TouchpointTag.objects.bulk_create(
        TouchpointTag(touchpoint_id=tp.pk, tag_id=tag["id"])
        for tp, row in touchpoints
        for tag in row["tags"]
        if tag["id"] in survivors.tags
    )
    StepEmotion.objects.bulk_create(
        StepEmotion(workspace_id=ws, step_id=pk, persona_id=e["persona_id"], score=e["score"], note=e["note"])
        for pk, row in rows
        for e in row["persona_emotions"]
        if e["persona_id"] in survivors.personas
    )
    InsightPin.objects.bulk_create(
        InsightPin(step_id=pk, insight_id=i["id"])
        for pk, row in rows
        for i in row["insights"]
        if i["id"] in survivors.insights
    )
    OpportunityPin.objects.bulk_create(
        OpportunityPin(step_id=pk, opportunity_id=o["id"])
        for pk, row in rows
        for o in row["opportunities"]
        if o["id"] in survivors.opportunities
    )


def _restore_journey_fields(journey: Journey, data: dict, survivors: _Survivors) -> None:
    """The journey's name, description, personas and tags as in the version; status and owner are
    workflow, not map content, and stay as they are."""
    fields = data["journey"]
    primary = fields["primary_persona_id"]
    journey.name = fields["name"]
    journey.description = fields["description"]
    journey.primary_persona_id = primary if primary in survivors.personas else None
    journey.revision = F("revision") + 1
    journey.save(update_fields=["name", "description", "primary_persona", "revision", "updated_at"])
    journey.refresh_from_db(fields=["revision"])
    journey.personas.set([p["id"] for p in fields["personas"] if p["id"] in survivors.personas])
    journey.tags.set([t["id"] for t in fields["tags"] if t["id"] in survivors.tags])


@transaction.atomic
def journey_restore(*, version: JourneyVersion, actor: Membership | None) -> JourneyVersion:
    """Make the journey equal to `version` and return the version saved just before (reason
    before_restore): restoring that one undoes the restore.

    Steps and phases that still exist are updated, missing ones are created again, the ones the version
    does not have are deleted (their insights and opportunities are only unpinned; their KPIs and
    comments move to the journey). Pins to insights or opportunities deleted since are skipped: the
    returned version carries the counts as `skipped_insights` and `skipped_opportunities`, like a
    queryset annotation. The journey's revision and that of every kept step are raised, so editors with
    the map open get a conflict instead of overwriting the restored content."""
    journey = _lock_journey(version.journey)
    data = snapshot_complete(version.snapshot)
    undo = journey_snapshot(
        journey=journey,
        actor=actor,
        reason=JourneyVersion.Reason.BEFORE_RESTORE,
        label=f"Before restoring version {version.number}",
    )
    current = _Current.load(journey, lock=True)
    survivors = _Survivors.of(workspace_id=journey.workspace_id, data=data)
    plan = _restore_plan(journey=journey, data=data, current=current, survivors=survivors)

    _park_positions(journey, current, data)
    phases = _restore_phases(journey, current, data)
    steps = _restore_steps(journey, current, data, phases, survivors)
    touchpoints = _restore_touchpoints(journey, current, data, steps)
    _remove_rows(journey, plan)
    _restore_links(journey, data, steps, touchpoints, survivors)
    _restore_journey_fields(journey, data, survivors)

    activity_record(
        workspace=journey.workspace,
        actor=actor.user if actor else None,
        verb="version_restored",
        target=journey,
        changes={
            "version": version.number,
            "undo_version": undo.number,
            "steps_recreated": len(plan.steps_recreated),
            "steps_removed": len(plan.steps_removed),
            "skipped_insights": plan.insights_missing,
            "skipped_opportunities": plan.opportunities_missing,
        },
    )
    priorities_request_recompute(workspace_id=journey.workspace_id)
    undo.skipped_insights = plan.insights_missing
    undo.skipped_opportunities = plan.opportunities_missing
    undo.plan = plan
    return undo


# --- To-be journeys ------------------------------------------------------------------------------------


@transaction.atomic
def journey_create_to_be(*, journey: Journey, actor: Membership | None, name: str | None = None) -> Journey:
    """A to-be journey that starts as a copy of the current `journey`: phases, steps with every lane
    (each remembering the step it came from in `origin`), persona emotions, touchpoints, tags, insight
    pins, personas, primary persona and owner.

    Opportunities are not linked to the copy: they address the current journey's pains, and the to-be
    journey is where they get solved."""
    if journey.is_to_be:
        raise ValidationError(
            "A to-be journey is made from a current journey; this one is already a to-be journey.",
            code="to_be_source",
        )
    name = (name or "").strip() or f"{journey.name} (to-be)"
    if len(name) > Journey._meta.get_field("name").max_length:
        raise ValidationError("Keep the name under 160 characters.", code="max_length")
    data = journey_state(journey=journey)
    ws = journey.workspace_id
    fields = data["journey"]
    to_be = Journey.objects.create(
        workspace_id=ws,
        macro_journey_id=journey.macro_journey_id,
        name=name,
        description=fields["description"],
        kind=Journey.Kind.TO_BE,
        current_journey=journey,
        owner_id=fields["owner_id"],
        primary_persona_id=fields["primary_persona_id"],
    )
    Journey.personas.through.objects.bulk_create(
        Journey.personas.through(journey_id=to_be.pk, persona_id=p["id"]) for p in fields["personas"]
    )
    Journey.tags.through.objects.bulk_create(
        Journey.tags.through(journey_id=to_be.pk, tag_id=t["id"]) for t in fields["tags"]
    )
    phases = {
        row["id"]: Phase(workspace_id=ws, journey=to_be, name=row["name"], position=row["position"])
        for row in data["phases"]
    }
    Phase.objects.bulk_create(phases.values())
    steps = {
        row["id"]: Step(
            workspace_id=ws,
            journey=to_be,
            phase=phases.get(row["phase_id"]),
            position=row["position"],
            origin_id=row["id"],
            **{lane: row[lane] for lane in STEP_LANES},
        )
        for row in data["steps"]
    }
    Step.objects.bulk_create(steps.values())
    rows = [(steps[row["id"]].pk, row) for row in data["steps"]]
    touchpoints = [
        (Touchpoint(workspace_id=ws, step_id=pk, **{f: tp[f] for f in TOUCHPOINT_FIELDS}), tp)
        for pk, row in rows
        for tp in row["touchpoints"]
    ]
    Touchpoint.objects.bulk_create(tp for tp, _row in touchpoints)
    Touchpoint.tags.through.objects.bulk_create(
        Touchpoint.tags.through(touchpoint_id=tp.pk, tag_id=tag["id"])
        for tp, row in touchpoints
        for tag in row["tags"]
    )
    Step.tags.through.objects.bulk_create(
        Step.tags.through(step_id=pk, tag_id=tag["id"]) for pk, row in rows for tag in row["tags"]
    )
    StepEmotion.objects.bulk_create(
        StepEmotion(workspace_id=ws, step_id=pk, persona_id=e["persona_id"], score=e["score"], note=e["note"])
        for pk, row in rows
        for e in row["persona_emotions"]
    )
    Insight.steps.through.objects.bulk_create(
        Insight.steps.through(step_id=pk, insight_id=i["id"]) for pk, row in rows for i in row["insights"]
    )
    activity_record(
        workspace=journey.workspace,
        actor=actor.user if actor else None,
        verb="created",
        target=to_be,
        changes={"kind": Journey.Kind.TO_BE, "copied_from": journey.pk, "steps": len(rows)},
    )
    # Pinning the evidence onto more steps can move evidence-based scores (journeys touched).
    priorities_request_recompute(workspace_id=ws)
    return to_be
