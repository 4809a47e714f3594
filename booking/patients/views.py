"""Staff patient pages: search, a new patient, the record, notes, merge, export and erase."""

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from booking.audit import record_request_event
from booking.extensions import db
from booking.models import Patient
from booking.patients import bp
from booking.patients.forms import EraseForm, MergeForm, NoteForm, PatientForm
from booking.patients.merge import likely_duplicates, merge_patients
from booking.patients.record import (PatientError, add_note, bookings_of, clean_contact, contact_of, create_patient,
                                     intakes_of, upcoming_booking)
from booking.patients.rights import erase_patient, export_patient
from booking.patients.search import SearchError, parse_birth_date, search_patients
from booking.patients.web import cipher, questionnaires_for, search_key
from booking.staff.access import staff_only
from booking.timeutil import utcnow

ALL_STAFF = ("admin", "receptionist", "clinician")
DESK = ("admin", "receptionist")


def _patient_or_404(patient_id):
    """A live record, or 404; a merged record sends staff on to the one it was merged into."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    return patient


def _carry():
    """The phone-booking choices (time, clinician) carried from the schedule through search."""
    return {key: request.values[key] for key in ("start", "clinician") if request.values.get(key)}


@bp.get("")
@staff_only(*ALL_STAFF)
def search():
    """Find a patient by part of a name, a phone number, an email or a date of birth."""
    text = request.args.get("q", "")
    results, error = [], None
    if text.strip():
        try:
            results = search_patients(db.session, text[:200], key=search_key(),
                                      contact_of=lambda patient: contact_of(patient, cipher()))
        except SearchError as refusal:
            error = refusal.message
    states = questionnaires_for(db.session, [patient.id for patient, _ in results], current_user.role)
    return render_template("patients/search.html", q=text, results=results, error=error, states=states,
                           carry=_carry(), searched=bool(text.strip())), (400 if error else 200)


@bp.route("/new", methods=["GET", "POST"])
@staff_only(*DESK)
def new():
    """Create a patient on the spot (for example while they are on the phone)."""
    form = PatientForm()
    if form.validate_on_submit():
        if form.date_of_birth.data and parse_birth_date(form.date_of_birth.data) is None:
            form.date_of_birth.errors.append("Write the date of birth as YYYY-MM-DD, for example 1985-03-27.")
        else:
            birth = parse_birth_date(form.date_of_birth.data or "")
            patient = create_patient(db.session, clean_contact(
                name=form.name.data, date_of_birth=birth.isoformat() if birth else None, email=form.email.data,
                phone=form.phone.data), cipher=cipher(), key=search_key(), now=utcnow())
            record_request_event(db.session, "change_patient", target_type="patient", target_id=patient.id,
                                 detail="created by staff")
            db.session.commit()
            flash("Patient record created.", "success")
            return redirect(url_for("patients.record", patient_id=patient.id, **_carry()))
    return render_template("patients/new.html", form=form, carry=_carry()), \
        (400 if request.method == "POST" else 200)  # a saved POST redirects above


def _record_page(patient, note_form=None, merge_form=None, error=None):
    """Everything the record page shows (nothing clinical: receptionists see it too)."""
    session, secret = db.session, cipher()
    notes = [(note, secret.decrypt(note.body_encrypted)) for note in patient.notes]
    return {
        "patient": patient, "contact": contact_of(patient, secret), "bookings": bookings_of(session, patient.id),
        "upcoming": upcoming_booking(session, patient.id),
        "questionnaire": questionnaires_for(session, [patient.id], current_user.role)[patient.id],
        "questionnaire_count": len(intakes_of(session, patient.id)),
        "duplicates": [] if patient.merged_into_id or patient.erased_at
        else likely_duplicates(session, patient, cipher=secret, key=search_key()),
        "notes": notes, "note_form": note_form or NoteForm(), "merge_form": merge_form or MergeForm(),
        "erase_form": EraseForm(), "error": error, "carry": _carry(), "role": current_user.role,
    }


@bp.get("/<id:patient_id>")
@staff_only(*ALL_STAFF)
def record(patient_id):
    """The patient's record: contact, questionnaire state in plain words, bookings, notes."""
    patient = _patient_or_404(patient_id)
    if patient.merged_into_id is not None:
        flash(f"Record #{patient.id} was merged into this one.", "info")
        return redirect(url_for("patients.record", patient_id=patient.merged_into_id))
    return render_template("patients/record.html", **_record_page(patient))


@bp.post("/<id:patient_id>/notes")
@staff_only(*ALL_STAFF)
def note(patient_id):
    """Add a staff note (audited; the note's words stay out of the audit log)."""
    patient = _patient_or_404(patient_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            added = add_note(db.session, patient, form.text.data, author=current_user, cipher=cipher(), now=utcnow())
        except PatientError as refusal:
            db.session.rollback()
            form.text.errors.append(refusal.message)
        else:
            record_request_event(db.session, "change_patient", target_type="patient", target_id=patient.id,
                                 detail=f"note {added.id} added")
            db.session.commit()
            flash("Note added.", "success")
            return redirect(url_for("patients.record", patient_id=patient.id) + "#notes")
    return render_template("patients/record.html", **_record_page(patient, note_form=form)), 400


@bp.post("/<id:patient_id>/merge")
@staff_only(*DESK)
def merge(patient_id):
    """Merge another record (a duplicate) into this one (audited)."""
    keep = _patient_or_404(patient_id)
    form = MergeForm()
    if form.validate_on_submit():
        other = db.session.get(Patient, form.other.data)
        try:
            if other is None:
                raise PatientError(f"There is no record #{form.other.data}.")
            merge_patients(db.session, keep, other, now=utcnow())
        except PatientError as refusal:
            db.session.rollback()
            return render_template("patients/record.html", **_record_page(keep, error=refusal.message)), 409
        record_request_event(db.session, "merge_patients", target_type="patient", target_id=keep.id,
                             detail=f"record {form.other.data} merged into {keep.id}")
        db.session.commit()
        flash(f"Record #{form.other.data} was merged into this one.", "success")
        return redirect(url_for("patients.record", patient_id=keep.id))
    return render_template("patients/record.html", **_record_page(keep, merge_form=form)), 400


@bp.get("/<id:patient_id>/export")
@staff_only("admin")
def export(patient_id):
    """Everything held about the patient, as a readable page (audited)."""
    data = _exported(patient_id, "HTML")
    return render_template("patients/export.html", data=data)


@bp.get("/<id:patient_id>/export.json")
@staff_only("admin")
def export_json(patient_id):
    """Everything held about the patient, as JSON (audited)."""
    response = jsonify(_exported(patient_id, "JSON"))
    response.headers["Content-Disposition"] = f'attachment; filename="patient-{patient_id}.json"'
    return response


def _exported(patient_id, form):
    """The export of one patient, with its audit row committed first."""
    patient = _patient_or_404(patient_id)
    record_request_event(db.session, "export", target_type="patient", target_id=patient.id,
                         detail=f"patient record as {form}")
    db.session.commit()
    return export_patient(db.session, patient, cipher())


@bp.post("/<id:patient_id>/erase")
@staff_only("admin")
def erase(patient_id):
    """Erase the patient's questionnaires, contact details and notes (audited)."""
    patient = _patient_or_404(patient_id)
    form = EraseForm()
    if not form.validate_on_submit() or form.confirm.data.strip().lstrip("#") != str(patient.id):
        return render_template("patients/record.html", **_record_page(
            patient, error="Type the record number to confirm the erasure.")), 400
    try:
        erase_patient(db.session, patient, cipher=cipher(), now=utcnow())
    except PatientError as refusal:
        db.session.rollback()
        return render_template("patients/record.html", **_record_page(patient, error=refusal.message)), 409
    record_request_event(db.session, "erase_patient", target_type="patient", target_id=patient_id,
                         detail="questionnaires, contact details and notes erased")
    db.session.commit()
    flash("The patient's questionnaires, contact details and notes are erased.", "success")
    return redirect(url_for("patients.record", patient_id=patient_id))
