"""Writes of the journeys app, one module per part of the product: `framework` (lifecycles, stages,
macro journeys, journeys, personas), `maps` (phases, steps, lanes, touchpoints, emotions), `insights`
(the insight repository, pins, import) and `versions` (snapshots, restore, to-be journeys). Views,
viewsets and tasks all call these keyword-only functions."""
