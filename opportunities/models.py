"""Opportunities, solutions and the workspace's scoring model (the priority score is data, not code)."""

from django.db import models
from django.db.models import Q

from atlas.models import Membership, Tag, WorkspaceQuerySet, WorkspaceScoped
from journeys.models import Insight, Step


class ScoringModel(WorkspaceScoped):
    """The workspace's scoring model: input criteria, computed nodes, and which node is the priority."""

    class Preset(models.TextChoices):
        ATLAS = "atlas", "Atlas (customer-centric)"
        VALUE_EFFORT = "value_effort", "Value / effort"
        RICE = "rice", "RICE"
        ICE = "ice", "ICE"
        WSJF = "wsjf", "WSJF"

    preset = models.CharField(max_length=16, choices=Preset.choices, default=Preset.ATLAS)
    priority_node = models.ForeignKey(
        "ComputedScore", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="scoring_model_one_per_workspace")]

    def __str__(self) -> str:
        return f"Scoring model ({self.get_preset_display()})"


class Perspective(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    BUSINESS = "business", "Business"
    EFFORT = "effort", "Effort"
    OTHER = "other", "Other"


class Criterion(WorkspaceScoped):
    """An input score that editors give each opportunity (for example "Customer impact", 1–5)."""

    scoring_model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=40, help_text="Stable identifier used by computed scores and the API.")
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    perspective = models.CharField(max_length=10, choices=Perspective.choices, default=Perspective.CUSTOMER)
    min_value = models.FloatField(default=1)
    max_value = models.FloatField(default=5)
    step = models.FloatField(default=1)
    unit = models.CharField(max_length=20, blank=True)
    weight = models.FloatField(default=1)
    default_value = models.FloatField(
        null=True, blank=True, help_text="Used when an opportunity has no value."
    )
    allowed_values = models.JSONField(
        default=list,
        blank=True,
        help_text="When not empty, the only values allowed (e.g. RICE impact 0.25–3).",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["scoring_model", "position", "id"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(fields=["scoring_model", "key"], name="criterion_unique_key"),
            models.CheckConstraint(
                condition=Q(min_value__lt=models.F("max_value")), name="criterion_min_below_max"
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="criterion_weight_not_negative"),
            models.CheckConstraint(condition=Q(step__gt=0), name="criterion_step_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class ComputedScore(WorkspaceScoped):
    """A named node combining inputs and other nodes with one operation; nodes nest."""

    class Operation(models.TextChoices):
        WEIGHTED_MEAN = "weighted_mean", "Weighted mean"
        SUM = "sum", "Sum"
        PRODUCT = "product", "Product"
        QUOTIENT = "quotient", "Quotient"

    scoring_model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="computed_scores")
    key = models.SlugField(max_length=40)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    operation = models.CharField(max_length=16, choices=Operation.choices)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["scoring_model", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scoring_model", "key"], name="computed_score_unique_key")
        ]

    def __str__(self) -> str:
        return self.name


class EvidenceInput(models.TextChoices):
    """Inputs computed from the atlas, never typed in (DESIGN.md)."""

    EVIDENCE = "evidence", "Evidence strength"
    REACH = "reach", "Reach"
    INSIGHT_COUNT = "insight_count", "Insight count"
    JOURNEY_COUNT = "journey_count", "Journeys touched"
    OKR_ALIGNMENT = "okr_alignment", "OKR alignment"
    KPI_GAP = "kpi_gap", "KPI gap"


class ComputedScoreInput(WorkspaceScoped):
    """One operand of a computed score: a criterion, an evidence input, another node, or a constant."""

    class Source(models.TextChoices):
        CRITERION = "criterion", "Criterion"
        EVIDENCE = "evidence", "Evidence input"
        NODE = "node", "Computed score"
        CONSTANT = "constant", "Constant"

    node = models.ForeignKey(ComputedScore, on_delete=models.CASCADE, related_name="inputs")
    position = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=10, choices=Source.choices)
    criterion = models.ForeignKey(
        Criterion, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    evidence = models.CharField(max_length=16, choices=EvidenceInput.choices, blank=True)
    child = models.ForeignKey(
        ComputedScore, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    constant = models.FloatField(null=True, blank=True)
    weight = models.FloatField(default=1)
    normalise = models.BooleanField(
        default=False, help_text="Scale a criterion to 0..1 over its min..max before combining it."
    )

    class Meta:
        ordering = ["node", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        source="criterion",
                        criterion__isnull=False,
                        child__isnull=True,
                        constant__isnull=True,
                        evidence="",
                    )
                    | Q(
                        source="evidence",
                        criterion__isnull=True,
                        child__isnull=True,
                        constant__isnull=True,
                    )
                    & ~Q(evidence="")
                    | Q(
                        source="node",
                        criterion__isnull=True,
                        child__isnull=False,
                        constant__isnull=True,
                        evidence="",
                    )
                    | Q(
                        source="constant",
                        criterion__isnull=True,
                        child__isnull=True,
                        constant__isnull=False,
                        evidence="",
                    )
                ),
                name="computed_input_one_source",
            ),
            models.CheckConstraint(condition=~Q(child=models.F("node")), name="computed_input_not_self"),
        ]


class OpportunityQuerySet(WorkspaceQuerySet):
    def open(self):
        return self.exclude(status__in=Opportunity.CLOSED_STATUSES)


class Opportunity(WorkspaceScoped):
    """Something worth improving, backed by insights, addressing steps, moving key results.

    The score fields are written only by the recompute task; `scores` holds every computed node's
    value by key and `score_breakdown` the explanation (inputs, nodes, weights)."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        UNDER_REVIEW = "under_review", "Under review"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"

    CLOSED_STATUSES = (Status.DONE, Status.REJECTED)

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.NEW)
    owner = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    steps = models.ManyToManyField(Step, blank=True, related_name="opportunities")
    insights = models.ManyToManyField(Insight, blank=True, related_name="opportunities")
    key_results = models.ManyToManyField("okrs.KeyResult", blank=True, related_name="opportunities")
    tags = models.ManyToManyField(Tag, blank=True, related_name="opportunities")
    created_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    priority = models.FloatField(null=True, blank=True, editable=False)
    rank = models.PositiveIntegerField(null=True, blank=True, editable=False)
    previous_rank = models.PositiveIntegerField(null=True, blank=True, editable=False)
    previous_priority = models.FloatField(null=True, blank=True, editable=False)
    scores = models.JSONField(default=dict, blank=True, editable=False)
    score_breakdown = models.JSONField(default=dict, blank=True, editable=False)
    scored_at = models.DateTimeField(null=True, blank=True, editable=False)
    score_digest = models.BigIntegerField(
        null=True, blank=True, editable=False, help_text="Fingerprint of `scores` and `score_breakdown`."
    )

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["rank", "id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["new", "under_review", "planned", "in_progress", "done", "rejected"]),
                name="opportunity_status_valid",
            ),
            models.CheckConstraint(condition=Q(rank__gte=1), name="opportunity_rank_positive"),
        ]
        indexes = [
            # The backlog: open opportunities of a workspace ordered by priority (keyset pagination on id).
            # Rank follows priority, so this index serves rank order too; no index on rank keeps the
            # recompute's bulk write to one index update per row.
            models.Index(fields=["workspace", "-priority", "id"], name="opportunity_backlog_priority"),
            models.Index(fields=["workspace", "status"], name="opportunity_ws_status"),
            models.Index(fields=["workspace", "owner"], name="opportunity_ws_owner"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status not in self.CLOSED_STATUSES

    @property
    def rank_movement(self) -> int | None:
        """Places moved up since the previous ranking (negative: moved down)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


class CriterionValue(WorkspaceScoped):
    """An editor's score of one opportunity on one criterion."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="criterion_values")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="values")
    value = models.FloatField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "criterion"], name="criterion_value_once"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}={self.value}"


class Solution(WorkspaceScoped):
    class Status(models.TextChoices):
        IDEA = "idea", "Idea"
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        SHIPPED = "shipped", "Shipped"
        DISCARDED = "discarded", "Discarded"

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="solutions")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IDEA)
    external_url = models.URLField(blank=True, help_text="For example the delivery ticket.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["opportunity", "created_at", "id"]

    def __str__(self) -> str:
        return self.title


class RecomputeState(WorkspaceScoped):
    """Debounce bookkeeping for the workspace's priority recompute (see opportunities/recompute.py).

    `requested_seq` grows with every change that can move a score; a run records the sequence it
    covered in `done_seq`. `queued` is true while a task is waiting in the broker and not yet started,
    so a burst of changes enqueues one task, and a change during a run enqueues exactly one more."""

    requested_seq = models.PositiveBigIntegerField(default=0)
    done_seq = models.PositiveBigIntegerField(default=0)
    queued = models.BooleanField(default=False)
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="recompute_state_one_per_workspace")
        ]

    def __str__(self) -> str:
        return f"requested {self.requested_seq}, done {self.done_seq}, queued {self.queued}"

    @property
    def is_pending(self) -> bool:
        return self.queued or self.requested_seq > self.done_seq


class RecomputeRun(WorkspaceScoped):
    """One run of the recompute: when, how long, how many opportunities, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted (worker lost)"

    class Trigger(models.TextChoices):
        CHANGE = "change", "A change"
        MANUAL = "manual", "Requested"
        NIGHTLY = "nightly", "Nightly"

    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.CHANGE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    opportunity_count = models.PositiveIntegerField(null=True, blank=True)
    covered_seq = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-started_at"], name="recompute_run_recent")]

    def __str__(self) -> str:
        return f"{self.get_trigger_display()} run {self.started_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class ScoreSnapshot(WorkspaceScoped):
    """An opportunity's priority and rank on a day, written by the nightly run when they changed:
    the opportunity page's score history."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="score_snapshots")
    date = models.DateField()
    priority = models.FloatField(null=True)
    rank = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["opportunity", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "date"], name="score_snapshot_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.priority}"
