"""Domain events: how a lower app lets a higher one react without importing it.

A service sends an event after its write; a higher app connects a receiver in its
`AppConfig.ready()`. Receivers only request work (a recompute, a webhook delivery): no business rule
lives in them. Every event of the project is defined here, so the list of what can happen is in one
place. Model `post_save` signals are not used for this."""

from django.dispatch import Signal

# Something a priority score depends on changed in this workspace (an insight or its pins, a step's
# moment of truth, a journey or step deleted, a KPI measurement, a key-result link…).
# Sent with: workspace_id: int. Connected by opportunities (requests a recompute after commit).
score_inputs_changed = Signal()
