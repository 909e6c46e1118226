"""The emotion curve's geometry (pure, no database)."""

import pytest

from journeys.charts import emotion_chart


def test_points_sit_mid_column_with_plus_two_on_top():
    chart = emotion_chart(labels=["A", "B", "C"], series=[("All", [2, 0, -2])], column_width=100, height=120)
    line = chart.lines[0]
    assert [(p.x, p.y) for p in line.points] == [(50, 14), (150, 60), (250, 106)]
    assert line.path == "M50 14 L150 60 L250 106"
    assert chart.width == 300


def test_step_without_score_breaks_the_line():
    chart = emotion_chart(labels=["A", "B", "C", "D"], series=[("All", [1, None, -1, 0])], column_width=100)
    assert chart.lines[0].path.split(" ")[0].startswith("M50")
    assert chart.lines[0].path.count("M") == 2
    assert [p.label for p in chart.lines[0].points] == ["A", "C", "D"]


def test_one_line_per_persona_with_distinct_colours():
    chart = emotion_chart(labels=["A"], series=[(f"P{i}", [0]) for i in range(7)])
    assert [line.css_class for line in chart.lines][-2:] == ["emotion-line-5", "emotion-line-0"]


def test_no_scores_means_nothing_to_draw():
    chart = emotion_chart(labels=["A", "B"], series=[("All", [None, None])])
    assert not chart.has_scores and chart.lines[0].path == ""


@pytest.mark.parametrize("scores", [[3], [-3]])
def test_out_of_range_score_is_refused(scores):
    with pytest.raises(ValueError, match="outside"):
        emotion_chart(labels=["A"], series=[("All", scores)])


def test_series_length_must_match_steps():
    with pytest.raises(ValueError, match="2 steps"):
        emotion_chart(labels=["A", "B"], series=[("All", [1])])
