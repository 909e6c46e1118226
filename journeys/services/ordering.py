"""Reordering rows that have a unique position among their siblings (stages, macro journeys, phases,
steps)."""

from collections.abc import Sequence

from django.db.models import Case, F, Max, QuerySet, Value, When


def positions_renumber(rows: QuerySet, ordered_ids: Sequence[int], **also: Case) -> None:
    """Give `rows` (every child of one parent) the positions 0..n-1 in the order of `ordered_ids`, in two
    UPDATEs: first above every current and final position, then down into place, so no two rows ever
    hold one position (the unique constraints are not deferred). `also` sets more columns in the first
    UPDATE (e.g. a step's phase)."""
    ids = list(ordered_ids)
    if not ids:
        return
    top = rows.aggregate(top=Max("position"))["top"] or 0
    offset = top + 1 + len(ids)
    rows.update(position=Case(*(When(pk=pk, then=Value(offset + i)) for i, pk in enumerate(ids))), **also)
    rows.update(position=F("position") - offset)
