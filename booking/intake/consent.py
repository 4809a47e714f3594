"""The consent text, by version. Changing the wording means adding a new version here and
pointing CONSENT_VERSION at it, so every stored consent names the exact text it agreed to."""

import hashlib

CONSENT_TEXTS = {
    "2026-11": (
        "I confirm that the answers I have given are true and complete to the best of my knowledge.\n"
        "I understand that this questionnaire is read by the clinic's clinicians to decide whether a "
        "consultation for ketamine treatment may be suitable for me, and that it is not a diagnosis, "
        "a prescription or a promise of treatment.\n"
        "I understand that this form is not watched in real time. If I am in crisis I will call or text "
        "988, chat at 988lifeline.org, or call 911 in an emergency.\n"
        "I agree that the clinic stores my answers, encrypted, to assess and provide my care, and may "
        "contact me by email or phone about them.\n"
        "I understand that I can ask the clinic to correct my answers at any time."
    ),
}
DEFAULT_CONSENT_VERSION = "2026-11"


def consent_text(version):
    """The exact consent text for `version`. Raises KeyError for an unknown version."""
    return CONSENT_TEXTS[version]


def consent_digest(text):
    """SHA-256 (hex) of the exact text shown to the patient."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
