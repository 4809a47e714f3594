"""The whole patient journey across features: guide -> intake -> booking -> emails and invites.

Each feature has its own tests; this one checks that they are joined up: the intake's
"Book a consultation" starts a booking, the booking sends an invite through the outbox, and a
crisis answer reaches the clinicians at once, once, with no health data."""

import re
from datetime import time

import sqlalchemy as sa
from icalendar import Calendar

from booking.models import Booking, Intake, OutboxMessage
from tests.booking_factories import add_clinician
from tests.intake_factories import answers_with, complete_intake, queue_badges
from tests.outbox_helpers import body_of, ics_of, recipient_of

EVERY_DAY = {day: [(time(9), time(17))] for day in range(7)}
HEALTH_WORDS = ("phq", "gad", "pcl", "depress", "suicid", "crisis", "ptsd", "blood pressure", "ketamine")


def messages(db, kind=None):
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return db.session.scalars(query).all()


def test_intake_to_booking_to_confirmation_with_invite(app, client, db):
    add_clinician(db.session, name="Dr Journey", hours=EVERY_DAY)
    client.get("/guide/what-it-is")
    complete_intake(client)
    done = client.get("/intake/done").get_data(as_text=True)
    assert 'href="/book/"' in done  # this browser remembers the intake: no token in the page or cookie
    week = client.get("/book/").get_data(as_text=True)
    slot = re.search(r'<a class="slot"[^>]*href="([^"]+)"', week).group(1).replace("&amp;", "&")
    confirm_page = client.get(slot).get_data(as_text=True)
    assert "Jordan Example" in confirm_page  # pre-filled from the intake's encrypted contact details
    fields = dict(re.findall(r'<input[^>]*name="(clinician|start|tz)"[^>]*value="([^"]*)"', confirm_page))
    response = client.post("/book/confirm", data={**fields, "name": "Jordan Example",
                                                  "email": "jordan@example.org", "phone": "555 010 0199"})
    assert response.status_code == 302
    manage = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your booking is confirmed" in manage and "Dr Journey" in manage

    booking = db.session.scalars(sa.select(Booking)).one()
    intake = db.session.scalars(sa.select(Intake)).one()
    assert booking.intake_id == intake.id and booking.status == "booked"

    confirmation = messages(db, "booking_confirmation")
    assert len(confirmation) == 1 and recipient_of(confirmation[0]) == "jordan@example.org"
    assert confirmation[0].ics_method == "REQUEST"
    assert "/intake/start" not in body_of(confirmation[0])  # the questionnaire is already done
    event = Calendar.from_ical(ics_of(confirmation[0])).walk("VEVENT")[0]
    assert str(event["UID"]).startswith(f"booking-{booking.id}@")
    assert event.decoded("DTSTART") == booking.starts_at
    for message in messages(db):
        text = f"{message.subject}\n{body_of(message)}\n{ics_of(message) or ''}".lower()
        # Unfold iCalendar lines, then drop links: a random private-link token may spell "pcl".
        text = re.sub(r"https?://\S+", "<link>", re.sub(r"\r?\n[ \t]", "", text))
        assert not [word for word in HEALTH_WORDS if word in text], message.kind

    invite = client.get(re.search(r'href="(/book/manage/[^"]+/invite\.ics)"', manage).group(1))
    assert invite.status_code == 200 and b"METHOD:REQUEST" in invite.data


def test_a_crisis_answer_alerts_clinicians_once_and_the_intake_leads_the_queue(app, client, db, make_staff, login):
    clinicians = [make_staff("clinician"), make_staff("clinician")]
    make_staff("receptionist")
    complete_intake(client, answers=answers_with(phq9={"phq9_9": "2"}))
    urgent = messages(db, "staff_urgent_intake")
    assert sorted(recipient_of(message) for message in urgent) == sorted(user.email for user in clinicians)
    assert not messages(db, "staff_new_intake")
    for message in urgent:
        text = f"{message.subject}\n{body_of(message)}".lower()
        assert not [word for word in HEALTH_WORDS if word in text]
    login(clinicians[0])
    queue = client.get("/staff/intakes").get_data(as_text=True)
    assert [badge for row in queue_badges(queue).values() for badge in row
            if badge[0] == "badge--urgent"] == [("badge--urgent", "Urgent: crisis answer")]
