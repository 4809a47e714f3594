"""Staff booking pages: book a phone patient, a booking's page and history, status, move, cancel."""

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.appointments.availability import BOOKABLE, parse_day
from booking.appointments.bookings import (STATUS_LABELS, AlreadyBooked, BeyondHorizon, BookingError, SlotTaken,
                                           cancel_booking, create_booking, move_booking)
from booking.appointments.statuses import UNDO, set_status
from booking.appointments.forms import CancelForm, MoveForm, PhoneBookingForm, StatusForm, WalkInForm
from booking.appointments.walk_ins import walk_in_slot
from booking.appointments.week_cache import plan_context
from booking.appointments.hours import parse_wall_time
from booking.appointments.web import booking_context, manage_link, parse_slot
from booking.audit import record_request_event
from booking.extensions import db
from booking.models import Booking, ClinicianProfile, Patient, StaffUser
from booking.patients.desk import phone_booking_questionnaire_link
from booking.patients.record import PatientError
from booking.patients.web import questionnaires_for
from booking.schedule import bp
from booking.staff.access import staff_only
from booking.templating import patient_contact
from booking.timeutil import ClockTimeError, repeated_time_choices, resolve_clock_time, to_zone, twelve_hour, utcnow

MANAGERS = ("admin", "receptionist")
WALK_IN = "walk-in"  # the walk-in form's field prefix: its fields share the page with the phone booking's


def clinician_choices():
    """(id, name) choices of active clinicians with a booking profile."""
    rows = db.session.execute(sa.select(StaffUser.id, StaffUser.name)
                              .join(ClinicianProfile, ClinicianProfile.clinician_id == StaffUser.id)
                              .where(BOOKABLE).order_by(StaffUser.name)).all()
    return [(str(row.id), row.name) for row in rows]


def requested_instant(form):
    """The UTC instant of the form's clinic date and time, or None (errors added to the fields).

    A time the clocks repeat that day offers its two instants (form.fold) and needs one chosen;
    a time they skip is refused in words.
    """
    day, wall = parse_day(form.date.data), parse_wall_time(form.time.data)
    if day is None:
        form.date.errors.append("Write the date as YYYY-MM-DD, for example 2026-03-09.")
    if wall is None:
        form.time.errors.append("Write the time as HH:MM, for example 09:30.")
    if day is None or wall is None:
        return None
    zone = current_app.config["CLINIC_TIMEZONE"]
    offer_repeated_time(form, day, wall, zone)
    try:
        return resolve_clock_time(day, wall, zone, form.fold.data)
    except ClockTimeError as refusal:
        (form.fold if refusal.choices else form.time).errors.append(refusal.message)
        return None


def offer_repeated_time(form, day, wall, zone):
    """Give the form's "which one?" choice the two instants of a time the clocks repeat on `day` (else none)."""
    form.fold.choices = repeated_time_choices(day, wall, zone)
    form.fold.label.text = f"Which {twelve_hour(wall)}?"


def prefill_time(form, start_text, clinician):
    """Fill the date, time and clinician fields from a grid link (?start=...&clinician=...)."""
    starts_at = parse_slot(start_text)
    if starts_at is not None:
        zone = current_app.config["CLINIC_TIMEZONE"]
        local = to_zone(starts_at, zone)
        form.date.data, form.time.data = local.date().isoformat(), local.strftime("%H:%M")
        offer_repeated_time(form, local.date(), local.time(), zone)
        form.fold.data = str(local.fold)  # the grid's second 1:30 stays the second
    if clinician:
        form.clinician.data = clinician


def booking_for(booking_id, lock=False):
    """The booking this person may see (a clinician only their own), or 404.

    `lock` takes the row lock before a change (as the patient's manage link does), so a staff move
    and a patient's cancel of one booking run one after the other, never on stale copies.
    """
    booking = db.session.get(Booking, booking_id, with_for_update={"of": Booking} if lock else None)
    if booking is None or (current_user.role == "clinician" and booking.clinician_id != current_user.id):
        abort(404)
    return booking


def chosen_patient(value):
    """The live patient record a phone booking is for (`?patient=<id>`), or None."""
    if not value or not str(value).isdigit() or len(str(value)) > 10:
        return None
    patient = db.session.get(Patient, int(value))
    return patient if patient is not None and patient.merged_into_id is None and patient.erased_at is None else None


@bp.route("/book", methods=["GET", "POST"])
@staff_only("admin", "receptionist", "clinician")
def new_booking():
    """Book a patient who phoned: found by search (or created on the spot) first, then a time."""
    patient = chosen_patient(request.values.get("patient"))
    if patient is None:  # the page asks who first, carrying the chosen time along
        return render_template("schedule/new_booking.html", patient=None, carry={
            key: request.args[key] for key in ("start", "clinician") if request.args.get(key)}), \
            (400 if request.method == "POST" else 200)
    form = PhoneBookingForm()
    form.clinician.choices = clinician_choices()
    if request.method == "GET":
        prefill_time(form, request.args.get("start"), request.args.get("clinician"))
        form.patient.data = str(patient.id)
    alternatives, error, existing, conflict = [], None, None, False
    confirm_horizon = form.beyond_horizon.data  # once asked, the box stays on the page
    if form.validate_on_submit() and (starts_at := requested_instant(form)) is not None:
        try:
            link = phone_booking_questionnaire_link(db.session, patient, role=current_user.role, config=current_app.config,
                                                    now=utcnow())
            ctx, _clinicians = plan_context(db.session, current_app)
            booking, _token = create_booking(db.session, ctx, clinician_id=int(form.clinician.data),
                                             starts_at=starts_at, patient_id=patient.id, link_for=manage_link,
                                             source="phone", actor=current_user, questionnaire_link=link,
                                             beyond_horizon=form.beyond_horizon.data,
                                             off_grid_reason=form.off_grid_reason.data)
        except AlreadyBooked as refusal:
            db.session.rollback()
            error, existing = ("This patient already has an upcoming consultation. A patient has one at a time: "
                               "move that booking instead."), refusal.booking
            conflict = True
        except (BookingError, PatientError) as refusal:  # SlotTaken included: it brings the nearest free times
            db.session.rollback()
            error, alternatives = refusal.message, list(getattr(refusal, "alternatives", ()))
            conflict = isinstance(refusal, SlotTaken)
            confirm_horizon = confirm_horizon or isinstance(refusal, BeyondHorizon)
        else:
            return _booked(booking, patient, "phone booking created", "with")
    status = 409 if (conflict or existing) else (400 if request.method == "POST" else 200)
    return render_template("schedule/new_booking.html", form=form, error=error, alternatives=alternatives,
                           existing=existing, patient=patient, names=dict(form.clinician.choices),
                           confirm_horizon=confirm_horizon, walk_in=walk_in_form(patient)), status


def walk_in_form(patient):
    """The "Book now" form for `patient`, with any clinician or one of them."""
    form = WalkInForm(formdata=None, patient=str(patient.id), prefix=WALK_IN)
    form.clinician.choices = [("any", "Whoever is free first")] + clinician_choices()
    return form


@bp.post("/book/now")
@staff_only("admin", "receptionist", "clinician")
def book_now():
    """A walk-in: book the patient into the time running now, or the next free one today."""
    patient = chosen_patient(request.form.get(f"{WALK_IN}-patient"))
    if patient is None:
        abort(400, "Choose the patient first.")
    form = WalkInForm(prefix=WALK_IN)
    form.clinician.choices = [("any", "Whoever is free first")] + clinician_choices()
    if not form.validate_on_submit():
        abort(400, "Choose a clinician from the list.")
    ctx = booking_context()
    clinician_id = None if form.clinician.data == "any" else int(form.clinician.data)
    try:
        slot = walk_in_slot(db.session, ctx, clinician_id)
        link = phone_booking_questionnaire_link(db.session, patient, role=current_user.role,
                                                config=current_app.config, now=ctx.now)
        booking, _token = create_booking(db.session, ctx, clinician_id=slot.clinician_id, starts_at=slot.starts_at,
                                         patient_id=patient.id, link_for=manage_link, source="phone",
                                         actor=current_user, questionnaire_link=link, walk_in=True)
    except (BookingError, PatientError) as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("schedule.new_booking", patient=patient.id))
    return _booked(booking, patient, "walk-in booked", "now, with")


def _booked(booking, patient, detail, words):
    """Audit and commit a new staff booking, say so, and open its page (the words and the link are
    made before the commit, which would expire the rows they are read from)."""
    record_request_event(db.session, "change_booking", target_type="booking", target_id=booking.id, detail=detail)
    said = f"Booked {patient_contact(patient)['name'] or 'the patient'} {words} {booking.clinician.name}."
    page = url_for("schedule.booking", booking_id=booking.id)
    db.session.commit()
    flash(said, "success")
    return redirect(page)


@bp.get("/booking/<id:booking_id>")
@staff_only("admin", "receptionist", "clinician")
def booking(booking_id):
    """A booking's details, its status history and (for reception) what can be done with it."""
    item = booking_for(booking_id)
    move_form = None
    if request.args.get("start"):  # a suggested time's link fills the Move form
        move_form = MoveForm()
        move_form.clinician.choices = clinician_choices()
        prefill_time(move_form, request.args.get("start"), request.args.get("clinician") or str(item.clinician_id))
    return render_template("schedule/booking.html", **_booking_page(item, move_form=move_form))


def _booking_page(item, move_form=None, cancel_form=None, error=None, alternatives=()):
    """Everything the booking page shows."""
    if move_form is None:
        move_form = MoveForm()
        move_form.clinician.choices = clinician_choices()
        move_form.clinician.data = str(item.clinician_id)
    return {"booking": item, "move_form": move_form, "cancel_form": cancel_form or CancelForm(),
            "status_form": StatusForm(), "error": error, "alternatives": alternatives,
            "status_labels": STATUS_LABELS, "can_manage": current_user.role in MANAGERS,
            "can_open_patient": True,
            "questionnaire": questionnaires_for(db.session, [item.patient_id], current_user.role)[item.patient_id],
            "names": dict(move_form.clinician.choices)}


@bp.post("/booking/<id:booking_id>/status")
@staff_only(*MANAGERS)
def booking_status(booking_id):
    """Mark arrived, completed or no-show, or undo that (from the day list or the booking page)."""
    item = booking_for(booking_id, lock=True)
    form = StatusForm()
    before = item.status
    try:
        set_status(db.session, booking_context(), item, form.status.data, actor=current_user)
    except BookingError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
    else:
        record_request_event(db.session, "change_booking", target_type="booking", target_id=item.id,
                             detail=f"status {before} to {item.status}")
        undone = " (undone)" if form.status.data == UNDO else ""
        said = f"{patient_contact(item.patient)['name'] or 'Booking'}: {STATUS_LABELS[item.status].lower()}{undone}."
        db.session.commit()  # after it, the booking's rows would be read again for the words
        flash(said, "success")
    return redirect(_back(booking_id))


def _back(booking_id):
    """Where a status button returns to: the page it was pressed on, if that was ours."""
    target = request.form.get("next", "")
    if target.startswith("/staff/schedule") and "//" not in target:
        return target
    return url_for("schedule.booking", booking_id=booking_id)


@bp.post("/booking/<id:booking_id>/cancel")
@staff_only(*MANAGERS)
def booking_cancel(booking_id):
    """Cancel a booking for the patient (no cut-off for staff)."""
    item = booking_for(booking_id, lock=True)
    form = CancelForm()
    if form.validate_on_submit():
        try:
            cancel_booking(db.session, booking_context(), item, reason=form.reason.data, actor=current_user)
        except BookingError as refusal:
            db.session.rollback()
            return render_template("schedule/booking.html", **_booking_page(item, error=refusal.message)), 400
        record_request_event(db.session, "change_booking", target_type="booking", target_id=item.id,
                             detail="cancelled by staff")
        db.session.commit()
        flash("The booking is cancelled and its time is free again.", "success")
        return redirect(url_for("schedule.booking", booking_id=booking_id))
    return render_template("schedule/booking.html", **_booking_page(item, cancel_form=form)), 400


@bp.post("/booking/<id:booking_id>/move")
@staff_only(*MANAGERS)
def booking_move(booking_id):
    """Move a booking to another time or clinician in one step."""
    item = booking_for(booking_id, lock=True)
    form = MoveForm()
    form.clinician.choices = clinician_choices()
    error, alternatives, conflict = None, [], False
    confirm_horizon = form.beyond_horizon.data
    if form.validate_on_submit() and (starts_at := requested_instant(form)) is not None:
        try:
            ctx, _clinicians = plan_context(db.session, current_app)
            move_booking(db.session, ctx, item, starts_at=starts_at,
                         clinician_id=int(form.clinician.data), actor=current_user,
                         beyond_horizon=form.beyond_horizon.data)
        except BookingError as refusal:  # SlotTaken included: it brings the nearest free times
            db.session.rollback()
            error, alternatives = refusal.message, list(refusal.alternatives)
            conflict = isinstance(refusal, SlotTaken)
            confirm_horizon = confirm_horizon or isinstance(refusal, BeyondHorizon)
        else:
            record_request_event(db.session, "change_booking", target_type="booking", target_id=item.id,
                                 detail="moved by staff")
            db.session.commit()
            flash("The booking has been moved; the old time is free again.", "success")
            return redirect(url_for("schedule.booking", booking_id=booking_id))
    item = booking_for(booking_id)
    page = _booking_page(item, move_form=form, error=error, alternatives=alternatives)
    page["confirm_horizon"] = confirm_horizon
    return render_template("schedule/booking.html", **page), (409 if conflict else 400)
