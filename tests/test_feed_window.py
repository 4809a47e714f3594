"""The clinician feed lists every booked consultation from 30 days back onwards, however far ahead."""

from datetime import timedelta

from booking.timeutil import utcnow
from tests.calendar_factories import add_booking
from tests.test_calendar_feed import feed_events, new_feed_link


def test_the_feed_has_no_end_and_starts_30_days_back(db, client, make_staff, login):
    clinician = make_staff("clinician")
    now = utcnow()
    # Staff may book beyond the 60-day horizon (and past the old 180-day feed end): it must still show.
    far = now + timedelta(days=400)
    add_booking(db.session, clinician.id, starts_at=far, patient_name="Far Ahead")
    add_booking(db.session, clinician.id, starts_at=now - timedelta(days=29), status="completed",
                patient_name="Last Month")
    add_booking(db.session, clinician.id, starts_at=now - timedelta(days=31), status="completed",
                patient_name="Too Old")
    db.session.commit()
    login(clinician)
    path = new_feed_link(client)
    client.post("/staff/logout")
    starts = sorted(event.decoded("DTSTART") for event in feed_events(client.get(path)))
    assert len(starts) == 2
    assert starts[-1] == far.replace(microsecond=0) or abs((starts[-1] - far).total_seconds()) < 60
    assert starts[0] > now - timedelta(days=30)
