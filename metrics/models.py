"""KPIs measured on the atlas and their data points (NPS, CSAT, CES, RATIO, OTHER)."""

from django.db import models
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum

from atlas.models import Membership, Tag, WorkspaceQuerySet, WorkspaceScoped
from journeys.models import Journey, MacroJourney, Step, Touchpoint


class Kpi(WorkspaceScoped):
    class Type(models.TextChoices):
        NPS = "nps", "NPS"
        CSAT = "csat", "CSAT"
        CES = "ces", "CES"
        RATIO = "ratio", "Ratio"
        OTHER = "other", "Other"

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    class Comparison(models.TextChoices):
        AT_LEAST = "gte", "≥"
        AT_MOST = "lte", "≤"

    class Indicator(models.TextChoices):
        LEADING = "leading", "Leading"
        LAGGING = "lagging", "Lagging"

    class Aggregation(models.TextChoices):
        SUM = "sum", "Sum"
        AVERAGE = "avg", "Average"

    class Scope(models.TextChoices):
        WORKSPACE = "workspace", "Workspace"
        MACRO_JOURNEY = "macro_journey", "Macro journey"
        JOURNEY = "journey", "Journey"
        STEP = "step", "Step"
        TOUCHPOINT = "touchpoint", "Touchpoint"

    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    kpi_type = models.CharField("type", max_length=8, choices=Type.choices)
    category = models.CharField(
        max_length=60, blank=True, help_text="For example experience, operational, financial."
    )
    unit = models.CharField(max_length=20, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    target = models.FloatField(null=True, blank=True)
    comparison = models.CharField(max_length=3, choices=Comparison.choices, default=Comparison.AT_LEAST)
    baseline = models.FloatField(null=True, blank=True)
    indicator = models.CharField(max_length=8, choices=Indicator.choices, default=Indicator.LAGGING)
    aggregation = models.CharField(
        max_length=3,
        choices=Aggregation.choices,
        default=Aggregation.AVERAGE,
        help_text="For type OTHER.",
    )
    scope = models.CharField(max_length=14, choices=Scope.choices, default=Scope.WORKSPACE)
    macro_journey = models.ForeignKey(
        MacroJourney, null=True, blank=True, on_delete=models.CASCADE, related_name="kpis"
    )
    journey = models.ForeignKey(Journey, null=True, blank=True, on_delete=models.CASCADE, related_name="kpis")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.CASCADE, related_name="kpis")
    touchpoint = models.ForeignKey(
        Touchpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="kpis"
    )
    owner = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tags = models.ManyToManyField(Tag, blank=True, related_name="kpis")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "KPI"
        constraints = [
            models.CheckConstraint(
                condition=Q(kpi_type__in=["nps", "csat", "ces", "ratio", "other"]),
                name="kpi_type_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        scope="workspace",
                        macro_journey__isnull=True,
                        journey__isnull=True,
                        step__isnull=True,
                        touchpoint__isnull=True,
                    )
                    | Q(
                        scope="macro_journey",
                        macro_journey__isnull=False,
                        journey__isnull=True,
                        step__isnull=True,
                        touchpoint__isnull=True,
                    )
                    | Q(
                        scope="journey",
                        macro_journey__isnull=True,
                        journey__isnull=False,
                        step__isnull=True,
                        touchpoint__isnull=True,
                    )
                    | Q(
                        scope="step",
                        macro_journey__isnull=True,
                        journey__isnull=True,
                        step__isnull=False,
                        touchpoint__isnull=True,
                    )
                    | Q(
                        scope="touchpoint",
                        macro_journey__isnull=True,
                        journey__isnull=True,
                        step__isnull=True,
                        touchpoint__isnull=False,
                    )
                ),
                name="kpi_scope_matches_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


SUMMED_FIELDS = (
    "promoters",
    "passives",
    "detractors",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
    "respondents",
    "numerator",
    "denominator",
    "value",
)


class DataPointQuerySet(WorkspaceQuerySet):
    def latest_sums(self) -> dict[int, dict]:
        """{kpi id: sums} for each KPI's latest date: the date and the sums of that date's data points
        over all dimensions, named as metrics.calculations.kpi_value expects. One query."""
        latest_date = DataPoint.objects.filter(kpi=OuterRef("kpi")).order_by("-date").values("date")[:1]
        rows = (
            self.filter(date=Subquery(latest_date))
            .values("kpi_id", "date")
            .annotate(
                **{f"sum_{name}": Sum(name) for name in SUMMED_FIELDS},
                ces_weighted=Sum(F("score") * F("respondents")),
                value_count=Count("value"),
            )
            .order_by("kpi_id")
        )
        return {
            row["kpi_id"]: {
                "date": row["date"],
                "ces_weighted": row["ces_weighted"],
                "value_count": row["value_count"],
                **{name: row[f"sum_{name}"] for name in SUMMED_FIELDS},
            }
            for row in rows
        }


class DataPoint(WorkspaceScoped):
    """One measurement of a KPI for a date and a set of dimensions (region, persona, …).

    Which fields are filled depends on the KPI's type; `dimension_key` is the dimensions in canonical
    form so that one date and set of dimensions has exactly one row."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="data_points")
    date = models.DateField()
    dimensions = models.JSONField(default=dict, blank=True)
    dimension_key = models.CharField(max_length=255, blank=True, default="", editable=False)
    promoters = models.PositiveIntegerField(null=True, blank=True)
    passives = models.PositiveIntegerField(null=True, blank=True)
    detractors = models.PositiveIntegerField(null=True, blank=True)
    csat_1 = models.PositiveIntegerField(null=True, blank=True)
    csat_2 = models.PositiveIntegerField(null=True, blank=True)
    csat_3 = models.PositiveIntegerField(null=True, blank=True)
    csat_4 = models.PositiveIntegerField(null=True, blank=True)
    csat_5 = models.PositiveIntegerField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True, help_text="CES mean score.")
    respondents = models.PositiveIntegerField(null=True, blank=True)
    numerator = models.FloatField(null=True, blank=True)
    denominator = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)

    objects = DataPointQuerySet.as_manager()

    class Meta:
        ordering = ["kpi", "date"]
        constraints = [
            models.UniqueConstraint(fields=["kpi", "date", "dimension_key"], name="data_point_once_per_date"),
            models.CheckConstraint(
                condition=Q(denominator__gt=0) | Q(denominator__isnull=True),
                name="data_point_denominator_positive",
            ),
            models.CheckConstraint(
                condition=Q(numerator__gte=0) | Q(numerator__isnull=True),
                name="data_point_numerator_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["kpi", "-date"], name="data_point_kpi_recent")]

    def save(self, *args, **kwargs):
        self.dimension_key = self.canonical_dimension_key(self.dimensions or {})
        super().save(*args, **kwargs)

    @staticmethod
    def canonical_dimension_key(dimensions: dict) -> str:
        return "|".join(f"{k}={dimensions[k]}" for k in sorted(dimensions))
