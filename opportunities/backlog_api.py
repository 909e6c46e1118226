"""The ranked backlog API: GET /api/v1/workspaces/<slug>/backlog/

Open opportunities, best first, with the backlog page's filters, an ordering by priority, rank, a
computed score or creation time, keyset pagination, and each opportunity's explanation on request
(`?breakdown=1`).

This is the API's hottest list, so it is built for speed. The figures below were measured on a
workspace of 100,000 opportunities (PostgreSQL, a 2-core machine), in-process and with bench/backlog.py
(gunicorn, 2 workers, wrk), where the first page now serves 0.46x the requests/s of a trivial
authenticated endpoint, and a page 2,000 rows deep 0.94x the first page:

- Keyset pagination that handles NULLs. DRF's CursorPagination cannot page over a nullable field, and
  `ORDER BY priority DESC NULLS LAST` cannot follow the backlog index (workspace, -priority, id), which
  keeps NULLs first: PostgreSQL would sort every open opportunity of the workspace for each page. So a
  page is read in segments that each follow the index — the rows tied with the cursor's value
  (`priority = v AND id > i ORDER BY id`), the rows after it (`priority < v ORDER BY priority DESC,
  id`) and the unscored rows (`priority IS NULL`) — each LIMITed to the page and glued by UNION ALL:
  one statement of index range scans that costs the same on page 1 and on page 2,000 (no OFFSET).
- One hand-assembled statement. Django compiles only the WHERE clause of the filters (so their
  meaning stays in opportunities.filters); the segments, the owner's name and the two counts are
  assembled around it, the counts and the owner once in the outer query over the page's rows. A first
  version built the same page as an ORM union of annotated querysets: 28 ms a request (the deep page
  44 ms) against 5 ms for the trivial endpoint, of which 7 ms building and compiling the statement and
  about 4 ms PostgreSQL planning it; this one takes 14.5 ms, 1 ms of it executing the statement.
- Rows as dicts from the database cursor, not ModelSerializers over instances.
- The explanation is opt-in (`?breakdown=1`): a page of 50 takes 84 ms and 200 KB with it, 14.5 ms
  and 24 KB without, measured before `recompute.explain()` cached the compiled model (28 ms of the 84);
  it is called as is so the API explains exactly as the opportunity page does."""

import base64
import binascii
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import django_filters
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import FloatField, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, pagination, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from atlas.api.scoping import WorkspaceScopedViewSetMixin
from atlas.models import Membership, User
from journeys.models import Step
from opportunities import recompute
from opportunities.filters import BacklogFilter
from opportunities.models import ComputedScore, CriterionValue, Opportunity

OPEN_STATUSES = [
    (value, label) for value, label in Opportunity.Status.choices if value not in Opportunity.CLOSED_STATUSES
]


class BacklogApiFilter(BacklogFilter):
    """The backlog page's filters (opportunities.filters.BacklogFilter; a persona matches through the
    linked insights' personas OR the personas of the linked steps' journeys), with `q` for text and
    `status` limited to the open statuses the backlog lists."""

    status = django_filters.ChoiceFilter(choices=OPEN_STATUSES, help_text="One of the open statuses.")
    q = django_filters.CharFilter(
        method="filter_search", help_text="Words that must all appear in the title or the description."
    )
    # Not filters of the backlog: it lists open opportunities only, and text search is `q`.
    open = None
    search = None

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def __init__(self, data=None, *args, **kwargs):
        # Copy and validate only the filters the request uses: a FilterSet deep-copies every filter
        # and builds a form field for each (1.7 ms for these 12, 0.2 ms for one). Filters that are
        # absent would filter nothing anyway; the schema reads the class's `base_filters`.
        if data is not None:
            self.base_filters = {name: f for name, f in type(self).base_filters.items() if name in data}
        super().__init__(data, *args, **kwargs)


# --- Ordering ------------------------------------------------------------------------------------------

SCORE_PREFIX = "scores."
SCORE_KEY = re.compile(r"^[-a-zA-Z0-9_]{1,40}$")
DEFAULT_ORDERING = "-priority"


@dataclass(frozen=True)
class BacklogOrdering:
    """One ordering of the backlog; ties by id, NULLs last in either direction.

    `indexed`: an index of the opportunity table follows it (`index_descending`: in which direction,
    which also says where its NULLs are), so a page is read as index range segments; otherwise the
    page is one query that sorts the matching rows."""

    name: str  # as given in `?ordering=`, e.g. "-scores.value"
    descending: bool
    field: str | None = None
    score_key: str | None = None
    nullable: bool = True
    indexed: bool = False
    index_descending: bool = False

    @classmethod
    def parse(cls, text: str | None) -> "BacklogOrdering":
        name = (text or DEFAULT_ORDERING).strip()
        descending = name.startswith("-")
        bare = name.removeprefix("-")
        if bare == "priority":  # index (workspace, -priority, id)
            return cls(name, descending, field=bare, indexed=True, index_descending=True)
        if name == "rank":
            # The recompute gives ranks in the order of (priority desc, id), so that index reads rank
            # order too (the model has no rank index). Until the next recompute, a reopened
            # opportunity (a priority, no rank yet) is placed by its priority instead of last.
            return cls(name, True, field="priority", indexed=True, index_descending=True)
        if name == "-rank":
            return cls(name, True, field="rank")
        if bare == "created_at":
            return cls(name, descending, field=bare, nullable=False)
        if bare.startswith(SCORE_PREFIX) and SCORE_KEY.match(key := bare.removeprefix(SCORE_PREFIX)):
            return cls(name, descending, score_key=key)
        raise exceptions.ValidationError(
            {"ordering": ["Use priority, rank, created_at or scores.<score key>, with - for descending."]}
        )

    @property
    def is_datetime(self) -> bool:
        return self.field == "created_at"

    def sql(self, queryset: QuerySet) -> tuple[str, list]:
        """The ordering's value as SQL on the opportunity table, with its parameters."""
        connection = connections[queryset.db]
        if self.field is not None:
            column = Opportunity._meta.get_field(self.field).column
            return f"{_qn(connection, Opportunity._meta.db_table)}.{_qn(connection, column)}", []
        expression = Cast(KeyTextTransform(self.score_key, "scores"), FloatField())
        query = queryset.query
        sql, params = query.get_compiler(queryset.db).compile(expression.resolve_expression(query))
        return sql, list(params)


def _qn(connection, name: str) -> str:
    return connection.ops.quote_name(name)


# --- Keyset pagination ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    ordering: str
    value: Any  # the ordering's value on the previous page's last row (None: an unscored row)
    id: int


class BacklogCursorPagination(pagination.BasePagination):
    """Forward-only keyset pagination: the cursor is the last row's (value, id) with the ordering's
    name, as base64url JSON. A cursor of another ordering, or a forged one, answers 404 "Invalid
    cursor", as DRF's cursor pagination does."""

    cursor_query_param = "cursor"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def __init__(self):
        self.next_url: str | None = None

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError({self.page_size_query_param: ["A whole number, at least 1."]})
        return min(size, self.max_page_size)

    def get_cursor(self, request: Request, ordering: BacklogOrdering) -> Cursor | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4)))
            value, row_id = data["v"], data["i"]
            if data["o"] != ordering.name or type(row_id) is not int:
                raise ValueError
            if value is not None:
                if ordering.is_datetime:
                    value = datetime.fromisoformat(value)
                elif (
                    isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                ):
                    raise ValueError
            return Cursor(ordering.name, value, row_id)
        except (ValueError, TypeError, KeyError, RecursionError, binascii.Error, UnicodeDecodeError):
            raise exceptions.NotFound("Invalid cursor.") from None

    def set_next(self, request: Request, ordering: BacklogOrdering, last_row: dict | None) -> None:
        if last_row is None:
            self.next_url = None
            return
        value = last_row["sort_value"]
        if isinstance(value, datetime):
            value = value.isoformat()
        payload = json.dumps({"o": ordering.name, "v": value, "i": last_row["id"]}, separators=(",", ":"))
        cursor = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        self.next_url = replace_query_param(request.build_absolute_uri(), self.cursor_query_param, cursor)

    def get_paginated_response(self, data: list) -> Response:
        return Response({"next": self.next_url, "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The next page, or null on the last one. Pages only go forward.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The cursor of a `next` link.",
                "schema": {"type": "string"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}, at most {self.max_page_size}).",
                "schema": {"type": "integer"},
            },
        ]


# --- The page's statement ------------------------------------------------------------------------------

ROW_COLUMNS = ["id", "title", "status", "owner_id", "rank", "previous_rank", "priority", "scores"]


@dataclass(frozen=True)
class Segment:
    """A part of the ordering after the cursor: a condition and the order it is read in."""

    condition: str
    params: list
    order_by: str
    tail: bool = False  # the rows without a value


def segments(
    ordering: BacklogOrdering, value_sql: str, value_params: list, cursor: Cursor | None
) -> list[Segment]:
    """The parts of the ordering after the cursor, in order. Each follows the ordering's index when it
    has one; within the unscored tail every value is NULL, so it is read in the index's own direction
    and then by id, which the index gives without a sort. (`sort_value` is the value's output column.)"""
    v, p = value_sql, value_params
    direction = "DESC" if ordering.descending else "ASC"
    beyond = "<" if ordering.descending else ">"
    tail_order = f"sort_value {'DESC' if ordering.index_descending else 'ASC'}, id"
    tail = Segment(f"{v} IS NULL", p, tail_order, tail=True)
    if cursor is None:
        scored = [Segment(f"{v} IS NOT NULL", p, f"sort_value {direction}, id")]
    elif cursor.value is None:
        return [Segment(f"{tail.condition} AND id > %s", [*p, cursor.id], tail.order_by, tail=True)]
    else:
        scored = [
            Segment(f"{v} = %s AND id > %s", [*p, cursor.value, cursor.id], "id"),
            Segment(f"{v} {beyond} %s", [*p, cursor.value], f"sort_value {direction}, id"),
        ]
    return [*scored, tail] if ordering.nullable else scored


def _where(queryset: QuerySet, workspace_id: int) -> tuple[str, list]:
    """The filtered queryset's WHERE clause, on the opportunity table alone."""
    query = queryset.query
    if any(count and alias != query.base_table for alias, count in query.alias_refcount.items()):
        # A filter that joins (none does today): keep the workspace prefix for the index, match by id.
        queryset = Opportunity.objects.filter(workspace_id=workspace_id, pk__in=queryset.values("pk"))
        query = queryset.query
    try:
        sql, params = query.get_compiler(queryset.db).compile(query.where)
    except FullResultSet:
        return "1 = 1", []
    return sql, list(params)


def backlog_page(
    queryset: QuerySet,
    *,
    workspace_id: int,
    ordering: BacklogOrdering,
    cursor: Cursor | None,
    limit: int,
    with_breakdown: bool = False,
) -> list[dict]:
    """Up to `limit` rows of the filtered open opportunities after the cursor, in one statement:
    ROW_COLUMNS (scores decoded), `sort_value`, the owner's name and email, `evidence_count` (linked
    insights), `journey_count` (journeys of the linked steps), and `score_breakdown` and `scored_at`
    if asked."""
    connection = connections[queryset.db]
    try:
        where, where_params = _where(queryset, workspace_id)
    except EmptyResultSet:
        return []
    qn = connection.ops.quote_name
    table = qn(Opportunity._meta.db_table)
    value_sql, value_params = ordering.sql(queryset)
    if cursor is not None and ordering.is_datetime and cursor.value is not None:
        # As the field stores it (SQLite: naive UTC text; it also returns it as text, kept as such
        # in the next cursor).
        cursor = replace(cursor, value=connection.ops.adapt_datetimefield_value(cursor.value))
    columns = [*ROW_COLUMNS, "score_breakdown", "scored_at"] if with_breakdown else ROW_COLUMNS
    select = ", ".join(f"{table}.{qn(name)}" for name in columns)
    direction = "DESC" if ordering.descending else "ASC"
    parts = segments(ordering, value_sql, value_params, cursor)

    def branch(position: int, condition: str, params: list, order_by: str) -> tuple[str, list]:
        sql = (
            f"SELECT {select}, {value_sql} AS sort_value, {position} AS segment FROM {table} "
            f"WHERE ({where}) AND ({condition}) ORDER BY {order_by} LIMIT %s"
        )
        return sql, [*value_params, *where_params, *params, limit]

    if ordering.indexed:
        heads = [part for part in parts if not part.tail]
        sqls, params = [], []
        for position, part in enumerate(parts):
            condition, condition_params = part.condition, part.params
            if part.tail and heads:
                # The unscored rows share the index prefix of every closed opportunity that was never
                # scored: reading even one of them can walk thousands of entries. Read them only when
                # the scored rows run out on this page. The guard is uncorrelated, so PostgreSQL
                # evaluates it once and skips the whole segment with a one-time filter (a partial
                # backlog index on open opportunities would make it unnecessary).
                scored_after = " OR ".join(f"({head.condition})" for head in heads)
                condition = (
                    f"{condition} AND NOT EXISTS (SELECT 1 FROM {table} WHERE ({where}) AND "
                    f"({scored_after}) LIMIT 1 OFFSET %s)"
                )
                condition_params = [
                    *condition_params,
                    *where_params,
                    *(param for head in heads for param in head.params),
                    limit - 1,
                ]
            sql, sql_params = branch(position, condition, condition_params, part.order_by)
            sqls.append(f"SELECT * FROM ({sql}) AS s{position}")
            params += sql_params
        page, page_params = " UNION ALL ".join(sqls), params
    else:
        condition = " OR ".join(f"({part.condition})" for part in parts) if cursor else "1 = 1"
        condition_params = [param for part in parts for param in part.params] if cursor else []
        page, page_params = branch(0, condition, condition_params, f"sort_value {direction} NULLS LAST, id")

    membership, user = Membership._meta, User._meta
    insight_links, step_links = Opportunity.insights, Opportunity.steps
    step_table, journey_column = qn(Step._meta.db_table), qn(Step._meta.get_field("journey").column)
    sql = f"""
        SELECT page.*, u.{qn(user.get_field("full_name").column)} AS owner_name,
            u.{qn(user.get_field("email").column)} AS owner_email,
            (SELECT COUNT(*) FROM {qn(insight_links.through._meta.db_table)} links
                WHERE links.{qn(insight_links.field.m2m_column_name())} = page.id) AS evidence_count,
            (SELECT COUNT(DISTINCT step.{journey_column})
                FROM {qn(step_links.through._meta.db_table)} links
                JOIN {step_table} step ON step.id = links.{qn(step_links.field.m2m_reverse_name())}
                WHERE links.{qn(step_links.field.m2m_column_name())} = page.id) AS journey_count
        FROM ({page}) AS page
        LEFT JOIN {qn(membership.db_table)} m ON m.id = page.owner_id
        LEFT JOIN {qn(user.db_table)} u ON u.id = m.{qn(membership.get_field("user").column)}
        ORDER BY page.segment, page.sort_value {direction} NULLS LAST, page.id
        LIMIT %s"""
    with connection.cursor() as db:
        db.execute(sql, [*page_params, limit])
        names = [column[0] for column in db.description]
        rows = [dict(zip(names, row, strict=True)) for row in db.fetchall()]
    decode = ["scores", "score_breakdown"] if with_breakdown else ["scores"]
    for row in rows:
        for name in decode:
            if isinstance(row[name], str | bytes):  # jsonb and SQLite's JSON arrive as text
                row[name] = json.loads(row[name])
    return rows


# --- Rows ----------------------------------------------------------------------------------------------


class BacklogOwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Membership id.")
    name = serializers.CharField(help_text="Full name, or the email address when there is none.")


class BacklogRowSerializer(serializers.Serializer):
    # Describes a row for the schema only: rows are built as dicts by `backlog_row()`.
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=OPEN_STATUSES)
    owner = BacklogOwnerSerializer(allow_null=True)
    rank = serializers.IntegerField(allow_null=True, help_text="1 = the top; null until scored.")
    previous_rank = serializers.IntegerField(allow_null=True, help_text="The rank at the start of the week.")
    movement = serializers.IntegerField(
        allow_null=True, help_text="Places moved up since `previous_rank` (negative: moved down)."
    )
    priority = serializers.FloatField(allow_null=True)
    scores = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="Every computed score of the scoring model, by key.",
    )
    evidence_count = serializers.IntegerField(help_text="Linked insights.")
    journey_count = serializers.IntegerField(help_text="Journeys touched through the linked steps.")
    breakdown = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="With `?breakdown=1` only: why this score — every node with its inputs, weights and "
        "shares, the criterion values assumed or clamped, and the evidence inputs. Null when not scored.",
    )


def backlog_row(row: dict) -> dict:
    rank, previous = row["rank"], row["previous_rank"]
    owner_id = row["owner_id"]
    return {
        "id": row["id"],
        "title": row["title"],
        "status": row["status"],
        "owner": None
        if owner_id is None
        else {"id": owner_id, "name": row["owner_name"] or row["owner_email"]},
        "rank": rank,
        "previous_rank": previous,
        "movement": None if rank is None or previous is None else previous - rank,
        "priority": row["priority"],
        "scores": row["scores"],
        "evidence_count": row["evidence_count"],
        "journey_count": row["journey_count"],
    }


def explanations(workspace_id: int, rows: list[dict]) -> list[dict | None]:
    """`recompute.explain()` of each row, with the scoring model loaded once and the rows' criterion
    values in one query (five queries whatever the number of rows)."""
    loaded = recompute.load_spec(workspace_id)
    if loaded is None:
        return [None] * len(rows)
    spec = loaded[1]
    values: dict[int, dict[str, float]] = defaultdict(dict)
    for opportunity_id, key, value in CriterionValue.objects.filter(
        workspace_id=workspace_id, opportunity_id__in=[row["id"] for row in rows]
    ).values_list("opportunity_id", "criterion__key", "value"):
        values[opportunity_id][key] = value
    result = []
    for row in rows:
        opportunity = Opportunity(
            id=row["id"],
            workspace_id=workspace_id,
            rank=row["rank"],
            scored_at=row["scored_at"],
            score_breakdown=row["score_breakdown"],
        )
        try:
            result.append(recompute.explain(opportunity, spec, values=values[row["id"]]))
        except ValueError:  # an invalid model explains nothing (the recompute refuses it too)
            result.append(None)
    return result


TRUE_VALUES = {"1", "true", "yes", "on"}


@extend_schema(tags=["opportunities"])
class BacklogViewSet(WorkspaceScopedViewSetMixin, viewsets.GenericViewSet):
    """The ranked backlog: open opportunities by priority (unscored last), filtered like the backlog
    page, 50 a page. Every member may read it."""

    queryset = Opportunity.objects.all()
    serializer_class = BacklogRowSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = BacklogApiFilter
    pagination_class = BacklogCursorPagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "ordering",
                OpenApiTypes.STR,
                description="`-priority` (default), `priority`, `rank`, `-rank`, `created_at`, `-created_at`, "
                "or a computed score `scores.<key>` / `-scores.<key>` (e.g. `-scores.customer_value`). "
                "Opportunities without a value come last either way; ties by id.",
            ),
            OpenApiParameter(
                "breakdown",
                OpenApiTypes.BOOL,
                description="Add each row's explanation (`breakdown`): about 4 KB a row, and slower.",
            ),
        ]
    )
    def list(self, request: Request, workspace_slug: str) -> Response:
        ordering = BacklogOrdering.parse(request.query_params.get("ordering"))
        if (
            ordering.score_key
            and not ComputedScore.objects.filter(workspace=self.workspace, key=ordering.score_key).exists()
        ):
            raise exceptions.ValidationError({"ordering": [f"No computed score {ordering.score_key!r}."]})
        with_breakdown = request.query_params.get("breakdown", "").lower() in TRUE_VALUES
        paginator = self.paginator
        size = paginator.get_page_size(request)
        rows = backlog_page(
            self.filter_queryset(self.get_queryset().open()),
            workspace_id=self.workspace.pk,
            ordering=ordering,
            cursor=paginator.get_cursor(request, ordering),
            limit=size + 1,
            with_breakdown=with_breakdown,
        )
        paginator.set_next(request, ordering, rows[size - 1] if len(rows) > size else None)
        rows = rows[:size]
        data = [backlog_row(row) for row in rows]
        if with_breakdown:
            for item, explanation in zip(data, explanations(self.workspace.pk, rows), strict=True):
                item["breakdown"] = explanation
        return paginator.get_paginated_response(data)
