"""The OpenAPI schema: valid, warning-free, with the Bearer scheme. It is public on purpose (it
describes the open-source API and holds no workspace data); data endpoints are not."""

import yaml
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient


def test_schema_is_valid_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    assert schema["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["BearerToken"]["description"],
    }
    assert "/api/v1/workspaces/{workspace_slug}/opportunities/{id}/" in schema["paths"]


def test_schema_documents_criterion_values_as_an_object_of_numbers(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(target))
    schema = yaml.safe_load(target.read_text())

    field = schema["components"]["schemas"]["OpportunityRequest"]["properties"]["criterion_values"]
    assert field["type"] == "object"
    assert field["additionalProperties"]["type"] == "number"
    readonly = schema["components"]["schemas"]["Opportunity"]["properties"]
    assert all(
        readonly[name]["readOnly"] for name in ("priority", "rank", "scores", "score_breakdown", "scored_at")
    )


def test_schema_and_docs_answer_an_authenticated_member(workspace, viewer, api_for):
    client = api_for(viewer)

    assert client.get(reverse("api:schema")).status_code == 200
    assert client.get(reverse("api:docs")).status_code == 200


def test_schema_and_docs_are_public(db):
    client = APIClient()

    assert client.get(reverse("api:schema")).status_code == 200
    assert client.get(reverse("api:docs")).status_code == 200


def test_docs_page_refuses_options_instead_of_failing(db):
    assert APIClient().options(reverse("api:docs")).status_code == 405
