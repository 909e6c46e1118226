from django.urls import path

from journeys import map_views

urlpatterns = [
    path("journeys/<int:journey_id>/", map_views.journey_map, name="journey"),
]
