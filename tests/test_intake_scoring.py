"""Questionnaire scoring at every band edge, the PCL-5 cluster rule, and the crisis trigger."""

import pytest

from booking.intake import questionnaires as q
from booking.intake.steps import STEPS


def spread(total, count, highest):
    """`count` ratings from 0 to `highest` that add up to `total`."""
    ratings = []
    for _ in range(count):
        value = min(highest, total)
        ratings.append(value)
        total -= value
    assert total == 0
    return ratings


@pytest.mark.parametrize("total, band", [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "moderately severe"), (19, "moderately severe"), (20, "severe"), (27, "severe"),
])
def test_phq9_band_edges(total, band):
    score = q.score_phq9(spread(total, 9, 3))
    assert (score.total, score.band, score.maximum) == (total, band, 27)


def test_phq9_keeps_item_9_separately():
    score = q.score_phq9([0] * 8 + [2])
    assert score.total == 2
    assert ("Item 9 (thoughts of being better off dead or self-harm)", 2) in score.extra


@pytest.mark.parametrize("total, band", [
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
    (15, "severe"), (21, "severe"),
])
def test_gad7_band_edges(total, band):
    score = q.score_gad7(spread(total, 7, 3))
    assert (score.total, score.band, score.maximum) == (total, band, 21)


@pytest.mark.parametrize("total, band", [(0, "below cutoff"), (32, "below cutoff"), (33, "probable PTSD"),
                                         (80, "probable PTSD")])
def test_pcl5_cutoff_edges(total, band):
    score = q.score_pcl5(spread(total, 20, 4))
    assert (score.total, score.band, score.maximum) == (total, band, 80)


def test_pcl5_cutoff_is_a_setting():
    ratings = spread(31, 20, 4)
    assert q.score_pcl5(ratings, cutoff=31).band == "probable PTSD"
    assert q.score_pcl5(ratings, cutoff=32).band == "below cutoff"


def cluster_ratings(b=1, c=1, d=2, e=2, level=2):
    """Ratings endorsing `b`, `c`, `d`, `e` items of each cluster at `level`, the rest at 1."""
    ratings = [1] * 20
    for start, count in ((0, b), (5, c), (7, d), (14, e)):
        for index in range(start, start + count):
            ratings[index] = level
    return ratings


def test_pcl5_cluster_rule_met_at_the_minimum():
    assert q.pcl5_clusters_met(cluster_ratings())
    assert ("DSM-5 cluster rule", "met") in q.score_pcl5(cluster_ratings()).extra


@pytest.mark.parametrize("short", [dict(b=0), dict(c=0), dict(d=1), dict(e=1), dict(level=1)])
def test_pcl5_cluster_rule_not_met_when_one_cluster_is_short(short):
    assert not q.pcl5_clusters_met(cluster_ratings(**short))


@pytest.mark.parametrize("ratings", [[0] * 8, [0] * 8 + [4], [0] * 8 + ["1"], [0] * 8 + [True], [0] * 10])
def test_phq9_refuses_anything_but_nine_ratings_from_0_to_3(ratings):
    with pytest.raises(ValueError):
        q.score_phq9(ratings)


@pytest.mark.parametrize("answers, expected", [
    ({}, False),
    ({"phq9": {"phq9_9": 0}, "seeking": {"self_harm_thoughts": "no"}}, False),
    ({"phq9": {"phq9_9": 1}}, True),
    ({"phq9": {"phq9_9": 3}}, True),
    ({"seeking": {"self_harm_thoughts": "yes"}}, True),
])
def test_crisis_trigger(answers, expected):
    assert q.crisis_triggered(answers) is expected


def test_questionnaire_wording_is_the_standard_one():
    steps = {step.key: step for step in STEPS}
    assert steps["phq9"].stem == ("Over the last 2 weeks, how often have you been bothered by any of the "
                                  "following problems?")
    assert [label for _, label in steps["phq9"].question("phq9_1").choices] == [
        "Not at all", "Several days", "More than half the days", "Nearly every day"]
    assert steps["phq9"].question("phq9_9").label == (
        "9. Thoughts that you would be better off dead or of hurting yourself in some way")
    assert steps["gad7"].question("gad7_1").label == "1. Feeling nervous, anxious, or on edge"
    assert steps["pcl5"].stem == "In the past month, how much were you bothered by:"
    assert len([x for x in steps["pcl5"].questions if x.kind == "scale"]) == 20
    assert [label for _, label in steps["pcl5"].question("pcl5_20").choices] == [
        "Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"]


def test_the_crisis_panel_watches_only_the_current_steps_crisis_answers():
    assert q.crisis_questions("phq9") == {"phq9_9": ["1", "2", "3"]}
    assert q.crisis_questions("seeking") == {"self_harm_thoughts": ["yes"]}
    assert q.crisis_questions("gad7") == {}
