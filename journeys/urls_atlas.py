from django.urls import path

from journeys import atlas_views

urlpatterns = [
    path("", atlas_views.atlas, name="atlas"),
    path("lifecycles/new/", atlas_views.lifecycle_create, name="lifecycle_create"),
    path("lifecycles/<int:lifecycle_id>/edit/", atlas_views.lifecycle_edit, name="lifecycle_edit"),
    path("lifecycles/<int:lifecycle_id>/delete/", atlas_views.lifecycle_delete, name="lifecycle_delete"),
    path("lifecycles/<int:lifecycle_id>/stages/new/", atlas_views.stage_create, name="stage_create"),
    path("stages/<int:stage_id>/edit/", atlas_views.stage_edit, name="stage_edit"),
    path("stages/<int:stage_id>/move/", atlas_views.stage_move, name="stage_move"),
    path("stages/<int:stage_id>/delete/", atlas_views.stage_delete, name="stage_delete"),
    path("stages/<int:stage_id>/macro-journeys/new/", atlas_views.macro_create, name="macro_create"),
    path("macro-journeys/<int:macro_id>/edit/", atlas_views.macro_edit, name="macro_edit"),
    path("macro-journeys/<int:macro_id>/move/", atlas_views.macro_move, name="macro_move"),
    path("macro-journeys/<int:macro_id>/delete/", atlas_views.macro_delete, name="macro_delete"),
    path("macro-journeys/<int:macro_id>/journeys/new/", atlas_views.journey_create, name="journey_create"),
]
