"""`{% recompute_status %}`: the "Recomputing priorities…" indicator of a workspace page.

Rendered as things are when the page is built (a recompute under way shows at once, before any
JavaScript runs); htmx then follows it through `opportunities:recompute_status`. The indicator also
starts following when a write on the page answers with the `priorities-recompute-requested` event."""

from django import template

from opportunities import selectors
from opportunities.views import POLL_LIMIT

register = template.Library()


@register.inclusion_tag("opportunities/_recompute_status.html", takes_context=True)
def recompute_status(context: template.Context) -> dict:
    """The indicator, once per request (a page that also gets it from its layout shows one), and only
    on workspace pages. One query."""
    request = context.get("request")
    workspace = context.get("workspace")
    if request is None or workspace is None or getattr(request, "_recompute_status_shown", False):
        return {"show": False}
    request._recompute_status_shown = True
    return {
        "show": True,
        "workspace": workspace,
        "pending": selectors.recompute_in_progress(workspace_id=workspace.pk),
        "done": False,
        "poll": 0,
        "poll_limit": POLL_LIMIT,
    }
