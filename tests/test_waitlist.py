"""The waitlist: joining from the week page, offers when a time frees up, one winner, the desk's list."""

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant
from booking.models import Booking, OutboxMessage, WaitlistEntry
from booking.models.waitlist import WAITING
from booking.timeutil import utcnow
from booking.waitlist import rules
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake, context
from tests.outbox_helpers import body_of, recipient_of
from tests.patient_factories import make_patient

EVERY_DAY = {day: [(time(8), time(19))] for day in range(7)}
ALL_DAYS, ALL_PARTS = 127, 7


def wait(db, name, email, **fields):
    """Commit a waiting entry for a new patient; returns its patient id."""
    patient = make_patient(db.session, name=name, email=email)
    db.session.flush()
    values = {"days": ALL_DAYS, "parts": ALL_PARTS, "clinician_id": None, **fields}
    db.session.add(WaitlistEntry(patient_id=patient.id, status=WAITING, expires_at=utcnow() + timedelta(days=60),
                                 **values))
    db.session.commit()
    return patient.id


@pytest.fixture
def freed(db):
    """A clinician, a booking in four days at 10:00 (a morning), and three waiting patients."""
    patel = add_clinician(db.session, name="Dr Priya Patel", hours=EVERY_DAY)
    other = add_clinician(db.session, name="Dr Ken Okafor", hours=EVERY_DAY)
    day = clinic_day(utcnow(), ZONE) + timedelta(days=4)
    starts_at = local_instant(day, time(10), ZONE)
    booking_id, token = add_booking(db.session, patel, starts_at)
    first = wait(db, "Ada First", "ada@patient.example")
    second = wait(db, "Ben Second", "ben@patient.example", clinician_id=patel)
    wait(db, "Cy Afternoons", "cy@patient.example", parts=2)  # afternoons only: 10:00 does not suit
    wait(db, "Di Okafor", "di@patient.example", clinician_id=other)  # wants the other clinician
    wait(db, "Ed Wrongday", "ed@patient.example", days=ALL_DAYS & ~(1 << day.weekday()))
    return {"patel": patel, "starts_at": starts_at, "token": token, "booking_id": booking_id,
            "first": first, "second": second}


def offers(db):
    """{recipient: (subject, body)} of the waitlist offers queued so far."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_offer")).all()
    return {recipient_of(row): (row.subject, body_of(row)) for row in rows}


def offer_path(body):
    return re.search(r"/waitlist/offer/[A-Za-z0-9_-]+", body).group(0)


def test_a_cancellation_emails_the_matching_waiting_patients_a_link(client, db, freed):
    response = client.post(f"/book/manage/{freed['token']}/cancel", data={"reason": "ill"})
    assert response.status_code == 302
    sent = offers(db)
    # Those whose clinician, weekday and part of the day suit; not the others.
    assert set(sent) == {"ada@patient.example", "ben@patient.example"}
    subject, body = sent["ada@patient.example"]
    assert "freed up" in subject and "with Dr Priya Patel" in body and "10:00 AM" in body
    assert "ill" not in body.split("Dr Priya Patel", 1)[1].split("\n")[0]  # the cancel reason is not passed on
    assert offer_path(body)


def test_a_move_offers_the_time_it_left(client, db, freed, make_staff, login):
    login(make_staff("receptionist"))
    new = freed["starts_at"] + timedelta(hours=5)
    local = new.astimezone(__import__("zoneinfo").ZoneInfo(ZONE))
    response = client.post(f"/staff/schedule/booking/{freed['booking_id']}/move",
                           data={"date": local.date().isoformat(), "time": local.strftime("%H:%M"),
                                 "clinician": str(freed["patel"])})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    assert set(offers(db)) == {"ada@patient.example", "ben@patient.example"}


def test_offers_go_to_the_first_waiting_patients_only(make_app):
    app = make_app(WAITLIST_OFFERS_PER_TIME=1)
    with app.app_context():
        from booking.extensions import db
        patel = add_clinician(db.session, hours=EVERY_DAY)
        day = clinic_day(utcnow(), ZONE) + timedelta(days=4)
        _booking_id, token = add_booking(db.session, patel, local_instant(day, time(10), ZONE))
        wait(db, "Ada First", "ada@patient.example")
        wait(db, "Ben Second", "ben@patient.example")
    app.test_client().post(f"/book/manage/{token}/cancel", data={})
    with app.app_context():
        from booking.extensions import db
        assert set(offers(db)) == {"ada@patient.example"}


def test_the_first_to_book_gets_the_time_and_the_second_is_told_it_has_gone(app, client, db, freed):
    client.post(f"/book/manage/{freed['token']}/cancel", data={})
    sent = offers(db)
    ada, ben = offer_path(sent["ada@patient.example"][1]), offer_path(sent["ben@patient.example"][1])
    page = client.get(ben).get_data(as_text=True)
    assert "Book this time" in page  # opening the link books nothing: mail scanners open links too
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.active)) == 0
    taken = client.post(ben)
    assert taken.status_code == 302 and "/book/manage/" in taken.location
    late = app.test_client().post(ada)
    assert late.status_code == 410
    assert "another patient on the waitlist booked it first" in late.get_data(as_text=True)
    db.session.expire_all()
    booking = db.session.scalar(sa.select(Booking).where(Booking.active))
    assert booking.patient_id == freed["second"] and booking.starts_at == freed["starts_at"]
    statuses = dict(db.session.execute(sa.select(WaitlistEntry.patient_id, WaitlistEntry.status)).all())
    assert statuses[freed["second"]] == "booked" and statuses[freed["first"]] == WAITING  # Ada stays on the list


def test_a_time_booked_by_anyone_meanwhile_has_gone(client, db, freed):
    client.post(f"/book/manage/{freed['token']}/cancel", data={})
    ada = offer_path(offers(db)["ada@patient.example"][1])
    add_booking(db.session, freed["patel"], freed["starts_at"])  # the desk booked a caller into it
    response = client.post(ada)
    assert response.status_code == 410 and "You stay on the" in response.get_data(as_text=True)


def test_a_made_up_offer_link_is_a_404(client, db):
    assert client.get("/waitlist/offer/not-a-real-token").status_code == 404
    assert client.post("/waitlist/offer/" + "x" * 300).status_code == 404


def test_a_patient_joins_from_the_week_page_and_the_desk_sees_them(app, client, db, make_staff, login):
    patel = add_clinician(db.session, name="Dr Priya Patel", hours=EVERY_DAY)
    _intake_id, token = add_intake(db.session, app.config, cleared=True,
                                   contact={"name": "Wren Waiting", "email": "wren@patient.example",
                                            "phone": "555-0142"})
    client.get(f"/book/start/{token}")
    week = client.get("/book/").get_data(as_text=True)
    assert 'href="/book/waitlist"' in week
    response = client.post("/book/waitlist", data={"clinician": str(patel), "days": ["1", "3"],
                                                   "parts": ["afternoon"]})
    assert response.status_code == 302
    page = client.get("/book/waitlist").get_data(as_text=True)
    assert "You are on the waitlist" in page and "Tuesday, Thursday" in page and "afternoon" in page
    assert re.search(r'<input[^>]*checked[^>]*value="afternoon"|<input[^>]*value="afternoon"[^>]*checked', page)
    assert not re.search(r'<input[^>]*checked[^>]*value="morning"|<input[^>]*value="morning"[^>]*checked', page)
    entry = db.session.scalar(sa.select(WaitlistEntry))
    assert (entry.clinician_id, entry.days, entry.parts) == (patel, 0b1010, 2)
    login(make_staff("receptionist"))
    desk = client.get("/staff/waitlist").get_data(as_text=True)
    row = re.search(r'<tr class="waitlist-entry">(.*?)</tr>', desk, re.S).group(1)
    assert "Wren Waiting" in row and "555-0142" in row and "Dr Priya Patel" in row
    assert f"/staff/schedule/book?patient={entry.patient_id}" in row


def test_joining_needs_a_day_and_a_part_of_the_day(app, client, db):
    add_clinician(db.session, hours=EVERY_DAY)
    _intake_id, token = add_intake(db.session, app.config, cleared=True)
    client.get(f"/book/start/{token}")
    response = client.post("/book/waitlist", data={"clinician": "any", "days": [], "parts": ["morning"]})
    assert response.status_code == 400 and "Choose at least one day" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WaitlistEntry)) == 0


def test_a_booking_made_at_the_desk_takes_the_patient_off_the_list(db, freed):
    ctx = context(utcnow())
    from booking.appointments.bookings import cancel_booking, create_booking
    booking = db.session.get(Booking, freed["booking_id"])
    cancel_booking(db.session, ctx, booking, actor=object())
    db.session.commit()
    create_booking(db.session, ctx, clinician_id=freed["patel"], starts_at=freed["starts_at"] + timedelta(hours=1),
                   patient_id=freed["first"], link_for=str, source="phone", actor=None)
    db.session.commit()
    assert rules.waiting_entry(db.session, freed["first"], ctx.now) is None


def test_entries_expire_at_the_booking_horizon(db):
    now = utcnow()
    ctx = context(now, horizon=timedelta(days=30))
    patient = make_patient(db.session, name="Flo Later", email="flo@patient.example")
    db.session.flush()
    entry = rules.join(db.session, ctx, patient_id=patient.id, intake_id=None, clinician_id=None, days=1, parts=1)
    db.session.commit()
    assert entry.expires_at == now + timedelta(days=30)
    assert rules.desk_list(db.session, now + timedelta(days=29)) == [entry]
    assert rules.desk_list(db.session, now + timedelta(days=30, seconds=1)) == []


def test_new_hours_are_offered_by_the_offer_command_once_per_patient(app, db, runner):
    from booking.models import OpeningHours
    clinician = add_clinician(db.session, name="Dr Nora New", hours={})
    wait(db, "Ada First", "ada@patient.example", clinician_id=clinician)
    wait(db, "Ben Second", "ben@patient.example")
    assert "Offered 0" in runner.invoke(args=["waitlist", "offer"]).output  # no hours yet: nothing free
    db.session.add(OpeningHours(clinician_id=clinician, weekday=(clinic_day(utcnow(), ZONE).weekday() + 3) % 7,
                                start_time=time(14), end_time=time(15)))
    db.session.commit()
    assert "Offered 2" in runner.invoke(args=["waitlist", "offer"]).output
    sent = offers(db)
    assert set(sent) == {"ada@patient.example", "ben@patient.example"}
    assert "2:00 PM" in sent["ada@patient.example"][1] and "with Dr Nora New" in sent["ada@patient.example"][1]
    assert "Offered 0" in runner.invoke(args=["waitlist", "offer"]).output  # each holds an open offer already
