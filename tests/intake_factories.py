"""Test data for the intake: valid answers for every step, as stored values and as form posts."""

import re
from datetime import timedelta

from booking.crypto import cipher_for
from booking.intake import service
from booking.intake.steps import STEP_NUMBER, STEPS
from booking.timeutil import utcnow

PLANTED = "Zebra-marmalade-7731"  # a string no ciphertext will ever contain by chance


def default_values():
    """Answers for every form step that raise no flag and no crisis, by step key (stored form)."""
    return {
        "about": {"legal_name": "Jordan Example", "date_of_birth": "1985-03-27", "email": "jordan@example.org",
                  "phone": "555 010 0199", "region": "Massachusetts", "weight_kg": 70,
                  "emergency_name": "Sam Example", "emergency_phone": "555 010 0200", "referrer": None},
        "seeking": {"conditions": ["depression"], "conditions_other": None, "self_harm_thoughts": "no"},
        "phq9": {**{f"phq9_{n}": 1 for n in range(1, 9)}, "phq9_9": 0, "phq9_difficulty": "somewhat"},
        "gad7": {f"gad7_{n}": 1 for n in range(1, 8)},
        "pcl5": {f"pcl5_{n}": 1 for n in range(1, 21)},
        "treatment": {**{f"trial_{r}_{part}": None for r in range(1, 5)
                         for part in ("name", "dose", "weeks", "response")},
                      "therapy": "yes", "advanced": [], "hospitalisations": None},
        "medical": {"conditions": ["none"], "pregnant": "no", "breastfeeding": "no", "bp_systolic": 120, "bp_diastolic": 80,
                    "bp_date": (utcnow().date() - timedelta(days=7)).isoformat(), "other_conditions": None},
        "medications": {"medications": "sertraline 100 mg", "allergies": None, "ketamine_allergy": "no"},
        "substance": {"alcohol": "monthly", "cannabis": "never", "stimulants": "never", "opioids": "never",
                      "ketamine_nonmedical": "no", "substance_disorder": "no"},
    }


def answers_with(**changes):
    """default_values() with some steps' answers changed: answers_with(medical={"pregnant": "yes"})."""
    answers = default_values()
    for key, values in changes.items():
        answers[key] = {**answers.get(key, {}), **values}
    return answers


def form_data(step_key, values=None):
    """A POST body for a step from stored-form values (None and [] are left out, like a browser)."""
    data = {"step": str(STEP_NUMBER[step_key])}
    for name, value in (values if values is not None else default_values()[step_key]).items():
        if value is None or value == []:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def complete_intake(client, answers=None, signature="Jordan Example", follow_crisis=True):
    """Walk the whole intake through `client`; returns the response to the final submit."""
    answers = answers or default_values()
    assert client.post("/intake/start").status_code == 302
    for step in STEPS:
        number = STEP_NUMBER[step.key]
        if step.kind == "form":
            response = client.post(f"/intake/step/{number}", data=form_data(step.key, answers[step.key]))
            assert response.status_code == 302, (step.key, response.data.decode()[:2000])
            if response.location.endswith("/intake/crisis") and follow_crisis:
                client.post("/intake/crisis")
        elif step.kind == "review":
            assert client.post(f"/intake/step/{number}").status_code == 302
        else:
            return client.post(f"/intake/step/{number}", data={"step": str(number), "signature": signature,
                                                              "agree": "y"})
    raise AssertionError("no consent step")


def walk_to(client, key):
    """Start an intake and save every step before `key` with valid answers; returns the page of `key`."""
    keys = list(default_values())
    client.post("/intake/start")
    for earlier in keys[:keys.index(key)]:
        assert client.post(f"/intake/step/{form_data(earlier)['step']}", data=form_data(earlier)).status_code == 302
    return client.get(f"/intake/step/{form_data(key)['step']}").get_data(as_text=True)


def create_intake(session, config, answers=None, now=None, submit=True):
    """Build an intake directly through the service (for queue and review tests). Returns it."""
    cipher, now = cipher_for(config), now or utcnow()
    answers = answers or default_values()
    key = config["PATIENT_SEARCH_KEY"]
    intake, _token = service.start_intake(session, cipher=cipher, search_key=key, now=now, draft_days=30)
    for step in STEPS:
        if step.kind == "form":
            service.save_step(session, intake, step, answers[step.key], cipher=cipher, search_key=key, now=now,
                              draft_days=30)
    if submit:
        service.mark_review_seen(intake, now, 30)
        service.submit_intake(session, intake, signature="Jordan Example", cipher=cipher, now=now,
                              settings=config, ip="127.0.0.1", user_agent="pytest")
    session.commit()
    return intake


def queue_badges(page):
    """{name on the row: the words of its status badges} from the intake queue page."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        if len(cells) > 3:
            name = re.sub(r"<[^>]+>", "", cells[0]).strip()
            rows[name] = re.findall(r'<span class="badge ([^"]+)">([^<]+)</span>', cells[3])
    return rows
