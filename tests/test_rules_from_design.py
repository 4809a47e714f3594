"""The screening and scoring rules, written out literally from shared/DESIGN.md.

These tables do not read the code's own rule tables, so changing a level, a threshold, a band
or the reason a clinician reads in the code fails here. (The design's "treated high blood
pressure" and "schizophrenia or schizoaffective disorder" have no question yet: issue 12.)
"""

import pytest

from booking.intake import questionnaires as q
from booking.intake.screening import Flag, highest_level, screen
from tests.intake_factories import answers_with

# Design, "Clearance required before booking", and "Review (relative)": what the patient ticks on
# the medical step -> (level, code, the sentence the clinician reads).
CONDITIONS = {
    "bp_uncontrolled": ("clearance", "bp_uncontrolled", "Reports high blood pressure that is not under control."),
    "heart_attack_recent": ("clearance", "recent_heart_attack", "Reports a heart attack in the last 6 weeks."),
    "unstable_angina": ("clearance", "unstable_angina", "Reports unstable angina."),
    "aneurysm": ("clearance", "aneurysm_avm_bleed",
                 "Reports an aneurysm, arteriovenous malformation or bleeding in the brain."),
    "psychosis_current": ("clearance", "active_psychosis", "Reports current psychotic symptoms."),
    "mania_current": ("clearance", "active_mania", "Reports a current episode of mania."),
    "heart_disease": ("review", "heart_disease", "Reports heart disease."),
    "psychosis_past": ("review", "past_psychosis", "Reports psychosis in the past."),
    "psychosis_family": ("review", "family_psychosis", "Reports psychosis in a first-degree relative."),
    "bipolar": ("review", "bipolar", "Reports bipolar disorder."),
    "bladder": ("review", "bladder_symptoms", "Reports bladder pain, cystitis or urinary symptoms."),
    "liver": ("review", "liver_disease", "Reports liver disease."),
    "intracranial_pressure": ("review", "raised_intracranial_pressure", "Reports raised intracranial pressure."),
    "glaucoma": ("review", "glaucoma", "Reports glaucoma or raised intraocular pressure."),
    "seizures": ("review", "seizures", "Reports seizures or epilepsy."),
    "hyperthyroid": ("review", "untreated_hyperthyroidism", "Reports untreated hyperthyroidism."),
    "copd": ("review", "copd", "Reports COPD or another chronic lung disease."),
    "sleep_apnoea": ("review", "sleep_apnoea", "Reports sleep apnoea."),
}


@pytest.mark.parametrize("ticked", sorted(CONDITIONS))
def test_each_condition_in_the_design_raises_its_level(ticked):
    assert screen(answers_with(medical={"conditions": [ticked]})) == [Flag(*CONDITIONS[ticked])]


@pytest.mark.parametrize("step, answers, flag", [
    ("medical", {"pregnant": "yes"}, ("clearance", "pregnancy", "Reports being pregnant.")),
    ("medical", {"pregnant": "unsure"}, ("review", "pregnancy_unsure", "Is not sure whether they are pregnant.")),
    ("medical", {"breastfeeding": "yes"}, ("review", "breastfeeding", "Reports breastfeeding.")),
    ("medications", {"ketamine_allergy": "yes"},
     ("clearance", "ketamine_allergy", "Reports an allergic reaction to ketamine.")),
    ("medications", {"allergies": "latex, Ketamine"},
     ("clearance", "ketamine_allergy", "Reports an allergic reaction to ketamine.")),
    ("medications", {"ketamine_allergy": "unsure"},
     ("review", "ketamine_allergy_unsure", "Is not sure whether they are allergic to ketamine.")),
    ("seeking", {"conditions": ["bipolar_depression"]}, ("review", "bipolar", "Seeks help for bipolar depression.")),
    ("substance", {"substance_disorder": "yes"},
     ("review", "substance_use_disorder", "Reports a substance use disorder (now or past).")),
    ("substance", {"ketamine_nonmedical": "yes"},
     ("review", "nonmedical_ketamine", "Reports using ketamine outside a medical setting.")),
])
def test_each_other_design_rule_raises_its_level(step, answers, flag):
    assert screen(answers_with(**{step: answers})) == [Flag(*flag)]


@pytest.mark.parametrize("systolic, diastolic, flag", [
    # Design: clearance for a reading >= 160/100, review for >= 140/90; either number counts.
    (160, 80, ("clearance", "bp_high_reading", "Latest self-measured blood pressure 160/80 is at or above 160/100.")),
    (120, 100, ("clearance", "bp_high_reading",
                "Latest self-measured blood pressure 120/100 is at or above 160/100.")),
    (159, 99, ("review", "bp_raised_reading", "Latest self-measured blood pressure 159/99 is at or above 140/90.")),
    (140, 70, ("review", "bp_raised_reading", "Latest self-measured blood pressure 140/70 is at or above 140/90.")),
    (110, 90, ("review", "bp_raised_reading", "Latest self-measured blood pressure 110/90 is at or above 140/90.")),
    # Only one number given: the other shows as "?" and the given one still counts.
    (165, None, ("clearance", "bp_high_reading", "Latest self-measured blood pressure 165/? is at or above 160/100.")),
    (None, 95, ("review", "bp_raised_reading", "Latest self-measured blood pressure ?/95 is at or above 140/90.")),
    (139, 89, None),
])
def test_blood_pressure_readings(systolic, diastolic, flag):
    flags = screen(answers_with(medical={"bp_systolic": systolic, "bp_diastolic": diastolic}))
    assert flags == ([Flag(*flag)] if flag else [])


# Design: interacting medications (benzodiazepines, lamotrigine, MAOIs, stimulants, opioids, theophylline).
@pytest.mark.parametrize("named, code, words", [
    ("Xanax and lorazepam", "interacting_benzodiazepines",
     "Takes lorazepam, xanax (benzodiazepines), which can interact with ketamine."),
    ("lamotrigine 100mg", "interacting_lamotrigine", "Takes lamotrigine (lamotrigine), which can interact with ketamine."),
    ("phenelzine", "interacting_maois", "Takes phenelzine (MAOIs), which can interact with ketamine."),
    ("Adderall", "interacting_stimulants", "Takes adderall (stimulants), which can interact with ketamine."),
    ("tramadol", "interacting_opioids", "Takes tramadol (opioids), which can interact with ketamine."),
    ("theophylline", "interacting_theophylline",
     "Takes theophylline (theophylline), which can interact with ketamine."),
])
def test_interacting_medications(named, code, words):
    assert screen(answers_with(medications={"medications": named})) == [Flag("review", code, words)]


def test_two_adequate_trials_add_the_treatment_resistance_note():
    # Design: "two or more adequate antidepressant trials" (adequate: 6 weeks or more).
    trials = {"trial_1_name": "sertraline", "trial_1_weeks": 6, "trial_2_name": "bupropion", "trial_2_weeks": 8,
              "trial_3_name": "citalopram", "trial_3_weeks": 5}
    assert screen(answers_with(treatment=trials)) == [Flag(
        "info", "treatment_resistant",
        "Reports 2 antidepressant trials of 6 weeks or more (possible treatment-resistant depression).")]
    assert screen(answers_with(treatment={**trials, "trial_2_weeks": 5})) == []


@pytest.mark.parametrize("levels, highest", [
    (["info", "review"], "review"), (["review", "info", "clearance"], "clearance"), (["info"], "info"), ([], None),
])
def test_the_most_serious_level_wins(levels, highest):
    assert highest_level([Flag(level, "x", "x") for level in levels]) == highest


def test_flags_come_most_serious_first():
    answers = answers_with(medical={"conditions": ["liver", "aneurysm"]},
                           treatment={"trial_1_name": "a", "trial_1_weeks": 6, "trial_2_name": "b",
                                      "trial_2_weeks": 6})
    assert [flag.level for flag in screen(answers)] == ["clearance", "review", "info"]


# Design, "The intake": the instruments' bands.
PHQ9 = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe"))
GAD7 = ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))


def head(score):
    """What the clinician's score bar is labelled with."""
    return score.instrument, score.total, score.maximum, score.band


def test_scores_carry_the_instrument_its_maximum_and_the_bands_drawn():
    assert head(q.score_phq9([0] * 9)) == ("PHQ-9", 0, 27, "minimal") and q.score_phq9([0] * 9).bands == PHQ9
    assert head(q.score_gad7([0] * 7)) == ("GAD-7", 0, 21, "minimal") and q.score_gad7([0] * 7).bands == GAD7
    pcl5 = q.score_pcl5([0] * 20)
    assert head(pcl5) == ("PCL-5", 0, 80, "below cutoff")
    assert pcl5.bands == ((0, "below cutoff"), (33, "probable PTSD"))
    assert pcl5.extra == (("DSM-5 cluster rule", "not met"), ("Cutoff", 33))


@pytest.mark.parametrize("score, count, highest", [(q.score_phq9, 9, 3), (q.score_gad7, 7, 3),
                                                   (q.score_pcl5, 20, 4)])
def test_ratings_outside_the_scale_are_refused(score, count, highest):
    assert score([highest] * count).total == highest * count
    with pytest.raises(ValueError, match=f"expected {count} ratings from 0 to {highest}"):
        score([highest + 1] + [0] * (count - 1))
    with pytest.raises(ValueError):
        score([0] * (count - 1))


def test_pcl5_cluster_rule_counts_each_cluster_on_its_own_items():
    # B: item 5 only; C: item 6; D: items 8 and 14; E: items 15 and 16. Everything else 0.
    ratings = [0] * 20
    for item in (5, 6, 8, 14, 15, 16):
        ratings[item - 1] = 2
    assert q.pcl5_clusters_met(ratings)
    assert q.score_pcl5(ratings).extra[0] == ("DSM-5 cluster rule", "met")
    ratings[4] = 1  # item 5 now below "Moderately": cluster B fails
    assert not q.pcl5_clusters_met(ratings)


def test_the_cluster_rule_refuses_ratings_outside_the_pcl5_scale():
    with pytest.raises(ValueError, match="expected 20 ratings from 0 to 4"):
        q.pcl5_clusters_met([5] + [0] * 19)


def test_a_flag_is_stored_as_its_level_code_and_reason():
    assert Flag("review", "liver_disease", "Reports liver disease.").as_dict() == {
        "level": "review", "code": "liver_disease", "reason": "Reports liver disease."}
