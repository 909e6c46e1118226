"""The opportunity page's score history: the nightly snapshots, newest first, with their movement, and
the sparklines of priority and rank."""

import re
from datetime import date, timedelta

from opportunities import charts, selectors
from opportunities.models import ScoreSnapshot
from tests.test_backlog import count_queries, make_opportunity

FIRST_DAY = date(2027, 1, 4)


def page(opportunity, query: str = "") -> str:
    return f"/w/acme/opportunities/{opportunity.pk}/{query}"


def snapshot(opportunity, day: date, priority: float | None, rank: int | None) -> ScoreSnapshot:
    return ScoreSnapshot.objects.create(
        workspace_id=opportunity.workspace_id, opportunity=opportunity, date=day, priority=priority, rank=rank
    )


def history_rows(body: str) -> list[list[str]]:
    """The history table's rows as lists of cell texts (tags stripped, spaces collapsed)."""
    table = body.split('class="data compact history-table"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S) for row in rows]
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in row] for row in cells]


def test_history_lists_snapshots_newest_first_with_their_movement(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Instant ID check", priority=61.2, rank=2)
    snapshot(opportunity, FIRST_DAY, 40.0, 9)
    snapshot(opportunity, FIRST_DAY + timedelta(days=3), 55.5, 4)
    snapshot(opportunity, FIRST_DAY + timedelta(days=10), 52.0, 6)

    body = client_for(viewer).get(page(opportunity)).content.decode()

    assert 'id="score-history"' in body
    assert history_rows(body) == [
        ["14 Jan 2027", "52.0", "−3.5", "#6", "▼ 2 places down"],
        ["7 Jan 2027", "55.5", "+15.5", "#4", "▲ 5 places up"],
        ["4 Jan 2027", "40.0", "—", "#9", "first snapshot"],
    ]
    # both sparklines, each with one point per snapshot and a label for screen readers
    assert body.count('class="spark-line"') == 2
    assert 'aria-label="Priority from 4 Jan 2027: 40.0 to 14 Jan 2027: 52.0"' in body
    assert 'aria-label="Rank from 4 Jan 2027: #9 to 14 Jan 2027: #6"' in body


def test_history_says_when_it_starts_before_the_first_snapshot(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Brand new", priority=10, rank=1)

    body = client_for(viewer).get(page(opportunity)).content.decode()

    assert "History starts after the first nightly snapshot" in body
    assert "history-table" not in body and "spark-line" not in body


def test_history_shows_only_this_opportunitys_snapshots(client_for, viewer, workspace):
    mine = make_opportunity(workspace, "Mine", priority=5, rank=2)
    other = make_opportunity(workspace, "Other", priority=9, rank=1)
    snapshot(mine, FIRST_DAY, 5, 2)
    snapshot(other, FIRST_DAY, 77.7, 1)

    body = client_for(viewer).get(page(mine)).content.decode()

    assert [row[1] for row in history_rows(body)] == ["5.0"]
    assert "77.7" not in body


def test_history_is_paged_newest_first(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Long lived", priority=50, rank=1)
    total = selectors.HISTORY_PAGE_SIZE + 5
    for n in range(total):
        snapshot(opportunity, FIRST_DAY + timedelta(days=n), float(n), total - n)
    client = client_for(viewer)

    first = client.get(page(opportunity)).content.decode()
    assert len(history_rows(first)) == selectors.HISTORY_PAGE_SIZE
    assert history_rows(first)[-1][4] == "▲ 1 place up"  # compared with the snapshot on the next page
    assert f'href="/w/acme/opportunities/{opportunity.pk}/?history=2#score-history"' in first

    # htmx asks for the history card only
    older = client.get(
        page(opportunity, "?history=2"), headers={"HX-Request": "true", "HX-Target": "score-history"}
    )
    body = older.content.decode()
    assert body.lstrip().startswith('<section class="card score-history-card" id="score-history"')
    rows = history_rows(body)
    assert [row[1] for row in rows] == ["4.0", "3.0", "2.0", "1.0", "0.0"]
    assert rows[-1][4] == "first snapshot"
    assert "← Newer" in body and "Older →" not in body


def test_history_page_out_of_range_or_invalid_is_handled(client_for, viewer, workspace):
    opportunity = make_opportunity(workspace, "Short", priority=5, rank=1)
    snapshot(opportunity, FIRST_DAY, 5, 1)
    client = client_for(viewer)

    assert history_rows(client.get(page(opportunity, "?history=abc")).content.decode())[0][1] == "5.0"
    beyond = client.get(page(opportunity, "?history=9")).content.decode()
    assert history_rows(beyond) == [["No snapshots this far back."]] and "← Newest" in beyond


def test_history_query_count_does_not_grow_with_snapshots(
    client_for, viewer, workspace, django_assert_num_queries
):
    opportunity = make_opportunity(workspace, "Busy", priority=50, rank=1)
    snapshot(opportunity, FIRST_DAY, 1.0, 3)
    client = client_for(viewer)
    few, _ = count_queries(client, page(opportunity))
    for n in range(1, 90):
        snapshot(opportunity, FIRST_DAY + timedelta(days=n), float(n), 1 + n % 7)

    with django_assert_num_queries(few):
        client.get(page(opportunity))
    older, _ = count_queries(client, page(opportunity, "?history=3"))
    assert older == few + 1  # a page beyond the chart's snapshots is one more query


# --- the sparkline geometry ------------------------------------------------------------------------------


def test_sparkline_steps_through_time_up_to_today():
    line = charts.step_sparkline(
        [(date(2027, 1, 1), 10.0), (date(2027, 1, 3), 20.0)],
        until=date(2027, 1, 5),
        width=108,
        height=28,
        padding=4,
    )
    # 4 days over 100 units: the second point is half-way; the line holds its value until today
    assert line.path == "M4.0 24.0 H54.0 V4.0 H104.0"
    assert [(p.x, p.y) for p in line.points] == [(4.0, 24.0), (54.0, 4.0)]
    assert (line.top_text, line.bottom_text) == ("20.0", "10.0")


def test_rank_sparkline_puts_the_best_rank_at_the_top():
    line = charts.step_sparkline(
        [(date(2027, 1, 1), 9), (date(2027, 1, 2), 1)],
        until=date(2027, 1, 2),
        invert=True,
        text=lambda v: f"#{v:.0f}",
        width=108,
        height=28,
        padding=4,
    )
    assert [p.y for p in line.points] == [24.0, 4.0]
    assert (line.top_text, line.bottom_text) == ("#1", "#9")


def test_sparkline_breaks_where_a_snapshot_has_no_value_and_centres_a_flat_line():
    line = charts.step_sparkline(
        [(date(2027, 1, 1), 3), (date(2027, 1, 2), None), (date(2027, 1, 3), 3)],
        until=date(2027, 1, 3),
        width=108,
        height=28,
        padding=4,
    )
    assert line.path == "M4.0 14.0 H54.0 M104.0 14.0 H104.0"
    assert len(line.points) == 2
    assert not charts.step_sparkline([(date(2027, 1, 1), None)], until=date(2027, 1, 1))
