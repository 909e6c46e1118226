from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from atlas import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links; the unhashed static name stays valid.
    path(
        "favicon.ico",
        RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg", permanent=True),
        name="favicon",
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("atlas.accounts.urls")),
    path("", include("atlas.workspaces.urls")),
    path("api/v1/", include("atlas.api.urls")),
    path("w/<slug:slug>/", include("journeys.urls")),
    path("w/<slug:slug>/", include("opportunities.urls")),
    path("w/<slug:slug>/", include("atlas.collaboration.urls")),
    path("w/<slug:slug>/settings/scoring/", include("opportunities.scoring_urls")),
]
