"""Build the Northbank demo workspace from atlas/demo/content.py, and the helpers both seed modes share.

The demo is built once: when the workspace exists, `demo_seed` leaves it alone unless asked to reset,
in which case the workspace is purged and rebuilt. Rows are written with bulk_create, one query per
table (a few more for the hierarchies), so the whole demo seeds in about a second on SQLite."""

import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone

from atlas.collaboration.mentions import build_directory, mentioned
from atlas.demo import content as c
from atlas.models import Comment, Membership, Role, Tag, User, Workspace
from atlas.services import workspace_create
from journeys.models import (
    Insight,
    Journey,
    Lifecycle,
    LifecycleStage,
    MacroJourney,
    Persona,
    Phase,
    Step,
    StepEmotion,
    Touchpoint,
)
from metrics.calculations import kpi_value
from metrics.models import SUMMED_FIELDS, DataPoint, Kpi
from okrs.models import CheckIn, KeyResult, Objective, OkrCycle
from opportunities.models import CriterionValue, Opportunity, Solution
from opportunities.presets import scoring_model_install_preset

BATCH_SIZE = 5000


# --- Shared helpers --------------------------------------------------------------------------------------
def link(descriptor, pairs) -> None:
    """Bulk-insert rows of an auto-created many-to-many table: `descriptor` is e.g. `Insight.steps`,
    `pairs` (source id, target id) tuples; duplicates are dropped."""
    through = descriptor.through
    source = descriptor.field.m2m_field_name() + "_id"
    target = descriptor.field.m2m_reverse_field_name() + "_id"
    rows = [through(**{source: a, target: b}) for a, b in dict.fromkeys(pairs)]
    through.objects.bulk_create(rows, batch_size=BATCH_SIZE)


def workspace_purge(workspace: Workspace) -> None:
    """Delete a workspace and every row that belongs to it, with one statement per table.

    `Workspace.delete()` cannot do it: the collector loads every row (millions for a scale workspace)
    and refuses the PROTECT links stage → macro journey → journey even though all of them go. Rows go
    with the workspace when they cascade from it, directly or from a row that does (many-to-many rows
    included); SET_NULL links are cleared. Foreign keys are deferred to the commit, so the order of the
    statements does not matter, and a row left pointing at a deleted one makes the commit fail rather
    than dangle."""
    quote = connection.ops.quote_name
    owned: dict[type[models.Model], str] = {}  # model → its column that cascades from Workspace
    with transaction.atomic(), connection.cursor() as cursor:
        for model in apps.get_models():
            for f in model._meta.concrete_fields:
                if isinstance(f, models.ForeignKey) and f.related_model is Workspace:
                    if f.remote_field.on_delete is models.CASCADE:
                        owned[model] = f.column
                    elif f.remote_field.on_delete is models.SET_NULL:
                        table, column = quote(model._meta.db_table), quote(f.column)
                        cursor.execute(
                            f"UPDATE {table} SET {column} = NULL WHERE {column} = %s", [workspace.pk]
                        )
        for model in apps.get_models(include_auto_created=True):
            if model in owned:
                continue
            table = quote(model._meta.db_table)
            for f in model._meta.concrete_fields:
                if not isinstance(f, models.ForeignKey) or f.related_model not in owned:
                    continue
                inside = (
                    f"SELECT {quote(f.target_field.column)} FROM {quote(f.related_model._meta.db_table)} "
                    f"WHERE {quote(owned[f.related_model])} = %s"
                )
                column = quote(f.column)
                if model._meta.auto_created or f.remote_field.on_delete is models.CASCADE:
                    cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({inside})", [workspace.pk])
                elif f.remote_field.on_delete is models.SET_NULL:
                    cursor.execute(
                        f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({inside})", [workspace.pk]
                    )
        for model, column in owned.items():
            cursor.execute(
                f"DELETE FROM {quote(model._meta.db_table)} WHERE {quote(column)} = %s", [workspace.pk]
            )
        cursor.execute(f"DELETE FROM {quote(Workspace._meta.db_table)} WHERE id = %s", [workspace.pk])


def user_ensure(*, email: str, full_name: str, password: str) -> User:
    """The user with this email, created if missing; the password is (re)set so that the printed
    login always works."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return User.objects.create_user(email=email, password=password, full_name=full_name)
    user.full_name = full_name
    user.set_password(password)
    user.save(update_fields=["full_name", "password"])
    return user


COUNTED = (
    ("members", Membership),
    ("tags", Tag),
    ("personas", Persona),
    ("lifecycles", Lifecycle),
    ("stages", LifecycleStage),
    ("macro journeys", MacroJourney),
    ("journeys", Journey),
    ("phases", Phase),
    ("steps", Step),
    ("touchpoints", Touchpoint),
    ("persona emotions", StepEmotion),
    ("insights", Insight),
    ("opportunities", Opportunity),
    ("criterion values", CriterionValue),
    ("solutions", Solution),
    ("OKR cycles", OkrCycle),
    ("objectives", Objective),
    ("key results", KeyResult),
    ("check-ins", CheckIn),
    ("KPIs", Kpi),
    ("data points", DataPoint),
)


def workspace_counts(workspace: Workspace) -> dict[str, int]:
    """Rows per kind in the workspace (the seed summary and the tests)."""
    counts = {label: model.objects.filter(workspace=workspace).count() for label, model in COUNTED}
    counts["to-be journeys"] = Journey.objects.filter(workspace=workspace, kind=Journey.Kind.TO_BE).count()
    return counts


def month_starts(today: date, count: int = 12) -> list[date]:
    """The first day of the last `count` months, oldest first, ending with the current month."""
    months, year, month = [], today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def quarter(today: date, offset: int = 0) -> tuple[str, date, date]:
    """(name, first day, last day) of the calendar quarter `offset` quarters from today's."""
    index = (today.year * 4 + (today.month - 1) // 3) + offset
    year, q = divmod(index, 4)
    start = date(year, 3 * q + 1, 1)
    end_year, end_month = (year, 3 * q + 4) if q < 3 else (year + 1, 1)
    return f"{year} Q{q + 1}", start, date(end_year, end_month, 1) - timedelta(days=1)


# Bounds and month-to-month noise of a KPI value, by type.
VALUE_RANGE = {"nps": (-70.0, 70.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0), "ratio": (0.0, 1.0)}
NOISE = {"nps": 1.5, "csat": 0.8, "ces": 0.06, "ratio": 0.006}


def kpi_series(*, kpi_type: str, first: float, last: float, months: int, rng: random.Random) -> list[float]:
    """A plausible monthly trend from `first` to `last`: eased, with small noise, the ends kept."""
    values = []
    for i in range(months):
        t = i / (months - 1) if months > 1 else 1.0
        eased = (1 - math.cos(math.pi * t)) / 2
        value = first + (last - first) * eased
        if 0 < i < months - 1:
            value += rng.gauss(0, NOISE.get(kpi_type, abs(value) * 0.025))
        low, high = VALUE_RANGE.get(kpi_type, (0.0, math.inf))
        values.append(min(max(value, low), high))
    return values


def data_point_fields(kpi_type: str, value: float, volume: int, rng: random.Random) -> dict:
    """The per-type measurement fields of a data point whose computed value is about `value`."""
    if kpi_type == "nps":
        passives = round(volume * rng.uniform(0.25, 0.35))
        rest = volume - passives
        promoters = min(max(round((rest + value / 100 * volume) / 2), 0), rest)
        return {"promoters": promoters, "passives": passives, "detractors": rest - promoters}
    if kpi_type == "csat":
        satisfied = round(volume * value / 100)
        unsatisfied = volume - satisfied
        c5 = round(satisfied * rng.uniform(0.5, 0.6))
        c3, c2 = round(unsatisfied * 0.5), round(unsatisfied * 0.3)
        return {
            "csat_5": c5,
            "csat_4": satisfied - c5,
            "csat_3": c3,
            "csat_2": c2,
            "csat_1": unsatisfied - c3 - c2,
        }
    if kpi_type == "ces":
        return {"score": round(value, 2), "respondents": volume}
    if kpi_type == "ratio":
        denominator = max(round(volume * rng.uniform(0.95, 1.05)), 1)
        return {"numerator": round(value * denominator), "denominator": denominator}
    return {"value": round(value, 2)}


# --- The demo --------------------------------------------------------------------------------------------
@dataclass
class SeedResult:
    workspace: Workspace
    created: bool
    counts: dict[str, int]
    seconds: float


def demo_seed(*, reset: bool = False, today: date | None = None) -> SeedResult:
    """Create the Northbank demo workspace. If it exists it is left as it is, unless `reset`, which
    deletes it with all its content and builds it again. Demo users are reused across resets."""
    started = time.monotonic()
    today = today or timezone.localdate()
    with transaction.atomic():
        existing = Workspace.objects.filter(slug=c.WORKSPACE_SLUG).first()
        if existing is not None and not reset:
            return SeedResult(existing, False, workspace_counts(existing), time.monotonic() - started)
        if existing is not None:
            workspace_purge(existing)
        workspace = _DemoBuilder(today).build()
    # Score and rank the backlog now, so the demo opens on a ranked backlog without a worker.
    from opportunities.services import priorities_recompute, priorities_snapshot

    priorities_recompute(workspace_id=workspace.pk, trigger="manual")
    priorities_snapshot(workspace_id=workspace.pk, day=today)
    return SeedResult(workspace, True, workspace_counts(workspace), time.monotonic() - started)


def demo_personas_create(*, workspace: Workspace) -> list[Persona]:
    """The demo's personas in `workspace` (the demo and the synthetic scale mode both use them)."""
    return Persona.objects.bulk_create(
        Persona(
            workspace=workspace,
            name=p.name,
            summary=p.summary,
            segment=p.segment,
            needs=p.needs,
            goals=p.goals,
            frustrations=p.frustrations,
        )
        for p in c.PERSONAS
    )


class _DemoBuilder:
    """Turns the content into rows. Each method writes one part and keeps the ids later parts need."""

    def __init__(self, today: date):
        self.today = today
        self.now = timezone.now()
        self.rng = random.Random("northbank")

    def build(self) -> Workspace:
        self._members()
        self._tags()
        self._personas()
        self.scoring_model = scoring_model_install_preset(workspace=self.ws)
        self._framework()
        self._journeys()
        self._insights()
        self._opportunities()
        self._kpis()
        self._okrs()
        self._comments()
        return self.ws

    # -- tenancy, taxonomy, personas
    def _members(self) -> None:
        users = {
            role: user_ensure(email=email, full_name=name, password=c.DEMO_PASSWORD)
            for role, email, name, _title in c.USERS
        }
        self.ws = workspace_create(name=c.WORKSPACE_NAME, owner=users[Role.OWNER], slug=c.WORKSPACE_SLUG)
        Membership.objects.bulk_create(
            Membership(workspace=self.ws, user=user, role=role)
            for role, user in users.items()
            if role != Role.OWNER
        )
        self.member = {m.role: m for m in Membership.objects.filter(workspace=self.ws)}

    def _tags(self) -> None:
        self.tag: dict[str, Tag] = {}
        pending = [(kind, name, parent) for kind, entries in c.TAGS.items() for name, parent in entries]
        while pending:  # one level of the hierarchy per pass
            ready = [t for t in pending if t[2] is None or f"{t[0]}:{t[2]}" in self.tag]
            if not ready:
                raise ValueError(f"Tags with unknown parents: {pending}")
            created = Tag.objects.bulk_create(
                Tag(workspace=self.ws, kind=kind, name=name, parent=self.tag.get(f"{kind}:{parent}"))
                for kind, name, parent in ready
            )
            self.tag.update({f"{t.kind}:{t.name}": t for t in created})
            pending = [t for t in pending if t not in ready]

    def _tag_ids(self, refs) -> list[int]:
        missing = [r for r in refs if r not in self.tag]
        if missing:
            raise KeyError(f"Unknown tags {missing}")
        return [self.tag[r].pk for r in refs]

    def _personas(self) -> None:
        created = demo_personas_create(workspace=self.ws)
        self.persona = {spec.key: row for spec, row in zip(c.PERSONAS, created, strict=True)}
        link(
            Persona.tags,
            [(self.persona[p.key].pk, t) for p in c.PERSONAS for t in self._tag_ids(p.tags)],
        )

    # -- the journey framework
    def _framework(self) -> None:
        lifecycle = Lifecycle.objects.create(
            workspace=self.ws, name=c.LIFECYCLE_NAME, description=c.LIFECYCLE_DESCRIPTION
        )
        stages = LifecycleStage.objects.bulk_create(
            LifecycleStage(workspace=self.ws, lifecycle=lifecycle, name=name, description=desc, position=i)
            for i, (_key, name, desc) in enumerate(c.STAGES)
        )
        stage = {key: row for (key, _n, _d), row in zip(c.STAGES, stages, strict=True)}
        positions: dict[str, int] = defaultdict(int)
        macros = []
        for spec in c.MACRO_JOURNEYS:
            macros.append(
                MacroJourney(
                    workspace=self.ws,
                    stage=stage[spec.stage],
                    name=spec.name,
                    description=spec.description,
                    owner=self.member[spec.owner],
                    position=positions[spec.stage],
                )
            )
            positions[spec.stage] += 1
        created = MacroJourney.objects.bulk_create(macros)
        self.macro = {spec.key: row for spec, row in zip(c.MACRO_JOURNEYS, created, strict=True)}

    def _step_origins(self) -> None:
        """Point each to-be step at the current step it reworks (the compare view aligns on it)."""
        derived = []
        for j in c.JOURNEYS:
            if not j.improves:
                continue
            renamed = c.TO_BE_ORIGINS.get(j.key, {})
            for _phase, specs in j.phases:
                for s in specs:
                    origin = self.step.get(f"{j.improves}/{renamed.get(s.key, s.key)}")
                    if origin is not None:
                        step = self.step[f"{j.key}/{s.key}"]
                        step.origin = origin
                        derived.append(step)
        Step.objects.bulk_update(derived, ["origin"])

    def _journeys(self) -> None:
        self.journey: dict[str, Journey] = {}
        # Current journeys first: the to-be journeys point at them.
        for kind in (Journey.Kind.CURRENT, Journey.Kind.TO_BE):
            specs = [j for j in c.JOURNEYS if j.kind == kind]
            created = Journey.objects.bulk_create(
                Journey(
                    workspace=self.ws,
                    macro_journey=self.macro[j.macro],
                    name=j.name,
                    description=j.description,
                    kind=j.kind,
                    current_journey=self.journey[j.improves] if j.improves else None,
                    status=j.status,
                    owner=self.member[j.owner],
                    primary_persona=self.persona[j.primary_persona],
                )
                for j in specs
            )
            self.journey.update({j.key: row for j, row in zip(specs, created, strict=True)})
        link(
            Journey.personas,
            [(self.journey[j.key].pk, self.persona[p].pk) for j in c.JOURNEYS for p in j.personas],
        )
        link(Journey.tags, [(self.journey[j.key].pk, t) for j in c.JOURNEYS for t in self._tag_ids(j.tags)])

        phase_specs = [(j, i, name) for j in c.JOURNEYS for i, (name, _steps) in enumerate(j.phases)]
        phases = Phase.objects.bulk_create(
            Phase(workspace=self.ws, journey=self.journey[j.key], name=name, position=i)
            for j, i, name in phase_specs
        )
        step_specs, steps = [], []
        for (j, i, _name), phase in zip(phase_specs, phases, strict=True):
            offset = sum(len(s) for _n, s in j.phases[:i])
            for position, s in enumerate(j.phases[i][1], start=offset):
                step_specs.append((f"{j.key}/{s.key}", s))
                steps.append(
                    Step(
                        workspace=self.ws,
                        journey=self.journey[j.key],
                        phase=phase,
                        position=position,
                        name=s.name,
                        customer_goal=s.goal,
                        customer_actions=s.actions,
                        thoughts_feelings=s.thoughts,
                        emotion=s.emotion,
                        frontstage=s.frontstage,
                        backstage=s.backstage,
                        is_moment_of_truth=bool(s.moment_of_truth),
                        moment_of_truth_why=s.moment_of_truth,
                    )
                )
        Step.objects.bulk_create(steps)
        self.step = {ref: row for (ref, _s), row in zip(step_specs, steps, strict=True)}
        if len(self.step) != len(steps):
            raise ValueError("Two steps of one journey share a key.")
        self._step_origins()
        link(Step.tags, [(self.step[ref].pk, t) for ref, s in step_specs for t in self._tag_ids(s.tags)])

        touchpoint_refs = [
            (
                f"{ref}#{name}",
                Touchpoint(workspace=self.ws, step=self.step[ref], name=name, channel=channel, position=i),
            )
            for ref, s in step_specs
            for i, (name, channel) in enumerate(s.touchpoints)
        ]
        Touchpoint.objects.bulk_create(tp for _ref, tp in touchpoint_refs)
        self.touchpoint = dict(touchpoint_refs)
        StepEmotion.objects.bulk_create(
            StepEmotion(
                workspace=self.ws,
                step=self._step(ref),
                persona=self.persona[persona],
                score=score,
                note=note,
            )
            for ref, persona, score, note in c.STEP_EMOTIONS
        )

    def _step(self, ref: str) -> Step:
        try:
            return self.step[ref]
        except KeyError:
            raise KeyError(f"Unknown step {ref!r}") from None

    # -- evidence and the backlog
    def _insights(self) -> None:
        authors = [self.member[Role.EDITOR], self.member[Role.ADMIN], self.member[Role.OWNER]]
        rows = [
            Insight(
                workspace=self.ws,
                title=i.title,
                description=i.description,
                kind=i.kind,
                source=i.source,
                source_reference=i.reference,
                status=i.status,
                severity=i.severity,
                reach=i.reach,
                created_by=authors[n % 3],
            )
            for n, i in enumerate(c.INSIGHTS)
        ]
        Insight.objects.bulk_create(rows)
        self.insight = {spec.key: row for spec, row in zip(c.INSIGHTS, rows, strict=True)}
        if len(self.insight) != len(rows):
            raise ValueError("Two insights share a key.")
        # Research accumulated over the past ten months, newest last.
        count = len(rows)
        for n, row in enumerate(rows):
            row.created_at = self.now - timedelta(days=300 * (count - n) / count, hours=n % 9)
        Insight.objects.bulk_update(rows, ["created_at"])
        link(Insight.steps, [(self.insight[i.key].pk, self._step(s).pk) for i in c.INSIGHTS for s in i.steps])
        link(
            Insight.personas,
            [(self.insight[i.key].pk, self.persona[p].pk) for i in c.INSIGHTS for p in i.personas],
        )
        link(Insight.tags, [(self.insight[i.key].pk, t) for i in c.INSIGHTS for t in self._tag_ids(i.tags)])

    def _opportunities(self) -> None:
        rows = [
            Opportunity(
                workspace=self.ws,
                title=o.title,
                description=o.description,
                status=o.status,
                owner=self.member[o.owner],
                created_by=self.member[Role.EDITOR if n % 2 else Role.ADMIN],
            )
            for n, o in enumerate(c.OPPORTUNITIES)
        ]
        Opportunity.objects.bulk_create(rows)
        self.opportunity = {spec.key: row for spec, row in zip(c.OPPORTUNITIES, rows, strict=True)}
        if len(self.opportunity) != len(rows):
            raise ValueError("Two opportunities share a key.")
        count = len(rows)
        for n, row in enumerate(rows):
            row.created_at = self.now - timedelta(days=200 * (count - n) / count, hours=n % 7)
        Opportunity.objects.bulk_update(rows, ["created_at"])
        ids = self.opportunity
        link(Opportunity.steps, [(ids[o.key].pk, self._step(s).pk) for o in c.OPPORTUNITIES for s in o.steps])
        link(
            Opportunity.insights,
            [(ids[o.key].pk, self.insight[i].pk) for o in c.OPPORTUNITIES for i in o.insights],
        )
        link(Opportunity.tags, [(ids[o.key].pk, t) for o in c.OPPORTUNITIES for t in self._tag_ids(o.tags)])
        criteria = {cr.key: cr for cr in self.scoring_model.criteria.all()}
        values = []
        for o in c.OPPORTUNITIES:
            if set(o.scores) != set(criteria):
                raise ValueError(f"Opportunity {o.key!r} must score exactly the criteria {sorted(criteria)}.")
            values.extend(
                CriterionValue(
                    workspace=self.ws, opportunity=ids[o.key], criterion=criteria[key], value=value
                )
                for key, value in o.scores.items()
            )
        CriterionValue.objects.bulk_create(values)
        Solution.objects.bulk_create(
            Solution(workspace=self.ws, opportunity=ids[o.key], title=title, status=status, external_url=url)
            for o in c.OPPORTUNITIES
            for title, status, url in o.solutions
        )

    # -- measurement
    def _comments(self) -> None:
        """A few conversations with @mentions, timed in the recent past (no e-mails are sent)."""
        directory = build_directory(
            Membership.objects.filter(workspace=self.ws).values_list("pk", "user__email")
        )
        targets = {
            "journey": lambda key: self.journey[key],
            "step": self._step,
            "insight": lambda key: self.insight[key],
            "opportunity": lambda key: self.opportunity[key],
        }
        comments = [
            Comment(workspace=self.ws, author=self.member[author], body=body, **{kind: targets[kind](key)})
            for kind, key, author, body, _hours in c.COMMENTS
        ]
        Comment.objects.bulk_create(comments)
        # created_at is auto_now_add: date the conversation into the past afterwards.
        now = timezone.now()
        for comment, (*_spec, hours) in zip(comments, c.COMMENTS, strict=True):
            comment.created_at = now - timedelta(hours=hours)
        Comment.objects.bulk_update(comments, ["created_at"])
        link(
            Comment.mentions,
            [(comment.pk, pk) for comment in comments for pk in mentioned(comment.body, directory)],
        )

    def _kpis(self) -> None:
        months = month_starts(self.today)
        rows = []
        for k in c.KPIS:
            target = {}
            if k.scope != "workspace":
                lookup = {
                    "macro_journey": self.macro,
                    "journey": self.journey,
                    "step": self.step,
                    "touchpoint": self.touchpoint,
                }[k.scope]
                if k.scope_ref not in lookup:
                    raise KeyError(f"KPI {k.key!r}: unknown {k.scope} {k.scope_ref!r}")
                target = {k.scope: lookup[k.scope_ref]}  # the scope names the Kpi field
            rows.append(
                Kpi(
                    workspace=self.ws,
                    name=k.name,
                    description=k.description,
                    kpi_type=k.kpi_type,
                    category=k.category,
                    unit=k.unit,
                    direction=k.direction,
                    target=k.target,
                    comparison=Kpi.Comparison.AT_LEAST if k.direction == "higher" else Kpi.Comparison.AT_MOST,
                    baseline=k.baseline,
                    indicator=k.indicator,
                    aggregation=k.aggregation,
                    scope=k.scope,
                    owner=self.member[k.owner],
                    **target,
                )
            )
        Kpi.objects.bulk_create(rows)
        self.kpi = {spec.key: row for spec, row in zip(c.KPIS, rows, strict=True)}
        link(Kpi.tags, [(self.kpi[k.key].pk, t) for k in c.KPIS for t in self._tag_ids(k.tags)])

        self.kpi_values: dict[str, list[tuple[date, float]]] = {}
        points = []
        for k in c.KPIS:
            rng = random.Random(f"northbank:{k.key}")
            series = kpi_series(kpi_type=k.kpi_type, first=k.first, last=k.last, months=len(months), rng=rng)
            if k.dimension:
                name, members = k.dimension
                shares = [rng.uniform(0.6, 1.4) for _ in members]
                shares = [s / sum(shares) for s in shares]
                offsets = [rng.uniform(-1, 1) * (NOISE.get(k.kpi_type, 0) * 4) for _ in members]
                cuts = [
                    ({name: m}, share, offset)
                    for m, share, offset in zip(members, shares, offsets, strict=True)
                ]
            else:
                cuts = [({}, 1.0, 0.0)]
            measured = []
            for month, value in zip(months, series, strict=True):
                month_points = []
                for dimensions, share, offset in cuts:
                    if k.kpi_type == "other" and k.aggregation == "sum":
                        cut_value = value * share
                    else:
                        low, high = VALUE_RANGE.get(k.kpi_type, (0.0, math.inf))
                        cut_value = min(max(value + offset, low), high)
                    month_points.append(
                        DataPoint(
                            workspace=self.ws,
                            kpi=self.kpi[k.key],
                            date=month,
                            dimensions=dimensions,
                            dimension_key=DataPoint.canonical_dimension_key(dimensions),
                            **data_point_fields(k.kpi_type, cut_value, max(round(k.volume * share), 1), rng),
                        )
                    )
                points.extend(month_points)
                measured.append((month, _measured_value(k, month_points)))
            # What the atlas will show for each month (all dimensions together): key results follow it.
            self.kpi_values[k.key] = measured
        DataPoint.objects.bulk_create(points, batch_size=BATCH_SIZE)

    def _kpi_value_at(self, key: str, day: date) -> float:
        """The KPI's value in the last month measured on or before `day`, rounded for display."""
        values = self.kpi_values[key]
        value = next((v for m, v in reversed(values) if m <= day), values[0][1])
        return round(value, 2 if self.kpi[key].kpi_type in ("ratio", "ces") else 1)

    # -- OKRs
    def _okrs(self) -> None:
        cycles = []
        for offset, objectives in ((-1, c.PREVIOUS_CYCLE), (0, c.CURRENT_CYCLE)):
            name, start, end = quarter(self.today, offset)
            cycles.append((OkrCycle(workspace=self.ws, name=name, start=start, end=end), objectives))
        OkrCycle.objects.bulk_create(cycle for cycle, _ in cycles)

        objective_rows: dict[str, Objective] = {}
        for with_parent in (False, True):  # parents first
            batch = [
                (spec, cycle) for cycle, specs in cycles for spec in specs if bool(spec.parent) == with_parent
            ]
            created = Objective.objects.bulk_create(
                Objective(
                    workspace=self.ws,
                    cycle=cycle,
                    title=spec.title,
                    description=spec.description,
                    owner=self.member[spec.owner],
                    team=self.tag[f"team:{spec.team}"],
                    commitment=spec.commitment,
                    parent=objective_rows[spec.parent] if spec.parent else None,
                    position=position,
                )
                for position, (spec, cycle) in enumerate(batch)
            )
            objective_rows.update({spec.key: row for (spec, _), row in zip(batch, created, strict=True)})
        all_objectives = [(spec, cycle) for cycle, specs in cycles for spec in specs]
        link(
            Objective.macro_journeys,
            [
                (objective_rows[o.key].pk, self.macro[m].pk)
                for o, _ in all_objectives
                for m in o.macro_journeys
            ],
        )
        link(
            Objective.journeys,
            [(objective_rows[o.key].pk, self.journey[j].pk) for o, _ in all_objectives for j in o.journeys],
        )

        kr_rows, kr_specs = [], []
        for o, cycle in all_objectives:
            finished = cycle.end < self.today
            for position, kr in enumerate(o.key_results):
                start, current = kr.start, kr.current
                if kr.kpi:
                    start = self._kpi_value_at(kr.kpi, cycle.start - timedelta(days=1))
                    current = self._kpi_value_at(kr.kpi, min(cycle.end, self.today))
                row = KeyResult(
                    workspace=self.ws,
                    objective=objective_rows[o.key],
                    title=kr.title,
                    kind=kr.kind,
                    start_value=start if kr.kind in ("increase_to", "decrease_to") else None,
                    target_value=kr.target,
                    current_value=current,
                    unit=kr.unit,
                    is_done=kr.is_done,
                    weight=kr.weight,
                    kpi=self.kpi[kr.kpi] if kr.kpi else None,
                    position=position,
                )
                row.grade = _grade(row) if finished else None
                kr_rows.append(row)
                kr_specs.append((kr, cycle))
        KeyResult.objects.bulk_create(kr_rows)
        link(
            Opportunity.key_results,
            [
                (self.opportunity[key].pk, row.pk)
                for row, (kr, _cycle) in zip(kr_rows, kr_specs, strict=True)
                for key in kr.opportunities
            ],
        )
        self._check_ins(kr_rows, kr_specs)

    def _check_ins(self, kr_rows: list[KeyResult], kr_specs) -> None:
        """A check-in every two weeks of each cycle so far, with values along the way to the KR's
        current value (or the KPI's data) and a confidence that follows the pace."""
        rows = []
        for row, (kr, cycle) in zip(kr_rows, kr_specs, strict=True):
            last_day = min(cycle.end, self.today)
            days = [cycle.start + timedelta(days=d) for d in range(10, (last_day - cycle.start).days + 1, 14)]
            days = days or [last_day]
            for n, day in enumerate(days):
                elapsed = (day - cycle.start).days / max((cycle.end - cycle.start).days, 1)
                if row.kind == KeyResult.Kind.MILESTONE:
                    value = None
                    done = row.is_done and n == len(days) - 1
                    notes = c.CHECK_IN_NOTES["milestone"]
                    note = "Live for all customers." if done else notes[min(n, len(notes) - 1)]
                    on_pace = row.is_done or n < 2
                else:
                    if kr.kpi:
                        value = self._kpi_value_at(kr.kpi, day)
                    else:
                        share = (n + 1) / len(days)
                        value = (
                            round(row.start_value + (row.current_value - row.start_value) * share, 2)
                            if (row.start_value is not None)
                            else row.current_value
                        )
                    on_pace = _progress(row, value) >= elapsed - 0.15
                    note = self.rng.choice(c.CHECK_IN_NOTES["ahead" if on_pace else "behind"])
                confidence = round(self.rng.uniform(0.7, 0.9) if on_pace else self.rng.uniform(0.35, 0.6), 1)
                author = row.objective.owner
                rows.append(
                    (
                        CheckIn(
                            workspace=self.ws,
                            key_result=row,
                            value=value,
                            confidence=confidence,
                            note=note,
                            author=author,
                        ),
                        datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_current_timezone())
                        + timedelta(hours=10),
                    )
                )
        CheckIn.objects.bulk_create(row for row, _ in rows)
        for row, when in rows:
            row.created_at = when
        CheckIn.objects.bulk_update([row for row, _ in rows], ["created_at"])


def _measured_value(kpi: c.KpiSpec, points: list[DataPoint]) -> float:
    """The KPI's value for one date from its data points, computed the way the metrics app does."""
    sums = {name: sum(getattr(p, name) or 0 for p in points) for name in SUMMED_FIELDS}
    sums["ces_weighted"] = sum((p.score or 0) * (p.respondents or 0) for p in points)
    sums["value_count"] = sum(1 for p in points if p.value is not None)
    value = kpi_value(kpi.kpi_type, sums, kpi.aggregation)
    return 0.0 if value is None else value


def _progress(kr: KeyResult, value: float | None) -> float:
    """Progress 0..1 of a key result at `value` (DESIGN.md: clipped; stay above/below: healthy or not)."""
    if value is None:
        return 0.0
    if kr.kind in (KeyResult.Kind.INCREASE_TO, KeyResult.Kind.DECREASE_TO):
        span = kr.target_value - kr.start_value
        return 1.0 if span == 0 else min(max((value - kr.start_value) / span, 0.0), 1.0)
    if kr.kind == KeyResult.Kind.STAY_ABOVE:
        return 1.0 if value >= kr.target_value else 0.0
    if kr.kind == KeyResult.Kind.STAY_BELOW:
        return 1.0 if value <= kr.target_value else 0.0
    return 1.0 if kr.is_done else 0.0


def _grade(kr: KeyResult) -> float:
    """The end-of-cycle grade of a finished key result, to one decimal."""
    if kr.kind == KeyResult.Kind.MILESTONE:
        return 1.0 if kr.is_done else 0.0
    return round(_progress(kr, kr.current_value), 1)
