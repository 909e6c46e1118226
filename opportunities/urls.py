from django.urls import path

from opportunities import views

app_name = "opportunities"

urlpatterns = [
    path("backlog/", views.backlog, name="backlog"),
    path("backlog/export.csv", views.backlog_csv, name="backlog_csv"),
    path("backlog/export.xlsx", views.backlog_xlsx, name="backlog_xlsx"),
    path("backlog/rows/<int:opportunity_id>/", views.backlog_row, name="backlog_row"),
    path("matrix/", views.matrix, name="matrix"),
    path("priorities/status/", views.recompute_status, name="recompute_status"),
    path("opportunities/<int:opportunity_id>/", views.detail, name="detail"),
    path("opportunities/<int:opportunity_id>/edit/", views.edit, name="edit"),
    path("opportunities/<int:opportunity_id>/criteria/", views.criteria, name="criteria"),
    path("opportunities/<int:opportunity_id>/breakdown/", views.breakdown, name="breakdown"),
    path("opportunities/<int:opportunity_id>/solutions/new/", views.solution_add, name="solution_add"),
    path(
        "opportunities/<int:opportunity_id>/solutions/<int:solution_id>/edit/",
        views.solution_edit,
        name="solution_edit",
    ),
]
