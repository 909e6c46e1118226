"""The scoring model over NumPy columns (opportunities/columns.py) gives exactly what the per-opportunity
evaluator gives: the same bits for every node, the same ranks. No database."""

import math
import random

import numpy as np
import pytest

from opportunities import columns, scoring

EVIDENCE_KEYS = tuple(scoring.EVIDENCE_INPUTS)


def random_inputs(spec: scoring.ModelSpec, size: int, rng: random.Random):
    """Criterion values (some missing, some outside the range, some NaN) and evidence inputs (some
    absent), as one dict per opportunity and as columns."""
    rows = []
    for _ in range(size):
        values = {}
        for criterion in spec.criteria:
            roll = rng.random()
            if roll < 0.15:
                continue  # missing
            if roll < 0.2:
                values[criterion.key] = math.nan
            elif roll < 0.3:  # stale: outside today's range
                values[criterion.key] = criterion.max_value + rng.uniform(0.1, 10)
            elif roll < 0.35:
                values[criterion.key] = criterion.min_value - rng.uniform(0.1, 10)
            elif roll < 0.45:
                values[criterion.key] = 0.0
            else:
                values[criterion.key] = rng.uniform(criterion.min_value, criterion.max_value)
        evidence = {key: rng.choice([0.0, rng.random(), rng.uniform(0, 5000)]) for key in EVIDENCE_KEYS}
        for key in list(evidence):
            if rng.random() < 0.3:
                del evidence[key]
        rows.append((values, evidence))
    criteria = {
        c.key: np.array([values.get(c.key, math.nan) for values, _ in rows], dtype=np.float64)
        for c in spec.criteria
    }
    evidence = {
        key: np.array([e.get(key, math.nan) for _, e in rows], dtype=np.float64) for key in EVIDENCE_KEYS
    }
    return rows, criteria, evidence


def assert_same_bits(expected: list[float], actual: np.ndarray) -> None:
    assert np.array(expected, dtype=np.float64).view(np.uint64).tolist() == actual.view(np.uint64).tolist()


def assert_columns_match_the_evaluator(spec: scoring.ModelSpec, size: int = 400, seed: int = 1) -> None:
    evaluator = scoring.compile_model(spec)
    rows, criteria, evidence = random_inputs(spec, size, random.Random(seed))
    expected = [evaluator.evaluate(values, ev) for values, ev in rows]
    actual = columns.evaluate(evaluator.program, criteria, evidence, size)
    assert list(actual) == list(expected[0])
    for key, values in actual.items():
        assert_same_bits([row[key] for row in expected], values)


@pytest.mark.parametrize("preset", sorted(scoring.PRESETS))
def test_every_preset_gives_the_same_bits_over_columns(preset):
    assert_columns_match_the_evaluator(scoring.PRESETS[preset])


def generated_model(rng: random.Random) -> scoring.ModelSpec:
    """A random valid model: 1–4 criteria, nodes of every operation, some wide, nested."""
    criteria = tuple(
        scoring.CriterionSpec(
            f"c{i}",
            f"C{i}",
            "customer",
            lo := rng.choice([0, 1, 0.5]),
            lo + rng.choice([1, 4, 9.5]),
            0.5,
            default_value=None if rng.random() < 0.5 else lo,
        )
        for i in range(rng.randint(1, 4))
    )
    nodes: list[scoring.NodeSpec] = []
    for n in range(rng.randint(1, 7)):
        operation = rng.choice(scoring.OPERATIONS)
        width = 2 if operation == scoring.QUOTIENT else rng.randint(1, 6)
        operands = []
        for _ in range(width):
            kind = rng.choice(["criterion", "normalised", "evidence", "node", "constant"])
            weight = (
                1.0 if operation in (scoring.PRODUCT, scoring.QUOTIENT) else rng.choice([0.0, 0.5, 2.0, 3.0])
            )
            if operation == scoring.SUM:
                weight = rng.choice([-1.0, 0.25, 1.0])
            if kind == "node" and nodes:
                operands.append(scoring.InputSpec("node", rng.choice(nodes).key, weight=weight))
            elif kind == "evidence":
                operands.append(scoring.InputSpec("evidence", rng.choice(EVIDENCE_KEYS), weight=weight))
            elif kind == "constant":
                operands.append(
                    scoring.InputSpec("constant", constant=rng.choice([0.0, 0.25, 1.0, 100.0]), weight=weight)
                )
            else:
                operands.append(
                    scoring.InputSpec(
                        "criterion", rng.choice(criteria).key, weight=weight, normalise=kind == "normalised"
                    )
                )
        nodes.append(scoring.NodeSpec(f"n{n}", f"N{n}", operation, tuple(operands)))
    return scoring.ModelSpec(criteria=criteria, nodes=tuple(nodes), priority=nodes[-1].key)


@pytest.mark.parametrize("seed", range(40))
def test_generated_models_give_the_same_bits_over_columns(seed):
    spec = generated_model(random.Random(seed))
    assert scoring.validate(spec) == []
    assert_columns_match_the_evaluator(spec, size=120, seed=seed)


def test_columns_without_a_criterion_or_an_evidence_input_use_the_defaults():
    spec = scoring.PRESETS["atlas"]
    evaluator = scoring.compile_model(spec)
    values = columns.evaluate(evaluator.program, {}, {}, 3)
    expected = evaluator.evaluate({}, {})
    for key, column in values.items():
        assert_same_bits([expected[key]] * 3, column)


def test_ranks_over_columns_are_the_engines_ranks():
    rng = random.Random(7)
    ids = np.array(rng.sample(range(1, 10_000), 500), dtype=np.int64)
    priorities = np.array(
        [rng.choice([math.nan, 0.0, -0.0, 1.5, 3.0, -2.0, math.inf, rng.random()]) for _ in ids],
        dtype=np.float64,
    )
    expected = scoring.rank(dict(zip(ids.tolist(), priorities.tolist(), strict=True)))
    assert columns.rank(ids, priorities).tolist() == [expected[pk] for pk in ids.tolist()]


def test_digest_follows_every_value_and_the_seed():
    a = np.array([1.0, 1.0, math.nan, 0.5, 2.0])
    b = np.array([2.0, 2.0, math.nan, 0.5, math.nan])
    digests = columns.digest([a, b], seed=1).tolist()
    assert digests[0] == digests[1]  # same values
    assert len(set(digests[1:])) == 4
    assert columns.digest([a, b], seed=1).tolist() == digests  # stable
    assert columns.digest([a, b], seed=2).tolist() != digests
    assert columns.digest([b, a], seed=1).tolist() != digests  # the order of the columns counts
    assert columns.digest([a, b], seed=1).dtype == np.int64
