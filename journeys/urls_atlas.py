from django.urls import path

from journeys import atlas_views

urlpatterns = [
    path("", atlas_views.atlas, name="atlas"),
]
