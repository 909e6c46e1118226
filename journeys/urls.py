from django.urls import path

from journeys import views

app_name = "journeys"

urlpatterns = [
    path("", views.atlas, name="atlas"),
    path("journeys/<int:journey_id>/", views.journey_map, name="journey"),
]
