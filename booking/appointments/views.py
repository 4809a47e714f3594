"""Patient booking pages: start from an intake, browse weeks, confirm, manage a booking.

Without an intake in the session, /book/ explains that the health questionnaire comes
first (link to /intake/start) and gives the clinic's phone number; nothing can be booked.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, session, url_for

from booking.appointments import bp
from booking.appointments.availability import clinic_day, days_between, parse_day, week_start
from booking.appointments.bookings import (AlreadyBooked, BookingError, SlotTaken, cancel_booking,
                                           create_booking, find_by_token, move_booking, patient_state)
from booking.appointments.forms import CancelForm, ConfirmForm, RescheduleForm
from booking.appointments.week_cache import bookable_clinicians as cached_clinicians
from booking.appointments.week_cache import cache_for, schedule_snapshot, week_slots
from booking.appointments.web import (booking_context, calendar_link, manage_link, parse_slot, patient_zone,
                                      slot_value)
from booking.crypto import InvalidToken, cipher_for
from booking.extensions import db
from booking.models import Booking, Intake
from booking.patients.record import contact_of, set_contact
from booking.tokens import plausible_token, token_hash

INTAKE_KEY = "booking_intake_id"
JUST_BOOKED_KEY = "just_booked"


def current_intake():
    """The intake remembered in this browser's session, if it may still book."""
    intake_id = session.get(INTAKE_KEY)
    intake = db.session.get(Intake, intake_id) if isinstance(intake_id, int) else None
    return intake if _may_book(intake) else None


def _may_book(intake):
    """True if `intake` (an Intake or a PatientState) exists and may book under the clinic's clearance setting."""
    blocks = current_app.config.get("INTAKE_CLEARANCE_BLOCKS_BOOKING", True)
    return intake is not None and intake.booking_allowed(blocks)


def bookable_clinicians():
    """(id, name) of every active clinician who takes bookings, by name."""
    return cached_clinicians(db.session)


def parse_clinician(value, clinicians):
    """'any' -> None; a known clinician id -> that id; anything else -> False (refused)."""
    if value in (None, "", "any"):
        return None
    if value.isdigit() and int(value) in {row.id for row in clinicians}:
        return int(value)
    return False


def week_view(ctx, clinician_id, requested_week, href_prefix, *, ignore_booking_id=None, version=None):
    """Everything a week of free times needs: days, slots by day (ready to print), and the week links.

    The week's free slots come from the per-process cache (booking.appointments.week_cache),
    current as of this request's schedule version; the notice/horizon window is cut here,
    from this request's `now`. Labels and links are plain strings: formatting hundreds of
    times through template filters and url_for dominated this page's cost. `grid_key`
    identifies everything the printed grid depends on (for caching the rendered page).
    """
    first_week = week_start(clinic_day(ctx.now + ctx.rules.min_notice, ctx.zone))
    last_week = week_start(clinic_day(ctx.now + ctx.rules.horizon, ctx.zone))
    week = week_start(requested_week) if requested_week else first_week
    week = min(max(week, first_week), last_week)
    cache = cache_for(current_app)

    def free_in(week):
        """(the week's WeekSlots, (first, stop) of its bookable slots)."""
        found = week_slots(db.session, cache, week, week + timedelta(days=6), ctx.zone,
                           clinician_ids=None if clinician_id is None else [clinician_id],
                           ignore_booking_id=ignore_booking_id, version=version)
        return found, found.window(ctx.now + ctx.rules.min_notice, ctx.now + ctx.rules.horizon)

    found, (first, stop) = free_in(week)
    # With no week asked for, open on the first week that has a free time: at the weekend the
    # current week has nothing left, and a patient should not have to look for "Next week".
    later = week
    while not requested_week and first == stop and later < last_week:
        later += timedelta(days=7)
        found_later, (first_later, stop_later) = free_in(later)
        if stop_later > first_later:
            week, found, first, stop = later, found_later, first_later, stop_later
    days = days_between(week, week + timedelta(days=6))
    previous = week - timedelta(days=7) if week > first_week else None
    following = week + timedelta(days=7) if week < last_week else None
    # Everything the result depends on; the same key finds it again (and its rendered grid).
    key = ("view", found.version, ctx.zone, week, clinician_id, ignore_booking_id, first, stop, href_prefix,
           previous, following)
    view = cache.get(key)
    if view is None:
        by_day = {day: [] for day in days}
        for day, label, value in found.display[first:stop]:
            by_day[day].append({"label": label, "value": value, "href": href_prefix + value})
        view = cache.put(key, {"days": [(day, day.strftime("%a %-d %b"), day.strftime("%A %-d %B")) for day in days],
                               "by_day": by_day, "week": week, "count": stop - first, "previous": previous,
                               "next": following, "grid_key": key})
    return view


def without_time(week, value):
    """A copy of week_view's result without the slot `value` (the cached original is shared)."""
    by_day = {day: [slot for slot in slots if slot["value"] != value] for day, slots in week["by_day"].items()}
    return {**week, "by_day": by_day, "count": sum(len(slots) for slots in by_day.values())}


def shared_page(key, render):
    """The page `render()` gives, from the cache when another patient already saw it as it is now.

    Used only for pages whose whole content is determined by `key` (which must include the
    schedule version) plus what is checked here: nothing personal is on them unless a message
    was flashed to this browser or a staff member is signed in (the header shows their name),
    and those are rendered afresh.
    """
    if "_flashes" in session or "_user_id" in session:
        return render()
    cache = cache_for(current_app)
    key = key + (request.endpoint, request.script_root)
    html = cache.get(key)
    if html is None:
        html = cache.put(key, render())
    return html


@bp.get("/book/start/<token>")
def start_from_intake(token):
    """The intake's private booking link: remember the intake in this browser and go to /book/."""
    intake = None
    if plausible_token(token):
        intake = db.session.scalar(sa.select(Intake).where(Intake.booking_token_hash == token_hash(token)))
    if intake is None:
        return render_template("appointments/link_invalid.html"), 404
    if not _may_book(intake):
        return render_template("appointments/not_yet.html"), 403
    session[INTAKE_KEY] = intake.id
    return redirect(url_for("appointments.choose"))


@bp.get("/book/")
def choose():
    """Choose a clinician (or the first available) and a time, week by week."""
    # The busiest page: one query when the week is cached (the intake's state with the schedule version).
    intake_id = session.get(INTAKE_KEY)
    state = patient_state(db.engine, intake_id) if isinstance(intake_id, int) else None
    if not _may_book(state):
        return render_template("appointments/no_intake.html")
    snapshot = schedule_snapshot(db.session, cache_for(current_app), current_app.config,
                                 version=state.schedule_version or 0)
    ctx = booking_context(rules=snapshot.rules)
    clinicians = snapshot.clinicians
    clinician_id = parse_clinician(request.args.get("clinician"), clinicians)
    if clinician_id is False:
        flash("That clinician is not available for booking; showing the first available instead.", "warning")
        clinician_id = None
    choice = "any" if clinician_id is None else str(clinician_id)
    if state.booking_id is not None:  # the page only says so; no grid to compute
        return render_template("appointments/choose.html", clinicians=clinicians, clinician_id=clinician_id,
                               existing=db.session.get(Booking, state.booking_id))
    week = week_view(ctx, clinician_id, parse_day(request.args.get("week")),
                     url_for("appointments.confirm") + f"?clinician={choice}&start=", version=snapshot.version)
    # The grid key covers the version (hence the clinicians listed), the week and the selection.
    return shared_page(week["grid_key"], lambda: render_template(
        "appointments/choose.html", clinicians=clinicians, clinician_id=clinician_id, existing=None,
        nav_args={"clinician": choice}, **week))


def _slot_link(clinician_id):
    """A function giving the confirm-page URL of a slot, for the week view."""
    choice = "any" if clinician_id is None else str(clinician_id)
    return lambda slot: url_for("appointments.confirm", clinician=choice, start=slot_value(slot.starts_at))


def _prefill(intake):
    """Name, email and phone from the patient record (decrypted)."""
    try:
        return contact_of(intake.patient, cipher_for(current_app.config))
    except (InvalidToken, ValueError):
        return {}


@bp.route("/book/confirm", methods=["GET", "POST"])
def confirm():
    """Check the chosen time and the patient's details, then book it."""
    intake = current_intake()
    if intake is None:
        return redirect(url_for("appointments.choose"))
    ctx = booking_context()
    clinicians = bookable_clinicians()
    form = ConfirmForm(data=None if request.method == "POST" else {
        **{key: value for key, value in _prefill(intake).items() if key in ("name", "email", "phone")},
        "clinician": request.args.get("clinician", "any"), "start": request.args.get("start", ""),
        "tz": request.args.get("tz", "")})
    clinician_id = parse_clinician(form.clinician.data, clinicians)
    starts_at = parse_slot(form.start.data)
    names = dict((row.id, row.name) for row in clinicians)
    page = {"form": form, "starts_at": starts_at, "clinician_name": names.get(clinician_id),
            "patient_tz": patient_zone(form.tz.data), "alternatives": [], "error": None,
            "alternative_link": _slot_link(clinician_id or None), "names": names}
    if clinician_id is False or starts_at is None:
        page["error"] = "That time or clinician is not one we offer. Please choose a time from the list."
        page["starts_at"] = None
        return render_template("appointments/confirm.html", **page), 400
    if not form.validate_on_submit():
        return render_template("appointments/confirm.html", **page), (400 if request.method == "POST" else 200)
    # What the patient confirms here is their own record's contact details.
    set_contact(db.session, intake.patient, {"name": form.name.data, "email": form.email.data,
                                             "phone": form.phone.data or None},
                cipher=cipher_for(current_app.config), key=current_app.config["PATIENT_SEARCH_KEY"], now=ctx.now)
    try:
        booking, token = create_booking(db.session, ctx, clinician_id=clinician_id, starts_at=starts_at,
                                        patient_id=intake.patient_id, timezone=page["patient_tz"],
                                        link_for=manage_link, intake_id=intake.id)
    except AlreadyBooked as error:
        db.session.rollback()
        return render_template("appointments/already_booked.html", booking=error.booking, message=error.message)
    except SlotTaken as error:
        db.session.rollback()
        page.update(error=error.message, alternatives=error.alternatives)
        return render_template("appointments/confirm.html", **page), 409
    except BookingError as error:
        db.session.rollback()
        page.update(error=error.message, starts_at=None)
        return render_template("appointments/confirm.html", **page), 400
    db.session.commit()
    session[JUST_BOOKED_KEY] = booking.id
    return redirect(url_for("appointments.manage", token=token))


@bp.get("/book/manage/<token>")
def manage(token):
    """The private manage page: the booking's details and what can be done with it."""
    booking = find_by_token(db.session, token)
    if booking is None:
        return render_template("appointments/link_invalid.html"), 404
    just_booked = session.pop(JUST_BOOKED_KEY, None) == booking.id
    return render_template("appointments/manage.html", booking=booking, token=token, just_booked=just_booked,
                           manage_url=manage_link(token), ics_url=calendar_link(token),
                           cancel_form=CancelForm(), ctx=booking_context())


@bp.route("/book/manage/<token>/cancel", methods=["POST"])
def cancel(token):
    """Cancel from the manage link, with an optional reason."""
    booking = find_by_token(db.session, token, lock=True)
    if booking is None:
        return render_template("appointments/link_invalid.html"), 404
    form = CancelForm()
    ctx = booking_context()
    error = None
    if form.validate_on_submit():
        try:
            cancel_booking(db.session, ctx, booking, reason=form.reason.data)
        except BookingError as refusal:
            db.session.rollback()
            error = refusal.message
        else:
            db.session.commit()
            flash("Your booking is cancelled. The time is free for someone else.", "success")
            return redirect(url_for("appointments.manage", token=token))
    booking = find_by_token(db.session, token)
    return render_template("appointments/manage.html", booking=booking, token=token, just_booked=False,
                           manage_url=manage_link(token), ics_url=calendar_link(token), cancel_form=form,
                           ctx=ctx, error=error), 400


@bp.route("/book/manage/<token>/reschedule", methods=["GET", "POST"])
def reschedule(token):
    """Pick another free time, with the same or another clinician; moving it is one step."""
    booking = find_by_token(db.session, token, lock=request.method == "POST")
    if booking is None:
        return render_template("appointments/link_invalid.html"), 404
    ctx = booking_context()
    form = RescheduleForm(data=None if request.method == "POST" else {
        "start": request.args.get("start", ""), "clinician": request.args.get("clinician", "")})
    clinicians = bookable_clinicians()
    clinician_id = parse_clinician(form.clinician.data, clinicians)
    if clinician_id is None:  # nothing chosen: stay with the booking's clinician
        clinician_id = booking.clinician_id
    starts_at = parse_slot(form.start.data)
    names = dict((row.id, row.name) for row in clinicians)
    page = {"booking": booking, "token": token, "form": form, "starts_at": starts_at, "error": None,
            "alternatives": [], "patient_tz": booking.patient_timezone, "clinicians": clinicians,
            "clinician_id": clinician_id, "clinician_name": names.get(clinician_id)}
    if clinician_id is False:
        page["error"] = "That clinician is not available for booking. Please choose another clinician."
        page["clinician_id"] = booking.clinician_id
    elif request.method == "POST" and form.validate_on_submit():
        if starts_at is None:
            page["error"] = "That time is not one we offer. Please choose a time from the list."
        else:
            try:
                move_booking(db.session, ctx, booking, starts_at=starts_at, clinician_id=clinician_id)
            except SlotTaken as error:
                db.session.rollback()
                page.update(error=error.message, alternatives=error.alternatives, starts_at=None)
            except BookingError as error:
                db.session.rollback()
                page.update(error=error.message, starts_at=None)
            else:
                db.session.commit()
                flash("Your booking has been moved. Your previous time has been released.", "success")
                return redirect(url_for("appointments.manage", token=token))
        booking = page["booking"] = find_by_token(db.session, token)
    if booking.status != "booked" and not page["error"]:
        page["error"] = "This booking can no longer be changed online."
    shown = page["clinician_id"]
    base = url_for("appointments.reschedule", token=token)
    week = {}
    if not page["starts_at"] or page["error"]:
        page["starts_at"] = None
        week = week_view(ctx, shown, parse_day(request.args.get("week")), f"{base}?clinician={shown}&start=",
                         ignore_booking_id=booking.id)
        if shown == booking.clinician_id:  # the booking's own time is not a time to move to
            week = without_time(week, slot_value(booking.starts_at))
    link = lambda slot: f"{base}?clinician={shown}&start={slot_value(slot.starts_at)}"  # noqa: E731
    return render_template("appointments/reschedule.html", link=link, nav_args={"token": token, "clinician": shown},
                           **page, **week), (409 if page["error"] else 200)
