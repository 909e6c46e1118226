from django.urls import path

from journeys import version_views

urlpatterns = [
    path("journeys/<int:journey_id>/compare/", version_views.journey_compare, name="journey_compare"),
    path(
        "journeys/<int:journey_id>/to-be/new/",
        version_views.journey_to_be_create,
        name="journey_to_be_create",
    ),
    path("journeys/<int:journey_id>/versions/", version_views.journey_versions, name="journey_versions"),
    path(
        "journeys/<int:journey_id>/versions/new/",
        version_views.journey_version_create,
        name="journey_version_create",
    ),
    path(
        "journeys/<int:journey_id>/versions/<int:version_id>/",
        version_views.journey_version,
        name="journey_version",
    ),
    path(
        "journeys/<int:journey_id>/versions/<int:version_id>/compare/",
        version_views.journey_version_compare,
        name="journey_version_compare",
    ),
    path(
        "journeys/<int:journey_id>/versions/<int:version_id>/restore/",
        version_views.journey_version_restore,
        name="journey_version_restore",
    ),
]
