"""The journey framework: lifecycle → stage → macro journey → journey → phase → step, with personas,
touchpoints and the insight repository."""

from django.db import models
from django.db.models import Q

from atlas.models import Membership, Tag, WorkspaceQuerySet, WorkspaceScoped


class Persona(WorkspaceScoped):
    name = models.CharField(max_length=120)
    summary = models.TextField(blank=True)
    segment = models.CharField(max_length=120, blank=True)
    needs = models.TextField(blank=True)
    goals = models.TextField(blank=True)
    frustrations = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="personas")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="persona_unique_name")]

    def __str__(self) -> str:
        return self.name


class Lifecycle(WorkspaceScoped):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="lifecycle_unique_name")]

    def __str__(self) -> str:
        return self.name


class LifecycleStage(WorkspaceScoped):
    lifecycle = models.ForeignKey(Lifecycle, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["lifecycle", "position"]
        constraints = [
            models.UniqueConstraint(fields=["lifecycle", "position"], name="stage_unique_position"),
        ]

    def __str__(self) -> str:
        return self.name


class MacroJourney(WorkspaceScoped):
    stage = models.ForeignKey(LifecycleStage, on_delete=models.PROTECT, related_name="macro_journeys")
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["stage", "position"]
        constraints = [
            models.UniqueConstraint(fields=["stage", "position"], name="macro_journey_unique_position"),
        ]

    def __str__(self) -> str:
        return self.name


class JourneyQuerySet(WorkspaceQuerySet):
    def current(self):
        return self.filter(kind=Journey.Kind.CURRENT)

    def to_be(self):
        return self.filter(kind=Journey.Kind.TO_BE)


class Journey(WorkspaceScoped):
    class Kind(models.TextChoices):
        CURRENT = "current", "Current"
        TO_BE = "to_be", "To-be"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    macro_journey = models.ForeignKey(MacroJourney, on_delete=models.PROTECT, related_name="journeys")
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CURRENT)
    current_journey = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="to_be_journeys",
        help_text="For a to-be journey: the current journey it improves.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    primary_persona = models.ForeignKey(
        Persona, null=True, blank=True, on_delete=models.SET_NULL, related_name="primary_journeys"
    )
    personas = models.ManyToManyField(Persona, blank=True, related_name="journeys")
    tags = models.ManyToManyField(Tag, blank=True, related_name="journeys")
    revision = models.PositiveIntegerField(
        default=1,
        help_text="Raised by every change to the journey's own fields or to its structure (phases, step "
        "order, steps added or removed); an edit based on an older revision is refused.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = JourneyQuerySet.as_manager()

    class Meta:
        ordering = ["macro_journey", "kind", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["current", "to_be"]), name="journey_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="to_be") | Q(current_journey__isnull=True),
                name="journey_only_to_be_links_current",
            ),
            models.CheckConstraint(
                condition=~Q(current_journey=models.F("id")), name="journey_not_own_current"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "kind"], name="journey_ws_kind")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_to_be(self) -> bool:
        return self.kind == self.Kind.TO_BE

    @property
    def insight_coverage(self) -> int | None:
        """Share of steps with at least one pinned insight, in percent (needs the health annotations)."""
        if not getattr(self, "step_count", 0):
            return None
        return round(100 * self.steps_with_insights / self.step_count)


class Phase(WorkspaceScoped):
    """A group of consecutive steps on the map (a column header band)."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["journey", "position"]
        constraints = [models.UniqueConstraint(fields=["journey", "position"], name="phase_unique_position")]

    def __str__(self) -> str:
        return self.name


class Step(WorkspaceScoped):
    """One column of the journey map and the unit everything attaches to. The lanes are its fields."""

    # The lanes that are plain values on the row (edited in place, copied to a to-be, compared, restored).
    LANE_FIELDS = (
        "name",
        "customer_goal",
        "customer_actions",
        "thoughts_feelings",
        "emotion",
        "frontstage",
        "backstage",
        "is_moment_of_truth",
        "moment_of_truth_why",
    )

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="steps")
    phase = models.ForeignKey(Phase, null=True, blank=True, on_delete=models.SET_NULL, related_name="steps")
    position = models.PositiveIntegerField()
    name = models.CharField(max_length=160)
    customer_goal = models.TextField("customer goal / need", blank=True)
    customer_actions = models.TextField(blank=True)
    thoughts_feelings = models.TextField("thoughts & feelings", blank=True)
    emotion = models.SmallIntegerField(
        null=True, blank=True, help_text="−2 (very negative) to +2 (very positive)."
    )
    frontstage = models.TextField(blank=True)
    backstage = models.TextField(blank=True)
    is_moment_of_truth = models.BooleanField(default=False)
    moment_of_truth_why = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="steps")
    origin = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_steps",
        help_text="For a step of a to-be journey: the current journey's step it was copied from "
        "(aligns the two in the compare view).",
    )
    revision = models.PositiveIntegerField(
        default=1,
        help_text="Raised by every change to the step's lanes; an edit based on an older revision is refused.",
    )

    class Meta:
        ordering = ["journey", "position"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "position"], name="step_unique_position"),
            models.CheckConstraint(condition=Q(emotion__gte=-2, emotion__lte=2), name="step_emotion_range"),
        ]

    def __str__(self) -> str:
        return self.name


class StepEmotion(WorkspaceScoped):
    """A persona-specific emotion score on a step (the map's emotion curve per persona)."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="persona_emotions")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="step_emotions")
    score = models.SmallIntegerField()
    note = models.CharField(max_length=240, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "persona"], name="step_emotion_once_per_persona"),
            models.CheckConstraint(condition=Q(score__gte=-2, score__lte=2), name="step_emotion_score_range"),
        ]


class Channel(models.TextChoices):
    WEB = "web", "Website"
    MOBILE_APP = "mobile_app", "Mobile app"
    BRANCH = "branch", "Branch / store"
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    SOCIAL = "social", "Social media"
    MAIL = "mail", "Letter / post"
    PARTNER = "partner", "Partner / broker"
    ATM = "atm", "ATM / kiosk"
    OTHER = "other", "Other"


class Touchpoint(WorkspaceScoped):
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="touchpoints")
    name = models.CharField(max_length=160)
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.WEB)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    tags = models.ManyToManyField(Tag, blank=True, related_name="touchpoints")

    class Meta:
        ordering = ["step", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="touchpoint_channel_valid")
        ]

    def __str__(self) -> str:
        return self.name


class Insight(WorkspaceScoped):
    """A piece of customer evidence in the workspace's insight repository, pinned onto steps."""

    class Kind(models.TextChoices):
        PAIN = "pain", "Pain point"
        GAIN = "gain", "Gain"
        NEED = "need", "Need"
        OBSERVATION = "observation", "Observation"
        QUOTE = "quote", "Quote"

    class Source(models.TextChoices):
        INTERVIEW = "interview", "Interview"
        SURVEY = "survey", "Survey"
        ANALYTICS = "analytics", "Analytics"
        SUPPORT_TICKET = "support_ticket", "Support ticket"
        OBSERVATION = "observation", "Observation"
        FOCUS_GROUP = "focus_group", "Focus group"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        HYPOTHESIS = "hypothesis", "Hypothesis"
        VALIDATED = "validated", "Validated"
        REJECTED = "rejected", "Rejected"

    title = models.CharField(max_length=200)
    description = models.TextField("description / quote", blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PAIN)
    source = models.CharField(
        "source method", max_length=16, choices=Source.choices, default=Source.INTERVIEW
    )
    source_reference = models.CharField(max_length=500, blank=True, help_text="A link or a note.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.HYPOTHESIS)
    severity = models.PositiveSmallIntegerField(default=3, help_text="1 (minor) to 5 (critical).")
    reach = models.PositiveIntegerField(default=0, help_text="How many customers it concerns.")
    personas = models.ManyToManyField(Persona, blank=True, related_name="insights")
    steps = models.ManyToManyField(Step, blank=True, related_name="insights")
    tags = models.ManyToManyField(Tag, blank=True, related_name="insights")
    created_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__gte=1, severity__lte=5), name="insight_severity_range"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["pain", "gain", "need", "observation", "quote"]),
                name="insight_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["hypothesis", "validated", "rejected"]),
                name="insight_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "kind"], name="insight_ws_status_kind"),
            # The repository's default order; deep pages of 40k insights: 99 → 4 ms.
            models.Index(fields=["workspace", "-created_at", "-id"], name="insight_ws_newest"),
        ]

    def __str__(self) -> str:
        return self.title


class JourneyVersion(WorkspaceScoped):
    """A read-only snapshot of a journey map (phases, steps, lanes, emotions, touchpoints, pins), taken on
    demand, before destructive bulk changes and before a restore (so a restore can itself be undone)."""

    class Reason(models.TextChoices):
        MANUAL = "manual", "Saved by hand"
        BEFORE_BULK_CHANGE = "before_bulk_change", "Before a bulk change"
        BEFORE_RESTORE = "before_restore", "Before a restore"

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(help_text="1, 2, 3… per journey.")
    label = models.CharField(max_length=160, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.MANUAL)
    journey_revision = models.PositiveIntegerField(help_text="The journey's revision when it was taken.")
    snapshot = models.JSONField()
    created_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["journey", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="journey_version_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self.journey} v{self.number}"
