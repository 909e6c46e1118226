from django.urls import path

from journeys import insight_views

urlpatterns = [
    path("insights/", insight_views.insight_list, name="insight_list"),
    path("insights/new/", insight_views.insight_create, name="insight_create"),
    path("insights/bulk/", insight_views.insight_bulk, name="insight_bulk"),
    path("insights/import/", insight_views.insight_import_view, name="insight_import"),
    path("insights/step-options/", insight_views.insight_step_options, name="insight_step_options"),
    path("insights/step-picker/", insight_views.insight_step_picker, name="insight_step_picker"),
    path(
        "insights/import/template.csv",
        insight_views.insight_import_template,
        name="insight_import_template",
    ),
    path("insights/<int:insight_id>/", insight_views.insight_detail, name="insight"),
    path("insights/<int:insight_id>/edit/", insight_views.insight_edit, name="insight_edit"),
    path("insights/<int:insight_id>/delete/", insight_views.insight_delete, name="insight_delete"),
    path("insights/<int:insight_id>/pin/", insight_views.insight_pin, name="insight_pin"),
    path(
        "insights/<int:insight_id>/unpin/<int:step_id>/",
        insight_views.insight_unpin,
        name="insight_unpin",
    ),
]
