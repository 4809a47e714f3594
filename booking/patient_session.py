"""What a patient's browser remembers between pages: the id of their questionnaire, never a token.

Flask's session cookie is signed, not encrypted: anyone who can read the cookie (a shared
computer, a proxy log) reads what is in it. So it holds only the intake's row id, which the
signature stops anyone from changing and which opens nothing on its own: private links
(resume, booking, manage) live in the patient's email, not in the cookie. The intake and
booking features both use these two functions, so "this browser's questionnaire" is
spelled once.
"""

from flask import session

INTAKE_KEY = "patient_intake_id"


def remember_intake(intake_id):
    """Remember in this browser that it is working on (or booking for) intake `intake_id`."""
    session[INTAKE_KEY] = int(intake_id)


def remembered_intake_id():
    """The intake id this browser remembers, or None."""
    value = session.get(INTAKE_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def forget_intake():
    """Stop remembering any intake in this browser."""
    session.pop(INTAKE_KEY, None)
