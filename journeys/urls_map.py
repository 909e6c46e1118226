"""The journey map and its editor (journeys/map_views.py)."""

from django.urls import path

from journeys import map_views

J = "journeys/<int:journey_id>/"
S = J + "steps/<int:step_id>/"

urlpatterns = [
    path(J, map_views.journey_map, name="journey"),
    path(J + "edit/", map_views.journey_edit, name="journey_edit"),
    path(J + "delete/", map_views.journey_delete, name="journey_delete"),
    path(J + "steps/add/", map_views.step_add, name="step_add"),
    path(S + "cell/", map_views.step_cell, name="step_cell"),
    path(S + "emotion/", map_views.step_emotion, name="step_emotion"),
    path(S + "move/", map_views.step_move, name="step_move"),
    path(S + "delete/", map_views.step_delete, name="step_delete"),
    path(S + "comments/", map_views.step_comments, name="step_comments"),
    path(S + "touchpoints/add/", map_views.touchpoint_add, name="touchpoint_add"),
    path(S + "touchpoints/<int:touchpoint_id>/", map_views.touchpoint_edit, name="touchpoint_edit"),
    path(
        S + "touchpoints/<int:touchpoint_id>/delete/", map_views.touchpoint_delete, name="touchpoint_delete"
    ),
    path(S + "insights/", map_views.step_insights, name="step_insights"),
    path(S + "insights/new/", map_views.step_insight_create, name="step_insight_create"),
    path(S + "insights/<int:insight_id>/unpin/", map_views.step_insight_unpin, name="step_insight_unpin"),
    path(
        S + "insights/<int:insight_id>/opportunity/",
        map_views.step_opportunity_create,
        name="step_opportunity_create",
    ),
    path(J + "phases/add/", map_views.phase_add, name="phase_add"),
    path(J + "phases/<int:phase_id>/", map_views.phase_rename, name="phase_rename"),
    path(J + "phases/<int:phase_id>/move/", map_views.phase_move, name="phase_move"),
    path(J + "phases/<int:phase_id>/delete/", map_views.phase_delete, name="phase_delete"),
]
