"""CSV and XLSX exports of the filtered backlog: the page's rows in the page's order, every score and
criterion, safe to open in a spreadsheet."""

import csv
import io

import openpyxl
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atlas.models import Tag
from opportunities.models import CriterionValue, Opportunity
from tests.test_backlog import build_backlog, make_opportunity, make_scoring_model

CSV = "/w/acme/backlog/export.csv"
XLSX = "/w/acme/backlog/export.xlsx"


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def backlog_with_scores(workspace, owner):
    criteria = make_scoring_model(workspace)
    tag = Tag.objects.create(workspace=workspace, kind="channel", name="Mobile app")
    first = make_opportunity(
        workspace, "Card freeze", priority=61.234, rank=1, previous_rank=5, cv=0.8, bv=0.4, owner=owner
    )
    first.tags.add(tag)
    CriterionValue.objects.create(
        workspace=workspace, opportunity=first, criterion=criteria["effort"], value=2
    )
    CriterionValue.objects.create(
        workspace=workspace, opportunity=first, criterion=criteria["customer_impact"], value=5
    )
    make_opportunity(workspace, "Mortgage calculator", priority=40, rank=2, previous_rank=1, cv=0.3, bv=0.9)
    make_opportunity(
        workspace, "Card delivery tracking", priority=20, rank=3, cv=0.5, bv=0.5, status="planned"
    )
    make_opportunity(workspace, "Closed one", priority=99, rank=None, status="rejected")
    return first


HEADER = [
    "Rank",
    "Movement",
    "Title",
    "Status",
    "Owner",
    "Priority",
    "Customer value",
    "Business value",
    "Value",
    "Effort",
    "Customer impact",
    "Revenue impact",
    "Effort",
    "Confidence",
    "Evidence (insights)",
    "Journeys",
    "Tags",
    "URL",
]


def test_csv_has_every_score_column_and_the_backlog_order(client_for, viewer, owner, workspace):
    first = backlog_with_scores(workspace, owner)
    rows = read_csv(client_for(viewer).get(CSV))
    assert rows[0] == HEADER
    assert [row[2] for row in rows[1:]] == ["Card freeze", "Mortgage calculator", "Card delivery tracking"]
    assert rows[1] == [
        "1",
        "4",
        "Card freeze",
        "New",
        "Olivia Owner",
        "61.23",
        "0.8",
        "0.4",
        "0.6",
        "2",
        "5",
        "",
        "2",
        "",
        "0",
        "",
        "Mobile app",
        f"http://testserver/w/acme/opportunities/{first.pk}/",
    ]
    assert rows[2][1] == "-1"  # moved down one place


def test_csv_keeps_the_filters_and_the_sort(client_for, viewer, owner, workspace):
    backlog_with_scores(workspace, owner)
    client = client_for(viewer)
    rows = read_csv(client.get(f"{CSV}?search=card"))
    assert [row[2] for row in rows[1:]] == ["Card freeze", "Card delivery tracking"]
    rows = read_csv(client.get(f"{CSV}?sort=business_value"))
    assert [row[2] for row in rows[1:]] == ["Mortgage calculator", "Card delivery tracking", "Card freeze"]
    rows = read_csv(client.get(f"{CSV}?status=planned"))
    assert [row[2] for row in rows[1:]] == ["Card delivery tracking"]


def test_csv_guards_against_formula_injection(client_for, viewer, workspace):
    for n, title in enumerate(['=HYPERLINK("http://evil")', "+1+1", "-2", "@SUM(A1)", "Plain"]):
        make_opportunity(workspace, title, priority=10 - n, rank=n + 1, previous_rank=n + 3)
    rows = read_csv(client_for(viewer).get(CSV))
    assert [row[2] for row in rows[1:]] == [
        '\'=HYPERLINK("http://evil")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "Plain",
    ]
    assert rows[1][1] == "2"  # numbers are not text: no quote


def test_xlsx_has_the_same_rows_as_numbers_and_no_formulas(client_for, viewer, owner, workspace):
    backlog_with_scores(workspace, owner)
    make_opportunity(workspace, "=1+2", priority=1, rank=4)
    response = client_for(viewer).get(f"{XLSX}?sort=priority")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="backlog-acme-' in response["Content-Disposition"]
    rows = read_xlsx(response)
    assert rows[0] == HEADER
    assert [row[2] for row in rows[1:]] == [
        "Card freeze",
        "Mortgage calculator",
        "Card delivery tracking",
        "'=1+2",
    ]
    assert rows[1][:10] == [1, 4, "Card freeze", "New", "Olivia Owner", 61.23, 0.8, 0.4, 0.6, 2]
    assert rows[1][10] == 5 and rows[1][11] is None
    assert rows[1][16] == "Mobile app"


def test_xlsx_keeps_the_filters(client_for, viewer, owner, workspace):
    backlog_with_scores(workspace, owner)
    rows = read_xlsx(client_for(viewer).get(f"{XLSX}?search=mortgage"))
    assert [row[2] for row in rows[1:]] == ["Mortgage calculator"]


def test_exports_list_journeys_and_evidence(client_for, viewer, owner, workspace):
    build_backlog(workspace, owner, 1)
    rows = read_csv(client_for(viewer).get(CSV))
    assert rows[1][14:16] == ["2", "Journey 0; Journey 1"]


def test_backlog_links_to_the_exports_with_its_filters(client_for, viewer, workspace):
    make_opportunity(workspace, "Card freeze", priority=9, rank=1)
    body = client_for(viewer).get("/w/acme/backlog/?search=card&sort=effort&page=1").content.decode()
    assert 'href="/w/acme/backlog/export.csv?search=card&amp;sort=effort"' in body
    assert 'href="/w/acme/backlog/export.xlsx?search=card&amp;sort=effort"' in body


def _export_queries(client, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200
    return len(ctx.captured_queries), len(content)


def test_export_query_counts_do_not_grow_with_rows(client_for, viewer, owner, workspace):
    build_backlog(workspace, owner, 3)
    client = client_for(viewer)
    csv_few, _ = _export_queries(client, CSV)
    xlsx_few, _ = _export_queries(client, XLSX)
    build_backlog(workspace, owner, 57, start=3)
    csv_many, _ = _export_queries(client, CSV)
    xlsx_many, _ = _export_queries(client, XLSX)
    assert (csv_many, xlsx_many) == (csv_few, xlsx_few)
    assert len(read_csv(client.get(CSV))) == 61


def test_outsider_gets_404_on_the_exports(client_for, outsider, workspace):
    make_opportunity(workspace, "Secret", priority=9, rank=1)
    client = client_for(outsider)
    assert client.get(CSV).status_code == 404
    assert client.get(XLSX).status_code == 404


def test_closed_opportunities_are_not_exported(client_for, viewer, owner, workspace):
    backlog_with_scores(workspace, owner)
    assert Opportunity.objects.filter(status="rejected").exists()
    rows = read_csv(client_for(viewer).get(CSV))
    assert "Closed one" not in [row[2] for row in rows]
