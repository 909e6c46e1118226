"""Install a scoring-model preset in a workspace (DESIGN.md, "the priority score").

The model is data, not code. The presets are defined once, as plain specs, in `opportunities.scoring.PRESETS`
(the engine's tests evaluate exactly those); installing one writes it as rows a workspace can then edit:
`Criterion`, `ComputedScore` and `ComputedScoreInput`, with the scoring model's priority node set.

The default `atlas` preset (customer-centric). Customer and business criteria enter normalised ([n]: rescaled
to 0..1 over min..max) so they mix with the 0..1 evidence inputs; effort (1–5) and confidence (0.5–1.0) enter
as typed. Each line is "weight × operand"; a sum is Σ weight·operand, a weighted mean Σ weight·operand /
Σ weight; product and quotient operands have weight 1::

    priority = quotient                                   100 × value × confidence / (1 + (effort − 1)/4)
    ├─ confident_value = product
    │  ├─ constant 100
    │  ├─ value = weighted_mean                           w_c·CV + (1 − w_c)·BV with w_c = 0.5
    │  │  ├─ 0.5 × customer_value = weighted_mean         CV = mean(evidence, customer criteria)
    │  │  │  ├─ 1 × evidence                              (evidence input, 0..1)
    │  │  │  └─ 1 × customer_criteria = weighted_mean
    │  │  │     ├─ 2 × customer_impact [n]                (criterion, 1–5)
    │  │  │     └─ 1 × customer_reach [n]                 (criterion, 1–5)
    │  │  └─ 0.5 × business_value = sum                   BV + (1 − BV) × 0.25 × okr_alignment
    │  │     ├─ 1 × business_criteria = weighted_mean     BV
    │  │     │  ├─ 1 × revenue_impact [n]                 (criterion, 1–5)
    │  │     │  ├─ 1 × cost_to_serve [n]                  (criterion, 1–5)
    │  │     │  └─ 1 × strategic_fit [n]                  (criterion, 1–5)
    │  │     └─ 1 × okr_uplift = product                  0.25 × (1 − BV) × okr_alignment
    │  │        ├─ constant 0.25
    │  │        ├─ business_headroom = sum                1 − BV
    │  │        │  ├─ 1 × constant 1
    │  │        │  └─ −1 × business_criteria
    │  │        └─ okr_alignment                          (evidence input, 0 or 1)
    │  └─ confidence                                      (criterion, 0.5–1.0)
    └─ effort_factor = sum                                1 + (effort − 1)/4
       ├─ 1 × constant 0.75
       └─ 0.25 × effort                                   (criterion, 1–5)
"""

from django.db import transaction

from atlas.models import Workspace
from opportunities import scoring
from opportunities.models import ScoringModel


@transaction.atomic
def scoring_model_install_preset(*, workspace: Workspace, preset: str = "atlas") -> ScoringModel:
    """Create the workspace's scoring model from a preset: its criteria, its computed scores with their
    inputs, and the priority node. Raises ValueError for an unknown preset, or if the workspace already
    has a scoring model (there is one per workspace)."""
    spec = scoring.PRESETS.get(preset)
    if spec is None:
        raise ValueError(f"Unknown scoring preset {preset!r}; available: {', '.join(scoring.PRESETS)}.")
    errors = scoring.validate(spec)
    if errors:  # pragma: no cover - the engine's tests keep the presets valid
        raise ValueError(f"Scoring preset {preset!r} is invalid: {' '.join(errors)}")
    if ScoringModel.objects.filter(workspace=workspace).exists():
        raise ValueError(f"Workspace {workspace.slug!r} already has a scoring model.")

    from opportunities.services import scoring_model_write_rows

    model = ScoringModel.objects.create(workspace=workspace, preset=preset)
    scoring_model_write_rows(model=model, spec=spec)
    return model
