"""Waitlist pages: join from the week page, take an emailed offer in one step, the desk's list."""

from flask import current_app, flash, redirect, render_template, request, session, url_for

from booking.appointments.bookings import AlreadyBooked, BookingError, Busy
from booking.appointments.views import JUST_BOOKED_KEY, bookable_clinicians, current_intake, parse_clinician
from booking.appointments.web import booking_context, manage_link
from booking.crypto import cipher_for
from booking.extensions import db
from booking.patients.record import contact_of
from booking.ratelimit import rate_limited
from booking.staff.access import staff_only
from booking.waitlist import bp, rules
from booking.waitlist.forms import JoinForm, LeaveForm, OfferForm


@bp.route("/book/waitlist", methods=["GET", "POST"])
@rate_limited("BOOKING_ADDRESS_RATE_LIMIT", methods=("POST",))
def join():
    """Nothing suits on the week page: join the waitlist (the patient is this browser's questionnaire)."""
    intake = current_intake()
    if intake is None:
        return redirect(url_for("appointments.choose"))
    ctx = booking_context()
    clinicians = bookable_clinicians()
    entry = rules.waiting_entry(db.session, intake.patient_id, ctx.now)
    form = JoinForm()
    if entry is not None and request.method == "GET":  # their current place, ready to change
        form.clinician.data = str(entry.clinician_id or "any")
        form.days.data = [str(day) for day in range(7) if entry.days & (1 << day)]
        form.parts.data = [name for name, (bit, _start, _end) in rules.PARTS.items() if entry.parts & bit]
    form.clinician.choices = [("any", "Any clinician")] + [(str(row.id), row.name) for row in clinicians]
    error = None
    if form.validate_on_submit():
        clinician_id = parse_clinician(form.clinician.data, clinicians)
        try:
            if clinician_id is False:
                raise rules.WaitlistError("That clinician is not available for booking. Please choose another.")
            rules.join(db.session, ctx, patient_id=intake.patient_id, intake_id=intake.id, clinician_id=clinician_id,
                       days=rules.bits(form.days.data, rules.DAY_NAMES),
                       parts=rules.bits(form.parts.data, rules.PARTS))
        except AlreadyBooked as refusal:
            db.session.rollback()
            return render_template("appointments/already_booked.html", booking=refusal.booking,
                                   message=refusal.message)
        except BookingError as refusal:
            db.session.rollback()
            error = refusal.message
        else:
            db.session.commit()
            flash("You are on the waitlist. When a time that suits you frees up, we will email you a link "
                  "to book it.", "success")
            return redirect(url_for("waitlist.join"))
    status = 400 if error or form.errors else 200
    return render_template("waitlist/join.html", form=form, entry=entry, error=error, leave=LeaveForm(),
                           describe=rules.describe), status


@bp.post("/book/waitlist/leave")
def leave():
    """Leave the waitlist."""
    intake = current_intake()
    form = LeaveForm()
    if intake is not None and form.validate_on_submit():
        entry = rules.waiting_entry(db.session, intake.patient_id, booking_context().now)
        if entry is not None:
            rules.leave(db.session, entry)
            db.session.commit()
            flash("You have left the waitlist.", "success")
    return redirect(url_for("waitlist.join"))


def _offer_or_404(token):
    """The offer behind an emailed link, or the invalid-link page."""
    offer = rules.find_offer(db.session, token)
    if offer is None:
        return None, (render_template("appointments/link_invalid.html"), 404)
    return offer, None


@bp.route("/waitlist/offer/<token>", methods=["GET", "POST"])
@rate_limited("BOOKING_ADDRESS_RATE_LIMIT", methods=("POST",))
def offer(token):
    """An emailed offer: the time and one button that books it (a GET never books: mail scanners open links)."""
    found, refusal = _offer_or_404(token)
    if refusal:
        return refusal
    ctx = booking_context()
    form = OfferForm()
    error = None if rules.offer_open(found, ctx.now) else rules.GONE
    if error is None and form.validate_on_submit():
        try:
            booking, manage_token = rules.take_offer(db.session, ctx, found, link_for=manage_link)
        except AlreadyBooked as taken:
            db.session.rollback()
            return render_template("appointments/already_booked.html", booking=taken.booking, message=taken.message)
        except (Busy, BookingError) as taken:
            db.session.rollback()
            error = taken.message
            found = rules.find_offer(db.session, token)
        else:
            db.session.commit()
            session[JUST_BOOKED_KEY] = booking.id
            return redirect(url_for("appointments.manage", token=manage_token))
    status = 410 if error else 200
    return render_template("waitlist/offer.html", offer=found, form=form, error=error), status


@bp.get("/staff/waitlist")
@staff_only("admin", "receptionist", "clinician")
def desk():
    """The front desk's list: who waits for what, oldest first, each with a link to book them."""
    now = booking_context().now
    cipher = cipher_for(current_app.config)
    rows = [(entry, contact_of(entry.patient, cipher), *rules.describe(entry))
            for entry in rules.desk_list(db.session, now)]
    return render_template("waitlist/desk.html", rows=rows)
