"""What comments hang on, and where the pages of commented or changed things are.

Comments attach to journeys, steps, insights and opportunities. The activity feed links every
target type that has a page: a step is shown on its journey's map, a solution on its opportunity's
page; other types (members, tokens, the scoring model…) have no page of their own to link to."""

from collections import defaultdict
from collections.abc import Iterable

from django.apps import apps
from django.db.models import Model
from django.urls import reverse

from atlas.models import Comment, Workspace

# target kind → (app label, model name); the kind is also the Comment field and the URL parameter stem.
TARGET_KINDS = {
    "journey": ("journeys", "Journey"),
    "step": ("journeys", "Step"),
    "insight": ("journeys", "Insight"),
    "opportunity": ("opportunities", "Opportunity"),
}

# Activity target types (model names) with a page: (URL name, model, field holding the id of the page's
# object, fragment). None as the field: the object has its own page.
PAGES = {
    "journey": ("journeys:journey", ("journeys", "Journey"), None, ""),
    "step": ("journeys:journey", ("journeys", "Step"), "journey_id", "#step-{pk}"),
    "insight": ("journeys:insight", ("journeys", "Insight"), None, ""),
    "persona": ("journeys:persona", ("journeys", "Persona"), None, ""),
    "opportunity": ("opportunities:detail", ("opportunities", "Opportunity"), None, ""),
    "solution": ("opportunities:detail", ("opportunities", "Solution"), "opportunity_id", "#solutions"),
}


def target_model(kind: str) -> type[Model]:
    return apps.get_model(*TARGET_KINDS[kind])


def kind_of(target: Model) -> str:
    """The target kind of a journey, step, insight or opportunity instance."""
    kind = target._meta.model_name
    if kind not in TARGET_KINDS:
        raise ValueError(f"Comments cannot be attached to a {kind}.")
    return kind


def comment_target(comment: Comment) -> tuple[str, Model]:
    """(kind, object) of the one thing a comment is on (with its foreign key loaded or cached)."""
    for kind in TARGET_KINDS:
        if getattr(comment, f"{kind}_id") is not None:
            return kind, getattr(comment, kind)
    raise ValueError(f"Comment {comment.pk} has no target.")


def page_url(workspace_slug: str, target_type: str, pk: int, parent_id: int | None = None) -> str | None:
    """The page showing an object of this type, or None when the type has no page."""
    if target_type not in PAGES:
        return None
    url_name, _, parent_field, fragment = PAGES[target_type]
    page_pk = parent_id if parent_field else pk
    if page_pk is None:
        return None
    return reverse(url_name, args=[workspace_slug, page_pk]) + fragment.format(pk=pk)


def target_url(workspace_slug: str, kind: str, target: Model) -> str | None:
    """The page of a comment target (a step: its journey's map, scrolled to the step)."""
    _, _, parent_field, _ = PAGES[kind]
    return page_url(workspace_slug, kind, target.pk, getattr(target, parent_field) if parent_field else None)


def existing_pages(
    workspace: Workspace, refs: Iterable[tuple[str, int | None]]
) -> dict[tuple[str, int], str]:
    """URLs of the objects that still exist among (target type, id) references: one query per linkable
    type present, however many references."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for target_type, pk in refs:
        if target_type in PAGES and pk is not None:
            wanted[target_type].add(pk)
    urls: dict[tuple[str, int], str] = {}
    for target_type, ids in wanted.items():
        _, model_key, parent_field, _ = PAGES[target_type]
        rows = (
            apps.get_model(*model_key)
            .objects.filter(workspace=workspace, pk__in=ids)
            .order_by()
            .values_list("pk", parent_field or "pk")
        )
        for pk, parent_id in rows:
            url = page_url(workspace.slug, target_type, pk, parent_id if parent_field else None)
            if url:
                urls[(target_type, pk)] = url
    return urls
