"""Every screening rule, with a case that fires and one that does not."""

import pytest

from booking.intake.medications import interacting_medications
from booking.intake.screening import highest_level, screen
from tests.intake_factories import answers_with, default_values
from tests.test_rules_from_design import CONDITIONS


def codes(answers, thresholds=None):
    """{code: level} of the flags `answers` raise."""
    return {flag.code: flag.level for flag in screen(answers, thresholds)}


def test_clean_answers_raise_no_flag():
    assert screen(default_values()) == []
    assert highest_level([]) is None


# The table written from the design, not the code's own CONDITION_RULES (which a test must not trust).
@pytest.mark.parametrize("value, level, code", [(value, level, code) for value, (level, code, _) in CONDITIONS.items()])
def test_each_medical_condition_rule(value, level, code):
    assert codes(answers_with(medical={"conditions": [value]})) == {code: level}
    others = [v for v in CONDITIONS if v != value]
    assert code not in codes(answers_with(medical={"conditions": others}))


@pytest.mark.parametrize("systolic, diastolic, expected", [
    (159, 99, {"bp_raised_reading": "review"}),
    (160, 80, {"bp_high_reading": "clearance"}),
    (130, 100, {"bp_high_reading": "clearance"}),
    (140, 80, {"bp_raised_reading": "review"}),
    (120, 90, {"bp_raised_reading": "review"}),
    (139, 89, {}),
    (None, None, {}),
])
def test_blood_pressure_thresholds(systolic, diastolic, expected):
    assert codes(answers_with(medical={"bp_systolic": systolic, "bp_diastolic": diastolic})) == expected


def test_blood_pressure_thresholds_are_settings():
    answers = answers_with(medical={"bp_systolic": 150, "bp_diastolic": 85})
    assert codes(answers, {"BP_CLEARANCE_SYSTOLIC": 150}) == {"bp_high_reading": "clearance"}
    assert codes(answers, {"BP_REVIEW_SYSTOLIC": 155, "BP_REVIEW_DIASTOLIC": 95}) == {}


@pytest.mark.parametrize("changes, expected", [
    ({"pregnant": "yes"}, {"pregnancy": "clearance"}),
    ({"pregnant": "unsure"}, {"pregnancy_unsure": "review"}),
    ({"pregnant": "not_applicable"}, {}),
    ({"breastfeeding": "yes"}, {"breastfeeding": "review"}),
    ({"breastfeeding": "no"}, {}),
])
def test_pregnancy_and_breastfeeding(changes, expected):
    assert codes(answers_with(medical=changes)) == expected


@pytest.mark.parametrize("changes, expected", [
    ({"ketamine_allergy": "yes"}, {"ketamine_allergy": "clearance"}),
    ({"allergies": "Penicillin; KETAMINE (rash)"}, {"ketamine_allergy": "clearance"}),
    ({"ketamine_allergy": "unsure"}, {"ketamine_allergy_unsure": "review"}),
    ({"ketamine_allergy": "no", "allergies": "penicillin"}, {}),
])
def test_ketamine_allergy(changes, expected):
    assert codes(answers_with(medications=changes)) == expected


@pytest.mark.parametrize("changes, expected", [
    ({"substance_disorder": "yes"}, {"substance_use_disorder": "review"}),
    ({"ketamine_nonmedical": "yes"}, {"nonmedical_ketamine": "review"}),
    ({"cannabis": "daily"}, {}),
])
def test_substance_use(changes, expected):
    assert codes(answers_with(substance=changes)) == expected


def test_bipolar_depression_sought_asks_for_review_once():
    assert codes(answers_with(seeking={"conditions": ["bipolar_depression"]})) == {"bipolar": "review"}
    both = answers_with(seeking={"conditions": ["bipolar_depression"]}, medical={"conditions": ["bipolar"]})
    assert [flag.code for flag in screen(both)] == ["bipolar"]
    assert codes(answers_with(seeking={"conditions": ["depression", "anxiety"]})) == {}


@pytest.mark.parametrize("text, expected", [
    ("Xanax 0.5mg as needed", {"interacting_benzodiazepines": "review"}),
    ("LAMICTAL 100 mg", {"interacting_lamotrigine": "review"}),
    ("phenelzine", {"interacting_maois": "review"}),
    ("Adderall XR 20mg\nsertraline", {"interacting_stimulants": "review"}),
    ("tramadol", {"interacting_opioids": "review"}),
    ("Theo-24 300 mg", {"interacting_theophylline": "review"}),
    ("clonazepam and Klonopin", {"interacting_benzodiazepines": "review"}),
    ("sertraline 100 mg, vitamin D", {}),
    ("lamotriginex, notxanax", {}),  # whole words only
    ("", {}),
])
def test_interacting_medications(text, expected):
    assert codes(answers_with(medications={"medications": text})) == expected


def test_interacting_medications_name_what_was_found():
    assert interacting_medications("Valium, OXYCODONE") == [("benzodiazepines", "valium"), ("opioids", "oxycodone")]
    reasons = [flag.reason for flag in screen(answers_with(medications={"medications": "Valium"}))]
    assert reasons == ["Takes valium (benzodiazepines), which can interact with ketamine."]


def trials(*weeks):
    values = {f"trial_{row}_{part}": None for row in range(1, 5) for part in ("name", "dose", "weeks", "response")}
    for row, count in enumerate(weeks, start=1):
        values[f"trial_{row}_name"], values[f"trial_{row}_weeks"] = f"medicine {row}", count
    return values


@pytest.mark.parametrize("weeks, fires", [((6, 8), True), ((6, 6, 2), True), ((6, 5), False), ((12,), False),
                                          ((), False)])
def test_treatment_resistance_note(weeks, fires):
    found = codes(answers_with(treatment=trials(*weeks)))
    assert (found == {"treatment_resistant": "info"}) is fires


def test_flags_are_ordered_most_serious_first():
    answers = answers_with(medical={"conditions": ["seizures", "aneurysm"]}, treatment=trials(8, 8))
    flags = screen(answers)
    assert [flag.level for flag in flags] == ["clearance", "review", "info"]
    assert highest_level(flags) == "clearance"
    assert all(flag.reason.endswith(".") for flag in flags)
