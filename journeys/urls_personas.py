from django.urls import path

from journeys import persona_views

urlpatterns = [
    path("personas/", persona_views.persona_list, name="persona_list"),
    path("personas/new/", persona_views.persona_create, name="persona_create"),
    path("personas/<int:persona_id>/", persona_views.persona_detail, name="persona"),
    path("personas/<int:persona_id>/edit/", persona_views.persona_edit, name="persona_edit"),
    path("personas/<int:persona_id>/delete/", persona_views.persona_delete, name="persona_delete"),
]
