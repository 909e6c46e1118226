from django.contrib import admin
from django.urls import include, path

from atlas import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("atlas.accounts.urls")),
    path("", include("atlas.workspaces.urls")),
    path("api/v1/", include("atlas.api.urls")),
    path("w/<slug:slug>/", include("journeys.urls")),
    path("w/<slug:slug>/", include("opportunities.urls")),
    path("w/<slug:slug>/", include("atlas.collaboration.urls")),
    path("w/<slug:slug>/settings/scoring/", include("opportunities.scoring_urls")),
]
