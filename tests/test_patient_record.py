"""The patient record page: front-desk words, notes, duplicates and merge, export and erase."""

import html
import json

import sqlalchemy as sa

from booking.crypto import cipher_for
from booking.models import AuditEvent, Booking, Intake, Patient, PatientNote
from booking.patients.record import contact_of
from tests.booking_factories import add_booking, add_clinician, utc
from tests.intake_factories import answers_with, complete_intake, create_intake
from tests.patient_factories import make_patient

CLINICAL = ("PHQ", "GAD", "PCL", "pregnan", "Urgent", "urgent", "crisis", "flag", "Clearance needed", "sertraline")


def text(response):
    return html.unescape(response.get_data(as_text=True))


def test_a_receptionist_sees_contact_and_state_in_plain_words_never_clinical_data(app, db, client, make_staff, login):
    intake = create_intake(db.session, app.config, answers_with(
        medical={"pregnant": "yes"}, phq9={"phq9_9": 2}))  # clearance needed, and a crisis answer
    login(make_staff("receptionist"))
    page = text(client.get(f"/staff/patients/{intake.patient_id}"))
    main = page[page.index("<main"):page.index("</main>")]  # the footer's crisis line is on every page
    assert "Jordan Example" in main and "jordan@example.org" in main and "1985-03-27" in main
    assert '<dd class="questionnaire-state">waiting for a clinician</dd>' in main
    assert not [word for word in CLINICAL if word in main]
    assert f"/staff/intakes/{intake.id}" not in page  # no way to the answers


def test_a_clinician_gets_the_link_to_the_questionnaire(app, db, client, make_staff, login):
    intake = create_intake(db.session, app.config)
    login(make_staff("clinician"))
    page = text(client.get(f"/staff/patients/{intake.patient_id}"))
    assert "received" in page and f'href="/staff/intakes/{intake.id}">Open the questionnaire' in page


def test_front_desk_words_follow_the_questionnaire(app, db, client, make_staff, login):
    login(make_staff("receptionist"))
    waiting = create_intake(db.session, app.config, answers_with(medical={"pregnant": "yes"}))
    draft = create_intake(db.session, app.config, submit=False)
    cleared = create_intake(db.session, app.config, answers_with(medical={"pregnant": "yes"}))
    cleared.cleared_at = utc(2026, 1, 1)
    call = create_intake(db.session, app.config)
    call.decision = "need_info"
    db.session.commit()
    for intake, words in ((waiting, "waiting for a clinician"), (draft, "started, not sent yet"),
                          (cleared, "cleared to book"), (call, "a clinician will call")):
        page = text(client.get(f"/staff/patients/{intake.patient_id}"))
        assert f'questionnaire-state">{words}<' in page, words
    nobody = make_patient(db.session)
    db.session.commit()
    assert "no questionnaire yet" in text(client.get(f"/staff/patients/{nobody.id}"))


def test_notes_are_encrypted_and_audited_without_their_words(app, db, client, make_staff, login):
    patient = make_patient(db.session, name="Noted Person")
    db.session.commit()
    login(make_staff("receptionist"))
    response = client.post(f"/staff/patients/{patient.id}/notes", data={"text": "prefers mornings"})
    assert response.status_code == 302
    assert "prefers mornings" in text(client.get(f"/staff/patients/{patient.id}"))
    stored = db.session.execute(sa.text("SELECT body_encrypted FROM patient_note")).scalar()
    assert "mornings" not in stored
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "change_patient")).all()
    assert [event.target_id for event in audit] == [str(patient.id)] and "mornings" not in audit[0].detail
    assert client.post(f"/staff/patients/{patient.id}/notes", data={"text": "  "}).status_code == 400


def test_an_online_questionnaire_never_joins_a_record_by_matching_email(app, db, client):
    existing = make_patient(db.session, name="Jordan Example", email="jordan@example.org")
    db.session.commit()
    complete_intake(client)  # the same name and email as the existing record
    intake = db.session.scalars(sa.select(Intake)).one()
    assert intake.patient_id != existing.id


def test_a_questionnaire_link_sent_to_a_patient_fills_their_record(app, db, client, make_staff, login):
    from booking.patients.record import issue_questionnaire_link
    from booking.timeutil import utcnow

    patient = make_patient(db.session, name="Invited Person", email="invited@example.org")
    token = issue_questionnaire_link(patient, now=utcnow(), days=30)
    db.session.commit()
    assert client.get(f"/intake/invited/{token}").status_code == 200
    assert client.post(f"/intake/invited/{token}").status_code == 302
    intake = db.session.scalars(sa.select(Intake)).one()
    assert intake.patient_id == patient.id
    assert client.get(f"/intake/invited/{token}").status_code == 404  # used once
    assert client.get("/intake/invited/made-up-token").status_code == 404


def test_duplicates_are_shown_and_merged_with_an_audit_row(app, db, client, make_staff, login):
    clinician = add_clinician(db.session)
    keep = make_patient(db.session, name="Alex Twin", email="alex@example.org")
    other = make_patient(db.session, name="Alexander Twin", email="ALEX@example.org ")
    phone_twin = make_patient(db.session, name="A. T.", phone="(555) 777-1234", date_of_birth="1970-01-01")
    same_phone = make_patient(db.session, name="Someone", phone="555 777 1234", date_of_birth="1970-01-01")
    db.session.commit()
    add_booking(db.session, clinician, utc(2026, 3, 3, 15), patient_id=other.id)
    login(make_staff("receptionist"))
    page = text(client.get(f"/staff/patients/{keep.id}"))
    assert f"Alexander Twin #{other.id}" in page and "Someone" not in page
    assert f"Someone #{same_phone.id}" in text(client.get(f"/staff/patients/{phone_twin.id}"))
    response = client.post(f"/staff/patients/{keep.id}/merge", data={"other": str(other.id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalars(sa.select(Booking.patient_id)).all() == [keep.id]
    assert db.session.get(Patient, other.id).merged_into_id == keep.id
    assert client.get(f"/staff/patients/{other.id}").headers["Location"].endswith(f"/staff/patients/{keep.id}")
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "merge_patients")).all()
    assert event.target_id == str(keep.id) and "Alex" not in event.detail
    assert client.post(f"/staff/patients/{keep.id}/merge", data={"other": str(keep.id)}).status_code == 409


def test_an_admin_exports_everything_and_erases_it_audited(app, db, client, make_staff, login):
    clinician = add_clinician(db.session, name="Dr Export")
    intake = create_intake(db.session, app.config)
    patient_id = intake.patient_id
    add_booking(db.session, clinician, utc(2026, 3, 3, 15), intake_id=intake.id, status="completed")
    login(make_staff("admin"))
    client.post(f"/staff/patients/{patient_id}/notes", data={"text": "prefers mornings"})
    page = text(client.get(f"/staff/patients/{patient_id}/export"))
    assert "Jordan Example" in page and "sertraline 100 mg" in page and "prefers mornings" in page
    assert "Dr Export" in page
    data = json.loads(client.get(f"/staff/patients/{patient_id}/export.json").get_data(as_text=True))
    assert data["contact"]["email"] == "jordan@example.org"
    assert data["questionnaires"][0]["scores"] == {"phq9": 8, "gad7": 7, "pcl5": 20}
    assert [note["text"] for note in data["notes"]] == ["prefers mornings"]
    refused = client.post(f"/staff/patients/{patient_id}/erase", data={"confirm": "wrong"})
    assert refused.status_code == 400
    assert client.post(f"/staff/patients/{patient_id}/erase", data={"confirm": str(patient_id)}).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(sa.select(Intake)).all() == []
    assert db.session.scalars(sa.select(PatientNote)).all() == []
    patient = db.session.get(Patient, patient_id)
    assert contact_of(patient, cipher_for(app.config))["name"] is None and patient.erased_at is not None
    assert db.session.scalars(sa.select(Booking.patient_id)).all() == [patient_id]  # the schedule keeps its time
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.target_type == "patient")
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["change_patient", "export", "export", "erase_patient"]
    audit_text = repr(db.session.execute(sa.text("SELECT * FROM audit_event")).all())
    assert "Jordan" not in audit_text and "jordan@example.org" not in audit_text and "mornings" not in audit_text


def test_only_admins_export_or_erase(app, db, client, make_staff, login):
    patient = make_patient(db.session)
    db.session.commit()
    login(make_staff("receptionist"))
    assert client.get(f"/staff/patients/{patient.id}/export.json").status_code == 403
    assert client.post(f"/staff/patients/{patient.id}/erase", data={"confirm": str(patient.id)}).status_code == 403


def test_confirming_the_details_already_on_record_writes_nothing(app, db):
    from booking.patients.record import set_contact
    from booking.patients.search import search_patients
    from tests.test_booking_queries import counted

    cipher, key = cipher_for(app.config), app.config["PATIENT_SEARCH_KEY"]
    patient = make_patient(db.session, name="Rosa Same", email="rosa@example.org")
    db.session.commit()
    sealed, updated = patient.contact_encrypted, patient.updated_at
    with counted(db.engine) as statements:
        set_contact(db.session, patient, {"name": " Rosa Same ", "email": "ROSA@example.org", "phone": None},
                    cipher=cipher, key=key, now=utc(2030, 1, 1, 9))
        db.session.commit()
    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]  # no write at all
    assert patient.contact_encrypted == sealed and patient.updated_at == updated
    set_contact(db.session, patient, {"phone": "555 0100"}, cipher=cipher, key=key, now=utc(2030, 1, 1, 9))
    db.session.commit()
    assert contact_of(patient, cipher)["phone"] == "555 0100"
    assert [found.id for found, _ in search_patients(db.session, "555 0100", key=key,
                                                      contact_of=lambda p: contact_of(p, cipher))] == [patient.id]
