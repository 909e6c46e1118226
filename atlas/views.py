from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from atlas.models import Membership


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in person to their first workspace (the URL then names it)."""
    membership = (
        Membership.objects.filter(user=request.user)
        .select_related("workspace")
        .order_by("workspace__name")
        .first()
    )
    if membership is None:
        return redirect("workspaces:create")
    return redirect("journeys:atlas", membership.workspace.slug)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and docker-compose."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
