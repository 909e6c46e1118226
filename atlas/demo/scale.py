"""Synthetic workspaces of any size, to measure what 100,000 opportunities cost.

`scale_seed(slug=…, n=N)` builds N opportunities with proportionate content: about N/50 journeys (at
least 2) of about 10 steps under one lifecycle, 2N insights pinned to steps, 1–3 steps and 1–5 insights
per opportunity, a value for every criterion of the `atlas` scoring preset, a handful of personas, KPIs
with a year of monthly data, and an OKR cycle whose key results some opportunities move. Text is drawn
from the Northbank content, so pages look plausible. The same N and seed give the same workspace.

Every table is written with one bulk statement, whatever N is: on PostgreSQL with COPY (ids of the new
rows are drawn from the table's sequence first, so links can be written the same way), elsewhere with
bulk_create. The workspace guards (row triggers) and the deferred foreign-key checks still check every
row, COPY included (for criterion values 18 of the 31 s). Measured on the shared 2-CPU development machine,
PostgreSQL 15 with default settings: N = 100,000 (about 2.3 million rows) in 73 s wall clock for
`seed_demo --scale 100000` on an empty database, 100 s with --reset of an existing one of that size."""

import json
import math
import random
import time
from collections.abc import Sequence

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import connection, models, transaction
from django.utils import timezone

from atlas.demo import content as c
from atlas.demo.build import (
    BATCH_SIZE,
    SeedResult,
    data_point_fields,
    demo_personas_create,
    kpi_series,
    month_starts,
    quarter,
    user_ensure,
    workspace_counts,
    workspace_purge,
)
from atlas.models import Membership, Role, Tag, TagKind, User, Workspace
from atlas.services import workspace_create
from journeys.models import (
    Insight,
    Journey,
    Lifecycle,
    LifecycleStage,
    MacroJourney,
    Phase,
    Step,
    Touchpoint,
)
from metrics.models import DataPoint, Kpi
from okrs.models import CheckIn, KeyResult, Objective, OkrCycle
from opportunities.models import Criterion, CriterionValue, Opportunity
from opportunities.presets import scoring_model_install_preset

JOURNEYS_PER_OPPORTUNITY = 1 / 50
JOURNEYS_PER_MACRO_JOURNEY = 5
INSIGHTS_PER_OPPORTUNITY = 2
EDITORS = 3


class WorkspaceExists(Exception):
    """The scale workspace exists and no reset was asked for."""


def scale_owner_email(slug: str) -> str:
    return f"scale-owner@{slug}.example"


def scale_seed(*, slug: str, n: int, seed: int = 1, reset: bool = False) -> SeedResult:
    """Build the synthetic workspace `slug` with `n` opportunities. Refuses if it exists, unless
    `reset`, which deletes it with all its content first."""
    if n < 1:
        raise ValueError("The number of opportunities must be positive.")
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValueError(f"{slug!r} is not a valid workspace slug (letters, digits, - and _).") from None
    started = time.monotonic()
    with transaction.atomic():
        existing = Workspace.objects.select_for_update().filter(slug=slug).first()
        if existing is not None and not reset:
            raise WorkspaceExists(
                f"Workspace {slug!r} already exists; nothing changed. Use --reset to delete and rebuild it."
            )
        if existing is not None:
            workspace_purge(existing)
        owner = user_ensure(
            email=scale_owner_email(slug), full_name=f"Scale Owner ({slug})", password=c.DEMO_PASSWORD
        )
        workspace = workspace_create(name=f"Scale test {slug} ({n:,} opportunities)", owner=owner, slug=slug)
        _ScaleBuilder(workspace, n=n, rng=random.Random(seed)).build()
    return SeedResult(workspace, True, workspace_counts(workspace), time.monotonic() - started)


class _RowWriter:
    """Inserts rows given as tuples of attribute values, one statement per table.

    PostgreSQL: COPY, about three times as fast as bulk_create here (N = 20,000: 16 s against 45 s);
    fields left out get their model default, evaluated once per call. Other databases: bulk_create."""

    def __init__(self):
        self.copy = connection.vendor == "postgresql"
        self.now = timezone.now()

    def insert(
        self, model: type[models.Model], columns: Sequence[str], rows: list[tuple], *, ids: bool = False
    ) -> list[int]:
        """Insert `rows` (values for `columns`, attribute names such as "journey_id"); with `ids`,
        return the new primary keys in the order of the rows."""
        if not rows:
            return []
        if self.copy:
            return self._copy(model, columns, rows, ids)
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
        return [obj.pk for obj in objs] if ids else []

    def _copy(self, model, columns, rows, ids: bool) -> list[int]:
        meta = model._meta
        quote = connection.ops.quote_name
        fields = [meta.get_field(name) for name in columns]
        missing = [f for f in meta.concrete_fields if not f.primary_key and f.attname not in columns]
        defaults = tuple(self._default(f) for f in missing)
        json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        if json_at:
            rows = [tuple(json.dumps(v) if i in json_at else v for i, v in enumerate(row)) for row in rows]
        names = [f.column for f in fields] + [f.column for f in missing]
        new_ids: list[int] = []
        with connection.connection.cursor() as cursor:
            if ids:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.pk.column, len(rows)],
                )
                new_ids = [r[0] for r in cursor.fetchall()]
                names.insert(0, meta.pk.column)
            sql = f"COPY {quote(meta.db_table)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
            with cursor.copy(sql) as copy:
                if ids:
                    for pk, row in zip(new_ids, rows, strict=True):
                        copy.write_row((pk, *row, *defaults))
                else:
                    for row in rows:
                        copy.write_row((*row, *defaults))
        return new_ids

    def _default(self, field: models.Field):
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return self.now
        value = field.get_default()
        return json.dumps(value) if isinstance(field, models.JSONField) else value


def _link_rows(descriptor) -> tuple[type[models.Model], tuple[str, str]]:
    """The through model of a many-to-many descriptor and its two id columns."""
    f = descriptor.field
    return descriptor.through, (f.m2m_field_name() + "_id", f.m2m_reverse_field_name() + "_id")


def _pool(attribute: str, specs) -> list[str]:
    return [getattr(s, attribute) for s in specs if getattr(s, attribute)]


ALL_STEPS = [s for j in c.JOURNEYS for _phase, steps in j.phases for s in steps]
STEP_TEXT = {
    "name": _pool("name", ALL_STEPS),
    "customer_goal": _pool("goal", ALL_STEPS),
    "customer_actions": _pool("actions", ALL_STEPS),
    "thoughts_feelings": _pool("thoughts", ALL_STEPS),
    "frontstage": _pool("frontstage", ALL_STEPS),
    "backstage": _pool("backstage", ALL_STEPS),
}
MOMENT_OF_TRUTH_WHY = _pool("moment_of_truth", ALL_STEPS)
TOUCHPOINTS = [tp for s in ALL_STEPS for tp in s.touchpoints]
JOURNEY_NAMES = [j.name for j in c.JOURNEYS if j.kind == "current"]
MACRO_NAMES = [m.name for m in c.MACRO_JOURNEYS]
INSIGHT_TEXT = [(i.title, i.description, i.reference) for i in c.INSIGHTS]
OPPORTUNITY_TEXT = [(o.title, o.description) for o in c.OPPORTUNITIES]
PHASE_NAMES = ("Before", "During", "After")


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]], k: int) -> list[str]:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=k)


class _ScaleBuilder:
    def __init__(self, workspace: Workspace, *, n: int, rng: random.Random):
        self.ws = workspace
        self.n = n
        self.rng = rng
        self.w = _RowWriter()
        self.journey_count = max(2, round(n * JOURNEYS_PER_OPPORTUNITY))

    def build(self) -> None:
        self._members_and_taxonomy()
        self.scoring_model = scoring_model_install_preset(workspace=self.ws)
        self._framework()
        self._steps()
        self._insights()
        self._opportunities()
        self._kpis()
        self._okrs()

    def _members_and_taxonomy(self) -> None:
        slug = self.ws.slug
        emails = [f"scale-editor-{i}@{slug}.example" for i in range(1, EDITORS + 1)]
        known = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
        User.objects.bulk_create(
            User(email=email, full_name=f"Scale Editor {i}", password=make_password(None))
            for i, email in enumerate(emails, start=1)
            if email not in known
        )
        users = User.objects.filter(email__in=emails)
        Membership.objects.bulk_create(Membership(workspace=self.ws, user=u, role=Role.EDITOR) for u in users)
        self.members = list(Membership.objects.filter(workspace=self.ws).values_list("pk", flat=True))
        self.team_tags = [
            t.pk
            for t in Tag.objects.bulk_create(
                Tag(workspace=self.ws, kind=TagKind.TEAM, name=name)
                for name, parent in c.TAGS["team"]
                if parent is None
            )
        ]
        personas = demo_personas_create(workspace=self.ws)
        self.personas = [p.pk for p in personas]

    def _framework(self) -> None:
        rng, ws_id = self.rng, self.ws.pk
        lifecycle = Lifecycle.objects.create(workspace=self.ws, name=c.LIFECYCLE_NAME)
        stages = LifecycleStage.objects.bulk_create(
            LifecycleStage(workspace=self.ws, lifecycle=lifecycle, name=name, description=desc, position=i)
            for i, (_key, name, desc) in enumerate(c.STAGES)
        )
        macro_count = max(2, math.ceil(self.journey_count / JOURNEYS_PER_MACRO_JOURNEY))
        macro_ids = self.w.insert(
            MacroJourney,
            ("workspace_id", "stage_id", "name", "owner_id", "position"),
            [
                (
                    ws_id,
                    stages[i % len(stages)].pk,
                    f"{MACRO_NAMES[i % len(MACRO_NAMES)]} #{i + 1}",
                    rng.choice(self.members),
                    i // len(stages),
                )
                for i in range(macro_count)
            ],
            ids=True,
        )
        # Journeys come in groups of five on one macro journey; the second is the to-be version of the
        # first, so even the smallest workspace has a pair. Current journeys are inserted first so that
        # the to-be rows can point at them.
        columns = (
            "workspace_id",
            "macro_journey_id",
            "name",
            "kind",
            "status",
            "owner_id",
            "primary_persona_id",
        )
        specs = []
        for j in range(self.journey_count):
            group = j // JOURNEYS_PER_MACRO_JOURNEY
            to_be = j % JOURNEYS_PER_MACRO_JOURNEY == 1
            name = f"{JOURNEY_NAMES[j % len(JOURNEY_NAMES)]} #{j + 1}"
            specs.append((j, to_be, (ws_id, macro_ids[group % macro_count], name)))
        current = [s for s in specs if not s[1]]
        current_ids = self.w.insert(
            Journey,
            columns,
            [
                (*base, "current", "published", rng.choice(self.members), rng.choice(self.personas))
                for _j, _to_be, base in current
            ],
            ids=True,
        )
        journey_id = {j: pk for (j, _t, _b), pk in zip(current, current_ids, strict=True)}
        to_be = [s for s in specs if s[1]]
        to_be_ids = self.w.insert(
            Journey,
            (*columns, "current_journey_id"),
            [
                (
                    *base,
                    "to_be",
                    "draft",
                    rng.choice(self.members),
                    rng.choice(self.personas),
                    journey_id[j - 1],
                )
                for j, _t, base in to_be
            ],
            ids=True,
        )
        journey_id.update({j: pk for (j, _t, _b), pk in zip(to_be, to_be_ids, strict=True)})
        self.journeys = [journey_id[j] for j in range(self.journey_count)]
        through, cols = _link_rows(Journey.personas)
        self.w.insert(through, cols, [(j, rng.choice(self.personas)) for j in self.journeys])

    def _steps(self) -> None:
        rng, ws_id = self.rng, self.ws.pk
        phase_rows = [(ws_id, j, name, i) for j in self.journeys for i, name in enumerate(PHASE_NAMES)]
        phase_ids = self.w.insert(
            Phase, ("workspace_id", "journey_id", "name", "position"), phase_rows, ids=True
        )
        rows = []
        self.step_journey: list[int] = []  # journey index of each step, in step order
        for index, journey in enumerate(self.journeys):
            count = rng.randint(8, 12)
            phases = phase_ids[3 * index : 3 * index + 3]
            for position in range(count):
                moment = rng.random() < 0.12
                rows.append(
                    (
                        ws_id,
                        journey,
                        phases[position * 3 // count],
                        position,
                        *(rng.choice(STEP_TEXT[key]) for key in STEP_TEXT),
                        rng.randint(-2, 2),
                        moment,
                        rng.choice(MOMENT_OF_TRUTH_WHY) if moment else "",
                    )
                )
                self.step_journey.append(index)
        columns = (
            "workspace_id",
            "journey_id",
            "phase_id",
            "position",
            *STEP_TEXT,
            "emotion",
            "is_moment_of_truth",
            "moment_of_truth_why",
        )
        self.steps = self.w.insert(Step, columns, rows, ids=True)
        touchpoints = [(ws_id, s, *rng.choice(TOUCHPOINTS), 0) for s in self.steps]
        self.touchpoints = self.w.insert(
            Touchpoint, ("workspace_id", "step_id", "name", "channel", "position"), touchpoints, ids=True
        )

    def _insights(self) -> None:
        rng, ws_id = self.rng, self.ws.pk
        count = self.n * INSIGHTS_PER_OPPORTUNITY
        step_count = len(self.steps)
        kinds = _weighted(
            rng, [(k, w) for k, w in zip(Insight.Kind.values, (5, 2, 2, 2, 1), strict=True)], count
        )
        sources = _weighted(rng, [(s, 1) for s in Insight.Source.values], count)
        statuses = _weighted(rng, [("validated", 55), ("hypothesis", 35), ("rejected", 10)], count)
        # Insights are numbered in the order of their step, and opportunities (below) in the order of
        # theirs: the link tables, workspace guards and deferred foreign-key checks then read their parent
        # tables in order rather than at random.
        self.primary_step = sorted(rng.randrange(step_count) for _ in range(count))
        rows = []
        for i in range(count):
            title, description, reference = INSIGHT_TEXT[rng.randrange(len(INSIGHT_TEXT))]
            rows.append(
                (
                    ws_id,
                    title,
                    description,
                    kinds[i],
                    sources[i],
                    reference,
                    statuses[i],
                    rng.randint(1, 5),
                    int(10 ** rng.uniform(1, 4.3)),
                    rng.choice(self.members),
                )
            )
        columns = (
            "workspace_id",
            "title",
            "description",
            "kind",
            "source",
            "source_reference",
            "status",
            "severity",
            "reach",
            "created_by_id",
        )
        self.insights = self.w.insert(Insight, columns, rows, ids=True)
        self.insights_at_step: list[list[int]] = [[] for _ in range(step_count)]
        links = []
        for insight, s in zip(self.insights, self.primary_step, strict=True):
            self.insights_at_step[s].append(insight)
            links.append((insight, self.steps[s]))
            if rng.random() < 0.3 and s + 1 < step_count and self.step_journey[s + 1] == self.step_journey[s]:
                links.append((insight, self.steps[s + 1]))
        through, cols = _link_rows(Insight.steps)
        self.w.insert(through, cols, links)
        through, cols = _link_rows(Insight.personas)
        self.w.insert(
            through, cols, [(i, rng.choice(self.personas)) for i in self.insights if rng.random() < 0.6]
        )

    def _opportunities(self) -> None:
        rng, ws_id = self.rng, self.ws.pk
        statuses = _weighted(
            rng,
            [
                ("new", 30),
                ("under_review", 20),
                ("planned", 20),
                ("in_progress", 15),
                ("done", 10),
                ("rejected", 5),
            ],
            self.n,
        )
        anchors = sorted(rng.randrange(len(self.steps)) for _ in range(self.n))
        rows = []
        for i in range(self.n):
            title, description = OPPORTUNITY_TEXT[rng.randrange(len(OPPORTUNITY_TEXT))]
            owner = rng.choice(self.members)
            rows.append((ws_id, f"{title} #{i + 1}", description, statuses[i], owner, owner))
        columns = ("workspace_id", "title", "description", "status", "owner_id", "created_by_id")
        self.opportunities = self.w.insert(Opportunity, columns, rows, ids=True)

        step_links, insight_links = [], []
        for opportunity, s in zip(self.opportunities, anchors, strict=True):
            # 1–3 neighbouring steps of one journey, and 1–5 insights pinned there (or anywhere).
            steps = [s]
            for extra in (s + 1, s + 2)[: rng.randint(0, 2)]:
                if extra < len(self.steps) and self.step_journey[extra] == self.step_journey[s]:
                    steps.append(extra)
            step_links.extend((opportunity, self.steps[x]) for x in steps)
            nearby = [i for x in steps for i in self.insights_at_step[x]]
            wanted = rng.randint(1, 5)
            chosen = set(rng.sample(nearby, min(wanted, len(nearby))))
            while len(chosen) < wanted:
                chosen.add(self.insights[rng.randrange(len(self.insights))])
            insight_links.extend((opportunity, i) for i in chosen)
        through, cols = _link_rows(Opportunity.steps)
        self.w.insert(through, cols, step_links)
        through, cols = _link_rows(Opportunity.insights)
        self.w.insert(through, cols, insight_links)
        through, cols = _link_rows(Opportunity.tags)
        self.w.insert(
            through, cols, [(o, rng.choice(self.team_tags)) for o in self.opportunities if rng.random() < 0.5]
        )

        scales = []  # the values each criterion can take: its allowed values, else its step grid
        for cr in Criterion.objects.filter(scoring_model=self.scoring_model).order_by("position"):
            grid = round((cr.max_value - cr.min_value) / cr.step)
            allowed = cr.allowed_values or [round(cr.min_value + cr.step * i, 4) for i in range(grid + 1)]
            scales.append((cr.pk, allowed))
        values = [
            (ws_id, opportunity, pk, rng.choice(allowed))
            for opportunity in self.opportunities
            for pk, allowed in scales
        ]
        self.w.insert(CriterionValue, ("workspace_id", "opportunity_id", "criterion_id", "value"), values)

    def _kpis(self) -> None:
        rng, ws_id = self.rng, self.ws.pk
        count = 5 + len(self.journeys) // 10
        specs = [c.KPIS[i % len(c.KPIS)] for i in range(count)]
        rows = []
        for i, k in enumerate(specs):
            scope = (
                {"scope": "workspace"}
                if i < 5
                else {"scope": "journey", "journey_id": self.journeys[(i * 7) % len(self.journeys)]}
            )
            rows.append(
                (
                    ws_id,
                    f"{k.name} #{i + 1}",
                    k.kpi_type,
                    k.category,
                    k.unit,
                    k.direction,
                    k.target,
                    "gte" if k.direction == "higher" else "lte",
                    k.baseline,
                    k.aggregation,
                    scope["scope"],
                    scope.get("journey_id"),
                )
            )
        columns = (
            "workspace_id",
            "name",
            "kpi_type",
            "category",
            "unit",
            "direction",
            "target",
            "comparison",
            "baseline",
            "aggregation",
            "scope",
            "journey_id",
        )
        self.kpis = self.w.insert(Kpi, columns, rows, ids=True)
        months = month_starts(timezone.localdate())
        points = []
        for kpi, k in zip(self.kpis, specs, strict=True):
            series = kpi_series(kpi_type=k.kpi_type, first=k.first, last=k.last, months=len(months), rng=rng)
            for month, value in zip(months, series, strict=True):
                fields = data_point_fields(k.kpi_type, value, max(k.volume, 1), rng)
                points.append((ws_id, kpi, month, {}, "", *(fields.get(f) for f in DATA_POINT_FIELDS)))
        self.w.insert(
            DataPoint,
            ("workspace_id", "kpi_id", "date", "dimensions", "dimension_key", *DATA_POINT_FIELDS),
            points,
        )

    def _okrs(self) -> None:
        rng, ws_id = self.rng, self.ws.pk
        today = timezone.localdate()
        name, start, end = quarter(today)
        cycle = OkrCycle.objects.create(workspace=self.ws, name=name, start=start, end=end)
        objective_count = 3 + self.n // 10000
        objectives = self.w.insert(
            Objective,
            ("workspace_id", "cycle_id", "title", "owner_id", "team_id", "position"),
            [
                (
                    ws_id,
                    cycle.pk,
                    f"Objective {i + 1}: {OPPORTUNITY_TEXT[i % len(OPPORTUNITY_TEXT)][0]}",
                    rng.choice(self.members),
                    rng.choice(self.team_tags),
                    i,
                )
                for i in range(objective_count)
            ],
            ids=True,
        )
        kinds = ("increase_to", "decrease_to", "stay_above", "stay_below", "milestone")
        rows = []
        for o_index, objective in enumerate(objectives):
            for position in range(3):
                kind = kinds[(o_index * 3 + position) % len(kinds)]
                kpi_index = rng.randrange(len(self.kpis)) if kind != "milestone" and position == 0 else None
                start_value = (
                    round(rng.uniform(10, 50), 1) if kind in ("increase_to", "decrease_to") else None
                )
                target = None if kind == "milestone" else round(rng.uniform(10, 90), 1)
                rows.append(
                    (
                        ws_id,
                        objective,
                        f"Key result {position + 1} of objective {o_index + 1}",
                        kind,
                        start_value,
                        target,
                        round(rng.uniform(10, 90), 1) if kind != "milestone" else None,
                        rng.random() < 0.3,
                        self.kpis[kpi_index] if kpi_index is not None else None,
                        position,
                    )
                )
        columns = (
            "workspace_id",
            "objective_id",
            "title",
            "kind",
            "start_value",
            "target_value",
            "current_value",
            "is_done",
            "kpi_id",
            "position",
        )
        key_results = self.w.insert(KeyResult, columns, rows, ids=True)
        # About one opportunity in ten moves a key result of the active cycle.
        through, cols = _link_rows(Opportunity.key_results)
        self.w.insert(
            through,
            cols,
            [(o, rng.choice(key_results)) for o in self.opportunities if rng.random() < 0.1],
        )
        check_ins = [
            (
                ws_id,
                kr,
                round(rng.uniform(10, 90), 1),
                round(rng.uniform(0.3, 0.9), 1),
                "Fortnightly check-in.",
            )
            for kr in key_results
            for _ in range(3)
        ]
        self.w.insert(CheckIn, ("workspace_id", "key_result_id", "value", "confidence", "note"), check_ins)


DATA_POINT_FIELDS = (
    "promoters",
    "passives",
    "detractors",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
    "score",
    "respondents",
    "numerator",
    "denominator",
    "value",
)
