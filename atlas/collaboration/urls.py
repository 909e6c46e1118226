"""Comments and the activity feed, under /w/<slug>/.

A thread has one URL per kind of target, so that each names its object in its own parameter
(`journey_id`, `step_id`, …): all four share the name "thread" and `reverse` picks the one whose
parameter is given."""

from django.urls import path

from atlas.collaboration import views
from atlas.collaboration.targets import TARGET_KINDS

app_name = "collaboration"

urlpatterns = [
    *(
        path(f"comments/{kind}/<int:{kind}_id>/", views.thread, {"target_kind": kind}, name="thread")
        for kind in TARGET_KINDS
    ),
    path("comments/<int:comment_id>/", views.comment, name="comment"),
    path("comments/<int:comment_id>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", views.comment_delete, name="comment_delete"),
    path("activity/", views.activity, name="activity"),
    path("activity/mentions/", views.mentions, name="mentions"),
]
