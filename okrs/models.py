"""OKRs: cycles, objectives (cascading) and key results with their check-ins."""

from django.db import models
from django.db.models import Q

from atlas.models import Membership, Tag, WorkspaceScoped
from journeys.models import Journey, MacroJourney


class OkrCycle(WorkspaceScoped):
    name = models.CharField(max_length=60, help_text='For example "2027 Q1".')
    start = models.DateField()
    end = models.DateField()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="okr_cycle_unique_name"),
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="okr_cycle_start_before_end"),
        ]

    def __str__(self) -> str:
        return self.name


class Objective(WorkspaceScoped):
    class Commitment(models.TextChoices):
        COMMITTED = "committed", "Committed"
        ASPIRATIONAL = "aspirational", "Aspirational"

    cycle = models.ForeignKey(OkrCycle, on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.SET_NULL, related_name="objectives")
    commitment = models.CharField(max_length=12, choices=Commitment.choices, default=Commitment.COMMITTED)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    macro_journeys = models.ManyToManyField(MacroJourney, blank=True, related_name="objectives")
    journeys = models.ManyToManyField(Journey, blank=True, related_name="objectives")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["cycle", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="objective_not_own_parent")
        ]

    def __str__(self) -> str:
        return self.title


class KeyResult(WorkspaceScoped):
    class Kind(models.TextChoices):
        INCREASE_TO = "increase_to", "Increase to"
        DECREASE_TO = "decrease_to", "Decrease to"
        STAY_ABOVE = "stay_above", "Stay above"
        STAY_BELOW = "stay_below", "Stay below"
        MILESTONE = "milestone", "Milestone"

    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="key_results")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INCREASE_TO)
    start_value = models.FloatField(null=True, blank=True)
    target_value = models.FloatField(
        null=True, blank=True, help_text="Target, or the threshold to stay above/below."
    )
    current_value = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    is_done = models.BooleanField(default=False, help_text="For milestones.")
    weight = models.FloatField(default=1)
    kpi = models.ForeignKey(
        "metrics.Kpi",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="key_results",
        help_text="When set, the current value follows the KPI's latest value.",
    )
    grade = models.FloatField(null=True, blank=True, help_text="End-of-cycle grade, 0.0–1.0.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["objective", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(weight__gte=0), name="key_result_weight_not_negative"),
            models.CheckConstraint(
                condition=Q(grade__gte=0, grade__lte=1) | Q(grade__isnull=True),
                name="key_result_grade_range",
            ),
            models.CheckConstraint(
                condition=Q(kind="milestone") | Q(target_value__isnull=False),
                name="key_result_needs_target",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["increase_to", "decrease_to"]) | Q(start_value__isnull=False),
                name="key_result_needs_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class CheckIn(WorkspaceScoped):
    key_result = models.ForeignKey(KeyResult, on_delete=models.CASCADE, related_name="check_ins")
    value = models.FloatField(null=True, blank=True)
    confidence = models.FloatField(help_text="0 (no chance) to 1 (certain).")
    note = models.TextField(blank=True)
    author = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key_result", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__gte=0, confidence__lte=1), name="check_in_confidence_range"
            ),
        ]
