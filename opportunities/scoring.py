"""The priority score: a workspace's scoring model as plain data, compiled once, evaluated per opportunity.

Pure Python, standard library only, so it is tested without a database and the recompute task can call
it for every open opportunity of a workspace. The task turns the workspace's rows (`Criterion`,
`ComputedScore`, `ComputedScoreInput`) into a `ModelSpec`, calls `compile_model()` once and then
`Evaluator.evaluate()` / `Evaluator.explain()` per opportunity. This docstring is the reference for what
the UI ("Why this rank?") and the API explain; keep them in step with it.

Criterion inputs
    The opportunity's value for the criterion (what an editor typed).
    - Missing (absent, None or NaN): the criterion's `default_value` if it has one, else the midpoint of
      min..max. The breakdown marks such an input `assumed: true` and lists the criterion key in
      `assumed`; a missing value is never an error and never silently 0.
    - A stored value outside the criterion's current min..max (an admin narrowed the range after it was
      entered) is clamped to the range; the breakdown marks it `clamped: true`, keeps the stored value as
      `entered` and lists the key in `clamped`. Values that come through forms or the API are checked with
      `check_value()` first, so this only happens to stale values.
    - `normalise=True` rescales the value to 0..1 over the criterion's range: (v − min) / (max − min), so
      criteria on different scales combine with each other and with the 0..1 evidence inputs.
    - The criterion's own `weight` is the weight suggested when it is added to a computed score; only the
      input's weight enters the computation (so one criterion can carry different weights in different
      nodes, and the weight shown in the breakdown is the one that was used).

Evidence inputs (computed from the atlas by the recompute task, never typed in)
    The value in the evidence dict, 0 when absent: `evidence` (see `evidence_raw()` and
    `normalise_evidence()`, 0..1), `reach` (Σ reach of linked insights), `insight_count`,
    `journey_count`, `okr_alignment` (1 if the opportunity moves a key result of an active cycle, else 0)
    and `kpi_gap` (see `kpi_gap()`, 0..1).

Constant inputs
    The constant itself.

Operations (x = an input's value, normalised if asked; w = the input's weight)
    weighted_mean  Σ wᵢ·xᵢ / Σ wᵢ, and 0 when Σ wᵢ = 0. Weights must be ≥ 0. The breakdown gives each
                   input's `share` of the value, wᵢ·xᵢ / Σ wⱼ·xⱼ rounded to 4 decimals (the shares add up
                   to 1 give or take the rounding, all 0 when the value is 0; an input contributes
                   share × value).
    sum            Σ wᵢ·xᵢ. Weights may be negative, which is how a model subtracts (1 − x is
                   sum(constant 1, −1 × x)).
    product        Π xᵢ. Weights must be 1 (a scale factor is a constant input).
    quotient       x₁ / x₂ with exactly two inputs, numerator then denominator; weights must be 1. A zero
                   denominator gives 0 and the node is marked `division_by_zero: true` (every quotient
                   node carries the flag).
Every computed score is evaluated, children before parents; one of them is the priority, and open
opportunities are ranked by it (`rank()`: highest first, ties and missing priorities by id).

The breakdown (`Evaluator.explain()`, stored per opportunity, so keys and names only, no descriptions)::

    {"priority": 61.2, "priority_node": "priority", "assumed": ["effort"], "clamped": [],
     "nodes": [{"key": "value", "name": "Value", "operation": "weighted_mean", "value": 0.61,
                "inputs": [{"source": "node", "ref": "customer_value", "name": "Customer value",
                            "raw": 0.7, "weight": 0.5, "share": 0.5738}, ...]},
               ...]}

An input's `raw` is its value before normalisation; `normalised` is present when the input is normalised;
criterion inputs always carry `assumed`; constant inputs have no `ref` or `name`.

Speed (measured by hand with `python -c`, atlas preset, 100,000 synthetic opportunities, Python 3.12 on
the shared 2-vCPU development container): evaluate() ≈ 0.45 s of CPU (3.7 µs per opportunity; 0.45–0.9 s
wall clock while other work ran), explain() ≈ 35 µs per opportunity, 3.5 s per 100,000, roughly twice
that if all 100,000 breakdowns are kept alive at once (garbage-collector passes), so write them in
batches. That is why the model is compiled into flat tuples evaluated with list indexing (see
`Evaluator`) instead of walking the specs per opportunity, which measured 3–4× slower. The recompute
runs the same compiled program over NumPy columns instead (`Evaluator.program`, opportunities/columns.py):
≈ 15 ms for 85,000 opportunities, the same bits.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from math import prod, sumprod
from operator import itemgetter
from typing import Any

# Input sources, operations, perspectives and evidence inputs mirror the choices in opportunities/models.py
# (tests/test_scoring.py checks that they stay equal).
CRITERION = "criterion"
EVIDENCE = "evidence"
NODE = "node"
CONSTANT = "constant"
SOURCES = (CRITERION, EVIDENCE, NODE, CONSTANT)

WEIGHTED_MEAN = "weighted_mean"
SUM = "sum"
PRODUCT = "product"
QUOTIENT = "quotient"
OPERATIONS = (WEIGHTED_MEAN, SUM, PRODUCT, QUOTIENT)

PERSPECTIVES = ("customer", "business", "effort", "other")

EVIDENCE_INPUTS: dict[str, str] = {
    "evidence": "Evidence strength",
    "reach": "Reach",
    "insight_count": "Insight count",
    "journey_count": "Journeys touched",
    "okr_alignment": "OKR alignment",
    "kpi_gap": "KPI gap",
}

INSIGHT_STATUS_FACTORS = {"validated": 1.0, "hypothesis": 0.5, "rejected": 0.0}
MOMENT_OF_TRUTH_FACTOR = 1.5
TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class CriterionSpec:
    """An input score editors give each opportunity. `allowed_values`, when set, is the complete set of
    valid values (RICE impact 0.25/0.5/1/2/3, WSJF's 1, 2, 3, 5, 8, 13, 20), which a step grid cannot
    express."""

    key: str
    name: str
    perspective: str
    min_value: float
    max_value: float
    step: float
    unit: str = ""
    weight: float = 1.0
    default_value: float | None = None
    description: str = ""
    allowed_values: tuple[float, ...] | None = None

    @property
    def assumed_value(self) -> float:
        """The value used when an opportunity has none: the default, else the midpoint of the range."""
        if self.default_value is not None:
            return float(self.default_value)
        return (self.min_value + self.max_value) / 2


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One operand of a computed score. `ref` is the criterion key, the evidence key or the node key;
    `constant` the value of a constant input."""

    source: str
    ref: str | None = None
    constant: float | None = None
    weight: float = 1.0
    normalise: bool = False


@dataclass(frozen=True, slots=True)
class NodeSpec:
    key: str
    name: str
    operation: str
    inputs: tuple[InputSpec, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    criteria: tuple[CriterionSpec, ...]
    nodes: tuple[NodeSpec, ...]
    priority: str


# --- Checking values and models ------------------------------------------------------------------------


def _fmt(number: float) -> str:
    number = float(number)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.10g}"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_value(criterion: CriterionSpec, value: float) -> str | None:
    """Why `value` is not a valid score on `criterion`, or None when it is. For forms and the API."""
    name = criterion.name or criterion.key
    if not _is_number(value):
        return f"{name} must be a number."
    low, high = criterion.min_value, criterion.max_value
    if value < low - TOLERANCE or value > high + TOLERANCE:
        return f"{name} must be between {_fmt(low)} and {_fmt(high)}; {_fmt(value)} is not."
    if criterion.allowed_values is not None:
        if not any(abs(value - allowed) <= TOLERANCE for allowed in criterion.allowed_values):
            choices = ", ".join(_fmt(allowed) for allowed in criterion.allowed_values)
            return f"{name} must be one of {choices}; {_fmt(value)} is not."
        return None
    steps = (value - low) / criterion.step
    if abs(steps - round(steps)) > TOLERANCE:
        below = low + math.floor(steps) * criterion.step
        above = min(below + criterion.step, high)
        return (
            f"{name} goes in steps of {_fmt(criterion.step)} from {_fmt(low)}; {_fmt(value)} is not one "
            f"(nearest: {_fmt(round(below, 9))} or {_fmt(round(above, 9))})."
        )
    return None


def _node_graph(spec: ModelSpec) -> dict[str, list[str]]:
    """Node key → keys of the known nodes it uses, in input order."""
    keys = {node.key for node in spec.nodes}
    return {
        node.key: [str(i.ref) for i in node.inputs if i.source == NODE and i.ref in keys]
        for node in spec.nodes
    }


def _order(children: dict[str, list[str]]) -> tuple[list[str], list[list[str]]]:
    """Children-before-parents order of the nodes (depth first, in spec order), and the cycles found,
    each as a closed path [a, b, …, a]. Iterative, so a deep model cannot hit the recursion limit."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    order: list[str] = []
    cycles: list[list[str]] = []
    for root in children:
        if root in state:
            continue
        state[root] = 1
        path = [root]
        pending = [iter(children[root])]
        while pending:
            for child in pending[-1]:
                seen = state.get(child)
                if seen is None:
                    state[child] = 1
                    path.append(child)
                    pending.append(iter(children[child]))
                    break
                if seen == 1:
                    cycles.append([*path[path.index(child) :], child])
            else:
                pending.pop()
                done = path.pop()
                state[done] = 2
                order.append(done)
    return order, cycles


def _validate_criterion(criterion: CriterionSpec) -> list[str]:
    label = f'Criterion "{criterion.key}"'
    errors = []
    if criterion.perspective not in PERSPECTIVES:
        errors.append(
            f"{label}: unknown perspective {criterion.perspective!r} (use {', '.join(PERSPECTIVES)})."
        )
    numbers = {"min": criterion.min_value, "max": criterion.max_value, "step": criterion.step}
    numbers["weight"] = criterion.weight
    bad = [field for field, number in numbers.items() if not _is_number(number)]
    if bad:
        return [*errors, f"{label}: {', '.join(bad)} must be finite numbers."]
    if criterion.min_value >= criterion.max_value:
        errors.append(
            f"{label}: the minimum ({_fmt(criterion.min_value)}) must be below the maximum "
            f"({_fmt(criterion.max_value)})."
        )
    if criterion.step <= 0:
        errors.append(f"{label}: the step must be above 0, not {_fmt(criterion.step)}.")
    if criterion.weight < 0:
        errors.append(f"{label}: the weight must not be negative, not {_fmt(criterion.weight)}.")
    if errors:
        return errors
    if criterion.allowed_values is not None:
        if not criterion.allowed_values:
            errors.append(f"{label}: the list of allowed values is empty.")
        grid = replace(criterion, allowed_values=None)
        for allowed in criterion.allowed_values:
            problem = check_value(grid, allowed)
            if problem:
                errors.append(f"{label}: allowed value {_fmt(allowed)} is invalid: {problem}")
    if criterion.default_value is not None:
        problem = check_value(criterion, criterion.default_value)
        if problem:
            errors.append(f"{label}: the default value is invalid: {problem}")
    return errors


def _validate_input(
    node: NodeSpec, position: int, operand: InputSpec, criteria: set, nodes: set
) -> list[str]:
    label = f'Computed score "{node.key}", input {position}'
    errors = []
    if not _is_number(operand.weight):
        errors.append(f"{label}: the weight must be a finite number.")
    elif node.operation == WEIGHTED_MEAN and operand.weight < 0:
        errors.append(f"{label}: a weighted mean needs weights ≥ 0, not {_fmt(operand.weight)}.")
    elif node.operation in (PRODUCT, QUOTIENT) and operand.weight != 1:
        errors.append(
            f"{label}: {node.operation} inputs take weight 1, not {_fmt(operand.weight)} "
            "(scale with a constant input instead)."
        )
    if operand.source == CRITERION:
        if operand.ref not in criteria:
            errors.append(f'{label}: unknown criterion "{operand.ref}".')
    elif operand.source == EVIDENCE:
        if operand.ref not in EVIDENCE_INPUTS:
            errors.append(
                f'{label}: unknown evidence input "{operand.ref}" (use {", ".join(EVIDENCE_INPUTS)}).'
            )
    elif operand.source == NODE:
        if operand.ref not in nodes:
            errors.append(f'{label}: unknown computed score "{operand.ref}".')
    elif operand.source == CONSTANT:
        if not _is_number(operand.constant):
            errors.append(f"{label}: a constant input needs a finite number.")
    else:
        errors.append(f"{label}: unknown source {operand.source!r} (use {', '.join(SOURCES)}).")
    if operand.normalise and operand.source != CRITERION:
        errors.append(f"{label}: only criterion inputs can be normalised.")
    return errors


def validate(spec: ModelSpec) -> list[str]:
    """Everything wrong with a scoring model, as sentences for the admin; an empty list means valid.
    A computed score that the priority does not use is fine (the matrix can still plot it)."""
    errors: list[str] = []
    criterion_keys = [criterion.key for criterion in spec.criteria]
    node_keys = [node.key for node in spec.nodes]
    for kind, keys in (("criterion", criterion_keys), ("computed score", node_keys)):
        for key in sorted({key for key in keys if keys.count(key) > 1}):
            errors.append(f'Duplicate {kind} key "{key}".')
    for criterion in spec.criteria:
        errors.extend(_validate_criterion(criterion))
    criteria, nodes = set(criterion_keys), set(node_keys)
    for node in spec.nodes:
        if node.operation not in OPERATIONS:
            errors.append(
                f'Computed score "{node.key}": unknown operation {node.operation!r} '
                f"(use {', '.join(OPERATIONS)})."
            )
        if not node.inputs:
            errors.append(f'Computed score "{node.key}" has no inputs.')
        elif node.operation == QUOTIENT and len(node.inputs) != 2:
            errors.append(
                f'Computed score "{node.key}": a quotient takes exactly 2 inputs (numerator, '
                f"denominator), not {len(node.inputs)}."
            )
        for position, operand in enumerate(node.inputs, start=1):
            errors.extend(_validate_input(node, position, operand, criteria, nodes))
    seen_cycles: set[frozenset[str]] = set()
    for cycle in _order(_node_graph(spec))[1]:
        if frozenset(cycle) not in seen_cycles:
            seen_cycles.add(frozenset(cycle))
            errors.append(f"Cycle: {' → '.join(cycle)}.")
    if not spec.priority:
        errors.append("No computed score is chosen as the priority.")
    elif spec.priority not in nodes:
        errors.append(f'The priority computed score "{spec.priority}" does not exist.')
    return errors


# --- Compiling and evaluating -------------------------------------------------------------------------


_LINEAR, _PRODUCT, _QUOTIENT, _WIDE_LINEAR, _WIDE_PRODUCT = range(5)  # how the plan evaluates a node


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled model as plain data, for evaluating it over another representation than one dict per
    opportunity (the recompute evaluates columns of 100,000 opportunities with NumPy:
    opportunities/columns.py). Evaluating it step by step as `Evaluator._run` does gives its results.

    `template`: the initial slots (0.0, 1.0, the constants; 0.0 elsewhere). `criteria`: (key, slot, min,
    max, max − min, value when missing, slot of the normalised value or 0). `evidence`: (key, slot).
    `steps`, children before parents: (operation, target slot, operand slots, weights, divisor), where
    the operation is `linear` ((w₁·x₁ + w₂·x₂ + w₃·x₃) / divisor, always three operands: unused ones are
    slot 0 with weight 0), `product` (x₁·x₂·x₃·1.0, unused operands are slot 1), `quotient` (x₁ / x₂, 0
    when x₂ is 0), `wide_linear` (math.sumprod(weights, xs) / divisor) or `wide_product`
    (math.prod(xs, start=1.0)). `outputs`: (node key, slot) in evaluation order."""

    template: tuple[float, ...]
    criteria: tuple[tuple[str, int, float, float, float, float, int], ...]
    evidence: tuple[tuple[str, int], ...]
    steps: tuple[tuple[str, int, tuple[int, ...], tuple[float, ...], float], ...]
    outputs: tuple[tuple[str, int], ...]


def _slot_key(operand: InputSpec) -> tuple[str, object]:
    if operand.source == CONSTANT:
        return CONSTANT, float(operand.constant or 0.0)
    if operand.source == CRITERION and operand.normalise:
        return "normalised", operand.ref
    return operand.source, operand.ref


class Evaluator:
    """A validated scoring model compiled into a flat plan of tuples, evaluated with list indexing and
    float arithmetic only.

    One opportunity's values live in one list of slots: 0.0 and 1.0; the constants, criteria (as
    resolved, and normalised where an input asks for it) and evidence inputs that the nodes use; then the
    computed scores in evaluation order (children before parents). A node of up to three inputs
    is one expression with its operands' slot numbers and weights inlined in the plan (unused operands
    point at the 0.0 slot of a sum or the 1.0 slot of a product): on the atlas preset that is about
    twice as fast as `math.sumprod`/`math.prod` over `itemgetter`s, and 3–4× faster than walking
    InputSpecs with a dict of values. Wider nodes use `sumprod`/`prod`."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.priority = spec.priority
        criteria = {criterion.key: criterion for criterion in spec.criteria}
        nodes = {node.key: node for node in spec.nodes}
        self.order: tuple[str, ...] = tuple(_order(_node_graph(spec))[0])

        # Slots are keyed by (source, ref), a normalised criterion by ("normalised", key), a constant by
        # (CONSTANT, value); every criterion input also gets its raw slot, which resolving writes.
        template = [0.0, 1.0]
        slot_by_key: dict[tuple[str, object], int] = {}
        inputs = [operand for key in self.order for operand in nodes[key].inputs]
        for operand in inputs:
            slot_keys = [_slot_key(operand)]
            if operand.source == CRITERION:
                slot_keys.append((CRITERION, operand.ref))
            for slot_key in slot_keys:
                if slot_key not in slot_by_key and operand.source != NODE:
                    slot_by_key[slot_key] = len(template)
                    template.append(float(operand.constant or 0.0) if operand.source == CONSTANT else 0.0)
        self._first_node = len(template)
        for key in self.order:
            slot_by_key[NODE, key] = len(template)
            template.append(0.0)
        self._template = template
        self._priority_slot = slot_by_key[NODE, self.priority]
        self._outputs = tuple((key, slot_by_key[NODE, key]) for key in self.order)

        plan = []
        steps = []
        explain_plan = []
        for key in self.order:
            node = nodes[key]
            target = slot_by_key[NODE, key]
            slots = tuple(slot_by_key[_slot_key(operand)] for operand in node.inputs)
            weights = tuple(float(operand.weight) for operand in node.inputs)
            total = sum(weights)
            # Σw divides a weighted mean's sum (1 when Σw = 0: every term is 0 then, and so is the mean).
            divisor = (total or 1.0) if node.operation == WEIGHTED_MEAN else 1.0
            if node.operation == QUOTIENT:
                plan.append((_QUOTIENT, target, slots[0], slots[1], 0, 1.0, 1.0, 0.0, 1.0))
                steps.append(("quotient", target, slots[:2], (1.0, 1.0), 1.0))
            elif node.operation == PRODUCT and len(slots) <= 3:
                a, b, c = (*slots, 1, 1)[:3]
                plan.append((_PRODUCT, target, a, b, c, 1.0, 1.0, 1.0, 1.0))
                steps.append(("product", target, (a, b, c), (1.0, 1.0, 1.0), 1.0))
            elif node.operation == PRODUCT:
                plan.append((_WIDE_PRODUCT, target, itemgetter(*slots), 0, 0, 1.0, 1.0, 1.0, 1.0))
                steps.append(("wide_product", target, slots, weights, 1.0))
            elif len(slots) <= 3:
                a, b, c = (*slots, 0, 0)[:3]
                wa, wb, wc = (*weights, 0.0, 0.0)[:3]
                plan.append((_LINEAR, target, a, b, c, wa, wb, wc, divisor))
                steps.append(("linear", target, (a, b, c), (wa, wb, wc), divisor))
            else:
                plan.append((_WIDE_LINEAR, target, itemgetter(*slots), weights, 0, 1.0, 1.0, 1.0, divisor))
                steps.append(("wide_linear", target, slots, weights, divisor))
            described = []
            for operand, slot, weight in zip(node.inputs, slots, weights, strict=True):
                if operand.source == CONSTANT:
                    fixed: dict[str, Any] = {"source": CONSTANT}
                elif operand.source == CRITERION:
                    fixed = {"source": CRITERION, "ref": operand.ref, "name": criteria[operand.ref].name}
                elif operand.source == EVIDENCE:
                    fixed = {"source": EVIDENCE, "ref": operand.ref, "name": EVIDENCE_INPUTS[operand.ref]}
                else:
                    fixed = {"source": NODE, "ref": operand.ref, "name": nodes[operand.ref].name}
                criterion = operand.ref if operand.source == CRITERION else None
                raw_slot = slot_by_key[CRITERION, criterion] if criterion is not None else slot
                described.append((fixed, criterion, raw_slot, slot, weight))
            explain_plan.append(
                (
                    {"key": key, "name": node.name, "operation": node.operation},
                    node.operation,
                    tuple(described),
                    (*weights, 0.0),  # padded with the 0.0 slot, so the getter returns a tuple even
                    itemgetter(*slots, 0),  # for one input
                )
            )
        self._plan = tuple(plan)
        self._explain_plan = tuple(explain_plan)
        resolving = []
        for (source, key), slot in slot_by_key.items():
            if source == CRITERION:
                used = criteria[str(key)]
                low, high = used.min_value, used.max_value
                normalised_slot = slot_by_key.get(("normalised", key), 0)  # 0: not used normalised
                resolving.append((key, slot, low, high, high - low, used.assumed_value, normalised_slot))
        self._criteria = tuple(resolving)
        self._evidence = tuple(
            (key, slot) for (source, key), slot in slot_by_key.items() if source == EVIDENCE
        )
        self.program = Program(
            template=tuple(template),
            criteria=self._criteria,
            evidence=self._evidence,
            steps=tuple(steps),
            outputs=self._outputs,
        )

    def _run(self, values: Mapping[str, float | None], evidence: Mapping[str, float]) -> list[float]:
        slots = self._template.copy()
        get = values.get
        for key, slot, low, high, span, fallback, normalised_slot in self._criteria:
            value = get(key)
            if value is None or value != value:  # missing (None, or NaN)
                value = fallback
            elif value < low:
                value = low
            elif value > high:
                value = high
            slots[slot] = value
            if normalised_slot:
                slots[normalised_slot] = (value - low) / span
        get = evidence.get
        for key, slot in self._evidence:
            slots[slot] = get(key) or 0.0
        for kind, target, a, b, c, wa, wb, wc, divisor in self._plan:
            if kind == _LINEAR:
                slots[target] = (wa * slots[a] + wb * slots[b] + wc * slots[c]) / divisor
            elif kind == _PRODUCT:
                slots[target] = slots[a] * slots[b] * slots[c] * 1.0  # a float even for three integers
            elif kind == _QUOTIENT:
                denominator = slots[b]
                slots[target] = slots[a] / denominator if denominator else 0.0
            elif kind == _WIDE_LINEAR:
                slots[target] = sumprod(b, a(slots)) / divisor
            else:
                slots[target] = prod(a(slots), start=1.0)
        return slots

    def evaluate(self, values: Mapping[str, float | None], evidence: Mapping[str, float]) -> dict[str, float]:
        """Every computed score's value by key for one opportunity (criterion values by key, None or
        absent = missing; evidence inputs by key, absent = 0)."""
        slots = self._run(values, evidence)
        return {key: slots[slot] for key, slot in self._outputs}

    def explain(self, values: Mapping[str, float | None], evidence: Mapping[str, float]) -> dict[str, Any]:
        """The JSON-serialisable breakdown described in the module docstring; its node values are exactly
        those of evaluate()."""
        slots = self._run(values, evidence)
        assumed = []
        clamped = []
        for key, slot, *_ in self._criteria:
            entered = values.get(key)
            if entered is None or entered != entered:
                assumed.append(key)
            elif entered != slots[slot]:
                clamped.append(key)
        nodes = []
        first_node = self._first_node
        for position, (fixed_node, operation, described, weights, operands) in enumerate(self._explain_plan):
            node_entry = {**fixed_node, "value": slots[first_node + position]}
            inputs = []
            if operation == WEIGHTED_MEAN:
                weighted_total = sumprod(weights, operands(slots))
            for fixed, criterion, raw_slot, slot, weight in described:
                entry = {**fixed, "raw": slots[raw_slot]}
                if criterion is not None:
                    if raw_slot != slot:
                        entry["normalised"] = slots[slot]
                    entry["assumed"] = criterion in assumed
                    if criterion in clamped:
                        entry["clamped"] = True
                        entry["entered"] = values[criterion]
                entry["weight"] = weight
                if operation == WEIGHTED_MEAN:
                    entry["share"] = (
                        round(weight * slots[slot] / weighted_total, 4) if weighted_total else 0.0
                    )
                inputs.append(entry)
            if operation == QUOTIENT:
                node_entry["division_by_zero"] = not slots[described[1][3]]
            node_entry["inputs"] = inputs
            nodes.append(node_entry)
        return {
            "priority": slots[self._priority_slot],
            "priority_node": self.priority,
            "assumed": assumed,
            "clamped": clamped,
            "nodes": nodes,
        }


def compile_model(spec: ModelSpec) -> Evaluator:
    """Check the model and compile it for evaluation; ValueError (listing every problem) if invalid."""
    errors = validate(spec)
    if errors:
        raise ValueError("Invalid scoring model:\n- " + "\n- ".join(errors))
    return Evaluator(spec)


def rank(priorities: Mapping[int, float | None]) -> dict[int, int]:
    """Rank 1 = the highest priority; equal priorities by id ascending; opportunities without a priority
    (None or NaN) after all the others, by id. Every opportunity gets its own rank."""
    scored = sorted(
        (-priority, key)
        for key, priority in priorities.items()
        if priority == priority and priority is not None
    )
    unscored = sorted(key for key, priority in priorities.items() if priority is None or priority != priority)
    order = [key for _, key in scored] + unscored
    return {key: position for position, key in enumerate(order, start=1)}


# --- Evidence inputs computed from the atlas -----------------------------------------------------------


def evidence_raw(insights: Iterable[tuple[float, str, float]], touches_moment_of_truth: bool) -> float:
    """The unnormalised evidence strength of one opportunity.

    `insights` holds (severity 1–5, status, reach ≥ 0) of its linked insights. Each insight counts
    severity/5 × status factor (validated 1.0, hypothesis 0.5, rejected 0) × (1 + log10(1 + reach)), so
    a validated critical insight about one customer counts 1.3, about a thousand customers 4.0. The sum is
    multiplied by 1.5 once when one of the opportunity's steps is a moment of truth."""
    total = 0.0
    for severity, status, reach in insights:
        try:
            factor = INSIGHT_STATUS_FACTORS[status]
        except KeyError:
            raise ValueError(f"Unknown insight status {status!r}.") from None
        if factor:
            total += severity / 5 * factor * (1 + math.log10(1 + max(reach or 0, 0)))
    return total * MOMENT_OF_TRUTH_FACTOR if touches_moment_of_truth else total


def normalise_evidence[K](raw_by_id: Mapping[K, float]) -> dict[K, float]:
    """Evidence strengths scaled to 0..1 by the largest among the given (open) opportunities; all 0 when
    the largest is 0 (nobody has evidence yet)."""
    largest = max(raw_by_id.values(), default=0.0)
    if largest <= 0:
        return dict.fromkeys(raw_by_id, 0.0)
    return {key: raw / largest for key, raw in raw_by_id.items()}


def kpi_gap(kpis: Iterable[tuple[float | None, float | None, float | None, str]]) -> float:
    """How far the KPIs on an opportunity's steps and journeys are from their targets, 0..1.

    `kpis` holds (latest value, target, baseline, comparison "gte" | "lte"). KPIs without a target or
    without a measurement are skipped. For each other KPI:
    shortfall = max(0, target − latest) for "gte" (at least the target), max(0, latest − target) for "lte";
    scale = |target − baseline| when there is a baseline different from the target (the distance the
    KPI set out to cover), else max(|target|, 1); gap = min(1, shortfall / scale).
    The result is the mean of the gaps, 0 when no KPI qualifies; a KPI at or beyond its target adds 0."""
    gaps = []
    for latest, target, baseline, comparison in kpis:
        if latest is None or target is None:
            continue
        if comparison == "gte":
            shortfall = max(0.0, target - latest)
        elif comparison == "lte":
            shortfall = max(0.0, latest - target)
        else:
            raise ValueError(f"Unknown KPI comparison {comparison!r}; use 'gte' or 'lte'.")
        if baseline is not None and baseline != target:
            scale = abs(target - baseline)
        else:
            scale = max(abs(target), 1.0)
        gaps.append(min(1.0, shortfall / scale))
    return sum(gaps) / len(gaps) if gaps else 0.0


# --- Presets ----------------------------------------------------------------------------------------------


def _criterion(key: str, weight: float = 1.0, *, normalise: bool = False) -> InputSpec:
    return InputSpec(CRITERION, key, weight=weight, normalise=normalise)


def _evidence(key: str, weight: float = 1.0) -> InputSpec:
    return InputSpec(EVIDENCE, key, weight=weight)


def _node(key: str, weight: float = 1.0) -> InputSpec:
    return InputSpec(NODE, key, weight=weight)


def _constant(value: float, weight: float = 1.0) -> InputSpec:
    return InputSpec(CONSTANT, constant=value, weight=weight)


# atlas (the default, customer-centric). Customer and business criteria enter normalised to 0..1 so they
# mix with the 0..1 evidence; effort and confidence enter as typed, as the formula wants them.
#   customer_value = mean(evidence, customer_criteria)
#   business_value = business_criteria + (1 − business_criteria) × 0.25 × okr_alignment
#   value          = 0.5 × customer_value + 0.5 × business_value
#   priority       = 100 × value × confidence / (1 + (effort − 1)/4)
ATLAS = ModelSpec(
    criteria=(
        CriterionSpec(
            "customer_impact",
            "Customer impact",
            "customer",
            1,
            5,
            1,
            weight=2.0,
            description="How much better the journey gets for the customers concerned: 1 barely "
            "noticeable, 5 removes a major pain at a moment of truth.",
        ),
        CriterionSpec(
            "customer_reach",
            "Customer reach",
            "customer",
            1,
            5,
            1,
            description="How many of the journey's customers would notice: 1 a niche group, 5 nearly all.",
        ),
        CriterionSpec(
            "revenue_impact",
            "Revenue impact",
            "business",
            1,
            5,
            1,
            description="Effect on revenue through acquisition, retention or balances: 1 none, 5 large.",
        ),
        CriterionSpec(
            "cost_to_serve",
            "Cost-to-serve reduction",
            "business",
            1,
            5,
            1,
            description="Fewer calls, manual reviews, letters or complaints: 1 none, 5 large.",
        ),
        CriterionSpec(
            "strategic_fit",
            "Strategic fit",
            "business",
            1,
            5,
            1,
            description="How directly it serves this year's strategy and obligations: 1 unrelated, 5 central.",
        ),
        CriterionSpec(
            "effort",
            "Effort",
            "effort",
            1,
            5,
            1,
            description="Delivery effort across teams: 1 days, 2 weeks, 3 a quarter, 4 several quarters, "
            "5 a programme.",
        ),
        CriterionSpec(
            "confidence",
            "Confidence",
            "other",
            0.5,
            1.0,
            0.1,
            default_value=0.5,
            description="How sure we are about the scores above: 0.5 a guess (assumed until someone "
            "says otherwise), 1.0 backed by research and data.",
        ),
    ),
    nodes=(
        NodeSpec(
            "customer_criteria",
            "Customer criteria",
            WEIGHTED_MEAN,
            (_criterion("customer_impact", 2, normalise=True), _criterion("customer_reach", normalise=True)),
            "Weighted mean of the customer criteria, each rescaled to 0..1.",
        ),
        NodeSpec(
            "customer_value",
            "Customer value",
            WEIGHTED_MEAN,
            (_evidence("evidence"), _node("customer_criteria")),
            "Mean of the evidence strength and the customer criteria.",
        ),
        NodeSpec(
            "business_criteria",
            "Business criteria",
            WEIGHTED_MEAN,
            (
                _criterion("revenue_impact", normalise=True),
                _criterion("cost_to_serve", normalise=True),
                _criterion("strategic_fit", normalise=True),
            ),
            "Weighted mean of the business criteria, each rescaled to 0..1.",
        ),
        NodeSpec(
            "business_headroom",
            "Business headroom",
            SUM,
            (_constant(1), _node("business_criteria", -1)),
            "1 − business criteria: how far business value is from its maximum.",
        ),
        NodeSpec(
            "okr_uplift",
            "OKR uplift",
            PRODUCT,
            (_constant(0.25), _node("business_headroom"), _evidence("okr_alignment")),
            "Moving a key result of an active cycle closes a quarter of the business headroom.",
        ),
        NodeSpec(
            "business_value",
            "Business value",
            SUM,
            (_node("business_criteria"), _node("okr_uplift")),
            "Business criteria plus the OKR uplift.",
        ),
        NodeSpec(
            "value",
            "Value",
            WEIGHTED_MEAN,
            (_node("customer_value", 0.5), _node("business_value", 0.5)),
            "Customer value and business value, weighted equally.",
        ),
        NodeSpec(
            "confident_value",
            "Confident value",
            PRODUCT,
            (_constant(100), _node("value"), _criterion("confidence")),
            "100 × value × confidence.",
        ),
        NodeSpec(
            "effort_factor",
            "Effort factor",
            SUM,
            (_constant(0.75), _criterion("effort", 0.25)),
            "1 + (effort − 1)/4: 1 for the smallest effort, 2 for the largest.",
        ),
        NodeSpec(
            "priority",
            "Priority",
            QUOTIENT,
            (_node("confident_value"), _node("effort_factor")),
            "100 × value × confidence / (1 + (effort − 1)/4).",
        ),
    ),
    priority="priority",
)

# value_effort (the common commercial default): value and its halves on 0–100 %, priority = value / effort.
# Effort starts at 0.5 rather than 0: nothing is free, and value / 0 has no meaningful rank (the quotient
# rule would turn it into 0 and send the cheapest work to the bottom).
VALUE_EFFORT = ModelSpec(
    criteria=(
        CriterionSpec(
            "customer_impact",
            "Customer impact",
            "customer",
            0,
            100,
            1,
            unit="%",
            description="How much better the journey gets for the customers concerned, 0–100 %.",
        ),
        CriterionSpec(
            "customer_reach",
            "Customer reach",
            "customer",
            0,
            100,
            1,
            unit="%",
            description="Share of the journey's customers who would notice, 0–100 %.",
        ),
        CriterionSpec(
            "revenue_impact",
            "Revenue impact",
            "business",
            0,
            100,
            1,
            unit="%",
            description="Effect on revenue or cost to serve, 0–100 %.",
        ),
        CriterionSpec(
            "strategic_fit",
            "Strategic fit",
            "business",
            0,
            100,
            1,
            unit="%",
            description="How directly it serves this year's strategy, 0–100 %.",
        ),
        CriterionSpec(
            "effort",
            "Effort",
            "effort",
            0.5,
            5,
            0.5,
            default_value=3,
            description="Delivery effort from 0.5 (hours) to 5 (a programme); 3 is assumed until estimated.",
        ),
    ),
    nodes=(
        NodeSpec(
            "customer_value",
            "Customer value",
            WEIGHTED_MEAN,
            (_criterion("customer_impact"), _criterion("customer_reach")),
            "Mean of the customer criteria, 0–100 %.",
        ),
        NodeSpec(
            "business_value",
            "Business value",
            WEIGHTED_MEAN,
            (_criterion("revenue_impact"), _criterion("strategic_fit")),
            "Mean of the business criteria, 0–100 %.",
        ),
        NodeSpec(
            "value",
            "Value",
            WEIGHTED_MEAN,
            (_node("customer_value", 0.5), _node("business_value", 0.5)),
            "0.5 × customer value + 0.5 × business value, 0–100 %.",
        ),
        NodeSpec("priority", "Priority", QUOTIENT, (_node("value"), _criterion("effort")), "Value / effort."),
    ),
    priority="priority",
)

# rice: reach × impact × confidence % / effort (person-months).
RICE = ModelSpec(
    criteria=(
        CriterionSpec(
            "reach",
            "Reach",
            "customer",
            0,
            1_000_000_000,
            1,
            unit="customers/quarter",
            default_value=0,
            description="How many customers it affects per quarter; 0 is assumed until estimated.",
        ),
        CriterionSpec(
            "impact",
            "Impact",
            "customer",
            0.25,
            3,
            0.25,
            default_value=1,
            allowed_values=(0.25, 0.5, 1, 2, 3),
            description="Impact on each customer reached: 3 massive, 2 high, 1 medium, 0.5 low, 0.25 minimal.",
        ),
        CriterionSpec(
            "confidence",
            "Confidence",
            "other",
            50,
            100,
            10,
            unit="%",
            default_value=50,
            allowed_values=(50, 80, 100),
            description="How sure we are about reach and impact: 100 % high, 80 % medium, 50 % low "
            "(assumed until someone says otherwise).",
        ),
        CriterionSpec(
            "effort",
            "Effort",
            "effort",
            0.25,
            120,
            0.25,
            unit="person-months",
            default_value=1,
            description="Work across all teams, in person-months (quarters of a month allowed); 1 is "
            "assumed until estimated.",
        ),
    ),
    nodes=(
        NodeSpec(
            "expected_impact",
            "Expected impact",
            PRODUCT,
            (_criterion("reach"), _criterion("impact"), _criterion("confidence"), _constant(0.01)),
            "Reach × impact × confidence %.",
        ),
        NodeSpec(
            "priority",
            "RICE score",
            QUOTIENT,
            (_node("expected_impact"), _criterion("effort")),
            "Reach × impact × confidence % / effort.",
        ),
    ),
    priority="priority",
)

# ice: impact × confidence × ease, each 1–10.
ICE = ModelSpec(
    criteria=(
        CriterionSpec(
            "impact",
            "Impact",
            "customer",
            1,
            10,
            1,
            description="How much it moves the goal: 1 barely, 10 a lot.",
        ),
        CriterionSpec(
            "confidence",
            "Confidence",
            "other",
            1,
            10,
            1,
            description="How sure we are that it will have that impact: 1 a hunch, 10 proven.",
        ),
        CriterionSpec(
            "ease",
            "Ease",
            "effort",
            1,
            10,
            1,
            description="How easy it is to deliver: 1 a programme, 10 an afternoon.",
        ),
    ),
    nodes=(
        NodeSpec(
            "priority",
            "ICE score",
            PRODUCT,
            (_criterion("impact"), _criterion("confidence"), _criterion("ease")),
            "Impact × confidence × ease.",
        ),
    ),
    priority="priority",
)

_FIBONACCI = (1, 2, 3, 5, 8, 13, 20)


def _fibonacci(key: str, name: str, perspective: str, description: str) -> CriterionSpec:
    return CriterionSpec(
        key,
        name,
        perspective,
        1,
        20,
        1,
        default_value=5,
        allowed_values=_FIBONACCI,
        description=description + " On 1, 2, 3, 5, 8, 13, 20; 5 (the middle) is assumed until scored.",
    )


# wsjf: cost of delay (user-business value + time criticality + risk reduction) / job size.
WSJF = ModelSpec(
    criteria=(
        _fibonacci(
            "user_business_value", "User-business value", "business", "Value to customers and the business."
        ),
        _fibonacci(
            "time_criticality", "Time criticality", "business", "How fast the value decays with delay."
        ),
        _fibonacci(
            "risk_reduction",
            "Risk reduction / opportunity enablement",
            "business",
            "Risk it removes or future opportunities it opens.",
        ),
        _fibonacci("job_size", "Job size", "effort", "Relative size of the work."),
    ),
    nodes=(
        NodeSpec(
            "cost_of_delay",
            "Cost of delay",
            SUM,
            (_criterion("user_business_value"), _criterion("time_criticality"), _criterion("risk_reduction")),
            "User-business value + time criticality + risk reduction.",
        ),
        NodeSpec(
            "priority",
            "WSJF",
            QUOTIENT,
            (_node("cost_of_delay"), _criterion("job_size")),
            "Cost of delay / job size.",
        ),
    ),
    priority="priority",
)

PRESETS: dict[str, ModelSpec] = {
    "atlas": ATLAS,
    "value_effort": VALUE_EFFORT,
    "rice": RICE,
    "ice": ICE,
    "wsjf": WSJF,
}
