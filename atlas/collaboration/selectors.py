"""Reads for comment threads, the activity feed and the mentions page: each a fixed number of queries,
however many rows."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Model, QuerySet, Subquery
from django.utils import timezone

from atlas.collaboration.mentions import Directory, build_directory
from atlas.models import Activity, Comment, Membership, Workspace

FEED_PAGE_SIZE = 50

# Feed filter "period": key → (label, how far back).
PERIODS = {
    "day": ("Last 24 hours", timedelta(days=1)),
    "week": ("Last 7 days", timedelta(days=7)),
    "month": ("Last 30 days", timedelta(days=30)),
    "quarter": ("Last 90 days", timedelta(days=90)),
}

# Feed filter "what": target type → label, in the order of the menu. Types written by the services and
# the API; a type missing here still shows in the feed, it only has no filter entry.
TARGET_TYPES = {
    "journey": "Journeys",
    "step": "Steps",
    "insight": "Insights",
    "opportunity": "Opportunities",
    "solution": "Solutions",
    "persona": "Personas",
    "phase": "Phases",
    "touchpoint": "Touchpoints",
    "macrojourney": "Macro journeys",
    "lifecycle": "Lifecycles",
    "lifecyclestage": "Lifecycle stages",
    "journeyversion": "Journey versions",
    "tag": "Tags",
    "objective": "Objectives",
    "keyresult": "Key results",
    "kpi": "KPIs",
    "scoringmodel": "Scoring model",
    "membership": "Members",
    "invitation": "Invitations",
    "apitoken": "API tokens",
    "workspace": "Workspace",
}


@dataclass(frozen=True)
class Members:
    """The members of a workspace, by id, with the mention directory keyed by membership id."""

    by_id: dict[int, Membership]
    directory: Directory

    def handle(self, membership: Membership) -> str:
        return self.directory.handle_of[membership.pk]

    def ordered(self) -> list[Membership]:
        return sorted(self.by_id.values(), key=lambda m: m.display_name.lower())


def workspace_members(workspace: Workspace) -> Members:
    memberships = list(Membership.objects.filter(workspace=workspace).select_related("user"))
    return Members(
        by_id={m.pk: m for m in memberships},
        directory=build_directory((m.pk, m.user.email) for m in memberships),
    )


def thread_comments(workspace: Workspace, kind: str, target: Model) -> list[Comment]:
    """The comments on one target, oldest first."""
    return list(
        Comment.objects.filter(workspace=workspace, **{kind: target})
        .select_related("author__user")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class FeedFilters:
    actor: int | None = None  # a user id
    target_type: str = ""
    period: str = ""

    @property
    def active(self) -> bool:
        return bool(self.actor or self.target_type or self.period)


def feed_filters(data, members: Members) -> FeedFilters:
    """Filters from GET parameters `who` (membership id), `what` and `period`; unknown values are ignored."""
    actor = None
    who = data.get("who", "")
    if who.isdigit() and int(who) in members.by_id:
        actor = members.by_id[int(who)].user_id
    what = data.get("what", "")
    period = data.get("period", "")
    return FeedFilters(
        actor=actor,
        target_type=what if what in TARGET_TYPES else "",
        period=period if period in PERIODS else "",
    )


def feed_queryset(workspace: Workspace, filters: FeedFilters) -> QuerySet:
    activities = Activity.objects.filter(workspace=workspace).select_related("actor")
    if filters.actor:
        activities = activities.filter(actor_id=filters.actor)
    if filters.target_type:
        activities = activities.filter(target_type=filters.target_type)
    if filters.period:
        activities = activities.filter(created_at__gte=timezone.now() - PERIODS[filters.period][1])
    return activities.order_by("-created_at", "-id")


def feed_page(
    workspace: Workspace, filters: FeedFilters, before: int | None = None
) -> tuple[list[Activity], bool]:
    """Up to FEED_PAGE_SIZE activities, newest first, older than activity `before` (keyset pagination:
    the page costs the same on the thousandth page as on the first); and whether older ones exist."""
    activities = feed_queryset(workspace, filters)
    if before is not None:
        # (created_at, id) < the cursor's, written as a range the (workspace, -created_at) index can walk
        # from the cursor on: "created_at <= c and not (created_at = c and id >= before)". An OR of the two
        # cases would make PostgreSQL read the whole feed up to the cursor.
        cursor = Subquery(Activity.objects.filter(workspace=workspace, pk=before).values("created_at")[:1])
        activities = activities.filter(created_at__lte=cursor).exclude(created_at=cursor, id__gte=before)
    rows = list(activities[: FEED_PAGE_SIZE + 1])
    return rows[:FEED_PAGE_SIZE], len(rows) > FEED_PAGE_SIZE


def mentions_of(workspace: Workspace, membership: Membership) -> QuerySet:
    """Comments that mention this member, newest first, with what they are on."""
    return (
        Comment.objects.filter(workspace=workspace, mentions=membership)
        .select_related("author__user", "journey", "step__journey", "insight", "opportunity")
        .order_by("-created_at", "-id")
    )
