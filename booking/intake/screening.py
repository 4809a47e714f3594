"""Screening rules: plain functions over the answers that return flags for the clinician.

No rule rejects anyone: a `clearance` flag means a clinician must clear the patient before
booking, `review` asks the clinician to look, `info` is a note. Each flag's reason is a
sentence the clinician reads (it is stored encrypted, like the answers).
"""

from dataclasses import asdict, dataclass

from booking.intake.medications import interacting_medications

LEVELS = ("clearance", "review", "info")
ADEQUATE_TRIAL_WEEKS = 6  # an antidepressant taken this long at a stable dose counts as an adequate trial
DEFAULT_THRESHOLDS = {
    "BP_CLEARANCE_SYSTOLIC": 160, "BP_CLEARANCE_DIASTOLIC": 100,
    "BP_REVIEW_SYSTOLIC": 140, "BP_REVIEW_DIASTOLIC": 90,
}


@dataclass(frozen=True)
class Flag:
    """One screening result: how much it matters, a stable code, and the reason in words."""

    level: str
    code: str
    reason: str

    def as_dict(self):
        """A JSON-ready dict."""
        return asdict(self)


def _medical(answers):
    """The medical-history step's answers."""
    return answers.get("medical") or {}


def _ticked(answers, value):
    """True if `value` is ticked among the medical conditions."""
    return value in (_medical(answers).get("conditions") or [])


# Conditions ticked on the medical step that raise a flag by themselves: (value, level, code, reason).
CONDITION_RULES = (
    ("bp_uncontrolled", "clearance", "bp_uncontrolled", "Reports high blood pressure that is not under control."),
    ("heart_attack_recent", "clearance", "recent_heart_attack", "Reports a heart attack in the last 6 weeks."),
    ("unstable_angina", "clearance", "unstable_angina", "Reports unstable angina."),
    ("aneurysm", "clearance", "aneurysm_avm_bleed",
     "Reports an aneurysm, arteriovenous malformation or bleeding in the brain."),
    ("psychosis_current", "clearance", "active_psychosis", "Reports current psychotic symptoms."),
    ("mania_current", "clearance", "active_mania", "Reports a current episode of mania."),
    ("schizophrenia_current", "clearance", "schizophrenia_symptomatic",
     "Reports schizophrenia or schizoaffective disorder with symptoms at present."),
    ("bp_controlled", "review", "treated_hypertension", "Reports high blood pressure that is under control."),
    ("heart_disease", "review", "heart_disease", "Reports heart disease."),
    ("psychosis_past", "review", "past_psychosis", "Reports psychosis in the past."),
    ("schizophrenia", "review", "schizophrenia",
     "Reports schizophrenia or schizoaffective disorder, without symptoms at present."),
    ("psychosis_family", "review", "family_psychosis", "Reports psychosis in a first-degree relative."),
    ("bipolar", "review", "bipolar", "Reports bipolar disorder."),
    ("bladder", "review", "bladder_symptoms", "Reports bladder pain, cystitis or urinary symptoms."),
    ("liver", "review", "liver_disease", "Reports liver disease."),
    ("intracranial_pressure", "review", "raised_intracranial_pressure", "Reports raised intracranial pressure."),
    ("glaucoma", "review", "glaucoma", "Reports glaucoma or raised intraocular pressure."),
    ("seizures", "review", "seizures", "Reports seizures or epilepsy."),
    ("hyperthyroid", "review", "untreated_hyperthyroidism", "Reports untreated hyperthyroidism."),
    ("copd", "review", "copd", "Reports COPD or another chronic lung disease."),
    ("sleep_apnoea", "review", "sleep_apnoea", "Reports sleep apnoea."),
)


def condition_flags(answers):
    """A flag for each ticked medical condition that the rules list."""
    return [Flag(level, code, reason) for value, level, code, reason in CONDITION_RULES if _ticked(answers, value)]


def blood_pressure_flags(answers, thresholds=None):
    """Clearance at or above the clearance reading (160/100), review at or above 140/90."""
    limits = {key: (thresholds or {}).get(key, default) for key, default in DEFAULT_THRESHOLDS.items()}
    systolic, diastolic = _medical(answers).get("bp_systolic"), _medical(answers).get("bp_diastolic")
    if not isinstance(systolic, int) and not isinstance(diastolic, int):
        return []
    systolic, diastolic = systolic or 0, diastolic or 0
    reading = f"{systolic or '?'}/{diastolic or '?'}"
    if systolic >= limits["BP_CLEARANCE_SYSTOLIC"] or diastolic >= limits["BP_CLEARANCE_DIASTOLIC"]:
        return [Flag("clearance", "bp_high_reading",
                     f"Latest self-measured blood pressure {reading} is at or above "
                     f"{limits['BP_CLEARANCE_SYSTOLIC']}/{limits['BP_CLEARANCE_DIASTOLIC']}.")]
    if systolic >= limits["BP_REVIEW_SYSTOLIC"] or diastolic >= limits["BP_REVIEW_DIASTOLIC"]:
        return [Flag("review", "bp_raised_reading",
                     f"Latest self-measured blood pressure {reading} is at or above "
                     f"{limits['BP_REVIEW_SYSTOLIC']}/{limits['BP_REVIEW_DIASTOLIC']}.")]
    return []


def pregnancy_flags(answers):
    """Clearance for a current pregnancy (or unsure), review for breastfeeding."""
    medical, flags = _medical(answers), []
    if medical.get("pregnant") == "yes":
        flags.append(Flag("clearance", "pregnancy", "Reports being pregnant."))
    elif medical.get("pregnant") == "unsure":
        flags.append(Flag("review", "pregnancy_unsure", "Is not sure whether they are pregnant."))
    if medical.get("breastfeeding") == "yes":
        flags.append(Flag("review", "breastfeeding", "Reports breastfeeding."))
    return flags


def ketamine_allergy_flags(answers):
    """Clearance for a known (or possible) ketamine allergy, including one named in the allergy list."""
    medications = answers.get("medications") or {}
    named = "ketamine" in (medications.get("allergies") or "").lower()
    if medications.get("ketamine_allergy") == "yes" or named:
        return [Flag("clearance", "ketamine_allergy", "Reports an allergic reaction to ketamine.")]
    if medications.get("ketamine_allergy") == "unsure":
        return [Flag("review", "ketamine_allergy_unsure", "Is not sure whether they are allergic to ketamine.")]
    return []


def bipolar_seeking_flags(answers):
    """Review when help is sought for bipolar depression (unless bipolar disorder was ticked already)."""
    seeking = (answers.get("seeking") or {}).get("conditions") or []
    if "bipolar_depression" in seeking and not _ticked(answers, "bipolar"):
        return [Flag("review", "bipolar", "Seeks help for bipolar depression.")]
    return []


def substance_flags(answers):
    """Review for a substance use disorder or prior non-medical ketamine use."""
    substance, flags = answers.get("substance") or {}, []
    if substance.get("substance_disorder") == "yes":
        flags.append(Flag("review", "substance_use_disorder", "Reports a substance use disorder (now or past)."))
    if substance.get("ketamine_nonmedical") == "yes":
        flags.append(Flag("review", "nonmedical_ketamine", "Reports using ketamine outside a medical setting."))
    return flags


def medication_flags(answers):
    """Review for each class of interacting medicine named in the current medicines."""
    found = interacting_medications((answers.get("medications") or {}).get("medications"))
    by_class = {}
    for drug_class, name in found:
        by_class.setdefault(drug_class, []).append(name)
    return [Flag("review", f"interacting_{drug_class.lower()}",
                 f"Takes {', '.join(names)} ({drug_class}), which can interact with ketamine.")
            for drug_class, names in by_class.items()]


def adequate_trials(answers):
    """How many antidepressants were named and taken for at least ADEQUATE_TRIAL_WEEKS."""
    treatment, count, row = answers.get("treatment") or {}, 0, 1
    while f"trial_{row}_name" in treatment:
        weeks = treatment.get(f"trial_{row}_weeks")
        if treatment.get(f"trial_{row}_name") and isinstance(weeks, int) and weeks >= ADEQUATE_TRIAL_WEEKS:
            count += 1
        row += 1
    return count


def treatment_resistance_flags(answers):
    """Info note when two or more adequate antidepressant trials are reported."""
    trials = adequate_trials(answers)
    if trials >= 2:
        return [Flag("info", "treatment_resistant",
                     f"Reports {trials} antidepressant trials of {ADEQUATE_TRIAL_WEEKS} weeks or more "
                     "(possible treatment-resistant depression).")]
    return []


def screen(answers, thresholds=None):
    """Every flag the answers raise, most serious first (a stable order within a level)."""
    flags = (condition_flags(answers) + blood_pressure_flags(answers, thresholds) + pregnancy_flags(answers)
             + ketamine_allergy_flags(answers) + bipolar_seeking_flags(answers) + substance_flags(answers)
             + medication_flags(answers) + treatment_resistance_flags(answers))
    return sorted(flags, key=lambda flag: LEVELS.index(flag.level))


def highest_level(flags):
    """The most serious level among `flags`, or None."""
    return min((flag.level for flag in flags), key=LEVELS.index, default=None)
