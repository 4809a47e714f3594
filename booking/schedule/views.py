"""The schedule page (day and week views, today's list) and the CSV export."""

from datetime import timedelta

import sqlalchemy as sa
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.appointments.availability import (clinic_day, clinician_plans, days_between, fill_hours,
                                               local_midnight, parse_day, week_start)
from booking.appointments.bookings import STATUS_LABELS
from booking.appointments.forms import StatusForm
from booking.audit import record_request_event
from booking.extensions import db
from booking.models import Booking, StaffUser
from booking.patients.web import cipher, questionnaires_for
from booking.routing import parse_record_id
from booking.schedule import bp
from booking.schedule.export import count_rows, schedule_csv, starting_on
from booking.schedule.grid import STATE_LABELS, build_grid, compact_week, day_numbers, plan_day, row_times
from booking.staff.access import staff_only
from booking.timeutil import utcnow

ALL_STAFF = ("admin", "receptionist", "clinician")
MAX_EXPORT_DAYS = 366


def clinician_scope(requested):
    """Which clinician(s) this person may see: a clinician only ever sees their own schedule."""
    if current_user.role == "clinician":
        return current_user.id
    return parse_record_id(requested)


def bookings_between(session, first_day, last_day, zone, clinician_ids=None, include_cancelled=False):
    """Bookings that hold their clinician during the clinic dates `first_day` to `last_day`: those
    starting on them, and those of the day before still running (or in their buffer) at its
    midnight; by time, in one query; only those of `clinician_ids` when given. (The day before's
    others, as many as a day's own, were loaded whole with their patients only to be passed over.)"""
    # Of each booking's clinician the pages show only the name: the joined row was the staff
    # member's every column (password hash and second factor included), once per booking.
    query = starting_on(sa.select(Booking).options(sa.orm.joinedload(Booking.clinician).load_only(StaffUser.name))
                        .order_by(Booking.starts_at, Booking.id), first_day - timedelta(days=1),
                        last_day, zone, clinician_ids).where(Booking.busy_until > local_midnight(first_day, zone))
    if not include_cancelled:
        query = query.where(Booking.active)
    return db.session.scalars(query).unique().all()


def column_page(plans, requested, per_page):
    """The all-clinician day's columns in pages of `per_page` clinicians (a grid wider than that
    cannot be read on a screen or printed): (plans on the page, {"number", "count", "first", "total"})."""
    count = max(1, -(-len(plans) // per_page))
    number = requested if isinstance(requested, int) and 1 <= requested <= count else 1
    first = (number - 1) * per_page
    return plans[first:first + per_page], {"number": number, "count": count, "first": first + 1,
                                           "last": min(first + per_page, len(plans)), "total": len(plans)}


def listed_clinicians(clinician_id, plans, paging):
    """Whose bookings a page shows: the one clinician, this page's clinicians, or everyone (None)."""
    if clinician_id is not None:
        return [clinician_id]
    return [plan.clinician_id for plan in plans] if paging else None


def schedule_grids(days, zone, clinician_id, now, page=1):
    """The grids to show: one for the day (a column per clinician, a page of them when all are
    shown) or one per clinician for a week. Returns (every clinician with booking settings, by
    name: the page's choice of clinician; grids; columns page or None; the bookings read: every
    one, cancelled ones too, that holds its clinician during the days)."""
    # Every clinician's settings in one read, the one asked for picked out here: the page's
    # choice of clinician lists them all, and a second query for that list cost a round trip.
    everyone = clinician_plans(db.session, None, only_bookable=False)
    plans = everyone if clinician_id is None else [plan for plan in everyone if plan.clinician_id == clinician_id]
    paging = None
    if len(days) == 1 and clinician_id is None and len(plans) > current_app.config["SCHEDULE_DAY_COLUMNS"]:
        plans, paging = column_page(plans, page, current_app.config["SCHEDULE_DAY_COLUMNS"])
    # Hours of the clinicians on this page only: a page of ten reads a fifth of fifty. Their busy
    # times come from the bookings read next, which the grid shows (not fill_plans' own read).
    fill_hours(db.session, plans, days[0], days[-1], zone)
    # One read for the grid (active bookings) and the day's list (cancelled ones too).
    shown = bookings_between(db.session, days[0], days[-1], zone, listed_clinicians(clinician_id, plans, paging),
                             include_cancelled=True)
    by_clinician = {}
    for booking in shown:
        if booking.active:
            by_clinician.setdefault(booking.clinician_id, []).append(booking)
    grids = []
    if len(days) == 1:
        columns = [(plan.name, days[0], plan_day(plan, by_clinician.get(plan.clinician_id, []), days[0], zone),
                    plan.clinician_id) for plan in plans]
        grids.append({"title": days[0].strftime("%A %-d %B %Y"), "columns": columns})
    else:
        for plan in plans:
            columns = [(day.strftime("%a %-d %b"), day,
                        plan_day(plan, by_clinician.get(plan.clinician_id, []), day, zone), plan.clinician_id)
                       for day in days]
            grids.append({"title": plan.name, "columns": columns})
    for grid in grids:
        times = row_times([column[2] for column in grid["columns"]], days, zone)
        grid["rows"] = build_grid(grid["columns"], times, now, zone)
    return everyone, grids, paging, shown


def free_cell_links(grid):
    """Per column of `grid`: (the phone-booking address for its clinician, the words naming its day
    when the grid has several columns). A free cell adds its start to the address: made once per
    column instead of once per cell, as a page has hundreds of free cells."""
    several = len(grid["columns"]) > 1
    return [(url_for("schedule.new_booking", clinician=clinician_id),
             f" on {day.strftime('%A %-d %B')}" if several and day else "")
            for _label, day, _plan, clinician_id in grid["columns"]]


@bp.get("")
@staff_only(*ALL_STAFF)
def day():
    """The schedule: a day or week grid per clinician or for all, and the day's list with actions."""
    zone = current_app.config["CLINIC_TIMEZONE"]
    now = utcnow()
    today = clinic_day(now, zone)
    shown_day = parse_day(request.args.get("date"), today)
    if request.args.get("date") and parse_day(request.args.get("date")) is None:
        flash("That date could not be read; showing today. Write dates as YYYY-MM-DD.", "warning")
    view = "week" if request.args.get("view") == "week" else "day"
    clinician_id = clinician_scope(request.args.get("clinician"))
    days = days_between(week_start(shown_day), week_start(shown_day) + timedelta(days=6)) if view == "week" \
        else [shown_day]
    everyone, grids, paging, shown = schedule_grids(days, zone, clinician_id, now,
                                                    parse_record_id(request.args.get("page")))
    can_manage = current_user.role != "clinician"
    for grid in grids if can_manage else ():
        grid["free_links"] = free_cell_links(grid)
    # The day's list follows the grid (this page's clinicians when all are shown a page at a
    # time); the grid's read covers the shown day, so the list is taken from it.
    day_list = [booking for booking in shown if clinic_day(booking.starts_at, zone) == shown_day]
    questionnaires = questionnaires_for(db.session, [item.patient_id for item in day_list], current_user.role)
    step = timedelta(days=7 if view == "week" else 1)
    args = {"view": view, "clinician": clinician_id or "all"}
    return render_template("schedule/day.html", grids=grids, days=days, shown_day=shown_day,
                           today=today, view=view, clinician_id=clinician_id, day_list=day_list, now=now,
                           paging=paging,
                           questionnaires=questionnaires, numbers=day_numbers(day_list, grids, shown_day),
                           # All clinicians' week: one compact table instead of a tall grid each.
                           compact=compact_week(grids) if view == "week" and clinician_id is None else None,
                           previous=shown_day - step, next=shown_day + step, args=args,
                           state_labels=STATE_LABELS, status_labels=STATUS_LABELS, status_form=StatusForm(),
                           can_manage=can_manage,
                           clinician_options=[(plan.clinician_id, plan.name) for plan in everyone])


@bp.get("/export")
@staff_only("admin", "receptionist", "clinician")
def export():
    """Download the bookings of a date range as CSV (audited)."""
    zone = current_app.config["CLINIC_TIMEZONE"]
    first, last = parse_day(request.args.get("from")), parse_day(request.args.get("to"))
    if first is None or last is None or last < first or (last - first).days >= MAX_EXPORT_DAYS:
        flash(f"Choose a start and end date (YYYY-MM-DD), at most {MAX_EXPORT_DAYS} days apart.", "error")
        return redirect(url_for("schedule.day"))
    clinician_id = clinician_scope(request.args.get("clinician"))
    count = count_rows(db.session, first, last, zone, clinician_id)
    record_request_event(db.session, "export", target_type="booking",
                         detail=f"schedule CSV {first.isoformat()} to {last.isoformat()}, {count} rows")
    db.session.commit()
    filename = f"schedule-{first.isoformat()}-to-{last.isoformat()}.csv"
    # Streamed: a year of a big practice is 90,000 rows, which held in memory at once grew each
    # worker by about 100 MB for good. Should the database fail half-way, the connection closes
    # without chunked encoding's last chunk, and the browser reports the download as failed.
    engine, secret = db.engine, cipher()

    def lines():
        """The file, read on a connection of its own: the response outlives the request's session."""
        with engine.connect() as connection:
            yield from schedule_csv(connection, first, last, zone, secret, clinician_id)

    return Response(lines(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
