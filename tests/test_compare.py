"""Aligning two step lists (journeys/compare.py): pure code, no database."""

from journeys.compare import LANES, TO_BE_LANES, MatchedBy, Status, compare_steps, emotion_text


def step(pk: int, name: str, *, origin: int | None = None, **lanes) -> dict:
    return {
        "id": pk,
        "origin_id": origin,
        "name": name,
        "phase_name": lanes.pop("phase", "Apply"),
        "customer_goal": "",
        "customer_actions": "",
        "thoughts_feelings": "",
        "emotion": None,
        "frontstage": "",
        "backstage": "",
        "is_moment_of_truth": False,
        "moment_of_truth_why": "",
        "tags": [],
        "persona_emotions": [],
        "touchpoints": [],
        "insights": [],
        "opportunities": [],
        **lanes,
    }


def statuses(comparison) -> list[tuple[str, str]]:
    return [(row.status.value, row.name) for row in comparison.rows]


def test_identical_lists_are_unchanged():
    steps = [step(1, "Find"), step(2, "Apply")]
    comparison = compare_steps(steps, [dict(s) for s in steps])
    assert statuses(comparison) == [("unchanged", "Find"), ("unchanged", "Apply")]
    assert comparison.is_identical
    assert comparison.counts == {"added": 0, "removed": 0, "changed": 0, "unchanged": 2}


def test_to_be_steps_align_with_their_origin_and_removed_steps_stay_in_place():
    current = [step(1, "Find"), step(2, "Visit branch"), step(3, "Sign")]
    to_be = [
        step(11, "Find", origin=1),
        step(12, "Verify in app"),
        step(13, "Sign digitally", origin=3),
    ]
    comparison = compare_steps(current, to_be, match=MatchedBy.ORIGIN, by_name=False)
    assert statuses(comparison) == [
        ("unchanged", "Find"),
        ("added", "Verify in app"),
        ("removed", "Visit branch"),
        ("changed", "Sign digitally"),
    ]
    assert comparison.rows[3].changed_labels == ["Step name"]
    assert comparison.rows[3].matched_by == MatchedBy.ORIGIN


def test_removed_last_steps_come_at_the_end():
    comparison = compare_steps([step(1, "A"), step(2, "B")], [step(1, "A")])
    assert statuses(comparison) == [("unchanged", "A"), ("removed", "B")]


def test_unmatched_steps_fall_back_to_the_same_name():
    current = [step(1, "Find"), step(2, "Apply")]
    to_be = [step(11, " find "), step(12, "Apply", origin=999)]
    comparison = compare_steps(current, to_be, match=MatchedBy.ORIGIN)
    assert statuses(comparison) == [("changed", " find "), ("unchanged", "Apply")]
    assert comparison.matched_by_name == 2
    without = compare_steps(current, to_be, match=MatchedBy.ORIGIN, by_name=False)
    assert without.counts == {"added": 2, "removed": 2, "changed": 0, "unchanged": 0}


def test_two_to_be_steps_from_one_origin_the_first_aligns_the_second_is_added():
    comparison = compare_steps(
        [step(1, "Apply")],
        [step(11, "Apply", origin=1), step(12, "Apply part two", origin=1)],
        match=MatchedBy.ORIGIN,
    )
    assert statuses(comparison) == [("unchanged", "Apply"), ("added", "Apply part two")]


def test_changed_lanes_say_before_and_after():
    before = step(1, "Apply", customer_goal="Quick", emotion=-1, is_moment_of_truth=True)
    after = step(1, "Apply", customer_goal="Quicker", emotion=1, is_moment_of_truth=True)
    (row,) = compare_steps([before], [after]).rows
    assert row.status == Status.CHANGED
    assert [(c.label, c.before, c.after) for c in row.changes] == [
        ("Customer goal / need", "Quick", "Quicker"),
        ("Emotion", "-1 Frustrated", "+1 Pleased"),
    ]


def test_whitespace_only_edits_are_not_changes():
    (row,) = compare_steps([step(1, "A", frontstage="Hello\r\n")], [step(1, "A", frontstage=" Hello")]).rows
    assert row.status == Status.UNCHANGED


def test_list_lanes_list_added_and_removed_items():
    before = step(
        1,
        "Apply",
        touchpoints=[{"name": "Form", "channel": "web", "description": ""}],
        insights=[
            {"id": 5, "title": "Too long", "kind": "pain"},
            {"id": 6, "title": "Clear", "kind": "gain"},
        ],
    )
    after = step(
        1,
        "Apply",
        touchpoints=[
            {"name": "Form", "channel": "web", "description": ""},
            {"name": "Chat", "channel": "chat", "description": ""},
        ],
        insights=[{"id": 5, "title": "Too long (renamed)", "kind": "pain"}],
    )
    (row,) = compare_steps([before], [after], channel_labels={"web": "Website", "chat": "Chat"}).rows
    changes = {c.key: c for c in row.changes}
    assert changes["touchpoints"].added == ("Chat (Chat)",)
    assert changes["touchpoints"].removed == ()
    assert changes["touchpoints"].before == "Form (Website)"
    assert changes["insights"].removed == ("Clear",)
    assert changes["insights"].added == ()  # a renamed insight is still the same pin


def test_to_be_lanes_ignore_opportunities():
    before = step(1, "Apply", opportunities=[{"id": 3, "title": "One form"}])
    after = step(11, "Apply", origin=1)
    assert compare_steps([before], [after], match=MatchedBy.ORIGIN, lanes=TO_BE_LANES).is_identical
    assert not compare_steps([before], [after], match=MatchedBy.ORIGIN, lanes=LANES).is_identical


def test_persona_emotions_and_tags_are_compared():
    before = step(
        1, "A", persona_emotions=[{"persona_id": 1, "persona_name": "Sam", "score": -1, "note": ""}]
    )
    after = step(
        1,
        "A",
        persona_emotions=[{"persona_id": 1, "persona_name": "Sam", "score": 2, "note": ""}],
        tags=[{"id": 4, "name": "Mobile app"}],
    )
    (row,) = compare_steps([before], [after]).rows
    changes = {c.key: c for c in row.changes}
    assert changes["persona_emotions"].added == ("Sam: +2 Delighted",)
    assert changes["persona_emotions"].removed == ("Sam: -1 Frustrated",)
    assert changes["tags"].added == ("Mobile app",)


def test_emotion_series_has_none_where_a_side_has_no_step():
    comparison = compare_steps(
        [step(1, "A", emotion=-2), step(2, "B", emotion=0)],
        [step(1, "A", emotion=1), step(3, "C", emotion=2)],
        by_name=False,
    )
    labels, before, after = comparison.emotion_series()
    assert labels == ["A", "C", "B"]
    assert before == [-2, None, 0]
    assert after == [1, 2, None]


def test_empty_lists():
    assert compare_steps([], []).rows == ()
    assert statuses(compare_steps([], [step(1, "A")])) == [("added", "A")]
    assert statuses(compare_steps([step(1, "A")], [])) == [("removed", "A")]


def test_emotion_text():
    assert emotion_text(None) == "—"
    assert emotion_text(0) == "0 Neutral"
    assert emotion_text(-2) == "-2 Angry"
