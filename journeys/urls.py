"""The journeys app's pages, one module of routes per part of the product (each owned by its views
module), joined under one namespace."""

from journeys import urls_atlas, urls_insights, urls_map, urls_personas, urls_versions

app_name = "journeys"

urlpatterns = [
    *urls_atlas.urlpatterns,
    *urls_map.urlpatterns,
    *urls_versions.urlpatterns,
    *urls_personas.urlpatterns,
    *urls_insights.urlpatterns,
]
