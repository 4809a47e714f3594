"""Clinicians enter their own time off and weekly blocks and export their own range; never anyone else's."""

from datetime import time, timedelta

import icalendar
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant
from booking.models import RecurringBlock, ScheduleException
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician
from tests.test_booking_staff import text

EVERY_DAY = {day: [(time(9), time(17))] for day in range(7)}


def setup(db, make_staff, login):
    """Two clinicians with hours; the first signed in. Returns (me, other, a day ahead)."""
    me, other = make_staff("clinician", name="Dr Me Myself"), make_staff("clinician", name="Dr Other Person")
    add_clinician(db.session, hours=EVERY_DAY, user=db.session.merge(me))
    add_clinician(db.session, hours=EVERY_DAY, user=db.session.merge(other))
    login(me)
    return me.id, other.id, clinic_day(utcnow(), ZONE) + timedelta(days=4)


def time_off(clinician_id, day, kind="closed", **fields):
    """The "Add an exception" form for one whole day."""
    return {"clinician": str(clinician_id), "applies_to": "clinician", "kind": kind, "first_day": day.isoformat(),
            "last_day": day.isoformat(), **fields}


def test_a_clinician_enters_their_own_time_off_and_blocks(client, db, make_staff, login):
    me, _other, day = setup(db, make_staff, login)
    page = text(client.get("/staff/schedule/hours"))
    assert "Dr Me Myself" in page and "Dr Other Person" not in page
    assert '<option value="extra"' not in page and '<option value="clinic"' not in page
    assert client.post("/staff/schedule/hours/exceptions", data=time_off(me, day)).status_code == 302
    assert client.post("/staff/schedule/hours/blocks", data={
        "clinician": me, "weekday": "2", "start": "13:00", "end": "17:00", "first_day": day.isoformat(),
        "last_day": (day + timedelta(days=30)).isoformat()}).status_code == 302
    assert db.session.scalars(sa.select(ScheduleException.clinician_id)).all() == [me]
    assert db.session.scalars(sa.select(RecurringBlock.clinician_id)).all() == [me]
    exception_id = db.session.scalars(sa.select(ScheduleException.id)).one()
    block_id = db.session.scalars(sa.select(RecurringBlock.id)).one()
    assert client.post(f"/staff/schedule/hours/exceptions/{exception_id}/delete",
                       data={"clinician": me, "confirm": "y"}).status_code == 302
    assert client.post(f"/staff/schedule/hours/blocks/{block_id}/delete",
                       data={"clinician": me, "confirm": "y"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScheduleException)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecurringBlock)) == 0


def test_a_clinician_cannot_touch_another_clinicians_hours(client, db, make_staff, login):
    me, other, day = setup(db, make_staff, login)
    refusal = "You can change only your own time off and blocks"
    for path, form in (("/staff/schedule/hours/exceptions", time_off(other, day)),
                       ("/staff/schedule/hours/exceptions", {**time_off(me, day), "applies_to": "clinic"}),
                       ("/staff/schedule/hours/blocks", {"clinician": other, "weekday": "2", "start": "13:00",
                                                         "end": "17:00", "first_day": day.isoformat(),
                                                         "last_day": day.isoformat()})):
        response = client.post(path, data=form)
        assert response.status_code == 403 and refusal in text(response), (path, form)
    extra = client.post("/staff/schedule/hours/exceptions", data=time_off(me, day, kind="extra"))
    assert extra.status_code == 403 and "Extra hours are added by the front desk" in text(extra)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScheduleException)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecurringBlock)) == 0
    # Another clinician's (or the whole clinic's) exception and block stay where they are.
    theirs = ScheduleException(clinician_id=other, kind="closed", starts_at=local_instant(day, time(0), ZONE),
                               ends_at=local_instant(day + timedelta(days=1), time(0), ZONE))
    clinic = ScheduleException(clinician_id=None, kind="closed", starts_at=theirs.starts_at, ends_at=theirs.ends_at)
    block = RecurringBlock(clinician_id=other, weekday=2, start_time=time(13), end_time=time(17), first_day=day,
                           last_day=day + timedelta(days=30))
    db.session.add_all([theirs, clinic, block])
    db.session.commit()
    for path in (f"/staff/schedule/hours/exceptions/{theirs.id}/delete",
                 f"/staff/schedule/hours/exceptions/{clinic.id}/delete",
                 f"/staff/schedule/hours/blocks/{block.id}/delete"):
        response = client.post(path, data={"clinician": me, "confirm": "y"})
        assert response.status_code == 403 and refusal in text(response), path
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScheduleException)) == 2
    assert db.session.get(RecurringBlock, block.id) is not None
    # Asking for another clinician's page shows one's own.
    assert "Dr Other Person" not in text(client.get(f"/staff/schedule/hours?clinician={other}"))
    # Weekly hours, consultation settings and the clinic's rules stay with the front desk.
    assert client.post("/staff/schedule/hours/weekly", data={"clinician": me, "weekday": "1", "start": "18:00",
                                                             "end": "19:00"}).status_code == 403


def test_a_clinician_exports_their_own_range_only(client, db, make_staff, login):
    me, other, day = setup(db, make_staff, login)
    add_booking(db.session, me, local_instant(day, time(10), ZONE), name="Mine One")
    add_booking(db.session, other, local_instant(day, time(11), ZONE), name="Not Mine")
    page = text(client.get("/staff/calendar"))
    assert "Download your schedule" in page and 'id="export-clinician"' not in page
    start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
    own = client.get(f"/staff/calendar/export?start={start}&end={end}")
    assert own.status_code == 200 and "attachment" in own.headers["Content-Disposition"]
    events = icalendar.Calendar.from_ical(own.get_data()).walk("VEVENT")
    assert len(events) == 1 and events[0]["DTSTART"].dt == local_instant(day, time(10), ZONE)
    assert client.get(f"/staff/calendar/export?clinician={me}&start={start}&end={end}").status_code == 200
    assert client.get(f"/staff/calendar/export?clinician={other}&start={start}&end={end}").status_code == 403
