"""Search over blind indexes: each key, false matches dropped, one statement at 10,000 patients."""

import html
import pytest
import sqlalchemy as sa

from booking.crypto import cipher_for
from booking.models import PatientIndex
from booking.patients.record import contact_of
from booking.patients.search import SearchError, blind_index, query_forms, search_patients
from tests.patient_factories import insert_patients, make_patient
from tests.test_booking_queries import counted

KEY = "k" * 40


def names(found):
    return sorted(contact["name"] for _patient, contact in found)


def find(db, app, text):
    cipher = cipher_for(app.config)
    return search_patients(db.session, text, key=app.config["PATIENT_SEARCH_KEY"],
                           contact_of=lambda patient: contact_of(patient, cipher))


@pytest.fixture
def people(db):
    make_patient(db.session, name="Jordan Example", email="Jordan@Example.org", phone="+1 (555) 010-0199",
                 date_of_birth="1985-03-27")
    make_patient(db.session, name="Jordana Smith", email="js@example.org", phone="555 010 0200",
                 date_of_birth="1990-01-02")
    make_patient(db.session, name="Sam Example", email="sam@example.org", phone="555-010-0300",
                 date_of_birth="1985-03-27")
    db.session.commit()


@pytest.mark.parametrize("text, expected", [
    ("jor", ["Jordan Example", "Jordana Smith"]),          # part of a name
    ("JORDAN exa", ["Jordan Example"]),                     # every word must match
    ("example", ["Jordan Example", "Sam Example"]),
    ("(555) 010-0199", ["Jordan Example"]),                 # a phone number in any format
    ("15550100199", ["Jordan Example"]),
    ("jordan@example.org", ["Jordan Example"]),             # an email, any case
    ("1985-03-27", ["Jordan Example", "Sam Example"]),      # a date of birth, in either form
    ("03/27/1985", ["Jordan Example", "Sam Example"]),
    ("nobody", []),
])
def test_search_by_each_key(app, db, people, text, expected):
    assert names(find(db, app, text)) == expected


def test_false_matches_of_the_truncated_index_are_dropped(app, db, people):
    # Give a stranger the same index value as "jordana" without the name: the index alone matches...
    stranger = make_patient(db.session, name="Zed Quux")
    db.session.add(PatientIndex(patient_id=stranger.id, kind="name",
                                value=blind_index(app.config["PATIENT_SEARCH_KEY"], "name", "jordana")))
    db.session.commit()
    # ...but the decrypted record does not, so it is not shown.
    assert names(find(db, app, "jordana")) == ["Jordana Smith"]


def test_unusable_searches_are_explained(app, db, client, make_staff, login):
    for text in ("", "jo", "555 12", "a b"):
        with pytest.raises(SearchError):
            query_forms(text)
    login(make_staff("receptionist"))
    response = client.get("/staff/patients?q=jo")
    assert response.status_code == 400 and "at least 3 letters" in response.get_data(as_text=True)


def test_the_index_holds_no_readable_value_and_uses_its_own_key(app, db, people):
    stored = db.session.execute(sa.text("SELECT kind, value FROM patient_index")).all()
    assert stored and all(len(value) == 4 for _kind, value in stored)
    assert not any("jordan" in value or "0199" in value for _kind, value in stored)
    assert blind_index(KEY, "name", "jordan") != blind_index(app.config["PATIENT_SEARCH_KEY"], "name", "jordan")


def test_rotate_search_key_recomputes_every_index(app, db, people):
    app.config["PATIENT_SEARCH_KEY"] = KEY
    assert find(db, app, "jordan@example.org") == []  # the old index no longer matches
    result = app.test_cli_runner().invoke(args=["rotate-search-key"])
    assert result.exit_code == 0 and "3 patient(s)" in result.output
    db.session.expire_all()
    assert names(find(db, app, "jordan@example.org")) == ["Jordan Example"]


def test_search_at_ten_thousand_patients_is_one_statement(app, db):
    """Rows are inserted in bulk with precomputed index values (10,000 ORM round trips would be slow)."""
    insert_patients(db.session, app.config, 10_000)
    for text, expected in (("p4321@example.org", ["Person4321 Family53"]), ("(555) 000-4321", ["Person4321 Family53"]),
                           ("person4321", ["Person4321 Family53"]), ("person4321 fam", ["Person4321 Family53"])):
        db.session.expire_all()
        with counted(db.engine) as statements:
            found = find(db, app, text)
        assert names(found) == expected
        assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements


def test_the_search_box_is_on_every_staff_page_and_labelled(app, client, make_staff, login):
    login(make_staff("receptionist"))
    for path in ("/staff/", "/staff/schedule", "/staff/intakes", "/staff/patients"):
        page = html.unescape(client.get(path).get_data(as_text=True))
        assert '<form method="get" action="/staff/patients" class="staff-search" role="search"' in page, path
        assert '<label for="staff-search-q">Find a patient</label>' in page
