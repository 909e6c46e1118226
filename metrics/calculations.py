"""KPI values from data points, by KPI type (DESIGN.md "Metrics"). Pure: no ORM.

Each function takes the sums of one date's data points over all their dimensions and returns the KPI
value, or None when there is nothing to compute it from (no respondents, a zero denominator)."""

from collections.abc import Mapping


def nps(promoters: float, passives: float, detractors: float) -> float | None:
    """% promoters − % detractors, −100..100."""
    total = promoters + passives + detractors
    return None if total <= 0 else 100.0 * (promoters - detractors) / total


def csat(counts: tuple[float, float, float, float, float]) -> float | None:
    """% of answers that are 4 or 5 on the five-point scale."""
    total = sum(counts)
    return None if total <= 0 else 100.0 * (counts[3] + counts[4]) / total


def ces(weighted_score_sum: float, respondents: float) -> float | None:
    """Respondent-weighted mean score: Σ(score × respondents) / Σ respondents."""
    return None if respondents <= 0 else weighted_score_sum / respondents


def ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def kpi_value(kpi_type: str, sums: Mapping[str, float | None], aggregation: str = "avg") -> float | None:
    """The value of one date from the summed fields of its data points.

    `sums` holds Σ of each DataPoint field over the date's rows (None when no row had it), plus
    `ces_weighted` (Σ score × respondents), `value_count` (rows with a value) for OTHER averages."""

    def get(name: str) -> float:
        return sums.get(name) or 0.0

    if kpi_type == "nps":
        return nps(get("promoters"), get("passives"), get("detractors"))
    if kpi_type == "csat":
        return csat(tuple(get(f"csat_{i}") for i in range(1, 6)))
    if kpi_type == "ces":
        return ces(get("ces_weighted"), get("respondents"))
    if kpi_type == "ratio":
        return ratio(get("numerator"), get("denominator"))
    if kpi_type == "other":
        if sums.get("value") is None or not get("value_count"):
            return None
        return get("value") if aggregation == "sum" else get("value") / get("value_count")
    raise ValueError(f"Unknown KPI type {kpi_type!r}")
