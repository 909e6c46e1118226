from atlas.models import Membership


def workspace(request):
    """The current workspace and membership (set by `workspace_view`) and the user's other workspaces,
    for the header's switcher."""
    context = {
        "workspace": getattr(request, "workspace", None),
        "membership": getattr(request, "membership", None),
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["my_memberships"] = (
            Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")
        )
    return context
