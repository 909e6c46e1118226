"""Writes of opportunities that touch several models: the opportunity, its links and its criterion
values are saved together or not at all."""

import re
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from atlas.models import Membership, Tag, User, Workspace
from atlas.services import activity_record
from journeys.models import Insight, Step
from okrs.models import KeyResult
from opportunities import columns, recompute, scoring
from opportunities.models import (
    ComputedScore,
    ComputedScoreInput,
    Criterion,
    CriterionValue,
    Opportunity,
    RecomputeRun,
    RecomputeState,
    ScoreSnapshot,
    ScoringModel,
    Solution,
)
from opportunities.recompute import recompute_workspace
from opportunities.scoring import CriterionSpec, check_value

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
    priorities_request_recompute(workspace_id=workspace.pk)
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
    priorities_request_recompute(workspace_id=opportunity.workspace_id)
    return opportunity


def opportunity_set_criterion_values(
    *, opportunity: Opportunity, values: Mapping[Criterion, float | None]
) -> None:
    """Merge the given scores into the opportunity's: a number sets the criterion's value, None
    clears it (the criterion's default applies again); criteria not given keep their value.

    A fixed number of statements whatever the number of criteria: one delete, one upsert, one touch
    of the opportunity (so it shows as recomputing), then the recompute request after commit."""
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
    # The row shows "recomputing…" until scored_at passes updated_at.
    opportunity.updated_at = timezone.now()
    Opportunity.objects.filter(pk=opportunity.pk).update(updated_at=opportunity.updated_at)
    priorities_request_recompute(workspace_id=opportunity.workspace_id)


# --- Priority recompute: debounced requests and crash-safe runs ------------------------------------------

RECOMPUTE_DEBOUNCE_SECONDS = 2
# A task flagged as queued for longer than this was lost (broker flushed…): the next change enqueues again.
RECOMPUTE_QUEUED_STALE_SECONDS = 15 * 60
RECOMPUTE_LOCK_CLASS = 7_301  # first key of the advisory lock; the second is the workspace id


def priorities_request_recompute(*, workspace_id: int) -> None:
    """Ask for the workspace's scores to be recomputed once the current transaction commits.

    Debounced: the first request enqueues a task that starts RECOMPUTE_DEBOUNCE_SECONDS later; requests
    made before it starts only raise `requested_seq` (the task covers them). Once a run starts it clears
    `queued`, so the first request during the run enqueues exactly one follow-up."""
    from opportunities.tasks import recompute_priorities

    def enqueue() -> None:
        RecomputeState.objects.bulk_create([RecomputeState(workspace_id=workspace_id)], ignore_conflicts=True)
        state = RecomputeState.objects.filter(workspace_id=workspace_id)
        state.update(requested_seq=F("requested_seq") + 1)
        now = timezone.now()
        stale = now - timedelta(seconds=RECOMPUTE_QUEUED_STALE_SECONDS)
        claimed = state.filter(Q(queued=False) | Q(queued_at__lt=stale)).update(queued=True, queued_at=now)
        if claimed:
            recompute_priorities.apply_async(
                kwargs={"workspace_id": workspace_id}, countdown=RECOMPUTE_DEBOUNCE_SECONDS
            )

    transaction.on_commit(enqueue)


@dataclass(frozen=True, slots=True)
class ManualRecompute:
    """What a manual request for a recompute did: `enqueued` one, or found one under way that covers it
    (`running`: the run in progress; None when a task is queued and has not started yet)."""

    enqueued: bool
    running: RecomputeRun | None = None


def priorities_request_manual_recompute(*, workspace_id: int) -> ManualRecompute:
    """Ask for the workspace's scores to be recomputed now (a run with trigger "manual", no debounce),
    enqueued once the current transaction commits.

    Deduplicated on RecomputeState, as `priorities_request_recompute` is: while a run is under way or a
    task is queued, the request enqueues nothing (that run or task covers it) — a double-clicked button
    or an impatient script does not queue two full recomputes of a large workspace. The claim is a
    compare-and-set on `queued`, so two simultaneous requests enqueue one task. A queued flag or a
    "running" run older than RECOMPUTE_QUEUED_STALE_SECONDS was lost with its worker and does not count."""
    from opportunities.tasks import recompute_priorities

    now = timezone.now()
    stale = now - timedelta(seconds=RECOMPUTE_QUEUED_STALE_SECONDS)
    running = (
        RecomputeRun.objects.filter(
            workspace_id=workspace_id, status=RecomputeRun.Status.RUNNING, started_at__gte=stale
        )
        .order_by("-started_at", "-id")
        .first()
    )
    if running is not None:
        return ManualRecompute(enqueued=False, running=running)
    RecomputeState.objects.bulk_create([RecomputeState(workspace_id=workspace_id)], ignore_conflicts=True)
    claimed = (
        RecomputeState.objects.filter(workspace_id=workspace_id)
        .filter(Q(queued=False) | Q(queued_at__lt=stale) | Q(queued_at__isnull=True))
        .update(queued=True, queued_at=now)
    )
    if not claimed:
        return ManualRecompute(enqueued=False)
    # robust: where the task runs in-process, a failing run is recorded as failed (the caller shows it)
    # instead of failing the request that asked for it.
    transaction.on_commit(
        lambda: recompute_priorities.apply_async(
            kwargs={"workspace_id": workspace_id, "trigger": RecomputeRun.Trigger.MANUAL}
        ),
        robust=True,
    )
    return ManualRecompute(enqueued=True)


@contextmanager
def _workspace_recompute_lock(workspace_id: int):
    """One run per workspace at a time. A PostgreSQL session advisory lock: if the worker dies, its
    connection closes and the lock is released with it. (SQLite runs tasks in-process, one at a time.)"""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RECOMPUTE_LOCK_CLASS, workspace_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RECOMPUTE_LOCK_CLASS, workspace_id])


def priorities_recompute(*, workspace_id: int, trigger: str = "change") -> RecomputeRun | None:
    """Run the recompute for the workspace, recorded as a RecomputeRun. Safe to run twice and when a
    worker died mid-run: the scores are written in one transaction (all or nothing), runs of a workspace
    are serialised, and a run triggered by a change is skipped when an earlier run already covered
    every request. Returns the run, or None when skipped."""
    RecomputeState.objects.bulk_create([RecomputeState(workspace_id=workspace_id)], ignore_conflicts=True)
    with _workspace_recompute_lock(workspace_id):
        # Committed at once, outside the run's transaction, and together: the task stops being queued
        # (a change from now on enqueues a follow-up; one made while this task waited for the lock is
        # covered by it) and the run starts, so a page polling `recompute_in_progress` never sees a gap.
        with transaction.atomic():
            state = RecomputeState.objects.select_for_update().get(workspace_id=workspace_id)
            if state.queued:
                state.queued = False
                state.save(update_fields=["queued"])
            if trigger == RecomputeRun.Trigger.CHANGE and state.done_seq >= state.requested_seq:
                return None
            covered = state.requested_seq
            # Holding the lock, no other run is alive: a run still marked running lost its worker.
            RecomputeRun.objects.filter(workspace_id=workspace_id, status=RecomputeRun.Status.RUNNING).update(
                status=RecomputeRun.Status.INTERRUPTED, finished_at=timezone.now()
            )
            run = RecomputeRun.objects.create(
                workspace_id=workspace_id, trigger=trigger, started_at=timezone.now(), covered_seq=covered
            )
        started = time.perf_counter()
        try:
            with transaction.atomic():
                count = recompute_workspace(workspace_id)
                RecomputeState.objects.filter(workspace_id=workspace_id, done_seq__lt=covered).update(
                    done_seq=covered
                )
        except Exception as exc:
            run.status = RecomputeRun.Status.FAILED
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
            run.finished_at = timezone.now()
            run.duration_ms = round((time.perf_counter() - started) * 1000)
            run.save(update_fields=["status", "error", "finished_at", "duration_ms"])
            raise
        run.status = RecomputeRun.Status.SUCCEEDED
        run.opportunity_count = count
        run.finished_at = timezone.now()
        run.duration_ms = round((time.perf_counter() - started) * 1000)
        run.save(update_fields=["status", "opportunity_count", "finished_at", "duration_ms"])
        return run


def priorities_roll_week(*, workspace_id: int) -> int:
    """Start a new week of rank movement: the current rank and priority become the previous ones.
    One UPDATE; the backlog's "moved up 4 places since last week" compares against these."""
    return Opportunity.objects.filter(workspace_id=workspace_id).update(
        previous_rank=F("rank"), previous_priority=F("priority")
    )


def priorities_snapshot(*, workspace_id: int, day: date | None = None) -> int:
    """Keep the score history: one ScoreSnapshot per opportunity whose priority or rank changed since
    its latest snapshot (set-based INSERT … SELECT; a second call on the same day adds nothing)."""
    day = day or timezone.localdate()
    opportunity_table = Opportunity._meta.db_table
    snapshot_table = ScoreSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {snapshot_table} (workspace_id, opportunity_id, date, priority, rank)
            SELECT o.workspace_id, o.id, %s, o.priority, o.rank FROM {opportunity_table} o
            WHERE o.workspace_id = %s AND o.priority IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM {snapshot_table} s
                WHERE s.opportunity_id = o.id AND s.priority = o.priority
                  AND s.rank IS NOT DISTINCT FROM o.rank
                  AND s.date = (SELECT MAX(s2.date) FROM {snapshot_table} s2 WHERE s2.opportunity_id = o.id)
            )
            ON CONFLICT (opportunity_id, date) DO NOTHING
            """,
            [day, workspace_id],
        )
        return cursor.rowcount


# --- Editors' scores and solutions (the backlog and the opportunity page) -----------------------------

SOLUTION_FIELDS = frozenset({"title", "description", "status", "external_url"})


def _criterion_spec(criterion: Criterion) -> CriterionSpec:
    return CriterionSpec(
        key=criterion.key,
        name=criterion.name,
        perspective=criterion.perspective,
        min_value=criterion.min_value,
        max_value=criterion.max_value,
        step=criterion.step,
        unit=criterion.unit,
        default_value=criterion.default_value,
        allowed_values=tuple(criterion.allowed_values or ()) or None,
    )


def opportunity_score(*, opportunity: Opportunity, values: Mapping[Criterion, float | None]) -> Opportunity:
    """An editor scores the opportunity: each value is checked against its criterion (range and step)
    and, only when all are valid, merged as in `opportunity_set_criterion_values`.

    Raises ValidationError {criterion key: [message]} and saves nothing when a value is invalid. The
    opportunity's `updated_at` moves, so pages show its score as stale until the recompute has run."""
    errors: dict[str, list[str]] = {}
    for criterion, value in values.items():
        if criterion.workspace_id != opportunity.workspace_id:
            raise ValueError("A criterion of another workspace cannot score this opportunity.")
        problem = None if value is None else check_value(_criterion_spec(criterion), value)
        if problem:
            errors[criterion.key] = [problem]
    if errors:
        raise ValidationError(errors)
    if not values:
        return opportunity
    return opportunity_update(opportunity=opportunity, criterion_values=values)


def solution_create(
    *,
    opportunity: Opportunity,
    title: str,
    status: str = Solution.Status.IDEA,
    external_url: str = "",
    description: str = "",
) -> Solution:
    """A new solution (a concrete idea or delivery item) for the opportunity. The URL and status are
    validated as the model defines them (ValidationError otherwise)."""
    solution = Solution(
        workspace_id=opportunity.workspace_id,
        opportunity=opportunity,
        title=title,
        status=status,
        external_url=external_url,
        description=description,
    )
    solution.full_clean(exclude=["workspace", "opportunity"], validate_constraints=False)
    solution.save()
    return solution


def solution_update(*, solution: Solution, **changes) -> Solution:
    """Set the given fields (title, description, status, external_url), validated as in `solution_create`."""
    unknown = set(changes) - SOLUTION_FIELDS
    if unknown:
        raise TypeError(f"solution_update() cannot set {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(solution, name, value)
    solution.full_clean(exclude=["workspace", "opportunity"], validate_constraints=False)
    solution.save(update_fields=list(changes))
    return solution


# --- The scoring model: replacing it, previewing a change, presets (settings page and API) ---------------

PREVIEW_LIMIT = 10
_KEY_PATTERN = re.compile(r"^[-a-zA-Z0-9_]{1,40}\Z")  # what the rows' SlugField(max_length=40) holds
# The Criterion fields a replacement updates in place (the key is how rows are matched).
_CRITERION_FIELDS = [
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


def scoring_model_load(*, workspace: Workspace) -> tuple[ScoringModel | None, scoring.ModelSpec]:
    """The workspace's scoring model and its spec, descriptions included (what the settings page and
    the API show; four queries). A workspace without a model gets the atlas preset's spec, which its
    first recompute installs; a model without a priority node has the priority ""."""
    model = ScoringModel.objects.filter(workspace=workspace).select_related("priority_node").first()
    if model is None:
        return None, scoring.PRESETS[ScoringModel.Preset.ATLAS]
    criteria = list(Criterion.objects.filter(scoring_model=model).order_by("position", "pk"))
    nodes = list(ComputedScore.objects.filter(scoring_model=model).order_by("position", "pk"))
    inputs = list(ComputedScoreInput.objects.filter(node__scoring_model=model))
    priority = model.priority_node.key if model.priority_node else ""
    spec = recompute.spec_from_rows(criteria, nodes, inputs, priority)
    # spec_from_rows leaves the descriptions out (the evaluator does not need them); people do.
    criterion_texts = {c.key: c.description for c in criteria}
    node_texts = {n.key: n.description for n in nodes}
    return model, replace(
        spec,
        criteria=tuple(replace(c, description=criterion_texts[c.key]) for c in spec.criteria),
        nodes=tuple(replace(n, description=node_texts[n.key]) for n in spec.nodes),
    )


def scoring_model_problems(spec: scoring.ModelSpec) -> list[str]:
    """Everything wrong with `spec` as a workspace's model: the engine's rules (`scoring.validate`)
    and what the rows can hold (slug keys of at most 40 characters, names of 1–80, units of at most 20)."""
    problems = []
    for kind, items in (("Criterion", spec.criteria), ("Computed score", spec.nodes)):
        for item in items:
            if not _KEY_PATTERN.match(item.key or ""):
                problems.append(
                    f'{kind} "{item.key}": the key needs 1–40 letters, digits, hyphens or underscores.'
                )
            if not item.name.strip() or len(item.name) > 80:
                problems.append(f'{kind} "{item.key}": the name needs 1–80 characters.')
    for criterion in spec.criteria:
        if len(criterion.unit) > 20:
            problems.append(f'Criterion "{criterion.key}": the unit takes at most 20 characters.')
    return [*problems, *scoring.validate(spec)]


def scoring_model_changes(
    current: scoring.ModelSpec, proposed: scoring.ModelSpec, current_preset: str, proposed_preset: str
) -> dict:
    """What a replacement changes, by key: {"preset": {"from", "to"}, "priority": {"from", "to"},
    "criteria": {"added", "removed", "changed"}, "computed_scores": {…}}, only the parts that change.
    Kept in the activity record and shown before saving."""
    changes: dict = {}
    if current_preset != proposed_preset:
        changes["preset"] = {"from": current_preset, "to": proposed_preset}
    if current.priority != proposed.priority:
        changes["priority"] = {"from": current.priority, "to": proposed.priority}
    for name, before, after in (
        ("criteria", current.criteria, proposed.criteria),
        ("computed_scores", current.nodes, proposed.nodes),
    ):
        old = {item.key: item for item in before}
        new = {item.key: item for item in after}
        part = {
            "added": [key for key in new if key not in old],
            "removed": [key for key in old if key not in new],
            "changed": [key for key in new if key in old and new[key] != old[key]],
        }
        part = {verb: keys for verb, keys in part.items() if keys}
        if part:
            changes[name] = part
    return changes


@transaction.atomic
def scoring_model_replace(
    *, workspace: Workspace, spec: scoring.ModelSpec, preset: str | None = None, actor: User | None = None
) -> ScoringModel:
    """Make `spec` the workspace's scoring model, all or nothing.

    Raises ValidationError with every problem (`scoring_model_problems`) and writes nothing when the
    spec is invalid. Criteria are matched by key: a criterion whose key survives is updated in place and
    keeps the opportunities' values for it, a criterion left out is deleted with its values, a new key
    is created. Computed scores are matched by key the same way; their inputs are rewritten. `preset`
    records which preset the model came from (None keeps the current one). A change is recorded as
    activity and asks for a recompute once committed; a replacement that changes nothing writes nothing."""
    problems = scoring_model_problems(spec)
    if preset is not None and preset not in ScoringModel.Preset.values:
        problems.insert(0, f'Unknown preset "{preset}" (use {", ".join(ScoringModel.Preset.values)}).')
    if problems:
        raise ValidationError(problems)

    # One replacement at a time per workspace: create the model row if needed, then lock it.
    ScoringModel.objects.bulk_create(
        [ScoringModel(workspace=workspace, preset=preset or ScoringModel.Preset.ATLAS)], ignore_conflicts=True
    )
    model = ScoringModel.objects.select_for_update().get(workspace=workspace)
    _, current = scoring_model_load(workspace=workspace)
    preset = preset or model.preset
    changes = scoring_model_changes(current, spec, model.preset, preset)
    if not changes:
        return model

    model.preset = preset
    scoring_model_write_rows(model=model, spec=spec)
    activity_record(workspace=workspace, actor=actor, verb="updated", target=model, changes=changes)
    priorities_request_recompute(workspace_id=workspace.pk)
    return model


def scoring_model_write_rows(*, model: ScoringModel, spec: scoring.ModelSpec) -> None:
    """Write a (validated) spec as the model's rows: criteria and computed scores matched by key and
    updated in place (a criterion that survives keeps the opportunities' values), the others deleted or
    created, every input rewritten, and the priority node set. No activity, no recompute request: the
    callers decide (scoring_model_replace records and recomputes; installing a preset does neither)."""
    workspace_id = model.workspace_id
    ComputedScoreInput.objects.filter(node__scoring_model=model).delete()

    criteria = {c.key: c for c in Criterion.objects.filter(scoring_model=model)}
    wanted = {c.key for c in spec.criteria}
    # Deleting a criterion deletes the opportunities' values for it (CASCADE).
    Criterion.objects.filter(pk__in=[c.pk for key, c in criteria.items() if key not in wanted]).delete()
    kept, added = [], []
    for position, c in enumerate(spec.criteria):
        row = criteria.get(c.key) or Criterion(workspace_id=workspace_id, scoring_model=model, key=c.key)
        row.name, row.description, row.perspective = c.name, c.description, c.perspective
        row.min_value, row.max_value, row.step = c.min_value, c.max_value, c.step
        row.unit, row.weight, row.default_value = c.unit, c.weight, c.default_value
        row.allowed_values = list(c.allowed_values or ())
        row.position = position
        (kept if row.pk else added).append(row)
    Criterion.objects.bulk_update(kept, _CRITERION_FIELDS)
    Criterion.objects.bulk_create(added)
    criterion_by_key = {row.key: row for row in (*kept, *added)}

    nodes = {n.key: n for n in ComputedScore.objects.filter(scoring_model=model)}
    wanted = {n.key for n in spec.nodes}
    ComputedScore.objects.filter(pk__in=[n.pk for key, n in nodes.items() if key not in wanted]).delete()
    kept, added = [], []
    for position, n in enumerate(spec.nodes):
        row = nodes.get(n.key) or ComputedScore(workspace_id=workspace_id, scoring_model=model, key=n.key)
        row.name, row.description, row.operation, row.position = n.name, n.description, n.operation, position
        (kept if row.pk else added).append(row)
    ComputedScore.objects.bulk_update(kept, ["name", "description", "operation", "position"])
    ComputedScore.objects.bulk_create(added)
    node_by_key = {row.key: row for row in (*kept, *added)}

    operands = []
    for n in spec.nodes:
        for position, operand in enumerate(n.inputs):
            row = ComputedScoreInput(
                workspace_id=workspace_id,
                node=node_by_key[n.key],
                position=position,
                source=operand.source,
                weight=operand.weight,
                normalise=operand.normalise,
            )
            if operand.source == scoring.CRITERION:
                row.criterion = criterion_by_key[operand.ref]
            elif operand.source == scoring.EVIDENCE:
                row.evidence = operand.ref
            elif operand.source == scoring.NODE:
                row.child = node_by_key[operand.ref]
            else:
                row.constant = operand.constant
            operands.append(row)
    ComputedScoreInput.objects.bulk_create(operands)

    model.priority_node = node_by_key[spec.priority]
    model.save(update_fields=["preset", "priority_node", "updated_at"])


def scoring_model_apply_preset(
    *, workspace: Workspace, preset: str, actor: User | None = None
) -> ScoringModel:
    """Replace the workspace's model with a preset (as `scoring_model_replace`: criteria whose key the
    preset also has keep their values). ValidationError for an unknown preset."""
    spec = scoring.PRESETS.get(preset)
    if spec is None:
        raise ValidationError(f'Unknown preset "{preset}" (use {", ".join(scoring.PRESETS)}).')
    return scoring_model_replace(workspace=workspace, spec=spec, preset=preset, actor=actor)


@dataclass(frozen=True, slots=True)
class RankMove:
    """One opportunity in a preview: its rank and priority under the current and the proposed model
    (None: not ranked, e.g. when the current model cannot be evaluated)."""

    opportunity_id: int
    current_rank: int | None
    new_rank: int | None
    current_priority: float | None
    new_priority: float | None
    title: str = ""

    @property
    def movement(self) -> int | None:
        """Places moved up (negative: down); None when it had no current rank."""
        if self.current_rank is None or self.new_rank is None:
            return None
        return self.current_rank - self.new_rank


@dataclass(frozen=True, slots=True)
class ScoringPreview:
    top: list[RankMove]  # the proposed top, best first
    leaving: list[RankMove]  # in the current top, not in the proposed one, by current rank
    opportunity_count: int
    current_ranked: bool  # False when the current model could not be evaluated


def scoring_rank_moves(
    *,
    current: Mapping[int, float | None] | None,
    proposed: Mapping[int, float | None],
    limit: int = PREVIEW_LIMIT,
) -> tuple[list[RankMove], list[RankMove]]:
    """The top `limit` opportunities by the proposed priorities, with their current rank, and those of
    the current top `limit` that leave it. Pure: priorities by opportunity id in, ranked as the recompute
    ranks (`scoring.rank`). `current` None: no current ranking."""
    current = current or {}
    current_ranks = scoring.rank(current)
    new_ranks = scoring.rank(proposed)

    def move(pk: int) -> RankMove:
        return RankMove(pk, current_ranks.get(pk), new_ranks.get(pk), current.get(pk), proposed.get(pk))

    top = sorted((pk for pk, rank in new_ranks.items() if rank <= limit), key=new_ranks.__getitem__)
    leaving = sorted(
        (pk for pk, rank in current_ranks.items() if rank <= limit and new_ranks.get(pk, limit + 1) > limit),
        key=current_ranks.__getitem__,
    )
    return [move(pk) for pk in top], [move(pk) for pk in leaving]


def scoring_model_preview(*, workspace: Workspace, spec: scoring.ModelSpec) -> ScoringPreview:
    """How the top 10 would move if `spec` replaced the workspace's model: both models evaluated over the
    same inputs, loaded once (a fixed number of queries). Writes nothing. ValidationError, as in
    `scoring_model_replace`, when the spec is invalid.

    The current ranks are recomputed here rather than read from the opportunities, so a recompute that
    has not run yet does not show up as movement."""
    problems = scoring_model_problems(spec)
    if problems:
        raise ValidationError(problems)
    proposed_model = scoring.compile_model(spec)
    _, current_spec = scoring_model_load(workspace=workspace)
    try:
        current_model = scoring.compile_model(current_spec)
    except ValueError:  # e.g. a model without a priority: nothing is ranked by it
        current_model = None
    # One load for both: criterion values by key and the evidence inputs either model uses.
    both = scoring.ModelSpec(
        criteria=current_spec.criteria + spec.criteria,
        nodes=current_spec.nodes + spec.nodes,
        priority=spec.priority,
    )
    cols = recompute.load_columns(workspace.pk, both)
    ids = cols.ids.tolist()

    def priorities(evaluator: scoring.Evaluator) -> dict[int, float]:
        nodes = columns.evaluate(evaluator.program, cols.criteria, cols.evidence, len(ids))
        return dict(zip(ids, nodes[evaluator.priority].tolist(), strict=True))

    proposed = priorities(proposed_model)
    current = priorities(current_model) if current_model else None
    top, leaving = scoring_rank_moves(current=current, proposed=proposed)
    titles = dict(
        Opportunity.objects.filter(
            workspace=workspace, pk__in=[m.opportunity_id for m in (*top, *leaving)]
        ).values_list("pk", "title")
    )
    return ScoringPreview(
        top=[replace(m, title=titles.get(m.opportunity_id, "")) for m in top],
        leaving=[replace(m, title=titles.get(m.opportunity_id, "")) for m in leaving],
        opportunity_count=len(ids),
        current_ranked=current_model is not None,
    )
