"""Blind-index search over encrypted contact details (the CipherSweet pattern). Free of Flask.

Each searchable form of a value (the normalised email, the phone's digits, the date of
birth, each name word and its prefixes of three letters or more) is stored as
HMAC-SHA256(PATIENT_SEARCH_KEY, kind + value), truncated to INDEX_HEX hex digits. The key
is not an encryption key; truncation makes one index value match a few people, so the
index alone does not single anyone out. A search is one SELECT over the index; the few
candidates it returns are decrypted and the false matches dropped.
"""

import hashlib
import hmac
import re
from datetime import date, datetime

import sqlalchemy as sa

from booking.models import Patient, PatientIndex

# 16 bits: at 10,000 patients an email's index value is shared by about one other record in
# six, and a name prefix by a handful; enough to blur, few enough to decrypt.
INDEX_HEX = 4
MIN_NAME_PART = 3
MAX_CANDIDATES = 500
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")


class SearchError(Exception):
    """A search that cannot be run as typed; `message` tells staff what to type instead."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def normal_email(value):
    """The email as compared: trimmed and lower-cased, or None."""
    value = (value or "").strip().lower()
    return value or None


def phone_digits(value):
    """The phone's digits, without a leading US country code 1, or None if fewer than 7."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) >= 7 else None


def name_words(value):
    """The lower-cased words of a name ("Mary-Jane O'Neil" -> mary, jane, o'neil)."""
    return [word for word in re.split(r"[\s\-]+", (value or "").lower()) if word]


def parse_birth_date(value):
    """A date of birth typed as YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY, or None."""
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime((value or "").strip(), pattern).date()
        except ValueError:
            continue
    return None


def blind_index(key, kind, value):
    """The truncated HMAC-SHA256 of `value` as a `kind` (hex)."""
    digest = hmac.new(key.encode() if isinstance(key, str) else key, f"{kind}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:INDEX_HEX]


def searchable_forms(contact):
    """{(kind, plain form)} of a contact dict: what a search may match."""
    forms = set()
    if email := normal_email(contact.get("email")):
        forms.add(("email", email))
    if digits := phone_digits(contact.get("phone")):
        forms.add(("phone", digits))
    birth = contact.get("date_of_birth")
    if isinstance(birth, date):
        birth = birth.isoformat()
    if birth and parse_birth_date(birth):
        forms.add(("dob", parse_birth_date(birth).isoformat()))
    for word in name_words(contact.get("name")):
        for end in range(min(MIN_NAME_PART, len(word)), len(word) + 1):
            forms.add(("name", word[:end]))
    return forms


def index_rows(key, patient_id, contact):
    """The patient_index rows (as dicts) for one patient's contact details."""
    values = {(kind, blind_index(key, kind, form)) for kind, form in searchable_forms(contact)}
    return [{"patient_id": patient_id, "kind": kind, "value": value} for kind, value in sorted(values)]


def query_forms(text):
    """What a typed search means: [(kind, plain form)], all of which must match. Raises SearchError."""
    text = (text or "").strip()
    if not text:
        raise SearchError("Type part of a name, a phone number, an email or a date of birth.")
    if "@" in text:
        return [("email", normal_email(text))]
    if (birth := parse_birth_date(text)) is not None:
        return [("dob", birth.isoformat())]
    if re.fullmatch(r"[\d\s().+\-]+", text):
        digits = phone_digits(text)
        if digits is None:
            raise SearchError("A phone number needs at least 7 digits.")
        return [("phone", digits)]
    words = name_words(text)
    if any(len(word) < MIN_NAME_PART for word in words):
        raise SearchError(f"Type at least {MIN_NAME_PART} letters of each part of the name.")
    return [("name", word) for word in words]


def candidate_query(key, forms):
    """One SELECT of the patients whose index holds every form (false matches included)."""
    kinds = {kind for kind, _form in forms}
    assert len(kinds) == 1, "query_forms gives forms of one kind"  # so the values alone tell them apart
    values = {blind_index(key, kind, form) for kind, form in forms}
    matching = (sa.select(PatientIndex.patient_id)
                .where(PatientIndex.kind == kinds.pop(), PatientIndex.value.in_(sorted(values)))
                .group_by(PatientIndex.patient_id)
                .having(sa.func.count(sa.distinct(PatientIndex.value)) == len(values)))
    return (sa.select(Patient).where(Patient.id.in_(matching), Patient.merged_into_id.is_(None),
                                     Patient.erased_at.is_(None))
            .order_by(Patient.id).limit(MAX_CANDIDATES))


def matches(contact, forms):
    """True if the decrypted `contact` really has every searched form."""
    return set(forms) <= searchable_forms(contact)


def search_patients(session, text, *, key, contact_of, limit=50):
    """[(patient, contact)] matching `text`, in one query. Raises SearchError for unusable input.

    `contact_of(patient)` decrypts a record (booking.patients.record.contact_of with a cipher).
    """
    forms = query_forms(text)
    found = []
    for patient in session.scalars(candidate_query(key, forms)).unique():
        contact = contact_of(patient)
        if matches(contact, forms):
            found.append((patient, contact))
            if len(found) >= limit:
                break
    return found


def reindex(session, patient_id, contact, key):
    """Replace one patient's index rows (after their contact details change)."""
    session.execute(sa.delete(PatientIndex).where(PatientIndex.patient_id == patient_id))
    rows = index_rows(key, patient_id, contact)
    if rows:
        session.execute(sa.insert(PatientIndex), rows)


def rebuild_all(session, *, key, contact_of, batch_size=500):
    """Recompute every patient's index under `key` (after the key changed). Returns how many."""
    count, last_id = 0, 0
    while True:
        patients = session.scalars(sa.select(Patient).where(Patient.id > last_id)
                                   .order_by(Patient.id).limit(batch_size)).all()
        if not patients:
            return count
        for patient in patients:
            reindex(session, patient.id, contact_of(patient), key)
            last_id, count = patient.id, count + 1
        session.flush()
