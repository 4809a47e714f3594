"""Demo intakes for `flask seed-demo`: one urgent, one needing clearance, one to review, one clean."""

from datetime import timedelta

from flask import current_app

from booking.crypto import cipher_for
from booking.intake import service
from booking.intake.steps import STEPS

DEMO_PATIENTS = (
    # (name, email, days ago, changes to the clean answers)
    ("Casey Demo", "casey@example.org", 1, {"phq9": {"phq9_9": 1}}),
    ("Morgan Demo", "morgan@example.org", 2, {"medical": {"bp_systolic": 165, "bp_diastolic": 95}}),
    ("Robin Demo", "robin@example.org", 3, {"medications": {"medications": "Lamictal 100 mg\nsertraline 50 mg"}}),
    ("Taylor Demo", "taylor@example.org", 4, {}),
)


def demo_answers(name, email, changes):
    """Plausible answers for every step that raise no flag, with `changes` applied."""
    answers = {
        "about": {"legal_name": name, "date_of_birth": "1984-06-12", "email": email, "phone": "555 010 0123",
                  "region": "Massachusetts", "weight_kg": 72, "emergency_name": "Alex Demo",
                  "emergency_phone": "555 010 0124", "referrer": None},
        "seeking": {"conditions": ["depression"], "conditions_other": None, "self_harm_thoughts": "no"},
        "phq9": {**{f"phq9_{n}": 2 for n in range(1, 9)}, "phq9_9": 0, "phq9_difficulty": "very"},
        "gad7": {f"gad7_{n}": 1 for n in range(1, 8)},
        "pcl5": {f"pcl5_{n}": 1 for n in range(1, 21)},
        "treatment": {**{f"trial_{r}_{part}": None for r in range(1, 5) for part in ("name", "dose", "response")},
                      **{f"trial_{r}_weeks": None for r in range(1, 5)},
                      "trial_1_name": "sertraline", "trial_1_weeks": 10, "trial_2_name": "bupropion",
                      "trial_2_weeks": 8, "therapy": "yes", "advanced": [], "hospitalisations": None},
        "medical": {"conditions": ["none"], "pregnant": "not_applicable", "breastfeeding": "no", "bp_systolic": 122,
                    "bp_diastolic": 78, "bp_date": None, "other_conditions": None},
        "medications": {"medications": "sertraline 50 mg", "allergies": None, "ketamine_allergy": "no"},
        "substance": {"alcohol": "monthly", "cannabis": "never", "stimulants": "never", "opioids": "never",
                      "ketamine_nonmedical": "no", "substance_disorder": "no"},
    }
    for key, values in changes.items():
        answers[key] = {**answers[key], **values}
    return answers


def seed_demo_intakes(session, clinicians, now):
    """Add the demo intakes, submitted over the last few days (DEMO_EXTENSIONS hook)."""
    config = current_app.config  # the demo command runs inside the app; the keys come from its settings
    cipher = cipher_for(config)
    for name, email, days_ago, changes in DEMO_PATIENTS:
        when = now - timedelta(days=days_ago)
        intake, _token = service.start_intake(session, cipher=cipher, search_key=config["PATIENT_SEARCH_KEY"],
                                              now=when, draft_days=config["INTAKE_DRAFT_DAYS"])
        answers = demo_answers(name, email, changes)
        for step in STEPS:
            if step.kind == "form":
                service.save_step(session, intake, step, answers[step.key], cipher=cipher,
                                  search_key=config["PATIENT_SEARCH_KEY"], now=when,
                                  draft_days=config["INTAKE_DRAFT_DAYS"])
        service.acknowledge_crisis(intake, when)
        service.mark_review_seen(intake, when, config["INTAKE_DRAFT_DAYS"])
        service.submit_intake(session, intake, signature=name, cipher=cipher, now=when, settings=config,
                              ip="127.0.0.1", user_agent="demo")
