"""KPI values by type (pure) and the latest sums per KPI (one query)."""

from datetime import date

import pytest

from metrics.calculations import kpi_value
from metrics.models import DataPoint, Kpi


def test_nps_is_percent_promoters_minus_percent_detractors():
    assert kpi_value("nps", {"promoters": 50, "passives": 30, "detractors": 20}) == pytest.approx(30.0)


def test_csat_is_share_of_fours_and_fives():
    sums = {"csat_1": 5, "csat_2": 5, "csat_3": 10, "csat_4": 40, "csat_5": 40}
    assert kpi_value("csat", sums) == pytest.approx(80.0)


def test_ces_is_respondent_weighted():
    assert kpi_value("ces", {"ces_weighted": 2 * 10 + 5 * 30, "respondents": 40}) == pytest.approx(4.25)


def test_ratio_and_other():
    assert kpi_value("ratio", {"numerator": 3, "denominator": 4}) == 0.75
    assert kpi_value("other", {"value": 30, "value_count": 3}, "avg") == 10
    assert kpi_value("other", {"value": 30, "value_count": 3}, "sum") == 30


@pytest.mark.parametrize("kpi_type", ["nps", "csat", "ces", "ratio", "other"])
def test_nothing_to_compute_from_is_none_not_an_error(kpi_type):
    assert kpi_value(kpi_type, {}) is None


def test_latest_sums_add_up_the_dimensions_of_the_latest_date(workspace):
    kpi = Kpi.objects.create(workspace=workspace, name="NPS", kpi_type="nps")
    other = Kpi.objects.create(workspace=workspace, name="Completion", kpi_type="ratio")
    DataPoint.objects.create(
        workspace=workspace, kpi=kpi, date=date(2026, 1, 1), promoters=1, passives=0, detractors=9
    )
    for region, promoters in (("North", 30), ("South", 20)):
        DataPoint.objects.create(
            workspace=workspace,
            kpi=kpi,
            date=date(2026, 2, 1),
            dimensions={"region": region},
            promoters=promoters,
            passives=25,
            detractors=0,
        )
    DataPoint.objects.create(
        workspace=workspace, kpi=other, date=date(2026, 3, 1), numerator=1, denominator=2
    )
    latest = DataPoint.objects.filter(workspace=workspace).latest_sums()
    assert latest[kpi.pk]["date"] == date(2026, 2, 1)
    assert latest[kpi.pk]["promoters"] == 50 and latest[kpi.pk]["passives"] == 50
    assert kpi_value("nps", latest[kpi.pk]) == pytest.approx(50.0)
    assert kpi_value("ratio", latest[other.pk]) == 0.5
