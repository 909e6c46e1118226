"""The priority score (opportunities/scoring.py): presets computed by hand, the evidence helpers, model
validation, value checks, the breakdown and the ranking. Pure functions: no database."""

import json
import math

import pytest

from opportunities.scoring import (
    CONSTANT,
    CRITERION,
    EVIDENCE,
    EVIDENCE_INPUTS,
    NODE,
    OPERATIONS,
    PERSPECTIVES,
    PRESETS,
    PRODUCT,
    QUOTIENT,
    SOURCES,
    SUM,
    WEIGHTED_MEAN,
    CriterionSpec,
    InputSpec,
    ModelSpec,
    NodeSpec,
    check_value,
    compile_model,
    evidence_raw,
    kpi_gap,
    normalise_evidence,
    rank,
    validate,
)

approx = pytest.approx


def criterion(key: str, low: float = 1, high: float = 5, step: float = 1, **extra) -> CriterionSpec:
    return CriterionSpec(key, key.replace("_", " ").capitalize(), "customer", low, high, step, **extra)


def node(key: str, operation: str, *inputs: InputSpec) -> NodeSpec:
    return NodeSpec(key, key.replace("_", " ").capitalize(), operation, inputs)


def c(key: str, weight: float = 1.0, *, normalise: bool = False) -> InputSpec:
    return InputSpec(CRITERION, key, weight=weight, normalise=normalise)


def e(key: str, weight: float = 1.0) -> InputSpec:
    return InputSpec(EVIDENCE, key, weight=weight)


def n(key: str, weight: float = 1.0) -> InputSpec:
    return InputSpec(NODE, key, weight=weight)


def k(value: float, weight: float = 1.0) -> InputSpec:
    return InputSpec(CONSTANT, constant=value, weight=weight)


def one_of(errors: list[str], *fragments: str) -> bool:
    return any(all(fragment in error for fragment in fragments) for error in errors)


# --- The presets, computed by hand ------------------------------------------------------------------------


def test_presets_are_valid_and_have_the_backlog_nodes():
    assert set(PRESETS) == {"atlas", "value_effort", "rice", "ice", "wsjf"}
    for name, spec in PRESETS.items():
        assert validate(spec) == [], name
        keys = {node.key for node in spec.nodes}
        assert spec.priority == "priority" and "priority" in keys
        if name in ("atlas", "value_effort"):
            assert {"customer_value", "business_value", "value"} <= keys


def test_atlas_priority_by_hand():
    evaluator = compile_model(PRESETS["atlas"])
    values = {
        "customer_impact": 4,
        "customer_reach": 2,
        "revenue_impact": 5,
        "cost_to_serve": 3,
        "strategic_fit": 1,
        "effort": 3,
        "confidence": 0.8,
    }
    scores = evaluator.evaluate(values, {"evidence": 0.6, "okr_alignment": 1})
    # customer_criteria = (2 × (4−1)/4 + 1 × (2−1)/4) / 3 = (1.5 + 0.25) / 3 = 0.583333…
    assert scores["customer_criteria"] == approx(1.75 / 3)
    # customer_value = (0.6 + 0.583333…) / 2 = 0.591666…
    assert scores["customer_value"] == approx((0.6 + 1.75 / 3) / 2)
    # business_criteria = ((5−1)/4 + (3−1)/4 + (1−1)/4) / 3 = (1 + 0.5 + 0) / 3 = 0.5
    assert scores["business_criteria"] == approx(0.5)
    # business_headroom = 1 − 0.5 = 0.5; okr_uplift = 0.25 × 0.5 × 1 = 0.125
    assert scores["business_headroom"] == approx(0.5)
    assert scores["okr_uplift"] == approx(0.125)
    # business_value = 0.5 + 0.125 = 0.625
    assert scores["business_value"] == approx(0.625)
    # value = 0.5 × 0.591666… + 0.5 × 0.625 = 0.608333…
    assert scores["value"] == approx(0.6083333333)
    # confident_value = 100 × 0.608333… × 0.8 = 48.666…; effort_factor = 1 + (3 − 1)/4 = 1.5
    assert scores["confident_value"] == approx(48.6666666667)
    assert scores["effort_factor"] == approx(1.5)
    # priority = 48.666… / 1.5 = 32.444…
    assert scores["priority"] == approx(32.4444444444)


def test_atlas_okr_alignment_closes_a_quarter_of_the_business_headroom():
    evaluator = compile_model(PRESETS["atlas"])
    values = {"revenue_impact": 3, "cost_to_serve": 3, "strategic_fit": 3}
    # business criteria 0.5; aligned: 0.5 + (1 − 0.5) × 0.25 = 0.625; not aligned: 0.5
    assert evaluator.evaluate(values, {"okr_alignment": 1})["business_value"] == approx(0.625)
    assert evaluator.evaluate(values, {"okr_alignment": 0})["business_value"] == approx(0.5)


def test_value_effort_priority_by_hand():
    evaluator = compile_model(PRESETS["value_effort"])
    values = {
        "customer_impact": 80,
        "customer_reach": 40,
        "revenue_impact": 30,
        "strategic_fit": 70,
        "effort": 2,
    }
    scores = evaluator.evaluate(values, {})
    # customer_value = (80 + 40)/2 = 60; business_value = (30 + 70)/2 = 50
    # value = 0.5 × 60 + 0.5 × 50 = 55 (%); priority = 55 / 2 = 27.5
    assert scores["customer_value"] == approx(60)
    assert scores["business_value"] == approx(50)
    assert scores["value"] == approx(55)
    assert scores["priority"] == approx(27.5)


def test_rice_priority_by_hand():
    evaluator = compile_model(PRESETS["rice"])
    scores = evaluator.evaluate({"reach": 2000, "impact": 2, "confidence": 80, "effort": 4}, {})
    # expected_impact = 2000 × 2 × 80 % = 3200; priority = 3200 / 4 person-months = 800
    assert scores["expected_impact"] == approx(3200)
    assert scores["priority"] == approx(800)


def test_ice_priority_by_hand():
    scores = compile_model(PRESETS["ice"]).evaluate({"impact": 8, "confidence": 5, "ease": 6}, {})
    # 8 × 5 × 6 = 240
    assert scores["priority"] == approx(240)
    assert isinstance(scores["priority"], float)


def test_wsjf_priority_by_hand():
    evaluator = compile_model(PRESETS["wsjf"])
    values = {"user_business_value": 8, "time_criticality": 13, "risk_reduction": 3, "job_size": 5}
    scores = evaluator.evaluate(values, {})
    # cost_of_delay = 8 + 13 + 3 = 24; priority = 24 / 5 = 4.8
    assert scores["cost_of_delay"] == approx(24)
    assert scores["priority"] == approx(4.8)


# --- Missing values, evidence, clamping -------------------------------------------------------------------


def test_missing_criterion_values_use_defaults_or_midpoints_and_are_flagged_assumed():
    evaluator = compile_model(PRESETS["atlas"])
    scores = evaluator.evaluate({}, {})
    # Every 1–5 criterion at its midpoint 3 → normalised 0.5; no evidence, no OKR.
    # customer_value = (0 + 0.5)/2 = 0.25; business_value = 0.5; value = 0.375
    # confidence default 0.5 → 100 × 0.375 × 0.5 = 18.75; effort midpoint 3 → factor 1.5 → 12.5
    assert scores["customer_value"] == approx(0.25)
    assert scores["business_value"] == approx(0.5)
    assert scores["priority"] == approx(12.5)
    breakdown = evaluator.explain({"effort": None}, {})
    assert breakdown["priority"] == approx(12.5)
    assert set(breakdown["assumed"]) == {c.key for c in PRESETS["atlas"].criteria}
    criterion_inputs = [
        entry for node in breakdown["nodes"] for entry in node["inputs"] if entry["source"] == CRITERION
    ]
    assert criterion_inputs and all(entry["assumed"] is True for entry in criterion_inputs)
    confidence = next(entry for entry in criterion_inputs if entry["ref"] == "confidence")
    assert confidence["raw"] == 0.5


def test_a_partly_scored_opportunity_flags_only_the_missing_criteria():
    evaluator = compile_model(PRESETS["value_effort"])
    breakdown = evaluator.explain({"customer_impact": 80, "customer_reach": 40, "effort": 2}, {})
    assert breakdown["assumed"] == ["revenue_impact", "strategic_fit"]
    # business_value from the midpoints 50 and 50; value = (60 + 50)/2 = 55; priority 27.5
    assert breakdown["priority"] == approx(27.5)


def test_no_insights_means_no_evidence():
    assert evidence_raw([], touches_moment_of_truth=False) == 0
    assert evidence_raw([], touches_moment_of_truth=True) == 0
    scores = compile_model(PRESETS["atlas"]).evaluate({"customer_impact": 5, "customer_reach": 5}, {})
    # customer criteria 1.0, evidence absent → 0: customer_value = (0 + 1)/2
    assert scores["customer_value"] == approx(0.5)


def test_evidence_raw_by_hand():
    insights = [(5, "validated", 9), (4, "hypothesis", 0), (3, "rejected", 100)]
    # 5/5 × 1.0 × (1 + log10(10)) = 2; 4/5 × 0.5 × (1 + log10(1)) = 0.4; rejected counts 0 → 2.4
    assert evidence_raw(insights, touches_moment_of_truth=False) == approx(2.4)
    # × 1.5 once for a moment of truth
    assert evidence_raw(insights, touches_moment_of_truth=True) == approx(3.6)
    with pytest.raises(ValueError, match="status"):
        evidence_raw([(3, "maybe", 0)], touches_moment_of_truth=False)


def test_normalise_evidence_divides_by_the_largest():
    assert normalise_evidence({1: 3.6, 2: 1.8, 3: 0.0}) == {1: approx(1.0), 2: approx(0.5), 3: 0.0}


def test_normalise_evidence_all_zero_or_empty():
    assert normalise_evidence({1: 0.0, 2: 0.0}) == {1: 0.0, 2: 0.0}
    assert normalise_evidence({}) == {}


def test_kpi_gap_at_least_with_baseline():
    # shortfall 60 − 40 = 20 over the distance |60 − 20| = 40 → 0.5
    assert kpi_gap([(40, 60, 20, "gte")]) == approx(0.5)


def test_kpi_gap_at_most_with_baseline():
    # shortfall 5 − 2 = 3 over |2 − 8| = 6 → 0.5
    assert kpi_gap([(5, 2, 8, "lte")]) == approx(0.5)


def test_kpi_gap_without_baseline_scales_by_target_or_one():
    # shortfall 0.8 − 0.5 = 0.3 over max(0.8, 1) = 1 → 0.3
    assert kpi_gap([(0.5, 0.8, None, "gte")]) == approx(0.3)
    # shortfall 50 over max(100, 1) = 100 → 0.5; a baseline equal to the target counts as none
    assert kpi_gap([(50, 100, None, "gte")]) == approx(0.5)
    assert kpi_gap([(50, 100, 100, "gte")]) == approx(0.5)


def test_kpi_gap_beyond_target_is_zero_and_big_gaps_are_capped():
    assert kpi_gap([(70, 60, 20, "gte")]) == 0
    assert kpi_gap([(1, 2, 8, "lte")]) == 0
    # shortfall 60 over |60 − 50| = 10 → 6, capped at 1
    assert kpi_gap([(0, 60, 50, "gte")]) == 1


def test_kpi_gap_averages_and_skips_kpis_without_target_or_measurement():
    kpis = [(40, 60, 20, "gte"), (70, 60, 20, "gte"), (None, 60, 20, "gte"), (10, None, None, "lte")]
    # (0.5 + 0) / 2
    assert kpi_gap(kpis) == approx(0.25)
    assert kpi_gap([]) == 0
    with pytest.raises(ValueError, match="comparison"):
        kpi_gap([(1, 2, None, "eq")])


def test_stale_values_outside_the_range_are_clamped_and_flagged():
    evaluator = compile_model(PRESETS["ice"])
    breakdown = evaluator.explain({"impact": 12, "confidence": 0, "ease": 2}, {})
    # impact clamped to 10, confidence to 1: 10 × 1 × 2
    assert breakdown["priority"] == approx(20)
    assert breakdown["clamped"] == ["impact", "confidence"]
    impact = breakdown["nodes"][0]["inputs"][0]
    assert impact["raw"] == 10 and impact["clamped"] is True and impact["entered"] == 12


# --- Operations ------------------------------------------------------------------------------------------


def model(
    *nodes: NodeSpec, criteria: tuple[CriterionSpec, ...] = (), priority: str = "priority"
) -> ModelSpec:
    return ModelSpec(criteria=criteria, nodes=nodes, priority=priority)


def test_division_by_zero_gives_zero_and_is_flagged():
    spec = model(node("priority", QUOTIENT, e("insight_count"), e("journey_count")))
    evaluator = compile_model(spec)
    assert evaluator.evaluate({}, {"insight_count": 4, "journey_count": 0})["priority"] == 0
    breakdown = evaluator.explain({}, {"insight_count": 4})
    assert breakdown["priority"] == 0
    assert breakdown["nodes"][0]["division_by_zero"] is True
    breakdown = evaluator.explain({}, {"insight_count": 4, "journey_count": 2})
    assert breakdown["priority"] == approx(2)
    assert breakdown["nodes"][0]["division_by_zero"] is False


def test_wide_nodes_single_inputs_and_zero_weights():
    criteria = (criterion("a"), criterion("b"), criterion("c"), criterion("d"))
    spec = model(
        node("mean", WEIGHTED_MEAN, c("a", 1), c("b", 2), c("c", 3), c("d", 4)),
        node("sum", SUM, c("a"), c("b", -1), c("c", 0.5), c("d"), k(10)),
        node("product", PRODUCT, c("a"), c("b"), c("c"), c("d")),
        node("zero_mean", WEIGHTED_MEAN, c("a", 0), c("b", 0)),
        node("single_mean", WEIGHTED_MEAN, c("d", 3)),
        node("single_sum", SUM, c("d", -2)),
        node("single_product", PRODUCT, c("d")),
        node("mixed", SUM, c("d"), c("d", normalise=True)),
        node("priority", SUM, n("mean"), n("sum")),
        criteria=criteria,
    )
    scores = compile_model(spec).evaluate({"a": 1, "b": 2, "c": 3, "d": 4}, {})
    assert scores["mean"] == approx((1 + 4 + 9 + 16) / 10)  # 3
    assert scores["sum"] == approx(1 - 2 + 1.5 + 4 + 10)  # 14.5
    assert scores["product"] == approx(24)
    assert scores["zero_mean"] == 0
    assert scores["single_mean"] == approx(4)
    assert scores["single_sum"] == approx(-8)
    assert scores["single_product"] == approx(4)
    assert scores["mixed"] == approx(4 + 0.75)  # raw 4 + (4 − 1)/4
    assert scores["priority"] == approx(17.5)
    assert all(isinstance(value, float) for value in scores.values())


def test_nodes_listed_parents_first_are_evaluated_children_first():
    atlas = PRESETS["atlas"]
    reversed_atlas = ModelSpec(atlas.criteria, tuple(reversed(atlas.nodes)), atlas.priority)
    values, evidence = {"customer_impact": 5, "effort": 2}, {"evidence": 0.3}
    assert compile_model(reversed_atlas).evaluate(values, evidence) == approx(
        compile_model(atlas).evaluate(values, evidence)
    )
    order = compile_model(reversed_atlas).order
    assert order.index("customer_criteria") < order.index("customer_value") < order.index("priority")


def test_a_node_the_priority_does_not_use_is_still_evaluated():
    spec = model(
        node("priority", SUM, e("reach")),
        node("matrix_axis", PRODUCT, e("insight_count"), k(2)),
    )
    assert validate(spec) == []
    assert compile_model(spec).evaluate({}, {"reach": 5, "insight_count": 3}) == {
        "priority": 5,
        "matrix_axis": 6,
    }


# --- Validation ------------------------------------------------------------------------------------------


def test_validate_names_the_cycle():
    spec = model(
        node("priority", SUM, n("a")),
        node("a", SUM, n("b")),
        node("b", SUM, n("a")),
        node("c", SUM, n("c")),
    )
    errors = validate(spec)
    assert one_of(errors, "Cycle: a → b → a")
    assert one_of(errors, "Cycle: c → c")
    with pytest.raises(ValueError, match="Cycle"):
        compile_model(spec)


def test_validate_unknown_references():
    spec = model(
        node("priority", SUM, c("nope"), e("vibes"), n("ghost"), InputSpec("formula", "x")),
        criteria=(criterion("a"),),
    )
    errors = validate(spec)
    assert one_of(errors, "unknown criterion", "nope")
    assert one_of(errors, "unknown evidence input", "vibes")
    assert one_of(errors, "unknown computed score", "ghost")
    assert one_of(errors, "unknown source", "formula")


def test_validate_weights():
    spec = model(
        node("priority", WEIGHTED_MEAN, c("a", -1), c("b")),
        node("diff", SUM, c("a"), c("b", -1)),  # a negative weight in a sum is how a model subtracts
        node("scaled", PRODUCT, c("a", 2), c("b")),
        criteria=(criterion("a"), criterion("b", weight=-2)),
    )
    errors = validate(spec)
    assert one_of(errors, '"priority", input 1', "weights ≥ 0")
    assert one_of(errors, '"scaled", input 1', "weight 1")
    assert one_of(errors, 'Criterion "b"', "weight must not be negative")
    assert not one_of(errors, '"diff"')
    assert len(errors) == 3


def test_validate_criterion_ranges_steps_and_defaults():
    spec = model(
        node("priority", SUM, c("upside_down"), c("no_step"), c("bad_default"), c("bad_choice")),
        criteria=(
            criterion("upside_down", 5, 5),
            criterion("no_step", 1, 5, 0),
            criterion("bad_default", 1, 5, 1, default_value=7),
            criterion("bad_choice", 1, 5, 1, allowed_values=(1, 8)),
        ),
    )
    errors = validate(spec)
    assert one_of(errors, "upside_down", "minimum (5) must be below the maximum (5)")
    assert one_of(errors, "no_step", "step must be above 0")
    assert one_of(errors, "bad_default", "default value is invalid")
    assert one_of(errors, "bad_choice", "allowed value 8")


def test_validate_quotient_arity_empty_nodes_and_operations():
    spec = model(
        node("priority", QUOTIENT, e("reach"), e("reach"), e("reach")),
        node("lonely", QUOTIENT, e("reach")),
        node("empty", SUM),
        node("median", "median", e("reach")),
    )
    errors = validate(spec)
    assert one_of(errors, '"priority"', "exactly 2 inputs", "not 3")
    assert one_of(errors, '"lonely"', "exactly 2 inputs", "not 1")
    assert one_of(errors, '"empty" has no inputs')
    assert one_of(errors, '"median"', "unknown operation")


def test_validate_missing_priority_and_duplicates():
    errors = validate(model(node("value", SUM, e("reach")), priority="priority"))
    assert one_of(errors, 'priority computed score "priority" does not exist')
    errors = validate(model(node("value", SUM, e("reach")), priority=""))
    assert one_of(errors, "No computed score is chosen as the priority")
    spec = model(
        node("priority", SUM, c("a")),
        node("priority", SUM, c("a")),
        criteria=(criterion("a"), criterion("a")),
    )
    errors = validate(spec)
    assert one_of(errors, 'Duplicate criterion key "a"')
    assert one_of(errors, 'Duplicate computed score key "priority"')


def test_validate_constants_and_normalising_non_criteria():
    spec = model(node("priority", SUM, InputSpec(CONSTANT), InputSpec(EVIDENCE, "reach", normalise=True)))
    errors = validate(spec)
    assert one_of(errors, "constant input needs a finite number")
    assert one_of(errors, "only criterion inputs can be normalised")


# --- Checking values -------------------------------------------------------------------------------------


def test_check_value_on_the_step_grid():
    confidence = next(c for c in PRESETS["atlas"].criteria if c.key == "confidence")
    assert check_value(confidence, 0.7) is None  # (0.7 − 0.5)/0.1 = 1.9999999999999996: on the grid
    assert check_value(confidence, 1.0) is None
    assert check_value(confidence, 0.75) == (
        "Confidence goes in steps of 0.1 from 0.5; 0.75 is not one (nearest: 0.7 or 0.8)."
    )
    assert check_value(confidence, 1.2) == "Confidence must be between 0.5 and 1; 1.2 is not."
    assert check_value(confidence, math.nan) == "Confidence must be a number."
    assert check_value(confidence, True) == "Confidence must be a number."  # type: ignore[arg-type]


def test_check_value_against_allowed_values():
    impact = next(c for c in PRESETS["rice"].criteria if c.key == "impact")
    assert [check_value(impact, value) for value in (0.25, 0.5, 1, 2, 3)] == [None] * 5
    assert check_value(impact, 1.5) == "Impact must be one of 0.25, 0.5, 1, 2, 3; 1.5 is not."
    job_size = next(c for c in PRESETS["wsjf"].criteria if c.key == "job_size")
    assert check_value(job_size, 13) is None
    assert "must be one of 1, 2, 3, 5, 8, 13, 20" in check_value(job_size, 4)


# --- The breakdown ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_explain_is_json_and_agrees_with_evaluate(preset):
    evaluator = compile_model(PRESETS[preset])
    values = {criterion.key: criterion.max_value for criterion in PRESETS[preset].criteria[::2]}
    evidence = {"evidence": 0.4, "okr_alignment": 1}
    scores = evaluator.evaluate(values, evidence)
    breakdown = json.loads(json.dumps(evaluator.explain(values, evidence)))
    assert breakdown["priority"] == scores["priority"]
    assert breakdown["priority_node"] == "priority"
    assert [entry["key"] for entry in breakdown["nodes"]] == list(evaluator.order)
    assert {entry["key"]: entry["value"] for entry in breakdown["nodes"]} == scores
    for entry in breakdown["nodes"]:
        if entry["operation"] == WEIGHTED_MEAN and entry["value"]:
            assert sum(operand["share"] for operand in entry["inputs"]) == approx(1, abs=1e-3)
        for operand in entry["inputs"]:
            if operand["source"] == NODE:
                assert operand["raw"] == scores[operand["ref"]]


def test_explain_describes_each_input():
    evaluator = compile_model(PRESETS["atlas"])
    breakdown = evaluator.explain({"customer_impact": 4, "customer_reach": 2}, {"evidence": 0.6})
    customer_criteria, customer_value = breakdown["nodes"][:2]
    assert customer_criteria["inputs"][0] == {
        "source": "criterion",
        "ref": "customer_impact",
        "name": "Customer impact",
        "raw": 4,
        "normalised": 0.75,
        "assumed": False,
        "weight": 2.0,
        "share": approx(1.5 / 1.75, abs=1e-4),  # 2 × 0.75 of 2 × 0.75 + 1 × 0.25
    }
    assert customer_value["inputs"][0] == {
        "source": "evidence",
        "ref": "evidence",
        "name": "Evidence strength",
        "raw": 0.6,
        "weight": 1.0,
        "share": approx(0.6 / (0.6 + 1.75 / 3), abs=1e-4),
    }
    headroom = next(entry for entry in breakdown["nodes"] if entry["key"] == "business_headroom")
    assert headroom["inputs"][0] == {"source": "constant", "raw": 1.0, "weight": 1.0}
    assert "description" not in json.dumps(breakdown)


# --- Ranking ---------------------------------------------------------------------------------------------


def test_rank_highest_first_ties_by_id_and_missing_last():
    assert rank({5: 10.0, 2: 30.0, 9: 10.0, 4: None, 1: None, 7: math.nan, 3: 0.0}) == {
        2: 1,
        5: 2,
        9: 3,
        3: 4,
        1: 5,
        4: 6,
        7: 7,
    }


def test_equal_opportunities_get_equal_priorities_and_rank_by_id():
    evaluator = compile_model(PRESETS["atlas"])
    priorities = {
        opportunity_id: evaluator.evaluate({"effort": 2, "customer_impact": 4}, {"evidence": 0.5})["priority"]
        for opportunity_id in (30, 10, 20)
    }
    assert len(set(priorities.values())) == 1
    assert rank(priorities) == {10: 1, 20: 2, 30: 3}


def test_rank_one_opportunity_and_none():
    assert rank({42: 3.5}) == {42: 1}
    assert rank({42: None}) == {42: 1}
    assert rank({}) == {}


# --- In step with the models -----------------------------------------------------------------------------


def test_vocabulary_matches_the_models():
    from opportunities.models import ComputedScore, ComputedScoreInput, EvidenceInput, Perspective

    assert set(EVIDENCE_INPUTS) == set(EvidenceInput.values)
    assert {choice.value: choice.label for choice in EvidenceInput} == EVIDENCE_INPUTS
    assert set(OPERATIONS) == set(ComputedScore.Operation.values)
    assert set(SOURCES) == set(ComputedScoreInput.Source.values)
    assert set(PERSPECTIVES) == set(Perspective.values)
