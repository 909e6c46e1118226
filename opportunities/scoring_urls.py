"""Settings → Scoring model, mounted at /w/<slug>/settings/scoring/ (opportunities/scoring_views.py)."""

from django.urls import path

from opportunities import scoring_views as views

app_name = "scoring"

urlpatterns = [
    path("", views.model, name="model"),
    path("preset/", views.preset, name="preset"),
    path("priority/", views.priority, name="priority"),
    path("save/", views.save, name="save"),
    path("criteria/new/", views.criterion_add, name="criterion_add"),
    path("criteria/<int:criterion_id>/", views.criterion_edit, name="criterion_edit"),
    path("criteria/<int:criterion_id>/remove/", views.criterion_remove, name="criterion_remove"),
    path("computed-scores/new/", views.node_add, name="node_add"),
    path("computed-scores/<int:computed_score_id>/", views.node_edit, name="node_edit"),
    path("computed-scores/<int:computed_score_id>/remove/", views.node_remove, name="node_remove"),
]
