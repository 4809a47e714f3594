"""Patient booking pages: start from an intake, browse weeks, confirm, manage a booking.

Without an intake in the session, /book/ explains that the health questionnaire comes
first (link to /intake/start) and gives the clinic's phone number; nothing can be booked.
"""

import functools
from bisect import bisect_left
from datetime import timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, session, url_for

from booking.appointments import bp
from booking.appointments.availability import clinic_day, days_between, local_midnight, parse_day, week_start
from booking.appointments.bookings import (UNREAD, AlreadyBooked, BookingError, Busy, ManageLinkExpired,
                                           SlotTaken, cancel_booking, create_booking, find_by_manage_link,
                                           lock_timed_out, move_booking)
from booking.appointments.lookups import blocking_booking, find_by_token, patient_state
from booking.appointments.schedule_version import PLAN_VERSION_COLUMN
from booking.appointments.forms import CancelForm, ConfirmForm, RescheduleForm
from booking.appointments.week_cache import bookable_clinicians as cached_clinicians
from booking.appointments.week_cache import (cache_for, plan_context, plan_snapshot, plan_source, recent_for,
                                             schedule_snapshot, week_slots)
from booking.appointments.web import (booking_context, calendar_link, manage_link, parse_slot, patient_zone,
                                      slot_value)
from booking.crypto import InvalidToken, cipher_for
from booking.extensions import DriverRead, db, flushed_connection
from booking.models import Booking, Intake, Patient
from booking.models.intake import booking_allowed
from booking.outbox.sender import queued_recipient
from booking.page_cache import shared
from booking.patient_session import remember_intake, remembered_intake_id
from booking.ratelimit import enforce, rate_limited
from booking.timeutil import utcnow
from booking.patients.record import contact_of, set_contact
from booking.tokens import plausible_token, token_hash

JUST_BOOKED_KEY = "just_booked"


def current_intake():
    """The intake remembered in this browser's session, if it may still book."""
    intake_id = remembered_intake_id()
    intake = db.session.get(Intake, intake_id) if intake_id is not None else None
    return intake if _may_book(intake) else None


class Remembered(NamedTuple):
    """What the confirm page needs of the questionnaire remembered in this browser: its id, the
    columns of the booking rule, and its patient (an entity in the session: their contact
    details are saved on it, and the emails read it as the booking's patient)."""

    id: int
    status: str
    decision: str | None
    flag_level: str | None
    cleared_at: object
    patient: Patient
    blocking_booking_id: object  # what stops the patient booking again (an id, None), or bookings.UNREAD

    @property
    def patient_id(self):
        """The patient's id, as on an Intake."""
        return self.patient.id

    def booking_allowed(self, clearance_blocks_booking=True):
        """Intake.booking_allowed, on the columns read."""
        return booking_allowed(self.status, self.decision, self.flag_level, self.cleared_at, clearance_blocks_booking)


# The confirm page's first statement: the remembered intake's columns, every column of its
# patient, on a POST the booking that stops them booking again (if any), and the plan version,
# as plain columns. It used to load the Intake entity (31 columns, answers and all) with its
# patient joined, through the ORM's row set-up for both: 2-3% of a booking POST's instructions
# more; and the booking that stops them was a statement of its own (a round trip on PostgreSQL).
_intake, _patient = Intake.__table__, Patient.__table__
_INTAKE_COLUMNS = (_intake.c.id, _intake.c.status, _intake.c.decision, _intake.c.flag_level, _intake.c.cleared_at)


def _intake_and_plan(blocking):
    """The confirm page's first statement; with `blocking`, the booking that stops the patient
    booking again is read too (the POST books; the GET only shows the form: NULL there)."""
    held = blocking_booking(_patient.c.id) if blocking else sa.null()
    return (sa.select(*_INTAKE_COLUMNS, *(column.label(f"patient_{column.key}") for column in _patient.c),
                      held.label("blocking_booking_id"), PLAN_VERSION_COLUMN)
            .join_from(_intake, _patient, _patient.c.id == _intake.c.patient_id)
            .where(_intake.c.id == sa.bindparam("intake_id")))


_INTAKE_AND_PLAN = {blocking: DriverRead(_intake_and_plan(blocking)) for blocking in (False, True)}


def _patient_in_session(session, columns):
    """The Patient of these column values, put in `session` as the persistent row it is (with
    every column loaded, so reading it costs no SQL), or the one the session has already."""
    values = dict(zip((column.key for column in _patient.c), columns))
    found = session.identity_map.get(session.identity_key(Patient, values["id"]))
    if found is not None:
        return found
    patient = Patient(**values)
    sa.orm.make_transient_to_detached(patient)
    session.add(patient)
    return patient


def intake_and_plan_version(blocking=False):
    """(the questionnaire remembered in this browser's session, a Remembered, if it may still book,
    else None; the plan version). With `blocking`, the Remembered knows what stops the patient
    booking again; without, its blocking_booking_id is bookings.UNREAD."""
    intake_id = remembered_intake_id()
    # On the driver's cursor of the session's connection (DriverRead.first_on), in the
    # transaction the booking's writes go on in.
    row = (_INTAKE_AND_PLAN[blocking].first_on(flushed_connection(db.session), intake_id=intake_id)
           if intake_id is not None else None)
    if row is None:
        return None, None
    columns = len(_INTAKE_COLUMNS)
    intake = Remembered(*row[:columns], _patient_in_session(db.session, row[columns:-2]),
                        row[-2] if blocking else UNREAD)
    return (intake if _may_book(intake) else None), row[-1] or 0


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


def week_view(ctx, clinician_id, requested_week, slot_href, *, ignore_booking_id=None, hide_start=None, version=None,
              names=None):
    """Everything a week of free times needs, as of this request's second (see _week_view).

    With the schedule version given, the answer is the same for every request of that second
    with the same arguments: it is kept for the rest of the second (week_cache.recent_for), and
    the busiest page then skips the week arithmetic and the cache lookups below.
    """
    now = ctx.now.replace(microsecond=0)
    cache = cache_for(current_app)
    if version is None or cache.seconds <= 0:  # the version is read inside, or caching is turned off
        return _week_view(now, ctx, cache, clinician_id, requested_week, slot_href,
                          ignore_booking_id=ignore_booking_id, hide_start=hide_start, version=version, names=names)
    recent = recent_for(current_app)
    # The week cache's own clock as well: a view is not kept past the expiry of what it was made from.
    second = (now, int(cache.clock()))
    key = (version, ctx.zone, ctx.rules.min_notice, ctx.rules.horizon, clinician_id, requested_week, slot_href,
           ignore_booking_id, hide_start, names is not None)
    view = recent.get(second, key)
    if view is None:
        view = recent.put(second, key, _week_view(now, ctx, cache, clinician_id, requested_week, slot_href,
                                               ignore_booking_id=ignore_booking_id, hide_start=hide_start,
                                               version=version, names=names))
    return view


def _week_view(now, ctx, cache, clinician_id, requested_week, slot_href, *, ignore_booking_id, hide_start, version,
               names):
    """Everything a week of free times needs: days, slots by day (ready to print), and the week links.

    The week's free slots come from `cache`, the per-process week cache (booking.appointments.week_cache),
    current as of this request's schedule version; the notice/horizon window is cut here,
    from `now` (this request's, to the second). Labels and links are plain strings: formatting hundreds of
    times through template filters and url_for dominated this page's cost. `slot_href` is a
    format string with {clinician} and {start}; with "first available" (clinician_id None)
    each slot names its clinician from `names` ({id: name}) and links to that clinician.
    The week links lead to the nearest earlier and later weeks that have a free time, never
    to an empty one. `hide_start` (with one clinician) is a time not to offer, the booking's own
    when it is being moved: a week whose only free time is that one counts as empty, so the
    page never opens on it. `grid_key` identifies everything the printed grid depends on.
    """
    first_week = week_start(clinic_day(now + ctx.rules.min_notice, ctx.zone))
    last_week = week_start(clinic_day(now + ctx.rules.horizon, ctx.zone))
    week = week_start(requested_week) if requested_week else first_week
    week = min(max(week, first_week), last_week)
    hide_value = slot_value(hide_start) if hide_start is not None else None

    def offered(found, first, stop):
        """How many of found's slots from `first` to `stop` are offered (all but `hide_start`)."""
        if hide_start is not None:
            at = bisect_left(found.starts, hide_start, first, stop)
            if at < stop and found.starts[at] == hide_start:
                return stop - first - 1
        return stop - first

    def free_in(week):
        """(the week's WeekSlots, (first, stop) of its bookable slots)."""
        found = week_slots(db.session, cache, week, week + timedelta(days=6), ctx.zone,
                           clinician_ids=None if clinician_id is None else [clinician_id],
                           ignore_booking_id=ignore_booking_id, version=version)
        return found, found.window(now + ctx.rules.min_notice, now + ctx.rules.horizon)

    def neighbours_have_free_times():
        """(the week before `week` has a bookable time, the week after has one), from one load of all three."""
        span = week_slots(db.session, cache, week - timedelta(days=7), week + timedelta(days=13), ctx.zone,
                          clinician_ids=None if clinician_id is None else [clinician_id],
                          ignore_booking_id=ignore_booking_id, version=version)

        def any_in(monday):
            begin = max(local_midnight(monday, ctx.zone), now + ctx.rules.min_notice)
            end = min(local_midnight(monday + timedelta(days=7), ctx.zone) - timedelta(microseconds=1),
                      now + ctx.rules.horizon)
            first, stop = span.window(begin, end)
            return offered(span, first, stop) > 0
        return any_in(week - timedelta(days=7)), any_in(week + timedelta(days=7))

    def nearest_with_free_time(start, step):
        """The first week from `start`, going by `step`, with a bookable time (within the window), or None."""
        while first_week <= start <= last_week:
            found, (first, stop) = free_in(start)
            if offered(found, first, stop):
                return start
            start += step
        return None

    found, (first, stop) = free_in(week)
    # With no week asked for, open on the first week that has a free time: at the weekend the
    # current week has nothing left, and a patient should not have to look for "Next week".
    if not requested_week and not offered(found, first, stop):
        later = nearest_with_free_time(week + timedelta(days=7), timedelta(days=7))
        if later is not None:
            week = later
            found, (first, stop) = free_in(week)
    days = days_between(week, week + timedelta(days=6))
    # The weeks either side usually have free times: one load answers both; only an empty
    # neighbour sends us looking further, a week at a time.
    before, after = neighbours_have_free_times()
    previous = week - timedelta(days=7) if before else nearest_with_free_time(week - timedelta(days=14),
                                                                              timedelta(days=-7))
    following = week + timedelta(days=7) if after else nearest_with_free_time(week + timedelta(days=14),
                                                                             timedelta(days=7))
    # Everything the result depends on; the same key finds it again (and its rendered grid).
    key = ("view", found.version, ctx.zone, week, clinician_id, ignore_booking_id, hide_value, first, stop, slot_href,
           previous, following, names is not None)
    view = cache.get(key)
    if view is None:
        by_day = {day: [] for day in days}
        choice = "any" if clinician_id is None else str(clinician_id)
        for day, label, value, slot_clinician in found.display[first:stop]:
            if value == hide_value:
                continue
            by_day[day].append({"label": label, "value": value, "who": names.get(slot_clinician) if names else None,
                                "href": slot_href.format(clinician=slot_clinician if names else choice,
                                                         start=value)})
        view = cache.put(key, {"days": [(day, day.strftime("%a %-d %b"), day.strftime("%A %-d %B")) for day in days],
                               "by_day": by_day, "week": week, "count": offered(found, first, stop),
                               "previous": previous, "next": following,
                               "adjacent": (week - timedelta(days=7), week + timedelta(days=7)), "grid_key": key})
    return view


def shared_page(key, render):
    """The week page `render()` gives, shared between patients (booking.page_cache) in the week cache.

    `key` includes the schedule version, so a change made through the app is a new version.
    """
    return shared(key + (request.endpoint,), render, cache=cache_for(current_app))


def confirm_path():
    """url_for("appointments.confirm"), worked out once per script root (the week page asks on every request)."""
    return _confirm_path(request.script_root)


@functools.lru_cache(maxsize=8)
def _confirm_path(_script_root):
    return url_for("appointments.confirm")


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
    remember_intake(intake.id)
    return redirect(url_for("appointments.choose"))


@bp.get("/book/")
def choose():
    """Choose a clinician (or the first available) and a time, week by week."""
    # The busiest page: one query when the week is cached (the intake's state with the schedule version).
    intake_id = remembered_intake_id()
    state = patient_state(db.engine, intake_id) if intake_id is not None else None
    if not _may_book(state):
        return render_template("appointments/no_intake.html")
    app = current_app._get_current_object()  # noqa: SLF001  one context lookup, not one per use
    snapshot = schedule_snapshot(db.session, cache_for(app), app.config, version=state.schedule_version or 0)
    ctx = booking_context(rules=snapshot.rules)
    clinicians = snapshot.clinicians
    args = request.args
    clinician_id = parse_clinician(args.get("clinician"), clinicians)
    if clinician_id is False:
        flash("That clinician is not available for booking; showing the first available instead.", "warning")
        clinician_id = None
    choice = "any" if clinician_id is None else str(clinician_id)
    if state.booking_id is not None:  # the page only says so; no grid to compute
        return render_template("appointments/choose.html", clinicians=clinicians, clinician_id=clinician_id,
                               existing=db.session.get(Booking, state.booking_id))
    # "First available" links each time to the clinician it names (the `{clinician}` of that slot).
    week = week_view(ctx, clinician_id, parse_day(args.get("week")),
                     confirm_path() + "?clinician={clinician}&start={start}",
                     version=snapshot.version, names=snapshot.names if clinician_id is None else None)
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


def count_email_to(address):
    """Count one patient email caused by a booking change, per address (429 once the day's share is used)."""
    if address:
        # One budget for booking, moving and cancelling: each sends clinic-branded mail to it.
        enforce("BOOKING_EMAIL_RATE_LIMIT", "appointments.patient-email", address.strip().lower())


def _save_contact(intake, form, now):
    """What the patient confirms is their own record's contact details. Raises Busy if the database stays locked."""
    try:
        set_contact(db.session, intake.patient, {"name": form.name.data, "email": form.email.data,
                                                 "phone": form.phone.data or None},
                    cipher=cipher_for(current_app.config), key=current_app.config["PATIENT_SEARCH_KEY"], now=now)
    except sa.exc.OperationalError as error:
        db.session.rollback()
        if lock_timed_out(error):
            raise Busy() from error
        raise


@bp.route("/book/confirm", methods=["GET", "POST"])
@rate_limited("BOOKING_ADDRESS_RATE_LIMIT", methods=("POST",))
def confirm():
    """Check the chosen time and the patient's details, then book it.

    The rules, the bookable clinicians and the chosen clinician's hours and exceptions for the
    week come from the per-process cache while the plan version (read with the intake) holds:
    only the clinician's bookings for the day are read to check the time."""
    intake, plan_version = intake_and_plan_version(blocking=request.method == "POST")
    if intake is None:
        return redirect(url_for("appointments.choose"))
    cache = cache_for(current_app)
    snapshot = plan_snapshot(db.session, cache, current_app.config, plan_version)
    ctx = booking_context(rules=snapshot.rules, plans=plan_source(cache, plan_version), clinicians=snapshot.clinicians)
    clinicians, names = snapshot.clinicians, snapshot.names
    form = ConfirmForm(data=None if request.method == "POST" else {
        **{key: value for key, value in _prefill(intake).items() if key in ("name", "email", "phone")},
        "clinician": request.args.get("clinician", "any"), "start": request.args.get("start", ""),
        "tz": request.args.get("tz", "")})
    clinician_id = parse_clinician(form.clinician.data, clinicians)
    starts_at = parse_slot(form.start.data)
    page = {"form": form, "starts_at": starts_at, "clinician_name": names.get(clinician_id),
            "patient_tz": patient_zone(form.tz.data), "alternatives": [], "error": None,
            "alternative_link": _slot_link(clinician_id or None), "names": names}
    if clinician_id is False or starts_at is None:
        page["error"] = "That time or clinician is not one we offer. Please choose a time from the list."
        page["starts_at"] = None
        return render_template("appointments/confirm.html", **page), 400
    if not form.validate_on_submit():
        return render_template("appointments/confirm.html", **page), (400 if request.method == "POST" else 200)
    count_email_to(form.email.data)
    try:
        _save_contact(intake, form, ctx.now)
        booking, token = create_booking(db.session, ctx, clinician_id=clinician_id, starts_at=starts_at,
                                        patient_id=intake.patient_id, timezone=page["patient_tz"],
                                        link_for=manage_link, intake_id=intake.id,
                                        blocking_id=intake.blocking_booking_id)
    except AlreadyBooked as error:
        db.session.rollback()
        return render_template("appointments/already_booked.html", booking=error.booking, message=error.message)
    except SlotTaken as error:
        db.session.rollback()
        page.update(error=error.message, alternatives=error.alternatives)
        return render_template("appointments/confirm.html", **page), 409
    except Busy as error:  # the same time and details stay on the page: sending again is one click
        db.session.rollback()
        page.update(error=error.message)
        return render_template("appointments/confirm.html", **page), 503
    except BookingError as error:
        db.session.rollback()
        page.update(error=error.message, starts_at=None)
        return render_template("appointments/confirm.html", **page), 400
    booking_id = booking.id  # read before the commit, which would expire the booking
    db.session.commit()
    session[JUST_BOOKED_KEY] = booking_id
    return redirect(url_for("appointments.manage", token=token))


class LinkRefused(Exception):
    """A manage link that opens nothing; `response` is the page to answer with."""

    def __init__(self, response):
        super().__init__("manage link refused")
        self.response = response


@bp.app_errorhandler(LinkRefused)
def link_refused(error):
    """The friendly page for a made-up or expired manage link."""
    return error.response


def open_manage_link(token, lock=False):
    """The booking a manage link opens. Raises LinkRefused (404 made up, 410 expired) otherwise."""
    try:
        booking = find_by_manage_link(db.session, token, now=utcnow(), days=current_app.config["MANAGE_LINK_DAYS"],
                                      lock=lock)
    except ManageLinkExpired as error:
        raise LinkRefused((render_template("appointments/link_expired.html", message=error.message), 410)) from None
    if booking is None:
        raise LinkRefused((render_template("appointments/link_invalid.html"), 404))
    return booking


@bp.get("/book/manage/<token>")
def manage(token):
    """The private manage page: the booking's details and what can be done with it."""
    booking = open_manage_link(token)
    just_booked = session.pop(JUST_BOOKED_KEY, None) == booking.id
    # "We have emailed you" only when a confirmation is really queued (or sent) for this booking.
    emailed_to = queued_recipient(db.session, booking_id=booking.id, kind="booking_confirmation",
                                  cipher=cipher_for(current_app.config)) \
        if just_booked else None
    return render_template("appointments/manage.html", booking=booking, token=token, just_booked=just_booked,
                           emailed_to=emailed_to, manage_url=url_for("appointments.manage", token=token,
                                                                     _external=True),
                           ics_url=calendar_link(token), ctx=booking_context())


@bp.route("/book/manage/<token>/cancel", methods=["GET", "POST"])
@rate_limited("BOOKING_ADDRESS_RATE_LIMIT", methods=("POST",))
def cancel(token):
    """Ask once more (GET: a page of its own, so it works without JavaScript), then cancel (POST)."""
    booking = open_manage_link(token, lock=request.method == "POST")
    form = CancelForm()
    ctx = booking_context()
    error = None
    if request.method == "POST" and form.validate_on_submit():
        count_email_to(contact_of(booking.patient, cipher_for(current_app.config)).get("email"))
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
    status = 400 if request.method == "POST" else 200
    return render_template("appointments/cancel.html", booking=booking, token=token, form=form, ctx=ctx,
                           error=error), status


@bp.route("/book/manage/<token>/reschedule", methods=["GET", "POST"])
@rate_limited("BOOKING_ADDRESS_RATE_LIMIT", methods=("POST",))
def reschedule(token):
    """Pick another free time, with the same or another clinician; moving it is one step."""
    booking = open_manage_link(token, lock=request.method == "POST")
    ctx, clinicians = plan_context(db.session, current_app)
    form = RescheduleForm(data=None if request.method == "POST" else {
        "start": request.args.get("start", ""), "clinician": request.args.get("clinician", "")})
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
            count_email_to(contact_of(booking.patient, cipher_for(current_app.config)).get("email"))
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
        # The booking's own time is not a time to move to with the same clinician.
        week = week_view(ctx, shown, parse_day(request.args.get("week")), base + "?clinician={clinician}&start={start}",
                         ignore_booking_id=booking.id,
                         hide_start=booking.starts_at if shown == booking.clinician_id else None)
    link = lambda slot: f"{base}?clinician={shown}&start={slot_value(slot.starts_at)}"  # noqa: E731
    return render_template("appointments/reschedule.html", link=link, nav_args={"token": token, "clinician": shown},
                           **page, **week), (409 if page["error"] else 200)
