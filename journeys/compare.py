"""Compare two lists of journey steps: which steps were added, removed, changed or left as they were, and
what changed in each lane.

Pure code, no ORM: steps come in as plain data in the snapshot format of
`journeys.services.versions.journey_state` (dicts with the lanes, `tags`, `touchpoints`, `insights`…).
Used for current vs to-be (a to-be step is aligned with the current step it was copied from, its
`origin_id`) and for a saved version vs now (aligned by step id). Steps left unaligned can be paired by
name as a fallback (to-be journeys made before steps remembered their origin)."""

from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

EMOTION_WORDS = {2: "Delighted", 1: "Pleased", 0: "Neutral", -1: "Frustrated", -2: "Angry"}

Step = Mapping  # one step in the snapshot format


class Status(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class MatchedBy(StrEnum):
    ORIGIN = "origin"
    ID = "id"
    NAME = "name"


# --- Reading a lane ------------------------------------------------------------------------------------

# A list lane is read as (identity, text) items: identity decides "same item", text is what people see
# (an insight renamed since a version was saved is still the same pin).
Item = tuple[object, str]


def _text(value) -> str:
    return "\n".join(line.rstrip() for line in str(value or "").strip().splitlines())


def emotion_text(score: int | None) -> str:
    if score is None:
        return "—"
    number = f"{score:+d}" if score else "0"
    return f"{number} {EMOTION_WORDS.get(score, '')}".strip()


@dataclass(frozen=True)
class Lane:
    key: str
    label: str
    read: Callable[[Step, Mapping[str, str]], str | tuple[Item, ...]]

    def value(self, step: Step, channel_labels: Mapping[str, str]):
        return self.read(step, channel_labels)


def _field(name: str) -> Callable[[Step, Mapping[str, str]], str]:
    return lambda step, _labels: _text(step.get(name))


def _touchpoints(step: Step, labels: Mapping[str, str]) -> tuple[Item, ...]:
    return tuple(
        (
            (tp["name"].strip(), tp["channel"], _text(tp.get("description"))),
            f"{tp['name']} ({labels.get(tp['channel'], tp['channel'])})",
        )
        for tp in step.get("touchpoints", ())
    )


def _named_items(key: str, text_key: str = "name") -> Callable[[Step, Mapping[str, str]], tuple[Item, ...]]:
    return lambda step, _labels: tuple((row["id"], row[text_key]) for row in step.get(key, ()))


def _persona_emotions(step: Step, _labels: Mapping[str, str]) -> tuple[Item, ...]:
    return tuple(
        ((e["persona_id"], e["score"]), f"{e['persona_name']}: {emotion_text(e['score'])}")
        for e in step.get("persona_emotions", ())
    )


LANES: tuple[Lane, ...] = (
    Lane("name", "Step name", _field("name")),
    Lane("phase", "Phase", _field("phase_name")),
    Lane("customer_goal", "Customer goal / need", _field("customer_goal")),
    Lane("customer_actions", "Actions", _field("customer_actions")),
    Lane("thoughts_feelings", "Thoughts & feelings", _field("thoughts_feelings")),
    Lane("emotion", "Emotion", lambda step, _labels: emotion_text(step.get("emotion"))),
    Lane("persona_emotions", "Persona emotions", _persona_emotions),
    Lane("touchpoints", "Touchpoints", _touchpoints),
    Lane("frontstage", "Frontstage", _field("frontstage")),
    Lane("backstage", "Backstage", _field("backstage")),
    Lane(
        "is_moment_of_truth",
        "Moment of truth",
        lambda step, _labels: "Yes" if step.get("is_moment_of_truth") else "No",
    ),
    Lane("moment_of_truth_why", "Why it is a moment of truth", _field("moment_of_truth_why")),
    Lane("insights", "Pains & gains (insights)", _named_items("insights", "title")),
    Lane("opportunities", "Opportunities", _named_items("opportunities", "title")),
    Lane("tags", "Tags", _named_items("tags")),
)
# A to-be journey does not take over the current journey's opportunities (they address its pains), so
# current vs to-be leaves that lane out; a version vs now compares every lane.
TO_BE_LANES = tuple(lane for lane in LANES if lane.key != "opportunities")


# --- Result --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaneChange:
    key: str
    label: str
    before: str  # the whole lane as text (list lanes: items joined)
    after: str
    added: tuple[str, ...] = ()  # list lanes: the items only on the after side
    removed: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True)
class Row:
    status: Status
    before: Step | None
    after: Step | None
    changes: tuple[LaneChange, ...] = ()
    matched_by: MatchedBy | None = None

    @property
    def name(self) -> str:
        step = self.after if self.after is not None else self.before
        return step["name"] if step is not None else ""

    @property
    def is_unchanged(self) -> bool:
        return self.status == Status.UNCHANGED

    @property
    def before_emotion(self) -> int | None:
        return self.before.get("emotion") if self.before is not None else None

    @property
    def after_emotion(self) -> int | None:
        return self.after.get("emotion") if self.after is not None else None

    @property
    def changed_labels(self) -> list[str]:
        return [change.label for change in self.changes]


@dataclass(frozen=True)
class Comparison:
    rows: tuple[Row, ...]

    def count(self, status: Status) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {status.value: self.count(status) for status in Status}

    @property
    def matched_by_name(self) -> int:
        return sum(1 for row in self.rows if row.matched_by == MatchedBy.NAME)

    @property
    def is_identical(self) -> bool:
        return all(row.status == Status.UNCHANGED for row in self.rows)

    def emotion_series(self) -> tuple[list[str], list[int | None], list[int | None]]:
        """Labels and the before/after emotion per aligned row (None where a side has no step)."""
        return (
            [row.name for row in self.rows],
            [row.before_emotion for row in self.rows],
            [row.after_emotion for row in self.rows],
        )


# --- Aligning ------------------------------------------------------------------------------------------


def _name_key(step: Step) -> str:
    return " ".join(str(step.get("name", "")).split()).casefold()


def _pair(
    before: Sequence[Step], after: Sequence[Step], match: MatchedBy, by_name: bool
) -> list[tuple[int, MatchedBy] | None]:
    """For each after-step: (index of its before-step, how they were matched), or None."""
    index_of = {step["id"]: i for i, step in enumerate(before)}
    key = "origin_id" if match == MatchedBy.ORIGIN else "id"
    claimed: set[int] = set()
    pairs: list[tuple[int, MatchedBy] | None] = []
    for step in after:
        i = index_of.get(step.get(key))
        if i is not None and i not in claimed:
            claimed.add(i)
            pairs.append((i, match))
        else:
            pairs.append(None)
    if by_name:
        free: dict[str, deque[int]] = defaultdict(deque)
        for i, step in enumerate(before):
            if i not in claimed:
                free[_name_key(step)].append(i)
        for j, step in enumerate(after):
            if pairs[j] is None and free.get(_name_key(step)):
                pairs[j] = (free[_name_key(step)].popleft(), MatchedBy.NAME)
    return pairs


def _lane_change(lane: Lane, before: Step, after: Step, labels: Mapping[str, str]) -> LaneChange | None:
    old, new = lane.value(before, labels), lane.value(after, labels)
    if isinstance(old, str):
        return None if old == new else LaneChange(lane.key, lane.label, old or "—", new or "—")
    old_ids, new_ids = {identity for identity, _ in old}, {identity for identity, _ in new}
    if old_ids == new_ids:
        return None
    return LaneChange(
        lane.key,
        lane.label,
        ", ".join(text for _, text in old) or "—",
        ", ".join(text for _, text in new) or "—",
        added=tuple(text for identity, text in new if identity not in old_ids),
        removed=tuple(text for identity, text in old if identity not in new_ids),
    )


def compare_steps(
    before: Sequence[Step],
    after: Sequence[Step],
    *,
    match: MatchedBy = MatchedBy.ID,
    lanes: Sequence[Lane] = LANES,
    by_name: bool = True,
    channel_labels: Mapping[str, str] | None = None,
) -> Comparison:
    """Align `after` with `before` and say what changed, in `after`'s order; a removed step is placed
    just before the first after-step whose partner came after it (where it used to be)."""
    labels = channel_labels or {}
    pairs = _pair(before, after, match, by_name)
    paired = {pair[0] for pair in pairs if pair is not None}
    removed = deque(i for i in range(len(before)) if i not in paired)
    rows: list[Row] = []
    for step, pair in zip(after, pairs, strict=True):
        if pair is None:
            rows.append(Row(Status.ADDED, None, step))
            continue
        i, matched_by = pair
        while removed and removed[0] < i:
            rows.append(Row(Status.REMOVED, before[removed.popleft()], None))
        changes = tuple(
            change for lane in lanes if (change := _lane_change(lane, before[i], step, labels)) is not None
        )
        status = Status.CHANGED if changes else Status.UNCHANGED
        rows.append(Row(status, before[i], step, changes, matched_by))
    rows.extend(Row(Status.REMOVED, before[i], None) for i in removed)
    return Comparison(tuple(rows))
