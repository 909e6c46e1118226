"""CSV import of insights: reading and checking the file (pure, no database), and the import page, which
imports every row or none and lists every problem of every bad row."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.models import Activity, Tag
from journeys import insight_import
from journeys.insight_import import build_lookups, check_csv
from journeys.models import Insight, Persona
from tests.test_insights_services import make_journey

IMPORT = "/w/acme/insights/import/"


def lookups():
    return build_lookups(
        personas=[(1, "Saver Sam"), (2, "First-time buyer Fiona")],
        tags=[(10, "Web", "Channel"), (11, "Web", "Product / service"), (12, "Mobile app", "Channel")],
        tag_kinds=[("channel", "Channel"), ("product", "Product / service")],
        journeys=[(100, "Open an account"), (101, "Twin"), (102, "Twin")],
        steps=[(1000, "Sign up", 100), (1001, "Verify ID", 100), (1002, "Verify ID", 101)],
    )


def csv_bytes(*rows, delimiter=",", bom=False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode()


# --- reading and checking (pure) ------------------------------------------------------------------------


def test_check_reads_every_column_and_resolves_names():
    data = csv_bytes(
        [
            "Title",
            "Description",
            "Kind",
            "Source method",
            "Source reference",
            "Status",
            "Severity",
            "Reach",
            "Personas",
            "Tags",
            "Journey",
            "Step",
        ],
        [
            "Form too long",
            "Twelve fields",
            "Pain point",
            "Support ticket",
            "ZD-1",
            "validated",
            "5",
            "1 200",
            "saver sam | First-time buyer Fiona",
            "Mobile app; Channel: Web",
            "open an account",
            "Sign up; Verify ID",
        ],
    )
    check = check_csv(data, lookups())
    assert check.ok, check.problems
    (row,) = check.rows
    assert (row.title, row.kind, row.source, row.status, row.severity, row.reach) == (
        "Form too long",
        "pain",
        "support_ticket",
        "validated",
        5,
        1200,
    )
    assert row.persona_ids == [1, 2]
    assert row.tag_ids == [12, 10]
    assert row.step_ids == [1000, 1001]


def test_check_applies_defaults_to_empty_cells():
    check = check_csv(csv_bytes(["title", "kind", "severity"], ["Just a title", "", ""]), lookups())
    (row,) = check.rows
    assert (row.kind, row.source, row.status, row.severity, row.reach) == (
        "pain",
        "interview",
        "hypothesis",
        3,
        0,
    )


def test_check_lists_every_reason_of_every_bad_row_and_keeps_no_rows():
    data = csv_bytes(
        ["title", "kind", "source", "status", "severity", "reach", "personas", "tags", "journey", "step"],
        ["Fine row", "gain", "survey", "", "2", "10", "", "", "", ""],
        ["", "pains", "radio", "maybe", "7", "-3", "Nobody", "Web", "Nowhere", "Step"],
        ["Second fine row", "", "", "", "", "", "", "", "", ""],
        ["Ambiguous", "", "", "", "", "", "", "", "Twin", "Verify ID"],
        ["Journey only", "", "", "", "", "", "", "", "Open an account", ""],
    )
    check = check_csv(data, lookups())
    assert not check.ok
    assert check.rows == []
    assert [p.number for p in check.problems] == [3, 5, 6]
    reasons = check.problems[0].reasons
    assert len(reasons) == 9
    assert "The title is empty." in reasons
    assert any(r.startswith("Kind “pains” is not one of: Pain point") for r in reasons)
    assert any(r.startswith("Source “radio”") for r in reasons)
    assert any(r.startswith("Status “maybe”") for r in reasons)
    assert "Severity must be a whole number from 1 to 5 (got “7”)." in reasons
    assert any(r.startswith("Reach must be a whole number, 0 or more") for r in reasons)
    assert any(
        r.startswith("There is no persona “Nobody”. Existing: “First-time buyer Fiona”, “Saver Sam”")
        for r in reasons
    )
    assert "Several tags are called “Web”; write one of “Channel: Web”, “Product / service: Web”." in reasons
    assert any(r.startswith("There is no journey “Nowhere”") for r in reasons)
    assert check.problems[1].reasons == ["2 journeys are called “Twin”; rename one of them to pin by name."]
    assert "without a step" in check.problems[2].reasons[0]


def test_existing_names_are_quoted_so_names_with_commas_stay_readable():
    from journeys.insight_import import _names_hint

    assert _names_hint(["Leo, the student", "Maya"]) == " Existing: “Leo, the student”, “Maya”."


def test_check_reads_semicolons_and_a_byte_order_mark():
    data = csv_bytes(
        ["title", "reach", "personas"], ["Semi, colon", "12", "Saver Sam"], delimiter=";", bom=True
    )
    check = check_csv(data, lookups())
    assert check.ok and check.delimiter == ";"
    assert check.rows[0].title == "Semi, colon"
    assert check.rows[0].persona_ids == [1]


def test_check_reads_tabs_pasted_from_a_spreadsheet():
    check = check_csv(b"Title\tSeverity\nPasted\t4\n", lookups())
    assert check.ok and check.rows[0].severity == 4


def test_check_counts_rows_as_a_spreadsheet_does_and_skips_blank_lines():
    data = b'title,severity\n"Two\nlines",1\n\n,\nBad,0\n'
    check = check_csv(data, lookups())
    assert [p.number for p in check.problems] == [5]


def test_check_refuses_unknown_columns_and_a_missing_title_column():
    check = check_csv(b"title,severty\nx,3\n", lookups())
    assert check.file_errors and "Unknown column “severty”" in check.file_errors[0]
    check = check_csv(b"description\nx\n", lookups())
    assert "no “title” column" in check.file_errors[0]


def test_check_refuses_extra_values_in_a_row():
    check = check_csv(b"title,severity\nA, B,3\n", lookups())
    assert "3 values but the header has 2 columns" in check.problems[0].reasons[0]


def test_check_refuses_a_file_that_is_not_utf8():
    check = check_csv("title\nCafé crème\n".encode("latin-1"), lookups())
    assert "not UTF-8" in check.file_errors[0] and "line 2" in check.file_errors[0]


def test_check_refuses_empty_files():
    assert "empty" in check_csv(b"", lookups()).file_errors[0]
    assert "no rows" in check_csv(b"title\n", lookups()).file_errors[0]


def test_check_refuses_too_many_rows(monkeypatch):
    monkeypatch.setattr(insight_import, "MAX_ROWS", 3)
    check = check_csv(b"title\na\nb\nc\nd\n", lookups())
    assert check.file_errors == ["The file has more than 3 rows; import at most 3 at a time."]


def test_check_refuses_a_file_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(insight_import, "MAX_BYTES", 20)
    check = check_csv(b"title\n" + b"x" * 30, lookups())
    assert "the limit is" in check.file_errors[0]


# --- the import page ------------------------------------------------------------------------------------


@pytest.fixture
def named(workspace):
    make_journey(workspace, "Open an account", steps=("Sign up", "Verify ID"))
    Persona.objects.create(workspace=workspace, name="Saver Sam")
    Tag.objects.create(workspace=workspace, kind="channel", name="Web")


def upload(client, data: bytes, name="insights.csv"):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def good_file(n: int) -> bytes:
    return csv_bytes(
        ["title", "kind", "severity", "reach", "personas", "tags", "journey", "step"],
        *[
            [f"Insight {i}", "Pain point", "4", "100", "Saver Sam", "Web", "Open an account", "Verify ID"]
            for i in range(n)
        ],
    )


def test_import_creates_every_row_with_its_links(client_for, editor, named):
    client = client_for(editor)
    response = upload(client, good_file(3))
    assert response.status_code == 302
    assert response["Location"] == "/w/acme/insights/"
    assert Insight.objects.count() == 3
    assert Insight.personas.through.objects.count() == 3
    assert Insight.steps.through.objects.filter(step__name="Verify ID").count() == 3
    assert Activity.objects.filter(verb="imported").count() == 3
    assert "Imported 3 insights." in client.get(response["Location"]).content.decode()


def test_import_runs_a_fixed_number_of_queries(client_for, editor, named):
    client = client_for(editor)
    with CaptureQueriesContext(connection) as few:
        upload(client, good_file(2))
    with CaptureQueriesContext(connection) as many:
        upload(client, good_file(150))
    assert Insight.objects.count() == 152
    assert len(many) == len(few)


def test_import_with_one_bad_row_imports_nothing_and_lists_every_reason(client_for, editor, named):
    data = csv_bytes(
        ["title", "kind", "severity", "personas"],
        ["Good one", "gain", "2", "Saver Sam"],
        ["", "pains", "9", "Nobody"],
        ["Another good one", "", "", ""],
    )
    response = upload(client_for(editor), data)
    body = response.content.decode()
    assert response.status_code == 400
    assert Insight.objects.count() == 0
    assert "1 row cannot be imported" in body
    assert "Nothing was imported." in body
    assert "<strong>3</strong>" in body  # the row number, header = row 1
    for reason in ("The title is empty.", "Kind “pains”", "got “9”", "There is no persona “Nobody”"):
        assert reason in body
    # The content comes back, to fix and import again.
    assert "Another good one" in body.split('name="text"')[1]


def test_fixing_the_pasted_content_imports_it(client_for, editor, named):
    client = client_for(editor)
    response = client.post(IMPORT, {"text": "title;severity\nFixed;3\nAlso fixed;5\n"})
    assert response.status_code == 302
    assert sorted(Insight.objects.values_list("title", flat=True)) == ["Also fixed", "Fixed"]


def test_import_accepts_semicolons_and_a_byte_order_mark(client_for, editor, named):
    data = csv_bytes(
        ["Title", "Status", "Personas"], ["Excel, Europe", "Validated", "Saver Sam"], delimiter=";", bom=True
    )
    assert upload(client_for(editor), data).status_code == 302
    insight = Insight.objects.get()
    assert (insight.title, insight.status) == ("Excel, Europe", "validated")


def test_import_refuses_an_oversize_file(client_for, editor, named, monkeypatch):
    monkeypatch.setattr(insight_import, "MAX_BYTES", 100)
    response = upload(client_for(editor), good_file(10))
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()
    assert not Insight.objects.exists()


def test_import_without_a_file_or_text_says_so(client_for, editor):
    response = client_for(editor).post(IMPORT, {})
    assert response.status_code == 400
    assert "Choose a CSV file, or paste the rows." in response.content.decode()


def test_import_names_resolve_only_within_the_workspace(client_for, editor, other_workspace):
    Persona.objects.create(workspace=other_workspace, name="Their persona")
    response = upload(client_for(editor), csv_bytes(["title", "personas"], ["x", "Their persona"]))
    assert response.status_code == 400
    assert not Insight.objects.exists()


def test_viewer_cannot_import(client_for, viewer, named):
    client = client_for(viewer)
    assert client.get(IMPORT).status_code == 403
    assert upload(client, good_file(1)).status_code == 403
    assert not Insight.objects.exists()


def test_template_has_the_header_and_an_example_that_imports(client_for, editor, named):
    client = client_for(editor)
    response = client.get("/w/acme/insights/import/template.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    content = response.content
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == list(insight_import.COLUMNS)
    assert len(rows) == 2
    assert upload(client, content).status_code == 302
    insight = Insight.objects.get()
    assert insight.personas.get().name == "Saver Sam"
    assert insight.steps.get().name == "Sign up"
